"""Each forward/backward pair of the layer, on its own, against central differences.

The whole-layer test (test_gradients.py) says *that* a gradient is wrong;
these say *which piece* is. Every piece is checked in float64 with random
inputs and random upstream gradients, every input of the piece perturbed:
relative error ≤ 1e-6 or absolute error ≤ 1e-8 (see test_gradients.py for
why these tolerances).

Pieces with several outputs are checked through the scalar
L = Σ_outputs ⟨output, upstream⟩, the outputs flattened and concatenated.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np.conv import col2im, conv_same_backward, conv_same_forward, im2col
from attnrnn_np.directions import directions_backward, directions_forward
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.head import head_backward, head_forward
from attnrnn_np.lstm_cell import lstm_cell_backward, lstm_cell_forward
from attnrnn_np.nonlinear import sigmoid
from attnrnn_np.normalize import normalize_backward, normalize_forward
from attnrnn_np.scan import diagonal_lstm_backward, diagonal_lstm_forward, rot180

from strategies import assert_close, host, scaled, seeds

EPS, RTOL, ATOL = 1e-5, 1e-6, 1e-8
small = st.integers(1, 4)


class Draw:
    """Random float64 arrays on backend ``xp`` from one seed."""

    def __init__(self, xp, seed):
        self.xp, self.rng = xp, np.random.default_rng(seed)

    def __call__(self, *shape, scale=1.0):
        return self.xp.asarray(self.rng.normal(0.0, scale, shape))


def assert_gradients(f, inputs, analytic, dout):
    results = check_gradients(f, inputs, analytic, dout, eps=EPS, rtol=RTOL, atol=ATOL)
    assert all(r.passed for r in results), "\n" + format_report(results)


def flat(xp, *arrays):
    """Outputs (or their upstream gradients) as one flat vector."""
    return xp.concatenate([a.reshape(-1) for a in arrays])


# --------------------------------------------------------------------------
# nonlinearities
# --------------------------------------------------------------------------

def test_sigmoid_is_stable_and_symmetric(xp):
    x = xp.asarray([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
    y = host(sigmoid(x))
    assert np.isfinite(y).all() and ((y >= 0) & (y <= 1)).all()
    assert y[3] == 0.5 and y[0] == 0.0 and y[-1] == 1.0
    np.testing.assert_allclose(y + y[::-1], 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(y[2], 1 / (1 + np.exp(1.0)), rtol=1e-15)
    # full relative precision in the tail, not rounded to 0 (see nonlinear.py)
    np.testing.assert_allclose(y[1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-14)


# --------------------------------------------------------------------------
# LSTM cell
# --------------------------------------------------------------------------

@scaled(10)
@given(seed=seeds, K=st.integers(1, 3), lead=st.lists(small, min_size=1, max_size=3),
       upstream=st.sampled_from(["both", "dh=None", "dc=None"]))
def test_lstm_cell_gradients(xp, seed, K, lead, upstream):
    """Missing upstream gradients (the last cell of a scan gets no carried dc)
    mean zero, and the result must equal the explicit-zero case."""
    r = Draw(xp, seed)
    G, c_prev = r(*lead, 4 * K, scale=2.0), r(*lead, K)
    dh, dc = r(*lead, K), r(*lead, K)
    dh_arg = None if upstream == "dh=None" else dh
    dc_arg = None if upstream == "dc=None" else dc
    dh = xp.zeros_like(dh) if dh_arg is None else dh
    dc = xp.zeros_like(dc) if dc_arg is None else dc
    h, c, cache = lstm_cell_forward(G, c_prev)
    assert h.shape == c.shape == c_prev.shape
    dG, dc_prev = lstm_cell_backward(dh_arg, dc_arg, cache)
    dG0, dc_prev0 = lstm_cell_backward(dh, dc, cache)  # the same with explicit zeros
    assert np.array_equal(host(dG), host(dG0)) and np.array_equal(host(dc_prev), host(dc_prev0))

    def f():
        h, c, _ = lstm_cell_forward(G, c_prev)
        return flat(xp, h, c)

    assert_gradients(f, {"G": G, "c_prev": c_prev}, {"G": dG, "c_prev": dc_prev}, flat(xp, dh, dc))


def test_lstm_cell_with_no_upstream_gradient_is_zero(xp):
    r = Draw(xp, 0)
    _, _, cache = lstm_cell_forward(r(2, 8), r(2, 2))
    dG, dc_prev = lstm_cell_backward(None, None, cache)
    assert dG.shape == (2, 8) and dc_prev.shape == (2, 2)
    assert not host(dG).any() and not host(dc_prev).any()


def test_lstm_cell_gate_order_is_i_f_g_o(xp):
    """With K = 1, gate blocks driven to saturation one by one show their roles (docs/model.md §1)."""
    big = 50.0
    c_prev = xp.asarray([[0.7]])

    def cell(i, f, g, o):
        h, c, _ = lstm_cell_forward(xp.asarray([[i, f, g, o]]), c_prev)
        return float(host(h)[0, 0]), float(host(c)[0, 0])

    assert cell(-big, big, 0.3, big)[1] == pytest.approx(0.7)                  # f keeps, i blocks
    assert cell(big, -big, 0.3, big)[1] == pytest.approx(np.tanh(0.3))         # i admits g, f forgets
    assert cell(big, -big, 0.3, -big)[0] == pytest.approx(0.0, abs=1e-15)      # o closes h
    assert cell(big, -big, 0.3, big)[0] == pytest.approx(np.tanh(np.tanh(0.3)))


# --------------------------------------------------------------------------
# the k×k convolution
# --------------------------------------------------------------------------

@scaled(8)
@given(seed=seeds, N=st.integers(1, 2), H=small, W=small, C=st.integers(1, 3), F=st.integers(1, 3),
       k=st.sampled_from([1, 3]))
def test_conv_same_gradients(xp, seed, N, H, W, C, F, k):
    r = Draw(xp, seed)
    X, Wk, dU = r(N, H, W, C), r(k, k, C, F), r(N, H, W, F)
    U, cache = conv_same_forward(X, Wk)
    assert U.shape == (N, H, W, F)
    dX, dW = conv_same_backward(dU, cache)
    assert_gradients(lambda: conv_same_forward(X, Wk)[0], {"X": X, "W": Wk}, {"X": dX, "W": dW}, dU)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_im2col_and_col2im_are_adjoint(xp, k):
    """⟨im2col(X), Y⟩ == ⟨X, col2im(Y)⟩ — col2im is the exact transpose."""
    r = Draw(xp, k)
    X, Y = r(2, 3, 4, 2), r(2, 3, 4, k, k, 2)
    lhs = float((im2col(X, k) * Y).sum())
    rhs = float((X * col2im(Y, X.shape)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-13)


def test_conv_matches_the_spec_sum(xp):
    """U[n,i,j] = Σ_{a,b,c} X[n, i+a−p, j+b−p, c] W[a,b,c], zero outside the map."""
    r = Draw(xp, 11)
    X, Wk = r(2, 3, 4, 2), r(3, 3, 2, 5)
    U = host(conv_same_forward(X, Wk)[0])
    Xh, Wh = host(X), host(Wk)
    expected = np.zeros(U.shape)
    for i in range(3):
        for j in range(4):
            for a in range(3):
                for b in range(3):
                    if 0 <= i + a - 1 < 3 and 0 <= j + b - 1 < 4:
                        expected[:, i, j] += Xh[:, i + a - 1, j + b - 1] @ Wh[a, b]
    np.testing.assert_allclose(U, expected, rtol=1e-13, atol=1e-14)


# --------------------------------------------------------------------------
# the diagonal scan, D = 2 scans at once, both schedules
# --------------------------------------------------------------------------

@scaled(10)
@given(seed=seeds, N=st.integers(1, 2), H=small, W=small, K=st.integers(1, 2),
       schedule=st.sampled_from(["wavefront", "raster"]), reverse=st.tuples(st.booleans(), st.booleans()))
def test_scan_gradients(xp, seed, N, H, W, K, schedule, reverse):
    r = Draw(xp, seed)
    U, W_up, W_left = r(2, N, H, W, 4 * K), r(2, K, 4 * K, scale=0.8), r(2, K, 4 * K, scale=0.8)
    dh = r(2, N, H, W, K)
    _, cache = diagonal_lstm_forward(U, W_up, W_left, schedule=schedule, reverse=reverse)
    dU, dW_up, dW_left = diagonal_lstm_backward(dh, cache)

    def f():
        return diagonal_lstm_forward(U, W_up, W_left, schedule=schedule, reverse=reverse)[0]

    assert_gradients(f, {"U": U, "W_up": W_up, "W_left": W_left},
                     {"U": dU, "W_up": dW_up, "W_left": dW_left}, dh)


# --------------------------------------------------------------------------
# the two directions
# --------------------------------------------------------------------------

@scaled(8)
@given(seed=seeds, N=st.integers(1, 2), H=small, W=small, K=st.integers(1, 2),
       schedule=st.sampled_from(["wavefront", "raster"]), recurrent=st.booleans())
def test_directions_gradients(xp, seed, N, H, W, K, schedule, recurrent):
    r = Draw(xp, seed)
    U = r(2, N, H, W, 4 * K)
    W_up, W_left = r(2, K, 4 * K, scale=0.8), r(2, K, 4 * K, scale=0.8)
    dh = r(2, N, H, W, K)
    kwargs = dict(schedule=schedule, recurrent=recurrent)
    _, cache = directions_forward(U, W_up, W_left, **kwargs)
    dU, dW_up, dW_left = directions_backward(dh, cache)

    def f():
        return directions_forward(U, W_up, W_left, **kwargs)[0]

    assert_gradients(f, {"U": U, "W_up": W_up, "W_left": W_left},
                     {"U": dU, "W_up": dW_up, "W_left": dW_left}, dh)


def test_bwd_direction_is_the_raster_scan_of_the_rotated_map(xp):
    """docs/model.md §3.3 literally: h_bwd = rot180(D_bwd(rot180(U_bwd))), with the bare D = 1 raster scan."""
    r = Draw(xp, 7)
    N, H, W, K = 2, 3, 5, 2
    U, W_up, W_left = r(2, N, H, W, 4 * K), r(2, K, 4 * K, scale=0.8), r(2, K, 4 * K, scale=0.8)
    h, _ = directions_forward(U, W_up, W_left)
    h_ref, _ = diagonal_lstm_forward(rot180(U[1])[None], W_up[1:], W_left[1:], schedule="raster")
    assert_close(h[1], rot180(h_ref[0]), rtol=1e-12, atol=1e-12, name="h_bwd")


# --------------------------------------------------------------------------
# head and normalisation
# --------------------------------------------------------------------------

@scaled(5)
@given(seed=seeds, N=st.integers(1, 2), H=small, W=small, K=st.integers(1, 3))
def test_head_gradients(xp, seed, N, H, W, K):
    r = Draw(xp, seed)
    h, w, b, dS = r(2, N, H, W, K), r(2 * K), r(1), r(N, H, W)
    S, cache = head_forward(h, w, b)
    assert S.shape == (N, H, W)
    dh, dw, db = head_backward(dS, cache)
    assert dh.shape == h.shape
    assert_gradients(lambda: head_forward(h, w, b)[0],
                     {"h": h, "w": w, "b": b},
                     {"h": dh, "w": dw, "b": db}, dS)


@scaled(8)
@given(seed=seeds, N=st.integers(1, 3), H=small, W=small, kind=st.sampled_from(["sigmoid", "softmax"]))
def test_normalize_gradients(xp, seed, N, H, W, kind):
    r = Draw(xp, seed)
    S, dA = r(N, H, W, scale=2.0), r(N, H, W)
    _, cache = normalize_forward(S, kind)
    dS = normalize_backward(dA, cache)
    assert_gradients(lambda: normalize_forward(S, kind)[0], {"S": S}, {"S": dS}, dA)


def test_softmax_is_max_shifted(xp):
    """Logits far beyond exp's range still give a finite distribution."""
    S = xp.asarray([[[1000.0, 999.0], [-1000.0, 1000.0]]])
    A, _ = normalize_forward(S, "softmax")
    e = np.exp(-1.0)
    assert_close(A, [[[1 / (2 + e), e / (2 + e)], [0.0, 1 / (2 + e)]]], rtol=1e-14, atol=1e-300, name="A")
