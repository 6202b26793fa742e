"""Forward+backward time of the multi-scale AttentionRNN against its scale set.

For one problem (N, H, W, C, K, Q, k) and several scale sets, times
``multiscale_arnn_forward`` followed by ``multiscale_arnn_backward`` in
float32 on one BLAS thread (threadpoolctl). Repeats of the scale sets are
interleaved after a warm-up round; the table reports the minimum over repeats
(the least disturbed run on a shared machine; forward, backward and their sum
each minimised on its own) and the median of forward+backward, next to the
sequential step count Σ_γ (H/γ + W/γ − 1). Prints a Markdown table.

    python benchmarks/bench_multiscale.py
    python benchmarks/bench_multiscale.py --size 8 16 16 32 32 0 3 --scales 1 2 1,2 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from attnrnn_np import init_multiscale_params, multiscale_arnn_backward, multiscale_arnn_forward
from attnrnn_np.multiscale import sequential_steps


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def parse_scales(text):
    return tuple(int(g) for g in text.split(","))


def time_forward_backward(X, params, q, scales, dA):
    """Seconds of one forward and one backward call."""
    t0 = time.perf_counter()
    _, cache = multiscale_arnn_forward(X, params, q, scales=scales)
    t1 = time.perf_counter()
    multiscale_arnn_backward(dA, cache)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=7, default=[32, 32, 32, 64, 64, 0, 3],
                        metavar=("N", "H", "W", "C", "K", "Q", "k"))
    parser.add_argument("--scales", type=parse_scales, nargs="+",
                        default=[(1,), (2,), (4,), (1, 2, 4)], help="scale sets, e.g. 1 2 4 1,2,4")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    N, H, W, C, K, Q, k = args.size

    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, H, W, C)).astype(args.dtype)
    q = rng.normal(size=(N, Q)).astype(args.dtype) if Q else None
    dA = rng.normal(size=(N, H, W)).astype(args.dtype)

    load_before = os.getloadavg()
    layers = {scales: init_multiscale_params(C, K, scales, query_dim=Q, kernel_size=k, seed=0,
                                             dtype=args.dtype) for scales in args.scales}
    runs = {scales: [] for scales in args.scales}
    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} thread)"
                         for i in threadpool_info() if i["user_api"] == "blas")
        # Rounds outside, scale sets inside: a burst of load from other processes hits all alike.
        for r in range(args.warmup + args.repeats):
            for scales in args.scales:
                fb = time_forward_backward(X, layers[scales], q, scales, dA)
                if r >= args.warmup:
                    runs[scales].append(fb)

    load_after = os.getloadavg()
    print(f"(N, H, W, C, K, Q, k) = ({N}, {H}, {W}, {C}, {K}, {Q}, {k}), {args.dtype}, "
          f"min of {args.repeats} after {args.warmup} warm-up")
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs, "
          f"numpy {np.__version__}, BLAS {blas}")
    print("load average (1, 5, 15 min) before: " + " ".join(f"{v:.2f}" for v in load_before)
          + ", after: " + " ".join(f"{v:.2f}" for v in load_after))
    print()
    print("| scales | sequential steps | forward (ms) | backward (ms) "
          "| forward+backward (ms) | median (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for scales in args.scales:
        fwd, bwd = (1e3 * np.array(t) for t in zip(*runs[scales], strict=True))
        total = fwd + bwd
        print(f"| {scales} | {sequential_steps(H, W, scales)} | {fwd.min():.1f} | {bwd.min():.1f} "
              f"| {total.min():.1f} | {np.median(total):.1f} |")

if __name__ == "__main__":
    main()
