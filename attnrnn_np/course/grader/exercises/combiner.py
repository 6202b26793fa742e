"""Exercise ``combiner``: ``combiner_backward``; the given ``combiner_forward`` as given."""

import numpy as np

from attnrnn_np.course.reference import combiner as ref

from ..base import check, expect_array, expect_close, expect_exact, numgrad, sequence
from ..purity import check_pure as pure_and_repeatable

COMBINER_HINT = ("S = Σ_s β_s Up_s; β is a softmax over the scales at each position, so in its backward the sum "
                 "runs over the last axis only; then Z = X · V + c")
NAMES = ("dX", "dUp", "dV", "dc")
WHERE = {"dX": lambda i: f"sample {i[0]}, cell ({i[1]}, {i[2]}), channel {i[3]}",
         "dUp": lambda i: f"sample {i[0]}, cell ({i[1]}, {i[2]}), scale {i[3]}",
         "dV": lambda i: f"channel {i[0]}, scale {i[1]}", "dc": lambda i: f"scale {i[0]}"}


def problem(rng, n_s=3, N=2, H=3, W=4, C=3, dtype="float64", scale=1.0):
    rng = np.random.default_rng(rng)
    return tuple(a.astype(dtype) for a in (
        rng.normal(0, scale, size=(N, H, W, C)), rng.normal(size=(N, H, W, n_s)), rng.normal(size=(C, n_s)),
        rng.normal(size=(n_s,)), rng.normal(size=(N, H, W))))


def forward(s, where, X, Up, V, c):
    return sequence(where, s.combiner.combiner_forward(X, Up, V, c), ("S", "cache"), "combiner_forward")


def backward(s, where, dS, cache):
    return sequence(where, s.combiner.combiner_backward(dS, cache), NAMES, "combiner_backward")


def the_given_forward_is_as_given(s):
    """The given functions, which the exercise's backward relies on, behave as given (checked with the shapes:
    alone it would give points to untouched stubs)."""
    for scale in (1.0, 300.0):
        X, Up, V, c, _ = problem(0, scale=scale)
        S, _ = forward(s, "combiner: the given combiner_forward", X, Up, V, c)
        expect_close("combiner: the given combiner_forward", "S", S, ref.combiner_forward(X, Up, V, c)[0],
                     want_is="the given combiner_forward", rtol=1e-12, atol=1e-12,
                     hint="combiner_forward is given: restore it as the workspace wrote it")


@check("combiner")
def check_shapes(s):
    the_given_forward_is_as_given(s)
    for dtype in ("float64", "float32"):
        X, Up, V, c, dS = problem(0, dtype=dtype)
        _, cache = forward(s, "combiner: shapes", X, Up, V, c)
        for name, got, want in zip(NAMES, backward(s, "combiner: shapes", dS, cache), (X, Up, V, c), strict=True):
            expect_array(f"combiner: shapes ({dtype})", name, got, want.shape, want.dtype)


@check("combiner")
def check_gradients(s):
    X, Up, V, c, dS = problem(1)
    _, cache = forward(s, "combiner: gradients", X, Up, V, c)
    grads = backward(s, "combiner: gradients", dS, cache)

    def f():
        return forward(s, "combiner: your forward", X, Up, V, c)[0]

    for (name, x), g in zip((("dX", X), ("dUp", Up), ("dV", V), ("dc", c)), grads, strict=True):
        expect_close(f"combiner: gradient of {name[1:]}", name, g, numgrad(f, x, dS), describe=WHERE[name],
                     hint=COMBINER_HINT)


@check("combiner")
def check_gradients_are_exact(s):
    for n_s, C in ((3, 2), (2, 4)):
        X, Up, V, c, dS = problem(2 + C, n_s=n_s, C=C, H=4, W=2)
        _, cache = forward(s, "combiner: exact gradients", X, Up, V, c)
        want = ref.combiner_backward(dS, ref.combiner_forward(X, Up, V, c)[1])
        for name, g, w in zip(NAMES, backward(s, "combiner: exact gradients", dS, cache), want, strict=True):
            expect_exact(f"combiner: exact gradients (scales {n_s}, channels {C})", name, g, w,
                         describe=WHERE[name], hint=COMBINER_HINT)


@check("combiner")
def check_one_scale(s):
    X, Up, V, c, dS = problem(2, n_s=1)
    _, cache = forward(s, "combiner: one scale", X, Up, V, c)
    dX, dUp, dV, dc = backward(s, "combiner: one scale", dS, cache)
    hint = "with one scale β ≡ 1 whatever Z is, so S = Up and nothing reaches X, V or c through β"
    expect_close("combiner: one scale", "dUp", dUp, dS[..., None], want_is="dS itself", atol=1e-12, hint=hint)
    for name, g, like in (("dX", dX, X), ("dV", dV, V), ("dc", dc, c)):
        expect_close("combiner: one scale", name, g, np.zeros_like(like), want_is="zero", atol=1e-12, hint=hint)


@check("combiner")
def check_pure(s):
    for dtype in ("float64", "float32"):
        X, Up, V, c, dS = problem(3, dtype=dtype)
        _, cache = forward(s, "combiner: inputs untouched, repeatable", X, Up, V, c)
        pure_and_repeatable(s, f"combiner: inputs untouched, repeatable ({dtype})", "combiner.combiner_backward",
                   (dS, cache), ("dS", "cache"), NAMES)


@check("combiner", hidden=True)
def check_hidden_cases(s, rng):
    for _ in range(3):
        N, H, W, C, n_s = (int(v) for v in rng.integers(1, 5, size=5))
        for dtype in ("float32", "float64"):
            X, Up, V, c, dS = problem(rng, n_s=n_s, N=N, H=H, W=W, C=C, dtype=dtype,
                                      scale=float(rng.choice([1.0, 100.0])))
            where = f"combiner: hidden case (N={N}, H={H}, W={W}, C={C}, scales {n_s}, {dtype})"
            _, cache = forward(s, where, X, Up, V, c)
            want = ref.combiner_backward(dS, ref.combiner_forward(X, Up, V, c)[1])
            for name, g, w in zip(NAMES, backward(s, where, dS, cache), want, strict=True):
                expect_exact(where, name, g, w, describe=WHERE[name], hint=COMBINER_HINT)
