"""Max-pooling and nearest upsampling (attnrnn_np/pool.py).

The references here are plain loops over windows and blocks; the tie rule
(first maximum in row-major order) is tested with deliberate ties, and the
gradients with finite differences on continuous inputs, where ties have
probability zero.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np.backend import to_numpy
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.pool import maxpool_backward, maxpool_forward, upsample_backward, upsample_forward


def maxpool_loop(X, g):
    """Reference: pooled map and, per window and channel, the first maximum in row-major order."""
    N, H, W, C = X.shape
    out = np.empty((N, H // g, W // g, C))
    winner = np.zeros(X.shape, dtype=bool)
    for n in range(N):
        for I in range(H // g):
            for J in range(W // g):
                for c in range(C):
                    best = None
                    for a in range(g):          # row-major: rows outer, columns inner
                        for b in range(g):
                            v = X[n, g * I + a, g * J + b, c]
                            if best is None or v > best[0]:
                                best = (v, a, b)
                    out[n, I, J, c] = best[0]
                    winner[n, g * I + best[1], g * J + best[2], c] = True
    return out, winner


pool_shapes = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3),
                        st.integers(1, 3), st.sampled_from([1, 2, 3]))  # N, H/γ, W/γ, C, γ


@given(pool_shapes, st.integers(0, 2**31 - 1), st.booleans())
def test_maxpool_matches_loop_including_ties(shape, seed, with_ties):
    N, Hg, Wg, C, g = shape
    rng = np.random.default_rng(seed)
    size = (N, Hg * g, Wg * g, C)
    # Small integers make ties common; the loop's strict ">" keeps the first maximum.
    X = rng.integers(-2, 3, size).astype(float) if with_ties else rng.normal(size=size)
    dY = rng.normal(size=(N, Hg, Wg, C))
    ref, winner = maxpool_loop(X, g)
    Y, cache = maxpool_forward(X, g)
    np.testing.assert_array_equal(Y, ref)
    dX = maxpool_backward(dY, cache)
    expected = np.zeros_like(X)
    for n, i, j, c in zip(*np.nonzero(winner), strict=True):
        expected[n, i, j, c] = dY[n, i // g, j // g, c]
    np.testing.assert_array_equal(dX, expected)


def test_maxpool_tie_rule_by_hand(xp):
    # One sample, one 3×3 window, three channels with different ties.
    X = np.zeros((1, 3, 3, 3))
    X[0, :, :, 0] = 5.0                                    # all equal -> (0, 0)
    X[0, 0, 1, 1] = X[0, 1, 0, 1] = 2.0                    # (0, 1) before (1, 0) in row-major order
    X[0, 1, 2, 2] = X[0, 2, 0, 2] = X[0, 2, 2, 2] = 1.0    # (1, 2) first
    dY = np.array([[[[1.5, -2.0, 3.0]]]])
    Y, cache = maxpool_forward(xp.asarray(X), 3)
    dX = to_numpy(maxpool_backward(xp.asarray(dY), cache))
    np.testing.assert_array_equal(to_numpy(Y), [[[[5.0, 2.0, 1.0]]]])
    expected = np.zeros_like(X)
    expected[0, 0, 0, 0] = 1.5
    expected[0, 0, 1, 1] = -2.0
    expected[0, 1, 2, 2] = 3.0
    np.testing.assert_array_equal(dX, expected)


def test_maxpool_tie_rule_on_a_larger_map(xp):
    # A constant map: every window's winner is its top-left corner.
    X = np.full((2, 4, 6, 2), 0.25)
    dY = np.random.default_rng(0).normal(size=(2, 2, 3, 2))
    _, cache = maxpool_forward(xp.asarray(X), 2)
    dX = to_numpy(maxpool_backward(xp.asarray(dY), cache))
    expected = np.zeros_like(X)
    expected[:, ::2, ::2, :] = dY
    np.testing.assert_array_equal(dX, expected)


@given(pool_shapes, st.integers(0, 2**31 - 1))
def test_maxpool_gradient_matches_finite_differences(shape, seed):
    N, Hg, Wg, C, g = shape
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, Hg * g, Wg * g, C))   # continuous: no ties, far from kinks for eps=1e-6
    dY = rng.normal(size=(N, Hg, Wg, C))
    _, cache = maxpool_forward(X, g)
    results = check_gradients(lambda: maxpool_forward(X, g)[0], {"X": X},
                              {"X": maxpool_backward(dY, cache)}, dY)
    assert all(r.passed for r in results), format_report(results)


def upsample_loop(S, g):
    N, h, w = S.shape
    Up = np.empty((N, h * g, w * g))
    for i in range(h * g):
        for j in range(w * g):
            Up[:, i, j] = S[:, i // g, j // g]
    return Up


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.sampled_from([1, 2, 3, 4]),
       st.integers(0, 2**31 - 1))
def test_upsample_matches_loop_and_backward_is_block_sum(N, h, w, g, seed):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(N, h, w))
    dUp = rng.normal(size=(N, h * g, w * g))
    Up, cache = upsample_forward(S, g)
    np.testing.assert_array_equal(Up, upsample_loop(S, g))
    dS = upsample_backward(dUp, cache)
    block_sums = np.zeros_like(S)
    for i in range(h * g):
        for j in range(w * g):
            block_sums[:, i // g, j // g] += dUp[:, i, j]
    np.testing.assert_allclose(dS, block_sums, rtol=1e-13, atol=1e-13)
    results = check_gradients(lambda: upsample_forward(S, g)[0], {"S": S}, {"S": dS}, dUp)
    assert all(r.passed for r in results), format_report(results)


@pytest.mark.parametrize("g", [1, 3])
def test_backward_is_repeatable_fresh_and_does_not_mutate(g):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2, 3 * g, 2 * g, 2))
    dY = rng.normal(size=(2, 3, 2, 2))
    dY0 = dY.copy()
    _, cache = maxpool_forward(X, g)
    a, b = maxpool_backward(dY, cache), maxpool_backward(dY, cache)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dY, dY0)
    assert not np.shares_memory(a, dY)
    S = rng.normal(size=(2, 3, 2))
    dUp = rng.normal(size=(2, 3 * g, 2 * g))
    dUp0 = dUp.copy()
    Up, ucache = upsample_forward(S, g)
    assert not np.shares_memory(Up, S)
    a, b = upsample_backward(dUp, ucache), upsample_backward(dUp, ucache)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dUp, dUp0)
    assert not np.shares_memory(a, dUp)


@pytest.mark.parametrize("g", [1, 2, 3])
def test_forward_results_share_no_memory_with_their_inputs(g):
    """maxpool_forward and upsample_forward return new arrays at every scale, γ = 1
    included, as their docstrings promise: at γ = 1 returning X (or S) itself
    would give the same numbers, but a caller writing into the pooled map (an
    in-place activation, an optimiser step) would then change the caller's X."""
    rng = np.random.default_rng(g)
    X = rng.normal(size=(2, 2 * g, 3 * g, 2))
    X0 = X.copy()
    Y, _ = maxpool_forward(X, g)
    assert not np.shares_memory(Y, X)
    Y += 1.0
    np.testing.assert_array_equal(X, X0)
    S = rng.normal(size=(2, 2, 3))
    Up, _ = upsample_forward(S, g)
    assert not np.shares_memory(Up, S)


