"""Hypothesis strategies and problem builders shared by the test modules.

Every random array is drawn with NumPy on the host from a seed and then moved
to the backend under test, so a failing example means the same numbers on
NumPy and CuPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from attnrnn_np import init_arnn_params


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
