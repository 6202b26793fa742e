"""Hypothesis strategies and problem builders shared by the test modules.

Every random array is drawn with NumPy on the host from a seed and then moved
to the backend under test, so a failing example means the same numbers on
NumPy and CuPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from attnrnn_np import arnn_forward, init_arnn_params
from attnrnn_np.backend import gpu_available, to_numpy


@dataclass(frozen=True)
class Dims:
    N: int
    H: int
    W: int
    C: int
    K: int
    Q: int
    k: int


@st.composite
def dims(draw, max_side=5, max_ch=3, max_q=3, kernels=(1, 3)):
    """Problem sizes: N, H, W in 1..max_side (non-square allowed), C, K in 1..max_ch,
    Q in 0..max_q, k drawn from ``kernels``."""
    side = st.integers(1, max_side)
    return Dims(N=draw(st.integers(1, 3)), H=draw(side), W=draw(side),
                C=draw(st.integers(1, max_ch)), K=draw(st.integers(1, max_ch)),
                Q=draw(st.integers(0, max_q)), k=draw(st.sampled_from(kernels)))


normalizations = st.sampled_from(["sigmoid", "softmax"])
seeds = st.integers(0, 2**31 - 1)


@dataclass
class Problem:
    dims: Dims
    params: dict
    X: object
    q: object      # None when Q == 0
    dA: object     # random upstream gradient, mask-shaped


def make_problem(d: Dims, seed: int, xp=np, dtype="float64", param_scale=0.5):
    """Random parameters (non-zero biases, perturbed weights), input, query and
    upstream gradient for sizes ``d``, on backend ``xp``."""
    rng = np.random.default_rng(seed)
    params = init_arnn_params(d.C, d.K, query_dim=d.Q, kernel_size=d.k, seed=seed, dtype="float64")
    params = {key: v + rng.normal(0.0, param_scale, v.shape) for key, v in params.items()}
    X = rng.normal(size=(d.N, d.H, d.W, d.C))
    q = rng.normal(size=(d.N, d.Q)) if d.Q else None
    dA = rng.normal(size=(d.N, d.H, d.W))
    move = lambda a: None if a is None else xp.asarray(a, dtype=dtype)  # noqa: E731
    return Problem(d, {key: move(v) for key, v in params.items()}, move(X), move(q), move(dA))


# --------------------------------------------------------------------------
# Helpers shared by the property and gradient tests
# --------------------------------------------------------------------------

GPU = gpu_available()


def needs_gpu(test):
    """A GPU test: selected by ``pytest -m gpu`` (benchmarks/gpu_check.py), skipped without a usable GPU."""
    return pytest.mark.gpu(pytest.mark.skipif(not GPU, reason="CuPy or a usable GPU is missing")(test))


no_gpu = pytest.mark.skipif(GPU, reason="only meaningful where CuPy or a GPU is missing")


def scaled(n):
    """``settings`` with ``n`` examples under the ``ci`` profile (20 examples),
    scaled in proportion under any other profile (``dev`` gives 5·n).

    Expensive property tests ask for fewer examples than the profile's default;
    scaling keeps the ``dev`` profile meaningfully stronger than ``ci``.
    """
    return settings(max_examples=max(1, round(n * settings.default.max_examples / 20)))


def host(a):
    """A NumPy copy of a backend array (``None`` passes through), for assertions."""
    return to_numpy(a)


def conv_direct(X, W, b):
    """Reference "same" convolution, pixel by pixel, in float64 on the host (no im2col)::

        Y[n,i,j,f] = Σ_{a,b,c} X[n, i+a−p, j+b−p, c] W[a,b,c,f] + b[f],   X = 0 outside the map
    """
    X, W, b = host(X), host(W), host(b)
    N, H, Wd, C = X.shape
    k = W.shape[0]
    p = (k - 1) // 2
    Y = np.tile(b, (N, H, Wd, 1)).astype(float)
    for i in range(H):
        for j in range(Wd):
            for a in range(k):
                for bb in range(k):
                    r, c = i + a - p, j + bb - p
                    if 0 <= r < H and 0 <= c < Wd:
                        Y[:, i, j, :] += X[:, r, c, :] @ W[a, bb]
    return Y


def problem_inputs(p: Problem):
    """Every array the mask depends on, by name: ``X``, ``q`` (when Q > 0), then the params."""
    inputs = {"X": p.X}
    if p.q is not None:
        inputs["q"] = p.q
    inputs.update(p.params)
    return inputs


def analytic_grads(dX, dq, grads):
    """The backward pass's gradients under the names of :func:`problem_inputs`."""
    out = {"X": dX}
    if dq is not None:
        out["q"] = dq
    out.update(grads)
    return out


def mask_of(p: Problem, **kwargs):
    """``f()`` for the gradient checks: the mask from the current contents of p's arrays."""
    return lambda: arnn_forward(p.X, p.params, p.q, **kwargs)[0]


def assert_close(actual, expected, *, rtol=0.0, atol=0.0, name=""):
    """``assert_allclose`` on host copies, with the array's name in the message."""
    np.testing.assert_allclose(host(actual), host(expected), rtol=rtol, atol=atol, err_msg=name)


def assert_all_close(actual: dict, expected: dict, *, rtol=0.0, atol=0.0):
    """:func:`assert_close` over two dicts with the same keys."""
    assert set(actual) == set(expected)
    for key in expected:
        if expected[key] is None:
            assert actual[key] is None, key
        else:
            assert_close(actual[key], expected[key], rtol=rtol, atol=atol, name=key)
