"""Cross-check against an independent PyTorch implementation differentiated by autograd.

``benchmarks/torch_arnn.py`` computes the same layer (docs/model.md §3) from the same
parameter dict, with its own convolution (``conv2d``), its own packing of the
anti-diagonals (the 180° rotation folded into a gather index), gates in a
different column order, and no hand-written gradient: autograd derives the
backward pass. Agreement to 1e-10 in float64 on every output and every
gradient — mask, dX, dq and all parameters — is the cross-check a reader can
trust without reading our backward code. Skipped when torch is missing.
"""

import importlib.util
from pathlib import Path

import pytest
from hypothesis import given

from attnrnn_np import arnn_backward, arnn_forward

from strategies import Dims, dims, host, make_problem, normalizations, scaled, seeds

torch = pytest.importorskip("torch")

_spec = importlib.util.spec_from_file_location(
    "torch_arnn", Path(__file__).resolve().parents[1] / "benchmarks" / "torch_arnn.py")
torch_arnn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_arnn)

TOL = 1e-10


def _check_against_torch(p, normalize, schedule="wavefront"):
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize, schedule=schedule)
    dX, dq, grads = arnn_backward(p.dA, cache)
    params_host = {key: host(v) for key, v in p.params.items()}
    A_t, dX_t, dq_t, grads_t = torch_arnn.torch_arnn_vjp(host(p.X), params_host, host(p.q), host(p.dA),
                                                          normalize=normalize)
    ours = {"A": A, "dX": dX, "dq": dq, **grads}
    theirs = {"A": A_t, "dX": dX_t, "dq": dq_t, **grads_t}
    assert set(ours) == set(theirs)
    for key in theirs:
        if theirs[key] is None:
            assert ours[key] is None, key
            continue
        a, b = host(ours[key]), theirs[key]
        assert a.shape == b.shape, key
        err = abs(a - b).max() if a.size else 0.0
        assert err <= TOL * max(1.0, abs(b).max()), f"{key}: max |ours − torch| = {err:.3e}"


@scaled(20)
@given(d=dims(), normalize=normalizations, seed=seeds)
def test_equals_torch_autograd_on_drawn_problems(xp, d, normalize, seed):
    _check_against_torch(make_problem(d, seed, xp=xp), normalize)


@pytest.mark.parametrize("normalize", ["sigmoid", "softmax"])
@pytest.mark.parametrize("Q", [0, 3])
@pytest.mark.parametrize("schedule", ["wavefront", "raster"])
def test_equals_torch_autograd_with_and_without_query(xp, normalize, Q, schedule):
    """Fixed, non-square problems larger than the drawn ones, both schedules."""
    d = Dims(N=2, H=6, W=9, C=4, K=5, Q=Q, k=3)
    _check_against_torch(make_problem(d, seed=7 + Q, xp=xp), normalize, schedule)


def test_torch_oracle_can_fail():
    """The comparison notices a wrong gate order (f and i swapped in one direction)."""
    d = Dims(N=1, H=3, W=4, C=2, K=3, Q=0, k=3)
    p = make_problem(d, seed=11)
    K = d.K
    swapped = dict(p.params)
    w = p.params["bwd.W_up"].copy()
    w[:, :K], w[:, K:2 * K] = p.params["bwd.W_up"][:, K:2 * K], p.params["bwd.W_up"][:, :K]
    swapped["bwd.W_up"] = w
    A, _ = arnn_forward(p.X, swapped, p.q)
    A_t = torch_arnn.torch_arnn_vjp(p.X, p.params, p.q, p.dA)[0]
    assert abs(A - A_t).max() > 1e-6
