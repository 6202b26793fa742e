"""Exercise ``raster_forward``: ``raster_scan_forward``, the scan as a loop."""

import numpy as np

from attnrnn_np.course.reference import scan as ref

from ..base import check, expect_array, expect_close, expect_exact
from ..purity import check_pure as pure_and_repeatable
from .scanmath import cell, check_field, check_recurrence, hidden_shapes, raster_order, scan_forward, scan_problem

RECURRENCE_HINT = ("G = U[n,i,j] + h[n,i−1,j] · W_up + h[n,i,j−1] · W_left, then the cell with c[n,i,j−1] "
                   "carried in; states outside the map are 0")


def forward(s, where):
    return scan_forward(s.scan.raster_scan_forward, where, "raster_scan_forward")


@check("raster_forward")
def check_shapes(s):
    for dtype in ("float64", "float32"):
        U, W_up, W_left, _ = scan_problem(0, dtype=dtype)
        h, c, _ = forward(s, "raster_forward: shapes")(U, W_up, W_left)
        expect_array(f"raster_forward: shapes ({dtype})", "h", h, U.shape[:3] + (W_up.shape[0],), dtype)
        expect_array(f"raster_forward: shapes ({dtype})", "c", c, U.shape[:3] + (W_up.shape[0],), dtype)


@check("raster_forward")
def check_first_cell(s):
    U, W_up, W_left, _ = scan_problem(1)
    h, c, _ = forward(s, "raster_forward: the first cell")(U, W_up, W_left)
    expect_array("raster_forward: the first cell", "h", h, U.shape[:3] + (2,), U.dtype)
    expect_array("raster_forward: the first cell", "c", c, U.shape[:3] + (2,), U.dtype)
    h_want, c_want = cell(U[:, 0, 0], np.zeros_like(c[:, 0, 0]))
    hint = "the top-left cell has no neighbour: its G is U[n,0,0] alone and its carried c is 0"
    expect_close("raster_forward: the first cell", "h[:, 0, 0]", h[:, 0, 0], h_want,
                 want_is="the cell equations", hint=hint)
    expect_close("raster_forward: the first cell", "c[:, 0, 0]", c[:, 0, 0], c_want,
                 want_is="the cell equations", hint=hint)


@check("raster_forward")
def check_every_cell_follows_the_recurrence(s):
    for shape in ((2, 3, 4), (1, 4, 3), (2, 1, 5), (1, 5, 1)):
        N, H, W = shape
        U, W_up, W_left, _ = scan_problem(2, N=N, H=H, W=W)
        h, c, _ = forward(s, "raster_forward: recurrence")(U, W_up, W_left)
        expect_array("raster_forward: recurrence", "h", h, U.shape[:3] + (2,), U.dtype)
        expect_array("raster_forward: recurrence", "c", c, U.shape[:3] + (2,), U.dtype)
        check_recurrence(f"raster_forward: every cell follows §3.2 (H={H}, W={W})", U, h, c, W_up, W_left,
                         up="above", left="left", order=raster_order, hint=RECURRENCE_HINT)


@check("raster_forward")
def check_receptive_field(s):
    U, W_up, W_left, _ = scan_problem(3, H=4, W=5)
    check_field("raster_forward: receptive field (§4)", forward(s, "raster_forward: receptive field"),
                U, W_up, W_left, reaches=lambda a, b, i, j: a <= i and b <= j,
                hint="a raster cell sees only cells above and to its left (a ≤ i and b ≤ j), through "
                     "chains of neighbours; read the neighbours' states after they are computed")


@check("raster_forward")
def check_pure(s):
    for dtype in ("float64", "float32"):
        U, W_up, W_left, _ = scan_problem(4, dtype=dtype)
        pure_and_repeatable(s, f"raster_forward: inputs untouched, repeatable ({dtype})", "scan.raster_scan_forward",
                   (U, W_up, W_left), ("U", "W_up", "W_left"), ("h", "c", "cache"))


@check("raster_forward", hidden=True)
def check_hidden_cases(s, rng):
    for N, H, W, K in hidden_shapes(rng):
        for dtype in ("float32", "float64"):
            U, W_up, W_left, _ = scan_problem(rng, N=N, H=H, W=W, K=K, dtype=dtype)
            U.reshape(-1)[rng.integers(0, U.size, size=max(1, U.size // 8))] = rng.choice([-800.0, 800.0])
            where = f"raster_forward: hidden case (N={N}, H={H}, W={W}, K={K}, {dtype})"
            h, c, _ = forward(s, where)(U, W_up, W_left)
            h0, c0, _ = ref.raster_scan_forward(U, W_up, W_left)
            expect_exact(where, "h", h, h0, want_is="§3.2", hint=RECURRENCE_HINT)
            expect_exact(where, "c", c, c0, want_is="§3.2", hint=RECURRENCE_HINT)
