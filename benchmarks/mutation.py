"""Mutation check: does the test suite notice each classic bug, planted one at a time?

Each mutant below is one small edit of the layer's math, shaped like a bug
from the catalogue (``attnrnn_np/verify/catalogue.py``) that it names: a gate
slice swapped, a derivative's sign flipped, ``+=`` turned into ``=``, the
state read from the wrong neighbour, a diagonal off by one, the reverse flag
ignored, the head halves swapped, a softmax over the wrong axis or shifted by
the wrong maximum, col2im offsets shifted, a sample block cut short, the pool
tie rule changed, the forget bias moved, the query added to one direction
only, and so on.

A mutant is located by the exact text it changes (``old`` → ``new`` in one
file of the package), never by line number, so the list survives edits
elsewhere in a file; ``tests/test_mutants_apply.py``, in the default test
run, checks that every ``old`` still occurs exactly once, so a refactor that
makes a mutant stale fails the tests instead of silently shrinking the check.

For each mutant the script copies the package and the tests to a temporary
directory (the working tree is never edited), applies the one edit there,
and runs the fast test subset ``FAST_TESTS`` with ``-x`` on that copy, which
comes first on ``sys.path``. The mutant is *killed* when a test fails or
errors, and *survives* when the whole subset passes. Hypothesis runs its
``ci`` profile without the shrink phase: a mutant only needs one failing
example, not the smallest one.

Usage::

    python benchmarks/mutation.py                    # every mutant, one at a time (tens of minutes)
    python benchmarks/mutation.py --list             # the mutants, by file
    python benchmarks/mutation.py --only softmax-global-shift conv-first-block-only
    python benchmarks/mutation.py --jobs 2 --json mutation.json

It exits with status 1 when a mutant survives that is not listed in
``EQUIVALENT``, or runs past ``--timeout`` (inconclusive: none of these
mutants can loop forever, so a timeout means an overloaded machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "attnrnn_np"


@dataclass(frozen=True)
class Mutant:
    """One planted bug: replace ``old`` by ``new`` in ``attnrnn_np/<path>``."""

    name: str   # unique identifier
    bug: str    # the catalogue entry it imitates
    path: str   # file inside the package
    old: str    # must occur exactly once in the file
    new: str


def _m(name, bug, path, old, new):
    return Mutant(name, bug, path, old, new)


MUTANTS = (
    # ---------------------------------------------------------------- conv.py
    _m("col2im-assign", "accumulate-assign", "conv.py",
       "dX[:, ii, ij, :] += dcols[:, oi, oj, a, b, :]", "dX[:, ii, ij, :] = dcols[:, oi, oj, a, b, :]"),
    _m("col2im-offset", "col2im-offset", "conv.py",
       "di, dj = a - p, b - p", "di, dj = a - p + 1, b - p"),
    _m("col2im-taps-transposed", "kernel-flip", "conv.py",
       "dX[:, ii, ij, :] += dcols[:, oi, oj, a, b, :]", "dX[:, ii, ij, :] += dcols[:, oi, oj, b, a, :]"),
    _m("im2col-taps-transposed", "kernel-flip", "conv.py",
       "strides=(s_n, s_h, s_w, s_h, s_w, s_c)", "strides=(s_n, s_h, s_w, s_w, s_h, s_c)"),
    _m("im2col-true-convolution", "kernel-flip", "conv.py",
       "return xp.ascontiguousarray(patches)", "return xp.ascontiguousarray(patches[:, :, :, ::-1, ::-1])"),
    _m("conv-block-short", "block-boundary", "conv.py",
       "dcols = (dU[n0:n0 + B].reshape", "dcols = (dU[n0:n0 + B - 1].reshape"),
    _m("conv-first-block-only", "block-boundary", "conv.py",
       "for n0 in range(0, N, B):", "for n0 in range(0, min(N, B), B):"),
    _m("conv-block-index-for-offset", "block-boundary", "conv.py",
       "out=dX[n0:n0 + B], xp=xp)", "out=dX[n0 // B:n0 // B + B], xp=xp)"),
    _m("conv-block-size", "block-boundary", "conv.py",
       "B = max(1, (1 << 20) // (H * W * k * k * C))", "B = max(1, (1 << 20) // (H * W * k * C))"),
    # ----------------------------------------------------------- lstm_cell.py
    _m("cell-gates-f-i-g-o", "gate-order", "lstm_cell.py",
       "a = gate_activations(G, out=G if overwrite_G else None, xp=xp)\n    i, f, g, o =",
       "a = gate_activations(G, out=G if overwrite_G else None, xp=xp)\n    f, i, g, o ="),
    _m("cell-sigmoid-candidate", "sigmoid-candidate", "lstm_cell.py",
       "    half[2 * K:3 * K] = 1.0            # g keeps tanh(G_g) unscaled\n"
       "    shift = xp.full((4 * K,), 0.5, dtype=G.dtype)\n"
       "    shift[2 * K:3 * K] = 0.0\n",
       "    shift = xp.full((4 * K,), 0.5, dtype=G.dtype)\n"),
    _m("cell-backward-i-f-swapped", "gate-order", "lstm_cell.py",
       "dG_i, dG_f, dG_g, dG_o = dG[..., :K], dG[..., K:2 * K],",
       "dG_f, dG_i, dG_g, dG_o = dG[..., :K], dG[..., K:2 * K],"),
    _m("cell-tanh-derivative-on-f", "gate-order", "lstm_cell.py",
       "m[2 * K:3 * K] = 0.0", "m[K:2 * K] = 0.0"),
    _m("cell-dc-prev-through-i", "gate-order", "lstm_cell.py",
       "dc_prev *= f ", "dc_prev *= i "),
    _m("cell-dg-through-o", "gate-order", "lstm_cell.py",
       "dg = dc_tot * i ", "dg = dc_tot * o "),
    _m("cell-activation-derivative-sign", "derivative-sign", "lstm_cell.py",
       "dG = m - a", "dG = a - m"),
    _m("cell-tanh-c-derivative-sign", "derivative-sign", "lstm_cell.py",
       "xp.subtract(1.0, dc_tot, out=dc_tot)", "xp.add(1.0, dc_tot, out=dc_tot)"),
    _m("cell-output-gate-sign", "derivative-sign", "lstm_cell.py",
       "do = dh * tanh_c ", "do = -dh * tanh_c "),
    _m("cell-carried-dc-assigned", "accumulate-assign", "lstm_cell.py",
       "dc_tot += dc", "dc_tot = dc.copy()"),
    _m("cell-state-not-carried", "wrong-neighbour-c", "lstm_cell.py",
       "c += i * g", "c = i * g"),
    # ---------------------------------------------------------------- scan.py
    _m("raster-taps-swapped", "wrong-neighbour-h", "scan.py",
       "G = U[:, :, i, j] + h_up @ W_up + h_left @ W_left",
       "G = U[:, :, i, j] + h_up @ W_left + h_left @ W_up"),
    _m("raster-c-from-above", "wrong-neighbour-c", "scan.py",
       "c_left = c[:, :, i, j - 1] if j > 0 else zero", "c_left = c[:, :, i - 1, j] if i > 0 else zero"),
    _m("raster-dW-up-assigned", "accumulate-assign", "scan.py",
       "dW_up += h[:, :, i - 1, j]", "dW_up = h[:, :, i - 1, j]"),
    _m("raster-dh-left-assigned", "accumulate-assign", "scan.py",
       "dh_acc[:, :, i, j - 1] += dG @ W_left", "dh_acc[:, :, i, j - 1] = dG @ W_left"),
    _m("raster-dc-to-above", "wrong-neighbour-c", "scan.py",
       "dc_acc[:, :, i, j - 1] += dc_prev", "dc_acc[:, :, i - 1, j] += dc_prev"),
    _m("rot180-rows-only", "flip-axis", "scan.py",
       "return a[:, ::-1, ::-1]", "return a[:, ::-1]"),
    _m("raster-turn-inverted", "reverse-flag", "scan.py",
       "rot180(a[d]) if r else a[d]", "rot180(a[d]) if not r else a[d]"),
    # --------------------------------------------------------- wavefront.py
    _m("diagonals-lo-off-by-one", "diagonal-bounds", "wavefront.py",
       "(max(0, t - W + 1), min(t, H - 1))", "(max(0, t - W), min(t, H - 1))"),
    _m("diagonals-last-dropped", "diagonal-bounds", "wavefront.py",
       "for t in range(H + W - 1)]", "for t in range(H + W - 2)]"),
    _m("diagonal-skew-step-W", "skew-offset", "wavefront.py",
       "first = t + lo * (W - 1)", "first = t + lo * W"),
    _m("diagonal-reverse-skew-step-W", "skew-offset", "wavefront.py",
       "first = HW - 1 - t - lo * (W - 1)", "first = HW - 1 - t - lo * W"),
    _m("diagonal-reverse-stop-wraps", "diagonal-bounds", "wavefront.py",
       "slice(first, last - 1 if last > 0 else None, -step)", "slice(first, last - 1, -step)"),
    _m("wavefront-W-rec-swapped", "wrong-neighbour-h", "wavefront.py",
       "W_rec = xp.concatenate([W_up, W_left], axis=1)", "W_rec = xp.concatenate([W_left, W_up], axis=1)"),
    _m("wavefront-h-up-same-row", "skew-offset", "wavefront.py",
       "h_pairs[:, lo + 1:hi + 2, :, :K] = h", "h_pairs[:, lo:hi + 1, :, :K] = h"),
    _m("wavefront-h-left-into-h-up", "wrong-neighbour-h", "wavefront.py",
       "h_pairs[:, lo:hi + 1, :, K:] = h", "h_pairs[:, lo:hi + 1, :, :K] = h"),
    _m("wavefront-c-from-above", "wrong-neighbour-c", "wavefront.py",
       "c_left = c_buf[:, lo + 1:hi + 2].copy()", "c_left = c_buf[:, lo:hi + 1].copy()"),
    _m("wavefront-c-left-not-copied", "aliased-buffer", "wavefront.py",
       "c_left = c_buf[:, lo + 1:hi + 2].copy()", "c_left = c_buf[:, lo + 1:hi + 2]"),
    _m("wavefront-U-read-unreversed", "reverse-flag", "wavefront.py",
       "G[d] += _diagonal(U_cells[d], W, t, lo, hi, reverse[d])",
       "G[d] += _diagonal(U_cells[d], W, t, lo, hi, reverse[0])"),
    _m("wavefront-h-written-unreversed", "reverse-flag", "wavefront.py",
       "_diagonal(h_cells[d], W, t, lo, hi, reverse[d])[...] = h[d]",
       "_diagonal(h_cells[d], W, t, lo, hi, reverse[0])[...] = h[d]"),
    _m("wavefront-dh-read-unreversed", "reverse-flag", "wavefront.py",
       "dh_t[d] += _diagonal(dh_cells[d], W, t, lo, hi, reverse[d])",
       "dh_t[d] += _diagonal(dh_cells[d], W, t, lo, hi, reverse[0])"),
    _m("wavefront-dU-written-unreversed", "reverse-flag", "wavefront.py",
       "_diagonal(dU_cells[d], W, t, lo, hi, reverse[d])[...] = dG[d]",
       "_diagonal(dU_cells[d], W, t, lo, hi, reverse[0])[...] = dG[d]"),
    _m("neighbours-read-unreversed", "reverse-flag", "wavefront.py",
       "h = _diagonal(h_cells[d], W, t - 1, p_lo, p_hi, reverse[d])",
       "h = _diagonal(h_cells[d], W, t - 1, p_lo, p_hi, reverse[0])"),
    _m("neighbours-h-up-same-row", "skew-offset", "wavefront.py",
       "h_pairs[d, p_lo + 1:p_hi + 2, :, :K] = h", "h_pairs[d, p_lo:p_hi + 1, :, :K] = h"),
    _m("neighbours-new-row-not-cleared", "wrong-neighbour-h", "wavefront.py",
       "if hi > p_hi:", "if hi > p_hi + 1:"),
    _m("wavefront-dW-rec-assigned", "accumulate-assign", "wavefront.py",
       "dW_rec += h_in.transpose(0, 2, 1) @ dG", "dW_rec = h_in.transpose(0, 2, 1) @ dG"),
    _m("wavefront-head-dh-assigned", "accumulate-assign", "wavefront.py",
       "dh_t[d] += _diagonal(dh_cells[d]", "dh_t[d] = _diagonal(dh_cells[d]"),
    _m("wavefront-dh-up-assigned", "accumulate-assign", "wavefront.py",
       "dh_buf[:, lo:hi + 1] += d_in[..., :K]", "dh_buf[:, lo:hi + 1] = d_in[..., :K]"),
    _m("wavefront-dh-left-assigned", "accumulate-assign", "wavefront.py",
       "dh_buf[:, lo + 1:hi + 2] += d_in[..., K:]", "dh_buf[:, lo + 1:hi + 2] = d_in[..., K:]"),
    _m("wavefront-dh-clear-short", "diagonal-bounds", "wavefront.py",
       "dh_buf[:, lo:hi + 2] = 0.0", "dh_buf[:, lo:hi + 1] = 0.0"),
    _m("wavefront-dc-accumulated", "accumulate-assign", "wavefront.py",
       "dc_buf[:, lo + 1:hi + 2] = dc_prev", "dc_buf[:, lo + 1:hi + 2] += dc_prev"),
    _m("wavefront-dc-from-above", "wrong-neighbour-c", "wavefront.py",
       "lstm_cell_backward(dh_t, dc_buf[:, lo + 1:hi + 2], cache.cells[t], xp=xp)",
       "lstm_cell_backward(dh_t, dc_buf[:, lo:hi + 1], cache.cells[t], xp=xp)"),
    _m("wavefront-dW-halves-swapped", "wrong-neighbour-h", "wavefront.py",
       "return dU, dW_rec[:, :K], dW_rec[:, K:]", "return dU, dW_rec[:, K:], dW_rec[:, :K]"),
    # ---------------------------------------------------------- directions.py
    _m("directions-bwd-in-raster-order", "reverse-flag", "directions.py",
       "REVERSE = (False, True)", "REVERSE = (False, False)"),
    _m("directions-swapped", "reverse-flag", "directions.py",
       "REVERSE = (False, True)", "REVERSE = (True, False)"),
    # ---------------------------------------------------------------- head.py
    _m("head-halves", "head-halves", "head.py",
       "S = h[0] @ w[:K] + h[1] @ w[K:] + b[0]", "S = h[0] @ w[K:] + h[1] @ w[:K] + b[0]"),
    _m("head-backward-dh-halves", "head-halves", "head.py",
       "dh = dS[None, ..., None] * w.reshape(2, 1, 1, 1, K)",
       "dh = dS[None, ..., None] * w.reshape(2, 1, 1, 1, K)[::-1]"),
    _m("head-backward-dw-halves", "head-halves", "head.py",
       "dw = xp.concatenate([dS2 @ h[0].reshape(N * H * W, K), dS2 @ h[1].reshape(N * H * W, K)])",
       "dw = xp.concatenate([dS2 @ h[1].reshape(N * H * W, K), dS2 @ h[0].reshape(N * H * W, K)])"),
    # ----------------------------------------------------------- normalize.py
    _m("softmax-global-shift", "softmax-shift", "normalize.py",
       "E = xp.exp(S2 - S2.max(axis=1, keepdims=True))", "E = xp.exp(S2 - S2.max())"),
    _m("softmax-shift-over-samples", "softmax-shift", "normalize.py",
       "E = xp.exp(S2 - S2.max(axis=1, keepdims=True))", "E = xp.exp(S2 - S2.max(axis=0, keepdims=True))"),
    _m("softmax-sum-over-samples", "softmax-axis", "normalize.py",
       "A = (E / E.sum(axis=1, keepdims=True))", "A = (E / E.sum(axis=0, keepdims=True))"),
    _m("softmax-per-row", "softmax-axis", "normalize.py",
       "S2 = S.reshape(N, -1)", "S2 = S.reshape(N * S.shape[1], -1)"),
    _m("softmax-backward-sign", "derivative-sign", "normalize.py",
       "return A * (dA - inner[:, None, None])", "return A * (dA + inner[:, None, None])"),
    _m("sigmoid-backward-sign", "derivative-sign", "normalize.py",
       "return dA * A * (1.0 - A)", "return dA * A * (A - 1.0)"),
    _m("normalize-cache-aliases-mask", "aliased-buffer", "normalize.py",
       "NormalizeCache(normalize, A.copy())", "NormalizeCache(normalize, A)"),
    # ---------------------------------------------------------------- arnn.py
    _m("forget-bias-on-input-gate", "forget-bias", "arnn.py",
       "b[K:2 * K] = 1.0  # forget gate", "b[:K] = 1.0  # forget gate"),
    _m("forget-bias-dropped", "forget-bias", "arnn.py",
       "b[K:2 * K] = 1.0  # forget gate", "b[K:2 * K] = 0.0  # forget gate"),
    _m("init-head-bias-one", "init-values", "arnn.py",
       'params["head.b"] = xp.zeros(1, dtype=dtype)', 'params["head.b"] = xp.ones(1, dtype=dtype)'),
    _m("init-W_x-variance-as-std", "init-values", "arnn.py",
       "rng.normal(0.0, (k * k * C) ** -0.5,", "rng.normal(0.0, (k * k * C) ** -1.0,"),
    _m("init-W_up-unit-normal", "init-values", "arnn.py",
       'params[f"{d}.W_up"] = rng.normal(0.0, (2 * K) ** -0.5,', 'params[f"{d}.W_up"] = rng.normal(0.0, 1.0,'),
    _m("query-fwd-only", "query-placement", "arnn.py",
       "U += (q @ W_q)[:, None, None, :]", "U[..., :4 * K] += (q @ W_q)[:, None, None, :4 * K]"),
    _m("query-backward-fwd-only", "query-placement", "arnn.py",
       "dq = None if cache.W_q is None else dU_sum @ cache.W_q.T",
       "dq = None if cache.W_q is None else dU_sum[:, :4 * K] @ cache.W_q[:, :4 * K].T"),
    _m("bwd-kernel-rotated", "reverse-kernel", "arnn.py",
       'xp.concatenate([p["fwd"]["W_x"], p["bwd"]["W_x"]], axis=3)',
       'xp.concatenate([p["fwd"]["W_x"], p["bwd"]["W_x"][::-1, ::-1]], axis=3)'),
    _m("bias-directions-swapped", "direction-halves", "arnn.py",
       'U += xp.concatenate([p["fwd"]["b"], p["bwd"]["b"]])',
       'U += xp.concatenate([p["bwd"]["b"], p["fwd"]["b"]])'),
    _m("U-directions-interleaved", "direction-halves", "arnn.py",
       "U_dirs = U.reshape(N, H, W, 2, 4 * K).transpose(3, 0, 1, 2, 4)",
       "U_dirs = U.reshape(N, H, W, 4 * K, 2).transpose(4, 0, 1, 2, 3)"),
    _m("dU-directions-interleaved", "direction-halves", "arnn.py",
       "dU = dU_dirs.transpose(1, 2, 3, 0, 4).reshape(N, H, W, 8 * K)",
       "dU = dU_dirs.transpose(1, 2, 3, 4, 0).reshape(N, H, W, 8 * K)"),
    _m("grads-directions-swapped", "direction-halves", "arnn.py",
       "sl = slice(4 * K * n, 4 * K * (n + 1))", "sl = slice(4 * K * (1 - n), 4 * K * (2 - n))"),
    # ---------------------------------------------------------------- pool.py
    _m("maxpool-scale-1-returns-X", "aliased-buffer", "pool.py",
       "return X.copy(), MaxPoolCache(1, X.shape, None)", "return X, MaxPoolCache(1, X.shape, None)"),
    _m("maxpool-backward-scale-1-returns-dY", "aliased-buffer", "pool.py",
       "        return dX_g.copy()", "        return dX_g"),
    _m("maxpool-last-maximum", "pool-tie", "pool.py",
       "idx = windows.argmax(axis=3)", "idx = gamma * gamma - 1 - windows[:, :, :, ::-1].argmax(axis=3)"),
    _m("upsample-tiles", "upsample-block", "pool.py",
       "xp.broadcast_to(S[:, :, None, :, None], (N, h, gamma, w, gamma))",
       "xp.broadcast_to(S[:, None, :, None, :], (N, gamma, h, gamma, w))"),
    _m("upsample-backward-mean", "upsample-block", "pool.py",
       "return dUp.reshape(N, h, gamma, w, gamma).sum(axis=(2, 4))",
       "return dUp.reshape(N, h, gamma, w, gamma).mean(axis=(2, 4))"),
    # ------------------------------------------------------------ combiner.py
    _m("combiner-global-shift", "softmax-shift", "combiner.py",
       "E = xp.exp(Z - Z.max(axis=-1, keepdims=True))", "E = xp.exp(Z - Z.max())"),
    _m("combiner-shift-per-sample", "softmax-shift", "combiner.py",
       "E = xp.exp(Z - Z.max(axis=-1, keepdims=True))", "E = xp.exp(Z - Z.max(axis=(1, 2, 3), keepdims=True))"),
    _m("combiner-over-positions", "combiner-axis", "combiner.py",
       "beta = E / E.sum(axis=-1, keepdims=True)", "beta = E / E.sum(axis=(1, 2), keepdims=True)"),
    _m("combiner-backward-over-positions", "combiner-axis", "combiner.py",
       "(beta * dbeta).sum(axis=-1, keepdims=True)", "(beta * dbeta).sum(axis=(1, 2), keepdims=True)"),
    _m("combiner-backward-sign", "derivative-sign", "combiner.py",
       "dZ = beta * (dbeta - (beta * dbeta)", "dZ = beta * (dbeta + (beta * dbeta)"),
    # ---------------------------------------------------------- multiscale.py
    _m("multiscale-dX-assigned", "accumulate-assign", "multiscale.py",
       "dX = dX + maxpool_backward(dX_gamma, pool_cache, xp=xp)", "dX = maxpool_backward(dX_gamma, pool_cache, xp=xp)"),
    _m("multiscale-dq-assigned", "accumulate-assign", "multiscale.py",
       "dq = dq_gamma if dq is None else dq + dq_gamma", "dq = dq_gamma"),
    _m("init-comb-c-prefers-a-scale", "init-values", "multiscale.py",
       'params["comb.c"] = xp.zeros(len(scales), dtype=dtype)',
       'params["comb.c"] = xp.linspace(0.0, 1.0, len(scales), dtype=dtype)'),
    _m("init-comb-V-unit-normal", "init-values", "multiscale.py",
       "rng.normal(0.0, C ** -0.5, (C, len(scales)))", "rng.normal(0.0, 1.0, (C, len(scales)))"),
)

# Mutants that change no number any caller can see, with the reason. A
# surviving mutant listed here is reported as equivalent, not as a gap.
EQUIVALENT = {
    "conv-block-size": (
        "the sample-block size only trades memory for speed: every block computes its samples' dX "
        "exactly as a block of any other size would (each row of the GEMM reads only its own sample), "
        "so any B >= 1 gives the same numbers; the boundaries between blocks are what the tests check"),
    "wavefront-dh-up-assigned": (
        "the line before clears dh_buf[:, lo:hi + 2] to zero, so '+=' into rows lo..hi adds to zeros "
        "and '=' writes the same values; the '+=' is kept because the next line adds into the overlap"),
}

# The fast subset: every module that exercises the layer's math, cheapest and
# most sensitive first (with -x a killed mutant stops at its first failure).
# Left out: the learning stack (tests/learn), the notebooks, argument and
# error validation (test_errors.py), the backend double (test_backend.py), the
# repository checks (test_repo.py) and the applicability test
# (test_mutants_apply.py, which a planted mutant fails by construction).
FAST_TESTS = (
    "tests/test_init.py",
    "tests/test_extreme_logits.py",
    "tests/test_pool.py",
    "tests/test_golden.py",
    "tests/test_schedules.py",
    "tests/test_pieces.py",
    "tests/test_large_shapes.py",
    "tests/test_properties.py",
    "tests/test_mask.py",
    "tests/test_layer.py",
    "tests/test_receptive_field.py",
    "tests/test_gradients.py",
    "tests/test_multiscale.py",
    "tests/test_torch_oracle.py",
)

# Loaded into each pytest run with -p: the ci profile without shrinking.
_PLUGIN = '''\
from hypothesis import Phase, settings


def pytest_configure(config):
    settings.register_profile("mutation", parent=settings.get_profile("ci"), database=None,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    settings.load_profile("mutation")
'''


def apply(source, mutant):
    """``source`` with the mutant's edit made; ``ValueError`` unless ``old`` occurs exactly once."""
    count = source.count(mutant.old)
    if count != 1:
        raise ValueError(f"mutant {mutant.name!r}: its text occurs {count} times in {mutant.path}, "
                         f"expected exactly once: {mutant.old!r}")
    return source.replace(mutant.old, mutant.new)


