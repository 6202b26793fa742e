"""Applying a mask (attnrnn_np/mask.py): gating A⊙X and pooling Σ A·X, alone and after the layer."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np import init_multiscale_params, multiscale_arnn_backward, multiscale_arnn_forward
from attnrnn_np.backend import to_numpy
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.mask import gate_backward, gate_forward, weighted_pool_backward, weighted_pool_forward

shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
seeds = st.integers(0, 2**31 - 1)


@given(shapes, seeds)
def test_gate_matches_definition_and_finite_differences(shape, seed):
    N, H, W, C = shape
    rng = np.random.default_rng(seed)
    A, X = rng.uniform(0.05, 0.95, (N, H, W)), rng.normal(size=(N, H, W, C))
    dY = rng.normal(size=(N, H, W, C))
    Y, cache = gate_forward(A, X)
    np.testing.assert_allclose(Y, np.einsum("nhw,nhwc->nhwc", A, X), rtol=1e-14)
    dA, dX = gate_backward(dY, cache)
    results = check_gradients(lambda: gate_forward(A, X)[0], {"A": A, "X": X}, {"A": dA, "X": dX}, dY)
    assert all(r.passed for r in results), format_report(results)


@given(shapes, seeds)
def test_pool_matches_definition_and_finite_differences(shape, seed):
    N, H, W, C = shape
    rng = np.random.default_rng(seed)
    A, X = rng.uniform(0.05, 0.95, (N, H, W)), rng.normal(size=(N, H, W, C))
    dz = rng.normal(size=(N, C))
    z, cache = weighted_pool_forward(A, X)
    np.testing.assert_allclose(z, np.einsum("nhw,nhwc->nc", A, X), rtol=1e-12, atol=1e-14)
    dA, dX = weighted_pool_backward(dz, cache)
    results = check_gradients(lambda: weighted_pool_forward(A, X)[0], {"A": A, "X": X},
                              {"A": dA, "X": dX}, dz)
    assert all(r.passed for r in results), format_report(results)


@pytest.mark.parametrize("apply, normalize", [("gate", "sigmoid"), ("pool", "softmax")])
def test_mask_applied_to_the_features_that_made_it(apply, normalize):
    # X reaches the output twice: through the mask and directly; both paths must be counted.
    N, H, W, C, K, Q, scales = 2, 4, 6, 2, 2, 1, (1, 2)
    rng = np.random.default_rng(21)
    params = init_multiscale_params(C, K, scales, query_dim=Q, seed=3)
    params = {key: v + rng.normal(0.0, 0.5, v.shape) for key, v in params.items()}
    X, q = rng.normal(size=(N, H, W, C)), rng.normal(size=(N, Q))
    forward, backward = ((gate_forward, gate_backward) if apply == "gate"
                         else (weighted_pool_forward, weighted_pool_backward))

    def f():
        A, _ = multiscale_arnn_forward(X, params, q, scales=scales, normalize=normalize)
        return forward(A, X)[0]

    A, ms_cache = multiscale_arnn_forward(X, params, q, scales=scales, normalize=normalize)
    out, cache = forward(A, X)
    dout = rng.normal(size=out.shape)
    dA, dX_direct = backward(dout, cache)
    dX_mask, dq, grads = multiscale_arnn_backward(dA, ms_cache)
    analytic = {"X": dX_direct + dX_mask, "q": dq, **grads}
    results = check_gradients(f, {"X": X, "q": q, **params}, analytic, dout, directional_above=40)
    assert all(r.passed for r in results), format_report(results)


def test_backward_is_repeatable_and_does_not_mutate():
    rng = np.random.default_rng(2)
    A, X = rng.uniform(size=(2, 3, 4)), rng.normal(size=(2, 3, 4, 5))
    dY, dz = rng.normal(size=X.shape), rng.normal(size=(2, 5))
    copies = [a.copy() for a in (A, X, dY, dz)]
    _, gcache = gate_forward(A, X)
    _, pcache = weighted_pool_forward(A, X)
    for backward, d, cache in ((gate_backward, dY, gcache), (weighted_pool_backward, dz, pcache)):
        first, second = backward(d, cache), backward(d, cache)
        for a, b in zip(first, second, strict=True):
            np.testing.assert_array_equal(a, b)
    for a, a0 in zip((A, X, dY, dz), copies, strict=True):
        np.testing.assert_array_equal(a, a0)


def test_shape_mismatches_raise():
    A, X = np.zeros((2, 3, 4)), np.zeros((2, 3, 4, 5))
    for forward in (gate_forward, weighted_pool_forward):
        with pytest.raises(ValueError, match="same N, H, W"):
            forward(np.zeros((2, 4, 3)), X)
        with pytest.raises(ValueError, match="same N, H, W"):
            forward(A, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="dY must have"):
        gate_backward(np.zeros((2, 3, 4)), gate_forward(A, X)[1])
    with pytest.raises(ValueError, match="dz must have"):
        weighted_pool_backward(np.zeros((2, 4)), weighted_pool_forward(A, X)[1])


def test_backends_agree(xp):
    rng = np.random.default_rng(4)
    A, X = rng.uniform(size=(2, 3, 4)), rng.normal(size=(2, 3, 4, 5))
    dY, dz = rng.normal(size=X.shape), rng.normal(size=(2, 5))
    for forward, backward, d in ((gate_forward, gate_backward, dY),
                                 (weighted_pool_forward, weighted_pool_backward, dz)):
        out, cache = forward(xp.asarray(A), xp.asarray(X))
        grads = backward(xp.asarray(d), cache)
        out_ref, cache_ref = forward(A, X)
        np.testing.assert_allclose(to_numpy(out), out_ref, rtol=1e-12, atol=1e-14)
        for g, g_ref in zip(grads, backward(d, cache_ref), strict=True):
            np.testing.assert_allclose(to_numpy(g), g_ref, rtol=1e-12, atol=1e-14)
