"""Exercise ``raster_backward``: ``raster_scan_backward``; shared with ``inverse_raster``'s backward."""

import numpy as np

from attnrnn_np.course.reference import scan as ref

from ..base import check, expect_array, expect_close, expect_exact, fail, numgrad, sequence
from ..purity import check_pure as pure_and_repeatable
from .scanmath import gate_map, hidden_shapes, scan_forward, scan_problem

SCAN_BACKWARD_HINT = ("visit the cells in exactly the reverse order. A cell's dh is the head's gradient plus what "
                      "the cell below (through W_up) and the cell to the right (through W_left) send back; its "
                      "dc is what the cell to the right sends back. Add these messages (+=): two cells send "
                      "to each cell. The wrong entry with the largest (i, j) is where to start looking")


def scan_backward(fn, where, function):
    def run(dh, cache):
        return sequence(where, fn(dh, cache), ("dU", "dW_up", "dW_left"), function)
    return run


def check_scan_gradients(where, forward, backward, hint):
    """The three gradients of a scan against central differences of the student's own forward."""
    for seed, shape in ((5, dict(H=3, W=4)), (6, dict(N=1, H=1, W=4)), (7, dict(N=1, H=4, W=1))):
        U, W_up, W_left, rng = scan_problem(seed, **shape)
        h, _, cache = forward(U, W_up, W_left)
        expect_array(f"{where}: shapes", "h", h, U.shape[:3] + (W_up.shape[0],), U.dtype)
        dh = rng.normal(size=h.shape)
        dU, dW_up, dW_left = backward(dh, cache)
        pairs = dict(U=(U, dU), W_up=(W_up, dW_up), W_left=(W_left, dW_left))
        for name, (x, dx) in pairs.items():
            expect_array(f"{where}: shapes", f"d{name}", dx, x.shape, x.dtype)
        for name, (x, dx) in pairs.items():
            expect_close(f"{where}: gradient of {name} (H={U.shape[1]}, W={U.shape[2]})", f"d{name}", dx,
                         numgrad(lambda U=U, W_up=W_up, W_left=W_left: forward(U, W_up, W_left)[0], x, dh),
                         describe=gate_map(U.shape[-1]) if name == "U" else None, hint=hint, last=name == "U")


def check_scan_exact(where, forward, backward, ref_forward, ref_backward, cases, hint):
    """The gradients equal the exact ones of the reference to round-off, when the student's forward is right."""
    for U, W_up, W_left, dh in cases:
        tag = f"N={U.shape[0]}, H={U.shape[1]}, W={U.shape[2]}, K={W_up.shape[0]}, {U.dtype}"
        h, _, cache = forward(U, W_up, W_left)
        h0, _, r_cache = ref_forward(U, W_up, W_left)
        expect_array(f"{where} ({tag})", "h", h, h0.shape, h0.dtype)
        if not np.allclose(h, h0, rtol=1e-4, atol=1e-6):
            fail(f"{where} ({tag})", "your forward scan does not give the states of docs/model.md §3 on this "
                 "case, so its backward cannot be compared with the exact gradient",
                 "pass the forward checks first (raster_forward, or this exercise's forward)")
        got = backward(dh, cache)
        want = ref_backward(dh, r_cache)
        for name, g, w in zip(("dU", "dW_up", "dW_left"), got, want, strict=True):
            expect_exact(f"{where} ({tag})", name, g, w, describe=gate_map(U.shape[-1]) if name == "dU" else None,
                         hint=hint)


def exact_cases(rng, hidden):
    shapes = [(2, 3, 4, 2), (1, 4, 2, 3), (2, 1, 3, 1)]
    if hidden:
        shapes = hidden_shapes(rng)
    cases = []
    for N, H, W, K in shapes:
        for dtype in ("float64", "float32") if hidden else ("float64",):
            U, W_up, W_left, _ = scan_problem(rng, N=N, H=H, W=W, K=K, dtype=dtype)
            cases.append((U, W_up, W_left, rng.normal(size=(N, H, W, K)).astype(dtype)))
    return cases


def forward(s, where):
    return scan_forward(s.scan.raster_scan_forward, where, "raster_scan_forward")


def backward(s, where):
    return scan_backward(s.scan.raster_scan_backward, where, "raster_scan_backward")


@check("raster_backward")
def check_gradients(s):
    check_scan_gradients("raster_backward", forward(s, "raster_backward"), backward(s, "raster_backward"),
                         SCAN_BACKWARD_HINT)


@check("raster_backward")
def check_gradients_are_exact(s):
    check_scan_exact("raster_backward: exact gradients", forward(s, "raster_backward"),
                     backward(s, "raster_backward"), ref.raster_scan_forward, ref.raster_scan_backward,
                     exact_cases(np.random.default_rng(17), False), SCAN_BACKWARD_HINT)


@check("raster_backward")
def check_gradient_flows_only_backwards(s):
    U, W_up, W_left, _ = scan_problem(8, N=1, H=4, W=5)
    h, _, cache = forward(s, "raster_backward")(U, W_up, W_left)
    expect_array("raster_backward: shapes", "h", h, U.shape[:3] + (2,), U.dtype)
    dh = np.zeros_like(h)
    dh[0, 2, 3] = 1.0
    dU = backward(s, "raster_backward")(dh, cache)[0]
    expect_array("raster_backward: shapes", "dU", dU, U.shape, U.dtype)
    moved = np.abs(dU[0]).max(axis=-1) > 0
    for i in range(4):
        for j in range(5):
            must = i <= 2 and j <= 3
            if moved[i, j] != must:
                fail("raster_backward: gradient reaches exactly the cells that feed h[2, 3]",
                     f"with dh nonzero only at cell (2, 3), dU at cell ({i}, {j}) is "
                     f"{'nonzero' if moved[i, j] else 'zero'}; only cells above-left of (2, 3) feed it (§4)",
                     "messages go up and left only, and only from cells that received gradient")


@check("raster_backward")
def check_pure(s):
    for dtype in ("float64", "float32"):
        U, W_up, W_left, rng = scan_problem(9, dtype=dtype)
        h, _, cache = forward(s, "raster_backward")(U, W_up, W_left)
        pure_and_repeatable(s, f"raster_backward: inputs untouched, repeatable ({dtype})", "scan.raster_scan_backward",
                   (rng.normal(size=h.shape).astype(dtype), cache), ("dh", "cache"), ("dU", "dW_up", "dW_left"))


@check("raster_backward", hidden=True)
def check_hidden_cases(s, rng):
    check_scan_exact("raster_backward: hidden case", forward(s, "raster_backward"), backward(s, "raster_backward"),
                     ref.raster_scan_forward, ref.raster_scan_backward, exact_cases(rng, True), SCAN_BACKWARD_HINT)