def test_bad_scales_and_shapes_raise_clear_errors():
    X = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match=r"scale 3 does not divide.*\(1, 4, 4, 2\)"):
        maxpool_forward(X, 3)
    with pytest.raises(ValueError, match="scale 2 does not divide"):
        maxpool_forward(np.zeros((1, 4, 5, 2)), 2)
    with pytest.raises(ValueError, match="positive integer, got 0"):
        maxpool_forward(X, 0)
    with pytest.raises(ValueError, match="positive integer, got -2"):
        upsample_forward(np.zeros((1, 2, 2)), -2)
    for bad in (1.5, True, "2", None):
        with pytest.raises(TypeError, match="positive integer"):
            maxpool_forward(X, bad)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        maxpool_forward(np.zeros((4, 4, 2)), 2)
    with pytest.raises(ValueError, match=r"\(N, h, w\)"):
        upsample_forward(np.zeros((1, 2, 2, 1)), 2)
    _, cache = maxpool_forward(X, 2)
    with pytest.raises(ValueError, match="dX_g must have shape"):
        maxpool_backward(np.zeros((1, 4, 4, 2)), cache)
    _, ucache = upsample_forward(np.zeros((1, 2, 2)), 2)
    with pytest.raises(ValueError, match="dUp must have shape"):
        upsample_backward(np.zeros((1, 2, 2)), ucache)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backends_agree_and_keep_dtype(xp, dtype):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2, 6, 4, 3)).astype(dtype)
    dY = rng.normal(size=(2, 3, 2, 3)).astype(dtype)
    S = rng.normal(size=(2, 3, 2)).astype(dtype)
    Y, cache = maxpool_forward(xp.asarray(X), 2)
    dX = maxpool_backward(xp.asarray(dY), cache)
    Up, ucache = upsample_forward(xp.asarray(S), 2)
    dS = upsample_backward(xp.asarray(Up), ucache)
    for a in (Y, dX, Up, dS):
        assert a.dtype == dtype and type(a) is xp.ndarray
    Y_ref, cache_ref = maxpool_forward(X, 2)
    np.testing.assert_array_equal(to_numpy(Y), Y_ref)
    np.testing.assert_array_equal(to_numpy(dX), maxpool_backward(dY, cache_ref))
    np.testing.assert_array_equal(to_numpy(Up), upsample_loop(S, 2))
    np.testing.assert_allclose(to_numpy(dS), 4 * S, rtol=1e-6)
