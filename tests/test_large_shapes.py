"""Problems large enough to cross every block and tiling boundary in the code.

The drawn problems elsewhere have sides ≤ 5 and at most 3 samples. Three
places in the code only change behaviour beyond that:

- the input-to-state convolution's backward computes dX in blocks of
  B = 2²⁰ // (H·W·k²·C) samples (``conv_same_backward``), each block one GEMM
  and one col2im into its slice of dX; at small sizes B is in the thousands
  and the loop runs once, so a slicing error in any later block would pass;
- the wavefront walks H + W − 1 anti-diagonals whose row range [lo, hi] is
  clipped by both the top and the left edge; with sides ≤ 5 the longest
  diagonal has 5 cells, and a map much wider than tall (or the reverse) has
  a long middle stretch where lo and hi both move;
- the multi-scale layer pools, scans and upsamples maps of several sizes at
  once.

Each check is in float64 against an independent route: per-sample results
(one block each) and the adjoint identity for the convolution, the raster
loop (``schedule="raster"``) for the scans, and finite differences along one
random direction (``attnrnn_np.gradcheck.directional_check``, two forward
calls per input) for every gradient of the layer. The shapes are fixed, not
drawn, to keep the whole file within a few seconds.
"""

import numpy as np
import pytest

from attnrnn_np import (
    arnn_backward,
    arnn_forward,
    init_multiscale_params,
    multiscale_arnn_backward,
    multiscale_arnn_forward,
)
from attnrnn_np.conv import conv_same_backward, conv_same_forward
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.scan import diagonal_lstm_backward, diagonal_lstm_forward

from strategies import Dims, analytic_grads, assert_all_close, assert_close, host, make_problem, problem_inputs

TOL = 1e-10


def conv_block(H, W, C, k):
    """The sample-block size of ``conv_same_backward`` for these sizes (its formula, restated)."""
    return max(1, (1 << 20) // (H * W * k * k * C))


# (N, H, W, C, F, k): B = 3, 3, 4 and 1, N not a multiple of B > 1, so the last block is short;
# square, wider than tall, taller than wide, and each kernel size.
CONV_CASES = [(7, 32, 32, 32, 3, 3), (5, 16, 48, 48, 2, 3), (5, 64, 16, 256, 2, 1), (3, 24, 24, 80, 2, 5)]


@pytest.mark.parametrize("N, H, W, C, F, k", CONV_CASES, ids=lambda v: str(v))
def test_conv_backward_over_several_sample_blocks(N, H, W, C, F, k):
    """Batch dX == the dX of each sample on its own (a single block), and
    ⟨conv(X), dU⟩ == ⟨X, dX⟩ == ⟨W_x, dW_x⟩ (the convolution is linear in each).
    Rules out any block but the first being skipped, shifted, cut short or
    written into the wrong rows of dX."""
    B = conv_block(H, W, C, k)
    assert 1 <= B < N and (B == 1 or N % B != 0), (B, N)   # several blocks, the last one short
    rng = np.random.default_rng(N * H + k)
    X, W_x, dU = rng.normal(size=(N, H, W, C)), rng.normal(size=(k, k, C, F)), rng.normal(size=(N, H, W, F))
    U, cache = conv_same_forward(X, W_x)
    dX, dW_x = conv_same_backward(dU, cache)
    dW_sum = np.zeros_like(dW_x)
    for n in range(N):
        _, cache_n = conv_same_forward(X[n:n + 1], W_x)
        dX_n, dW_n = conv_same_backward(dU[n:n + 1], cache_n)
        assert_close(dX[n:n + 1], dX_n, rtol=1e-13, atol=1e-13, name=f"dX[{n}] (block {n // B} of {B})")
        dW_sum += dW_n
    assert_close(dW_x, dW_sum, rtol=1e-11, atol=1e-11, name="dW_x")
    inner = float((U * dU).sum())
    assert float((X * dX).sum()) == pytest.approx(inner, rel=1e-11)
    assert float((W_x * dW_x).sum()) == pytest.approx(inner, rel=1e-11)


# (H, W): long diagonals on a square map, a long middle stretch both ways, and single rows/columns.
SCAN_SHAPES = [(12, 12), (3, 29), (29, 3), (1, 33), (33, 1)]


@pytest.mark.parametrize("H, W", SCAN_SHAPES, ids=lambda v: str(v))
def test_wavefront_equals_raster_on_large_and_elongated_maps(H, W):
    """D = 2 scans (one reversed), h and every gradient: the packed diagonals'
    row ranges, the reversed walk and the state buffers agree with the plain
    loop on maps far from square and with diagonals of up to 12 cells."""
    rng = np.random.default_rng(H * 100 + W)
    N, K, reverse = 2, 3, (False, True)
    U = rng.normal(size=(2, N, H, W, 4 * K))
    W_up, W_left = rng.normal(0.0, 0.6, size=(2, K, 4 * K)), rng.normal(0.0, 0.6, size=(2, K, 4 * K))
    dh = rng.normal(size=(2, N, H, W, K))
    h_w, cache_w = diagonal_lstm_forward(U, W_up, W_left, schedule="wavefront", reverse=reverse)
    h_r, cache_r = diagonal_lstm_forward(U, W_up, W_left, schedule="raster", reverse=reverse)
    assert_close(h_w, h_r, rtol=TOL, atol=TOL, name="h")
    for name, a, b in zip(("dU", "dW_up", "dW_left"),
                          diagonal_lstm_backward(dh, cache_w), diagonal_lstm_backward(dh, cache_r), strict=True):
        assert_close(a, b, rtol=TOL, atol=TOL, name=name)


@pytest.mark.parametrize("normalize", ["sigmoid", "softmax"])
def test_layer_across_conv_blocks_against_raster_and_finite_differences(normalize):
    """A 20×28 map with C = 56 makes B = 3, so 5 samples span two blocks.
    The mask and every gradient equal the raster loop's, and every gradient
    (X, q, each parameter) passes a random-direction finite-difference check,
    which a wrong dX in the second block would fail."""
    d = Dims(N=5, H=20, W=28, C=56, K=2, Q=2, k=3)
    assert conv_block(d.H, d.W, d.C, d.k) == 3
    # Perturbations of 0.05 (not the default 0.5) keep U = conv(X, W_x) of 504 taps
    # moderate, so the gates are not saturated and every gradient is far from 0.
    p = make_problem(d, seed=21, param_scale=0.05)
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize)
    grads = analytic_grads(*arnn_backward(p.dA, cache))
    A_r, cache_r = arnn_forward(p.X, p.params, p.q, normalize=normalize, schedule="raster")
    assert_close(A, A_r, rtol=TOL, atol=TOL, name="A")
    assert_all_close(grads, analytic_grads(*arnn_backward(p.dA, cache_r)), rtol=TOL, atol=TOL)

    def f():
        return arnn_forward(p.X, p.params, p.q, normalize=normalize)[0]

    results = check_gradients(f, problem_inputs(p), grads, p.dA, directional_above=0, seed=3)
    assert all(r.passed for r in results), format_report(results)


