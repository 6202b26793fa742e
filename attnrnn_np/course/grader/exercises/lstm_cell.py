"""Exercise ``lstm_cell``: ``lstm_cell_backward``; the given ``sigmoid`` and ``lstm_cell_forward`` as given."""

import numpy as np

from attnrnn_np.course.reference import lstm_cell as ref

from ..base import ATOL, GATES, RTOL, check, expect_array, expect_close, expect_exact, numgrad, sequence
from ..purity import check_pure as pure_and_repeatable

CELL_HINTS = {
    "i": "c depends on G_i through i ⊙ g, and i = σ(G_i)",
    "f": "c depends on G_f through f ⊙ c_prev, and f = σ(G_f)",
    "g": "c depends on G_g through i ⊙ g, and g = tanh(G_g): its derivative is that of a tanh",
    "o": "h depends on G_o through o ⊙ tanh(c), and o = σ(G_o); c does not depend on o",
}
FWD, BWD = "lstm_cell.lstm_cell_forward", "lstm_cell.lstm_cell_backward"


def problem(rng, lead=(2, 3), K=3, dtype="float64", scale=1.5):
    G = rng.normal(0.0, scale, size=lead + (4 * K,)).astype(dtype)
    c_prev = rng.normal(size=lead + (K,)).astype(dtype)
    dh = rng.normal(size=lead + (K,)).astype(dtype)
    dc = rng.normal(size=lead + (K,)).astype(dtype)
    return G, c_prev, dh, dc


def forward(s, where, G, c_prev):
    return sequence(where, s.lstm_cell.lstm_cell_forward(G, c_prev), ("h", "c", "cache"), "lstm_cell_forward")


def backward(s, where, dh, dc, cache):
    return sequence(where, s.lstm_cell.lstm_cell_backward(dh, dc, cache), ("dG", "dc_prev"), "lstm_cell_backward")


def gate_describe(K):
    return lambda idx: f"gate block {GATES[idx[-1] // K]}, unit {idx[-1] % K}"


def the_given_functions_are_as_given(s):
    """The given functions, which the exercise's backward relies on, behave as given (checked with the shapes:
    alone it would give points to untouched stubs)."""
    where = "lstm_cell: the given sigmoid and lstm_cell_forward"
    hint = "sigmoid and lstm_cell_forward are given: restore them as the workspace wrote them"
    for dtype in ("float64", "float32"):
        x = np.array([-800.0, -40.0, -1.0, 0.0, 1e-3, 2.0, 40.0, 800.0], dtype=dtype)
        expect_close(where, f"sigmoid(x) ({dtype})", s.lstm_cell.sigmoid(x), ref.sigmoid(x), want_is="σ(x)",
                     rtol=1e-12 if dtype == "float64" else 1e-6, atol=0, hint=hint + " (σ(x) = ½(1 + tanh(x/2)) "
                     "is stable for any x)")
        for K in (1, 3):
            G, c_prev, _, _ = problem(np.random.default_rng(K), K=K, dtype=dtype, scale=300.0)
            h, c, _ = forward(s, where, G, c_prev)
            h0, c0, _ = ref.lstm_cell_forward(G, c_prev)
            for name, got, want in (("h", h, h0), ("c", c, c0)):
                expect_close(where, f"{name} (K={K}, {dtype}, pre-activations up to ±800)", got, want,
                             want_is="the given cell", rtol=1e-12 if dtype == "float64" else 1e-6, atol=0, hint=hint)


@check("lstm_cell")
def check_shapes(s):
    the_given_functions_are_as_given(s)
    for dtype in ("float64", "float32"):
        for none in (False, True):
            G, c_prev, dh, dc = problem(np.random.default_rng(0), dtype=dtype)
            _, _, cache = forward(s, "lstm_cell: shapes", G, c_prev)
            dG, dc_prev = backward(s, "lstm_cell: shapes", None if none else dh, None if none else dc, cache)
            tag = f" ({dtype}{', dh = dc = None' if none else ''})"
            expect_array("lstm_cell: shapes" + tag, "dG", dG, G.shape, dtype)
            expect_array("lstm_cell: shapes" + tag, "dc_prev", dc_prev, c_prev.shape, dtype)


def _gradients(s, seed, K):
    G, c_prev, dh, dc = problem(np.random.default_rng(seed), K=K)

    def f():
        h, c, _ = forward(s, "lstm_cell: your forward", G, c_prev)
        return np.concatenate([h, c], axis=-1)

    dout = np.concatenate([dh, dc], axis=-1)   # the loss ⟨h, dh⟩ + ⟨c, dc⟩
    _, _, cache = forward(s, "lstm_cell: your forward", G, c_prev)
    dG, dc_prev = backward(s, "lstm_cell: gradients", dh, dc, cache)
    return G, c_prev, dh, dc, dG, dc_prev, numgrad(f, G, dout), numgrad(f, c_prev, dout)