@dataclass
class Outcome:
    name: str
    bug: str
    path: str
    status: str          # "killed", "survived", "equivalent" (survived, listed) or "timeout" (inconclusive)
    first_failure: str   # the first failing test (pytest's summary line), "" when none
    seconds: float


def _copy_tree(dest):
    """The package, the tests and what the tests read, copied to ``dest`` (no caches)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for name in (PACKAGE, "tests", "benchmarks"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    (dest / "mutation_plugin.py").write_text(_PLUGIN)


def _env(workdir):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(workdir) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"   # a mutant of the same size must not reuse a stale .pyc
    env["HYPOTHESIS_PROFILE"] = "ci"
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[threads] = "1"                 # --jobs copies run side by side, one core each
    return env


def _pytest(workdir, tests, timeout):
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "mutation_plugin",
           "-o", "addopts=", "--no-header", "-rfE", *tests]
    return subprocess.run(cmd, cwd=workdir, env=_env(workdir), capture_output=True, text=True, timeout=timeout)


def _first_failure(output):
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.strip()
    return ""


def check_copy_is_imported(workdir):
    """The tests must import the copied package, not the working tree's."""
    code = f"import {PACKAGE}, sys; sys.stdout.write({PACKAGE}.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=_env(workdir),
                         capture_output=True, text=True, check=True).stdout
    if not Path(out).resolve().is_relative_to(Path(workdir).resolve()):
        raise RuntimeError(f"the tests would import {out}, not the copy in {workdir}")