def test_multiscale_on_a_larger_non_square_map():
    """Scales 1, 2, 4 on a 16×24 map: both schedules agree on the mask and
    every gradient, and every gradient passes a random-direction
    finite-difference check (the pooling margin is checked to exceed the
    step, so no window changes its winner)."""
    N, H, W, C, K, Q, k, scales = 2, 16, 24, 3, 2, 1, 3, (1, 2, 4)
    rng = np.random.default_rng(8)
    params = init_multiscale_params(C, K, scales, query_dim=Q, kernel_size=k, seed=8)
    params = {key: v + rng.normal(0.0, 0.5, v.shape) for key, v in params.items()}
    X, q, dA = rng.normal(size=(N, H, W, C)), rng.normal(size=(N, Q)), rng.normal(size=(N, H, W))
    windows = np.sort(X.reshape(N, H // 4, 4, W // 4, 4, C).transpose(0, 1, 3, 5, 2, 4).reshape(-1, 16), axis=1)
    assert (windows[:, -1] - windows[:, -2]).min() > 1e-6   # ≫ the step 1e-6·|v_i| ≤ 1e-6

    A, cache = multiscale_arnn_forward(X, params, q, scales=scales, normalize="softmax")
    dX, dq, grads = multiscale_arnn_backward(dA, cache)
    A_r, cache_r = multiscale_arnn_forward(X, params, q, scales=scales, normalize="softmax", schedule="raster")
    dX_r, dq_r, grads_r = multiscale_arnn_backward(dA, cache_r)
    assert_close(A, A_r, rtol=TOL, atol=TOL, name="A")
    assert_all_close({"X": dX, "q": dq, **grads}, {"X": dX_r, "q": dq_r, **grads_r}, rtol=TOL, atol=TOL)

    def f():
        return multiscale_arnn_forward(X, params, q, scales=scales, normalize="softmax")[0]

    results = check_gradients(f, {"X": X, "q": q, **params}, {"X": dX, "q": dq, **grads}, dA,
                              directional_above=0, seed=4)
    assert all(r.passed for r in results), format_report(results)
    assert host(A).shape == (N, H, W)