@check("lstm_cell")
def check_gradient_G(s):
    for K in (3, 2):
        G, _, _, _, dG, _, num, _ = _gradients(s, 1, K)
        expect_array(f"lstm_cell: gradient of G (K={K})", "dG", dG, G.shape, G.dtype)
        bad = (np.abs(dG - num) / np.maximum(1e-30, np.abs(dG) + np.abs(num)) > RTOL) & (np.abs(dG - num) > ATOL)
        block = GATES[int(np.argwhere(bad)[0][-1]) // K] if bad.any() else "i"
        expect_close(f"lstm_cell: gradient of G (K={K})", "dG", dG, num, describe=gate_describe(K),
                     hint=CELL_HINTS[block] + "; the loss reaches c both directly (dc) and through h (dh)")


@check("lstm_cell")
def check_gradient_c_prev(s):
    for K in (3, 2):
        _, c_prev, _, _, _, dc_prev, _, num = _gradients(s, 2, K)
        expect_close(f"lstm_cell: gradient of c_prev (K={K})", "dc_prev", dc_prev, num,
                     hint="c_prev reaches the loss only through c = f ⊙ c_prev + i ⊙ g, and c reaches it "
                          "along two paths: the carried gradient dc and h = o ⊙ tanh(c)")


@check("lstm_cell")
def check_gradients_are_exact(s):
    """A finite-difference estimate is good to ~1e-7; the exact backward agrees to round-off."""
    for K in (1, 3, 4):
        G, c_prev, dh, dc = problem(np.random.default_rng(10 + K), lead=(3,), K=K)
        _, _, cache = forward(s, "lstm_cell: exact gradients", G, c_prev)
        dG, dc_prev = backward(s, "lstm_cell: exact gradients", dh, dc, cache)
        want = ref.lstm_cell_backward(dh, dc, ref.lstm_cell_forward(G, c_prev)[2])
        for name, got, w in (("dG", dG, want[0]), ("dc_prev", dc_prev, want[1])):
            expect_exact(f"lstm_cell: exact gradients (K={K})", name, got, w,
                         describe=gate_describe(K) if name == "dG" else None,
                         hint="compute the derivative from the stored gates (σ' = σ(1 − σ), tanh' = 1 − tanh²), "
                              "not by finite differences")


@check("lstm_cell")
def check_missing_upstream(s):
    G, c_prev, dh, dc = problem(np.random.default_rng(3))
    _, _, cache = forward(s, "lstm_cell: None upstream", G, c_prev)
    zero = np.zeros_like(dh)
    for args, name in (((None, dc), "dh=None"), ((dh, None), "dc=None")):
        got = backward(s, f"lstm_cell: {name}", *args, cache)
        want_args = tuple(zero if a is None else a for a in args)
        want = ref.lstm_cell_backward(*want_args, ref.lstm_cell_forward(G, c_prev)[2])
        for label, g, w in zip(("dG", "dc_prev"), got, want, strict=True):
            expect_exact(f"lstm_cell: {name}", label, g, w, want_is="the gradient with zeros in its place",
                         hint="None means a zero gradient: the last cell of a scan gets no carried dc")


@check("lstm_cell")
def check_pure(s):
    for dtype in ("float64", "float32"):
        G, c_prev, dh, dc = problem(np.random.default_rng(4), dtype=dtype)
        _, _, cache = forward(s, "lstm_cell: inputs untouched, repeatable", G, c_prev)
        pure_and_repeatable(s, f"lstm_cell: inputs untouched, repeatable ({dtype})", BWD, (dh, dc, cache),
                   ("dh", "dc", "cache"), ("dG", "dc_prev"))


@check("lstm_cell", hidden=True)
def check_hidden_cases(s, rng):
    for _ in range(4):
        K = int(rng.choice([1, 2, 3, 5]))
        lead = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(1, 4))))
        for dtype in ("float32", "float64"):
            G, c_prev, dh, dc = problem(rng, lead=lead, K=K, dtype=dtype, scale=float(rng.choice([1.0, 5.0])))
            G.reshape(-1)[rng.integers(0, G.size, size=max(1, G.size // 4))] = rng.choice([-800.0, 800.0])
            where = f"lstm_cell: hidden case (lead {lead}, K={K}, {dtype})"
            _, _, cache = forward(s, where, G, c_prev)
            r_cache = ref.lstm_cell_forward(G, c_prev)[2]
            for args in ((dh, dc), (None, dc), (dh, None)):
                got = backward(s, where, *args, cache)
                want = ref.lstm_cell_backward(*args, r_cache)
                for name, g, w in zip(("dG", "dc_prev"), got, want, strict=True):
                    expect_exact(where, name, g, w, describe=gate_describe(K) if name == "dG" else None,
                                 hint="the same equations hold for every K, every leading shape and dtype; "
                                      "take K from the arrays (K = G.shape[-1] // 4), never a constant")
            pure_and_repeatable(s, where, BWD, (dh, dc, cache), ("dh", "dc", "cache"), ("dG", "dc_prev"))