def run_mutant(workdir, mutant, tests, timeout):
    """Apply ``mutant`` in ``workdir``, run ``tests``, restore the file; return an :class:`Outcome`."""
    target = Path(workdir) / PACKAGE / mutant.path
    original = target.read_text()
    target.write_text(apply(original, mutant))
    start = time.monotonic()
    try:
        proc = _pytest(workdir, tests, timeout)
        output = proc.stdout + proc.stderr
        if proc.returncode == 0:
            status = "equivalent" if mutant.name in EQUIVALENT else "survived"
            first = ""
        else:
            status, first = "killed", _first_failure(output) or output.strip().splitlines()[-1]
    except subprocess.TimeoutExpired:
        status, first = "timeout", f"ran past {timeout} s"
    finally:
        target.write_text(original)
    return Outcome(mutant.name, mutant.bug, mutant.path, status, first, time.monotonic() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--tests", nargs="+", default=list(FAST_TESTS), help="test files to run on each mutant")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once, each in its own copy")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds per mutant; one that runs longer is reported as inconclusive, not killed")
    parser.add_argument("--json", type=Path, help="write the outcomes here")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip running the tests on the unmutated copy first (only when just checked)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from attnrnn_np.verify.catalogue import bug

    mutants = list(MUTANTS)
    for m in mutants:
        bug(m.bug)  # KeyError for a name that is not in the catalogue
    if args.list:
        for m in mutants:
            print(f"{m.path:<14} {m.name:<38} {m.bug}")
        print(f"{len(mutants)} mutants")
        return 0
    if args.only:
        unknown = set(args.only) - {m.name for m in mutants}
        if unknown:
            parser.error(f"unknown mutants: {sorted(unknown)}")
        mutants = [m for m in mutants if m.name in args.only]

    with tempfile.TemporaryDirectory(prefix="attnrnn-mutation-") as tmp:
        workdirs = []
        for j in range(max(1, args.jobs)):
            workdir = Path(tmp) / f"copy{j}"
            workdir.mkdir()
            _copy_tree(workdir)
            check_copy_is_imported(workdir)
            workdirs.append(workdir)
        if not args.no_baseline:
            baseline = _pytest(workdirs[0], args.tests, args.timeout)
            if baseline.returncode != 0:
                print(baseline.stdout[-3000:] + baseline.stderr[-3000:])
                print("the unmutated copy fails its tests: fix that first")
                return 2
            print(f"unmutated copy passes {' '.join(args.tests)}", flush=True)

        free = list(workdirs)

        def work(m):
            workdir = free.pop()
            try:
                out = run_mutant(workdir, m, args.tests, args.timeout)
            finally:
                free.append(workdir)
            print(f"{out.status:<10} {out.seconds:6.1f}s  {m.name:<38} [{m.bug}]  {out.first_failure}", flush=True)
            return out

        with ThreadPoolExecutor(max_workers=len(workdirs)) as pool:
            outcomes = list(pool.map(work, mutants))

    killed = sum(o.status == "killed" for o in outcomes)
    equivalent = [o for o in outcomes if o.status == "equivalent"]
    survived = [o for o in outcomes if o.status == "survived"]
    timed_out = [o for o in outcomes if o.status == "timeout"]
    scored = len(outcomes) - len(equivalent)
    print(f"\n{len(outcomes)} mutants: {killed} killed, {len(equivalent)} equivalent, {len(survived)} survived, "
          f"{len(timed_out)} timed out")
    if scored:
        print(f"score: {killed}/{scored} = {100.0 * killed / scored:.1f}% of the non-equivalent mutants killed")
    for o in equivalent:
        print(f"equivalent: {o.name}: {EQUIVALENT[o.name]}")
    for o in survived:
        print(f"SURVIVED: {o.name} [{o.bug}] in {o.path}")
    for o in timed_out:
        print(f"TIMED OUT (inconclusive, rerun with a longer --timeout): {o.name} [{o.bug}] in {o.path}")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
    return 1 if survived or timed_out else 0


if __name__ == "__main__":
    sys.exit(main())
