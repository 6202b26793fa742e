"""Exercise ``softmax``: ``spatial_softmax_forward`` and ``spatial_softmax_backward``."""

import numpy as np

from attnrnn_np.course.reference import softmax as ref

from ..base import check, expect_array, expect_close, expect_exact, fail, numgrad, sequence
from ..purity import check_pure as pure_and_repeatable

SOFTMAX_HINT = "normalise over all H·W positions of each sample at once, not over rows or columns"
STABLE_HINT = ("exp overflows above about 709 (88 in float32): subtract each sample's own maximum first (the "
               "softmax does not change), not a mean, a first entry or one maximum for the whole batch")
JACOBIAN_HINT = ("each A[n,i,j] depends on every S[n,i',j'] of its sample through the sum; the Jacobian is "
                 "diag(A) − A Aᵀ over the H·W positions")


def logits(rng, N=3, H=4, W=5, scale=2.0, dtype="float64"):
    return np.random.default_rng(rng).normal(0.0, scale, size=(N, H, W)).astype(dtype)


def cell(idx):
    return f"sample {idx[0]}, cell ({idx[1]}, {idx[2]})"


def forward(s, where, S):
    return sequence(where, s.softmax.spatial_softmax_forward(S), ("A", "cache"), "spatial_softmax_forward")


@check("softmax")
def check_shapes(s):
    for dtype in ("float64", "float32"):
        S = logits(0, dtype=dtype)
        A, cache = forward(s, "softmax: shapes", S)
        expect_array(f"softmax: shapes ({dtype})", "A", A, S.shape, dtype)
        expect_array(f"softmax: shapes ({dtype})", "dS",
                     s.softmax.spatial_softmax_backward(np.ones_like(S), cache), S.shape, dtype)


@check("softmax")
def check_a_distribution_per_sample(s):
    S = logits(1)
    A, _ = forward(s, "softmax: a distribution per sample", S)
    expect_array("softmax: a distribution per sample", "A", A, S.shape, S.dtype)
    if not np.all(A > 0):
        fail("softmax: a distribution per sample", "some entries of A are not positive", SOFTMAX_HINT)
    sums = A.reshape(len(A), -1).sum(axis=1)
    if not np.allclose(sums, 1.0):
        hint = SOFTMAX_HINT
        if np.allclose(A.sum(axis=2), 1.0) or np.allclose(A.sum(axis=1), 1.0):
            hint = "every row (or column) of your mask sums to 1: " + SOFTMAX_HINT
        n = int(np.argmax(np.abs(sums - 1.0)))
        fail("softmax: a distribution per sample", f"sample {n}'s mask sums to {sums[n]:.6f} over its H·W "
             "positions, not 1", hint)


@check("softmax")
def check_the_definition(s):
    S = logits(2)
    A, _ = forward(s, "softmax: the definition", S)
    E = np.exp(S)
    expect_close("softmax: the definition of §3.5", "A", A, E / E.sum(axis=(1, 2), keepdims=True),
                 want_is="exp(S) / Σ_{i,j} exp(S)", describe=cell, rtol=1e-9, atol=1e-12, hint=SOFTMAX_HINT)


@check("softmax")
def check_large_logits(s):
    for dtype in ("float64", "float32"):
        S = logits(3, scale=300.0, dtype=dtype)       # logits spread over about 10³ within each sample
        S[0] += 800.0     # exp overflows without a shift
        S[1] -= 800.0     # and underflows when shifted by another sample's maximum
        A, _ = forward(s, "softmax: large logits", S)
        S64 = S.astype(np.float64)
        shifted = S64 - S64.max(axis=(1, 2), keepdims=True)
        want = (np.exp(shifted) / np.exp(shifted).sum(axis=(1, 2), keepdims=True)).astype(dtype)
        expect_close(f"softmax: logits spread over 10³ and shifted by ±800 ({dtype})", "A", A, want,
                     want_is="the exact softmax", describe=cell, rtol=1e-9 if dtype == "float64" else 1e-5,
                     atol=1e-12 if dtype == "float64" else 1e-7, hint=STABLE_HINT)


