"""The two scan schedules compute the same function: ``wavefront`` == ``raster``.

``raster`` is the plain H·W loop that reads like docs/model.md §3; ``wavefront`` walks
the H + W − 1 anti-diagonals with packed cells. In float64 they must agree to
1e-12 — forward and every gradient — on the whole layer, on the bare scan with
D = 2 independent scans, and with the recurrence switched off.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np import arnn_backward, arnn_forward
from attnrnn_np.scan import diagonal_lstm_backward, diagonal_lstm_forward, diagonals

from strategies import analytic_grads, assert_all_close, assert_close, dims, make_problem, normalizations, scaled, seeds

TOL = 1e-12
sides = st.integers(1, 5)


@pytest.mark.parametrize("H, W", [(1, 1), (1, 4), (4, 1), (2, 3), (3, 2), (5, 5)])
def test_diagonals_cover_the_map_once_in_dependency_order(H, W):
    diag = diagonals(H, W)
    assert len(diag) == H + W - 1  # the number of sequential steps
    order = [(t, i, t - i) for t, (lo, hi) in enumerate(diag) for i in range(lo, hi + 1)]
    assert sorted((i, j) for _, i, j in order) == [(i, j) for i in range(H) for j in range(W)]
    assert all(0 <= j < W for _, _, j in order)
    # every cell's step comes after the steps of the cell above and the cell to its left
    step = {(i, j): t for t, i, j in order}
    for (i, j), t in step.items():
        if i > 0:
            assert step[i - 1, j] < t
        if j > 0:
            assert step[i, j - 1] < t


def _forward_backward(p, **kwargs):
    A, cache = arnn_forward(p.X, p.params, p.q, **kwargs)
    return A, analytic_grads(*arnn_backward(p.dA, cache))


@scaled(20)
@given(d=dims(), normalize=normalizations, seed=seeds, recurrent=st.booleans())
def test_wavefront_equals_raster_on_the_layer(xp, d, normalize, seed, recurrent):
    p = make_problem(d, seed, xp)
    A_w, g_w = _forward_backward(p, normalize=normalize, schedule="wavefront", recurrent=recurrent)
    A_r, g_r = _forward_backward(p, normalize=normalize, schedule="raster", recurrent=recurrent)
    assert_close(A_w, A_r, rtol=TOL, atol=TOL, name="A")
    assert_all_close(g_w, g_r, rtol=TOL, atol=TOL)


@scaled(20)
@given(N=st.integers(1, 3), H=sides, W=sides, K=st.integers(1, 3), seed=seeds,
       reverse=st.tuples(st.booleans(), st.booleans()))
def test_wavefront_equals_raster_on_the_bare_scan(xp, N, H, W, K, seed, reverse):
    """D = 2 scans with different weights in one call, as the layer runs them.

    With ``reverse`` the raster schedule rotates the map literally, while the
    wavefront reads the rotated map's cells through its packing index: two
    independent routes to inverse raster order."""
    rng = np.random.default_rng(seed)
    D = 2
    U = xp.asarray(rng.normal(size=(D, N, H, W, 4 * K)))
    W_up = xp.asarray(rng.normal(0.0, 0.7, size=(D, K, 4 * K)))
    W_left = xp.asarray(rng.normal(0.0, 0.7, size=(D, K, 4 * K)))
    dh = xp.asarray(rng.normal(size=(D, N, H, W, K)))
    h_w, cache_w = diagonal_lstm_forward(U, W_up, W_left, schedule="wavefront", reverse=reverse)
    h_r, cache_r = diagonal_lstm_forward(U, W_up, W_left, schedule="raster", reverse=reverse)
    assert h_w.shape == h_r.shape == (D, N, H, W, K)
    assert_close(h_w, h_r, rtol=TOL, atol=TOL, name="h")
    for name, a, b in zip(("dU", "dW_up", "dW_left"),
                          diagonal_lstm_backward(dh, cache_w), diagonal_lstm_backward(dh, cache_r), strict=True):
        assert a.shape == b.shape, name
        assert_close(a, b, rtol=TOL, atol=TOL, name=name)


def test_unknown_schedule_is_refused(xp):
    U = xp.zeros((1, 1, 2, 2, 4))
    W = xp.zeros((1, 1, 4))
    with pytest.raises(ValueError, match="unknown schedule 'diagonal'"):
        diagonal_lstm_forward(U, W, W, schedule="diagonal")
    with pytest.raises(ValueError, match="one flag per scan"):
        diagonal_lstm_forward(U, W, W, reverse=(True, False))
