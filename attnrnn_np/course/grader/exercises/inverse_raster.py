"""Exercise ``inverse_raster``: ``rot180``, ``inverse_raster_forward``, ``inverse_raster_backward``."""

import numpy as np

from attnrnn_np.course.reference import directions as ref

from ..base import check, expect_array, expect_close, fail
from ..purity import check_pure as pure_and_repeatable
from .raster_backward import check_scan_exact, check_scan_gradients, exact_cases, scan_backward
from .scanmath import cell, check_field, check_recurrence, inverse_order, scan_forward, scan_problem

ROTATION_HINT = ("the inverse-raster scan is rot180(D(rot180(U))): rot180 reverses both spatial axes, "
                 "rows and columns, so the scan starts at the bottom-right corner")
BACKWARD_HINT = ("rot180 only moves cells, so its backward moves the gradient back: rot180 is its own inverse, "
                 "so rotate dh, run your raster_scan_backward, rotate dU back")


def forward(s, where):
    return scan_forward(s.directions.inverse_raster_forward, where, "inverse_raster_forward")


def backward(s, where):
    return scan_backward(s.directions.inverse_raster_backward, where, "inverse_raster_backward")


@check("inverse_raster")
def check_rot180(s):
    for shape in ((2, 3, 4, 2), (2, 3, 4), (1, 2, 5, 2, 3)):
        a = np.arange(int(np.prod(shape)), dtype=float).reshape(shape)
        r = s.directions.rot180(a)
        where = f"inverse_raster: rot180 on an array of shape {shape}"
        expect_array(where, "rot180(a)", r if not isinstance(r, np.ndarray) else np.asarray(r), a.shape, a.dtype)
        N, H, W = a.shape[:3]
        for n in range(N):
            for i in range(H):
                for j in range(W):
                    if not np.array_equal(r[n, i, j], a[n, H - 1 - i, W - 1 - j]):
                        fail(where, f"rot180(a)[{n}, {i}, {j}] = {np.asarray(r[n, i, j]).tolist()}, but the "
                             f"definition gives a[{n}, {H - 1 - i}, {W - 1 - j}] = "
                             f"{a[n, H - 1 - i, W - 1 - j].tolist()}",
                             ROTATION_HINT + "; it takes any array of shape (N, H, W, ...), (N, H, W) included")


@check("inverse_raster")
def check_first_cell_is_the_bottom_right_corner(s):
    U, W_up, W_left, _ = scan_problem(11)
    h, c, _ = forward(s, "inverse_raster")(U, W_up, W_left)
    expect_array("inverse_raster: shapes", "h", h, U.shape[:3] + (2,), U.dtype)
    h_want, _ = cell(U[:, -1, -1], np.zeros((U.shape[0], 2)))
    hint = ROTATION_HINT
    if np.allclose(h[:, 0, 0], cell(U[:, 0, 0], np.zeros((U.shape[0], 2)))[0]):
        hint = "your scan starts at the top-left corner, in raster order; " + ROTATION_HINT
    expect_close("inverse_raster: the first cell is the bottom-right corner", "h[:, H−1, W−1]",
                 h[:, -1, -1], h_want, want_is="the cell equations with no neighbour", hint=hint)


@check("inverse_raster")
def check_every_cell_follows_the_recurrence(s):
    for shape in ((2, 3, 4), (1, 4, 3)):
        N, H, W = shape
        U, W_up, W_left, _ = scan_problem(12, N=N, H=H, W=W)
        h, c, _ = forward(s, "inverse_raster")(U, W_up, W_left)
        for name, a in (("h", h), ("c", c)):
            expect_array("inverse_raster: shapes", name, a, U.shape[:3] + (2,), U.dtype)
        check_recurrence(f"inverse_raster: every cell follows §3.3 (H={H}, W={W})", U, h, c, W_up, W_left,
                         up="below", left="right", order=inverse_order,
                         hint="in map coordinates a cell reads h · W_up from the cell below, h · W_left and c "
                              "from the cell to its right; " + ROTATION_HINT)


@check("inverse_raster")
def check_receptive_field(s):
    U, W_up, W_left, _ = scan_problem(13, H=4, W=5)
    check_field("inverse_raster: receptive field (§4)", forward(s, "inverse_raster"), U, W_up, W_left,
                reaches=lambda a, b, i, j: a >= i and b >= j,
                hint="an inverse-raster cell sees only cells below and to its right (a ≥ i and b ≥ j); "
                     + ROTATION_HINT)


@check("inverse_raster")
def check_gradients(s):
    check_scan_gradients("inverse_raster", forward(s, "inverse_raster"), backward(s, "inverse_raster"),
                         BACKWARD_HINT)


@check("inverse_raster")
def check_gradients_are_exact(s):
    check_scan_exact("inverse_raster: exact gradients", forward(s, "inverse_raster"),
                     backward(s, "inverse_raster"), ref.inverse_raster_forward, ref.inverse_raster_backward,
                     exact_cases(np.random.default_rng(18), False), BACKWARD_HINT)


@check("inverse_raster")
def check_pure(s):
    U, W_up, W_left, rng = scan_problem(14)
    pure_and_repeatable(s, "inverse_raster: inputs untouched, repeatable", "directions.inverse_raster_forward",
               (U, W_up, W_left), ("U", "W_up", "W_left"), ("h", "c", "cache"))
    h, _, cache = forward(s, "inverse_raster")(U, W_up, W_left)
    pure_and_repeatable(s, "inverse_raster: inputs untouched, repeatable", "directions.inverse_raster_backward",
               (rng.normal(size=U.shape[:3] + (2,)), cache), ("dh", "cache"), ("dU", "dW_up", "dW_left"))


@check("inverse_raster", hidden=True)
def check_hidden_cases(s, rng):
    check_scan_exact("inverse_raster: hidden case", forward(s, "inverse_raster"), backward(s, "inverse_raster"),
                     ref.inverse_raster_forward, ref.inverse_raster_backward, exact_cases(rng, True), BACKWARD_HINT)
