"""A short guided run of the layer: the main job of ``attnrnn-np tour``.

Builds a small AttentionRNN, runs forward and backward on random data,
compares the two scan schedules, checks every gradient against finite
differences and prints a readable report. Returns a process exit code:
0 when every check passes.
"""

from __future__ import annotations

import time

import numpy as np

from .arnn import arnn_backward, arnn_forward, init_arnn_params
from .backend import get_xp, to_numpy
from .gradcheck import check_gradients, format_report
from .scan import diagonals

__all__ = ["run_tour"]


def run_tour(seed=0, backend="numpy", out=print):
    xp = get_xp(backend)
    N, H, W, C, K, Q, k = 2, 5, 6, 3, 4, 2, 3
    out(f"AttentionRNN tour  (backend {backend}, float64, seed {seed})")
    out(f"  problem: N={N} H={H} W={W} C={C} K={K} Q={Q} k={k}")
    rng = np.random.default_rng(seed)
    params = init_arnn_params(C, K, query_dim=Q, kernel_size=k, seed=seed, xp=xp)
    # Random non-zero biases and perturbed weights: a check with zero biases can hide bugs.
    params = {key: v + xp.asarray(rng.normal(0.0, 0.3, v.shape)) for key, v in params.items()}
    X = xp.asarray(rng.normal(size=(N, H, W, C)))
    q = xp.asarray(rng.normal(size=(N, Q)))
    n_params = sum(int(v.size) for v in params.values())
    out(f"  parameters: {len(params)} arrays, {n_params} numbers")

    ok = True
    for normalize in ("sigmoid", "softmax"):
        out(f"\n[{normalize}]")
        t0 = time.perf_counter()
        A, cache = arnn_forward(X, params, q, normalize=normalize)
        t1 = time.perf_counter()
        A_raster, _ = arnn_forward(X, params, q, normalize=normalize, schedule="raster")
        dA = xp.asarray(rng.normal(size=A.shape))
        t2 = time.perf_counter()
        dX, dq, grads = arnn_backward(dA, cache)
        t3 = time.perf_counter()
        A_h = to_numpy(A)
        out(f"  mask A {A.shape}: min {A_h.min():.4f} max {A_h.max():.4f} "
            f"sum per sample {np.round(A_h.reshape(N, -1).sum(1), 4).tolist()}")
        diff = float(np.abs(A_h - to_numpy(A_raster)).max())
        out(f"  wavefront vs raster: max |ΔA| = {diff:.1e} "
            f"({H + W - 1} wavefront steps vs {H * W} raster steps)")
        ok &= diff <= 1e-12
        out(f"  forward {1e3 * (t1 - t0):.1f} ms, backward {1e3 * (t3 - t2):.1f} ms")

        inputs = {"X": X, "q": q, **params}
        analytic = {"X": dX, "q": dq, **grads}
        results = check_gradients(lambda normalize=normalize: arnn_forward(X, params, q, normalize=normalize)[0],
                                  inputs, analytic, dA)
        out("  gradient check (central differences, float64):")
        out("    " + format_report(results).replace("\n", "\n    "))
        ok &= all(r.passed for r in results)

    out("\nanti-diagonal schedule for this map (rows of each step):")
    out("  " + " ".join(f"{lo}-{hi}" for lo, hi in diagonals(H, W)))
    out("\nall checks passed" if ok else "\nSOME CHECKS FAILED")
    return 0 if ok else 1
