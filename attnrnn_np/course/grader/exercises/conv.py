"""Exercise ``conv``: ``col2im`` and ``conv_backward``; the given ``im2col`` and ``conv_forward`` as given."""

import numpy as np

from attnrnn_np.course.reference import conv as ref

from ..base import check, expect_array, expect_close, expect_exact, numgrad, sequence
from ..purity import check_pure as pure_and_repeatable

COL2IM_HINT = ("tap (a, b) of output cell (i, j) was copied from X[n, i+a−p, j+b−p]: add it back exactly there, "
               "and drop the taps that read the zero padding; wrong entries only on the border point at the "
               "padding offset")
DX_HINT = "dX = col2im(dU · W_xᵀ), with dU and W_x flattened as the forward flattens them"
DW_HINT = "U = P · W_x, so dW_x = Pᵀ · dU with the patches P = im2col(X) flattened to (N·H·W, k·k·C)"


def problem(rng, k, N=2, H=4, W=5, C=2, F=3, dtype="float64"):
    return (rng.normal(size=(N, H, W, C)).astype(dtype), rng.normal(size=(k, k, C, F)).astype(dtype),
            rng.normal(size=(N, H, W, F)).astype(dtype))


def pixel(H, W):
    def describe(idx):
        n, i, j, ch = idx
        edge = " (a border pixel)" if i in (0, H - 1) or j in (0, W - 1) else " (an inner pixel)"
        return f"sample {n}, row {i}, column {j}, channel {ch}{edge}"
    return describe


def tap(idx):
    return f"tap ({idx[0]}, {idx[1]}), in channel {idx[2]}, out channel {idx[3]}"


def forward(s, where, X, W_x):
    return sequence(where, s.conv.conv_forward(X, W_x), ("U", "cache"), "conv_forward")


def backward(s, where, dU, cache):
    return sequence(where, s.conv.conv_backward(dU, cache), ("dX", "dW_x"), "conv_backward")


def the_given_functions_are_as_given(s):
    """The given functions, which the exercise's backward relies on, behave as given (checked with the shapes:
    alone it would give points to untouched stubs)."""
    where = "conv: the given im2col and conv_forward"
    for k in (1, 3, 5):
        X, W_x, _ = problem(np.random.default_rng(k), k)
        expect_close(where, f"im2col(X, {k})", s.conv.im2col(X, k), ref.im2col(X, k), want_is="the given im2col",
                     rtol=0, atol=0, hint="im2col is given: restore it as the workspace wrote it")
        U, _ = forward(s, where, X, W_x)
        expect_close(where, f"conv_forward U (k={k})", U, ref.conv_forward(X, W_x)[0], rtol=1e-12, atol=1e-12,
                     want_is="the given conv_forward", hint="conv_forward is given: restore it")


@check("conv")
def check_col2im_is_the_adjoint_of_im2col(s):
    for k in (3, 1, 5):
        X, _, _ = problem(np.random.default_rng(10 + k), k)
        dcols = np.random.default_rng(k).normal(size=X.shape[:3] + (k, k, X.shape[3]))
        dX = s.conv.col2im(dcols, X.shape)
        num = numgrad(lambda X=X, k=k: ref.im2col(X, k), X, dcols)
        expect_close(f"conv: col2im is the adjoint of im2col (k={k})", "col2im(dcols)", dX, num,
                     describe=pixel(*X.shape[1:3]), want_is="finite differences of im2col", hint=COL2IM_HINT)
        expect_exact(f"conv: col2im is the adjoint of im2col (k={k})", "col2im(dcols)", dX,
                     ref.col2im(dcols, X.shape), describe=pixel(*X.shape[1:3]), want_is="the exact adjoint",
                     hint=COL2IM_HINT)