@check("softmax")
def check_gradient(s):
    S = logits(4)
    A, cache = forward(s, "softmax: gradient", S)
    dA = np.random.default_rng(5).normal(size=S.shape)
    dS = s.softmax.spatial_softmax_backward(dA, cache)
    expect_close("softmax: gradient of S", "dS", dS, numgrad(lambda: forward(s, "softmax", S)[0], S, dA),
                 describe=cell, hint=JACOBIAN_HINT)
    expect_exact("softmax: gradient of S", "dS", dS,
                 ref.spatial_softmax_backward(dA, ref.spatial_softmax_forward(S)[1]),
                 describe=cell, hint="apply A ⊙ (dA − Σ dA·A) with the stored mask, not finite differences")


@check("softmax")
def check_constant_upstream_gives_zero(s):
    S = logits(6)
    _, cache = forward(s, "softmax", S)
    dA = np.broadcast_to(np.array([1.0, -2.0, 0.5])[:, None, None], S.shape).copy()
    dS = s.softmax.spatial_softmax_backward(dA, cache)
    expect_close("softmax: a constant dA per sample gives dS = 0", "dS", dS, np.zeros_like(S),
                 want_is="zero (the mask always sums to 1)", describe=lambda idx: f"sample {idx[0]}",
                 atol=1e-12, hint="adding a constant to dA over a sample cannot change anything, since the "
                                  "sample's mask sums to 1: the sum in the backward runs over all H·W positions")


@check("softmax")
def check_pure(s):
    for dtype in ("float64", "float32"):
        S = logits(7, dtype=dtype)
        pure_and_repeatable(s, f"softmax: inputs untouched, repeatable ({dtype})",
                            "softmax.spatial_softmax_forward", (S,), ("S",), ("A", "cache"))
        _, cache = forward(s, "softmax", S)
        dA = np.random.default_rng(8).normal(size=S.shape).astype(dtype)
        pure_and_repeatable(s, f"softmax: inputs untouched, repeatable ({dtype})", "softmax.spatial_softmax_backward",
                   (dA, cache), ("dA", "cache"), ("dS",))
        # the mask handed to the caller is the caller's: writing into it must not change the backward
        result, kept, _ = s.child.call_kept("softmax.spatial_softmax_forward", (S,))
        A, cache = sequence("softmax: the cache", result, ("A", "cache"), "spatial_softmax_forward")
        s.child.fill(kept, 0, 0.25)
        want = ref.spatial_softmax_backward(dA, ref.spatial_softmax_forward(S)[1])
        expect_exact(f"softmax: the cache is not the returned mask ({dtype})", "dS",
                     s.softmax.spatial_softmax_backward(dA, cache), want, describe=cell,
                     want_is="the gradient of the mask as computed",
                     hint="the caller wrote into the A you returned, and your backward changed: keep a copy of "
                          "the mask in the cache (A.copy()), not the array you hand out")


@check("softmax", hidden=True)
def check_hidden_cases(s, rng):
    for _ in range(3):
        N, H, W = int(rng.integers(1, 4)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
        for dtype in ("float32", "float64"):
            S = logits(rng, N=N, H=H, W=W, scale=float(rng.choice([1.0, 300.0])), dtype=dtype)
            S += rng.choice([-800.0, 0.0, 800.0], size=(N, 1, 1)).astype(dtype)
            where = f"softmax: hidden case (N={N}, H={H}, W={W}, {dtype})"
            A, cache = forward(s, where, S)
            A0, _ = ref.spatial_softmax_forward(S)
            expect_exact(where, "A", A, A0, want_is="the exact softmax", describe=cell, hint=STABLE_HINT)
            dA = rng.normal(size=S.shape).astype(dtype)
            expect_array(where, "A", A, S.shape, dtype)
            expect_exact(where, "dS", s.softmax.spatial_softmax_backward(dA, cache),   # exact for your own mask
                         ref.spatial_softmax_backward(dA, ref.SoftmaxCache(A)), describe=cell, hint=JACOBIAN_HINT)
