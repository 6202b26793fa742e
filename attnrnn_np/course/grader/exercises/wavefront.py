"""Optional challenge ``wavefront``: ``wavefront_scan_forward``, the raster scan's numbers in H + W − 1 steps."""

import numpy as np

from attnrnn_np.course.reference import scan as ref

from ..base import CheckFailure, check, expect_array, expect_exact, fail, sequence
from .scanmath import check_recurrence, hidden_shapes, raster_order, scan_forward, scan_problem

SHAPES = ((2, 3, 4), (1, 4, 3), (1, 1, 5), (1, 5, 1), (1, 1, 1), (2, 4, 4))
SKEW_HINT = ("the cells of diagonal t are (i, t − i); their neighbours above and to the left lie on diagonal "
             "t − 1. If the first wrong cell is the first that reads a neighbour, the skew (which row or column a "
             "neighbour sits in) is off by one")


def wavefront(s, where, U, W_up, W_left):
    return sequence(where, s.scan.wavefront_scan_forward(U, W_up, W_left), ("h", "c"), "wavefront_scan_forward")


def _compare(where, name, got, want, H, W):
    expect_array(where, name, got, want.shape, want.dtype)
    bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-12)
    if bad.any():
        cells = sorted({(int(i), int(j)) for _, i, j, _ in np.argwhere(bad)}, key=lambda ij: (sum(ij), ij[0]))
        i, j = cells[0]
        fail(where, f"{name} differs from your raster loop in {len(cells)} of {H * W} cells; the first, in "
             f"wavefront order, is cell ({i}, {j}) on diagonal t = {i + j}; largest error "
             f"{np.abs(got - want).max():.2e}", SKEW_HINT)


@check("wavefront")
def check_same_numbers_as_your_raster_loop(s):
    raster = scan_forward(s.scan.raster_scan_forward, "wavefront", "raster_scan_forward")
    for N, H, W in SHAPES:
        U, W_up, W_left, _ = scan_problem(20, N=N, H=H, W=W)
        h_r, c_r, _ = raster(U, W_up, W_left)
        try:
            expect_array("wavefront", "h", h_r, U.shape[:3] + (2,), U.dtype)
            expect_array("wavefront", "c", c_r, U.shape[:3] + (2,), U.dtype)
            check_recurrence("wavefront", U, h_r, c_r, W_up, W_left, up="above", left="left",
                             order=raster_order, hint="")
        except CheckFailure:
            fail("wavefront: same numbers as your raster loop", "this challenge compares with your "
                 "raster_scan_forward, which does not follow §3.2 yet", "pass exercise raster_forward first")
        h_w, c_w = wavefront(s, "wavefront", U, W_up, W_left)
        where = f"wavefront: same numbers as your raster loop (H={H}, W={W})"
        _compare(where, "h", h_w, h_r, H, W)
        _compare(where, "c", c_w, c_r, H, W)


@check("wavefront")
def check_one_step_per_diagonal(s):
    """Counted in the student's process, by wrapping every name bound to lstm_cell_forward in the student's
    modules. The count can be forged by the student's code; it gives this check only, never the values."""
    U, W_up, W_left, _ = scan_problem(21, N=1, H=3, W=5)
    s.child.count("lstm_cell.lstm_cell_forward")
    wavefront(s, "wavefront", U, W_up, W_left)
    calls = s.child.calls("lstm_cell.lstm_cell_forward")
    if calls != 3 + 5 - 1:
        fail("wavefront: H + W − 1 sequential steps", f"on a 3×5 map wavefront_scan_forward called "
             f"lstm_cell_forward {calls} times, not 3 + 5 − 1 = 7",
             "call it once per anti-diagonal, on all the diagonal's cells at once (stack them on an axis)")


@check("wavefront", hidden=True)
def check_hidden_cases(s, rng):
    for N, H, W, K in hidden_shapes(rng):
        for dtype in ("float32", "float64"):
            U, W_up, W_left, _ = scan_problem(rng, N=N, H=H, W=W, K=K, dtype=dtype)
            where = f"wavefront: hidden case (N={N}, H={H}, W={W}, K={K}, {dtype})"
            h, c = wavefront(s, where, U, W_up, W_left)
            h0, c0, _ = ref.raster_scan_forward(U, W_up, W_left)
            expect_exact(where, "h", h, h0, want_is="the raster scan", hint=SKEW_HINT)
            expect_exact(where, "c", c, c0, want_is="the raster scan", hint=SKEW_HINT)