@check("conv")
def check_shapes(s):
    the_given_functions_are_as_given(s)
    for dtype in ("float64", "float32"):
        for k in (3, 5):
            X, W_x, dU = problem(np.random.default_rng(20), k, dtype=dtype)
            _, cache = forward(s, "conv: shapes", X, W_x)
            dX, dW_x = backward(s, "conv: shapes", dU, cache)
            expect_array(f"conv: shapes (k={k}, {dtype})", "dX", dX, X.shape, dtype)
            expect_array(f"conv: shapes (k={k}, {dtype})", "dW_x", dW_x, W_x.shape, dtype)
            expect_array(f"conv: shapes (k={k}, {dtype})", "col2im", s.conv.col2im(ref.im2col(X, k), X.shape),
                         X.shape, dtype)


@check("conv")
def check_gradients(s):
    for k in (3, 1, 5):
        X, W_x, dU = problem(np.random.default_rng(30 + k), k)
        _, cache = forward(s, "conv: gradients", X, W_x)
        dX, dW_x = backward(s, "conv: gradients", dU, cache)

        def f(X=X, W_x=W_x):
            return forward(s, "conv: your forward", X, W_x)[0]

        expect_close(f"conv: gradient of X (k={k})", "dX", dX, numgrad(f, X, dU), describe=pixel(4, 5), hint=DX_HINT)
        expect_close(f"conv: gradient of W_x (k={k})", "dW_x", dW_x, numgrad(f, W_x, dU), describe=tap, hint=DW_HINT)


@check("conv")
def check_gradients_are_exact(s):
    for k in (1, 3, 5):
        X, W_x, dU = problem(np.random.default_rng(50 + k), k, N=2, H=5, W=3, C=3, F=2)
        _, cache = forward(s, "conv: exact gradients", X, W_x)
        dX, dW_x = backward(s, "conv: exact gradients", dU, cache)
        want = ref.conv_backward(dU, ref.conv_forward(X, W_x)[1])
        expect_exact(f"conv: exact gradients (k={k}, C≠F, H>W)", "dX", dX, want[0], describe=pixel(5, 3),
                     hint=DX_HINT + "; take k, C and F from the arrays, never constants")
        expect_exact(f"conv: exact gradients (k={k}, C≠F, H>W)", "dW_x", dW_x, want[1], describe=tap, hint=DW_HINT)


@check("conv")
def check_pure(s):
    for dtype in ("float64", "float32"):
        X, W_x, dU = problem(np.random.default_rng(40), 3, dtype=dtype)
        _, cache = forward(s, "conv: inputs untouched, repeatable", X, W_x)
        pure_and_repeatable(s, f"conv: inputs untouched, repeatable ({dtype})", "conv.conv_backward", (dU, cache),
                   ("dU", "cache"), ("dX", "dW_x"))
        dcols = ref.im2col(X, 3)
        pure_and_repeatable(s, f"conv: inputs untouched, repeatable ({dtype})", "conv.col2im", (dcols, X.shape),
                   ("dcols", "x_shape"), ("dX",))


@check("conv", hidden=True)
def check_hidden_cases(s, rng):
    for k, N in ((5, int(rng.integers(3, 6))), (int(rng.choice([1, 3])), 1), (int(rng.choice([1, 3, 5])), 2)):
        H, W, C, F = (int(v) for v in rng.integers(1, 6, size=4))
        for dtype in ("float32", "float64"):
            X, W_x, dU = problem(rng, k, N=N, H=H, W=W, C=C, F=F, dtype=dtype)
            where = f"conv: hidden case (k={k}, N={N}, H={H}, W={W}, C={C}, F={F}, {dtype})"
            _, cache = forward(s, where, X, W_x)
            got = backward(s, where, dU, cache)
            want = ref.conv_backward(dU, ref.conv_forward(X, W_x)[1])
            for name, g, w in zip(("dX", "dW_x"), got, want, strict=True):
                expect_exact(where, name, g, w, hint="the same products hold for every k, C, F and map shape")
            dcols = rng.normal(size=(N, H, W, k, k, C)).astype(dtype)
            expect_exact(where, "col2im(dcols)", s.conv.col2im(dcols, X.shape), ref.col2im(dcols, X.shape),
                         want_is="the exact adjoint", hint=COL2IM_HINT)
            pure_and_repeatable(s, where, "conv.conv_backward", (dU, cache), ("dU", "cache"), ("dX", "dW_x"))
