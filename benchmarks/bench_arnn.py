"""Forward + backward timings of the AttentionRNN layer: NumPy vs PyTorch (CPU).

Times one ``arnn_forward`` + ``arnn_backward`` in float32 for each
configuration, with the ``wavefront`` and ``raster`` schedules, and the same
layer written in PyTorch (``torch_arnn.py``: same wavefront schedule, autograd
backward) when torch is installed, all in one process on the same inputs.

BLAS and OpenMP threads are pinned with threadpoolctl (and
``torch.set_num_threads``) for each setting in ``--threads``. Repeats of the
implementations are interleaved, so a burst of load from other processes
hits all of them alike; the table reports, over the repeats after warm-up,
the minimum and median wall time, the minimum process CPU time (user +
system, all threads), and the ratio of minimum wall times to PyTorch's. The
raster loop is the slow reference: its repeats are capped (``--raster-repeats``)
and ``--raster small`` or ``none`` leaves it out of the larger configuration.

Usage::

    python benchmarks/bench_arnn.py                       # 1 thread, all configurations
    python benchmarks/bench_arnn.py --threads 1,2 --json out.json
    python benchmarks/bench_arnn.py --configs small --raster none --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from attnrnn_np import arnn_backward, arnn_forward, init_arnn_params

try:
    import torch
except ImportError:
    torch = None
if torch is not None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from torch_arnn import params_to_torch, torch_arnn_forward

# (name, N, H, W, C, K, Q, k)
CONFIGS = [
    ("small", 8, 14, 14, 32, 32, 16, 3),
    ("cifar32", 32, 32, 32, 64, 64, 0, 3),
]


def make_inputs(N, H, W, C, K, Q, k, seed=0):
    """float32 parameters (non-zero biases), input, query and upstream gradient."""
    rng = np.random.default_rng(seed)
    params = init_arnn_params(C, K, query_dim=Q, kernel_size=k, seed=seed, dtype="float64")
    params = {key: (v + rng.normal(0.0, 0.1, v.shape)).astype(np.float32) for key, v in params.items()}
    X = rng.normal(size=(N, H, W, C)).astype(np.float32)
    q = rng.normal(size=(N, Q)).astype(np.float32) if Q else None
    dA = rng.normal(size=(N, H, W)).astype(np.float32)
    return params, X, q, dA


def numpy_step(params, X, q, dA, schedule):
    """A callable running one NumPy forward + backward."""
    def run():
        A, cache = arnn_forward(X, params, q, schedule=schedule)
        arnn_backward(dA, cache)
    return run


def torch_step(params, X, q, dA):
    """A callable running one PyTorch forward + autograd backward (all leaves need grads)."""
    pt = params_to_torch(params)
    Xt = torch.tensor(X, requires_grad=True)
    qt = None if q is None else torch.tensor(q, requires_grad=True)
    dAt = torch.tensor(dA)
    leaves = [Xt, *pt.values()] + ([qt] if qt is not None else [])

    def run():
        for t in leaves:
            t.grad = None
        A = torch_arnn_forward(Xt, pt, qt)
        A.backward(dAt)
    return run


def time_interleaved(steps, repeats, warmup):
    """Run each step ``warmup`` times, then ``repeats`` rounds of all steps in turn.

    ``steps`` maps a name to ``(callable, repeats or None)``; a per-step repeat
    count caps slow steps (the raster loop). Returns name -> list of
    ``(wall seconds, process CPU seconds)``. With one thread the CPU time is
    the work done, whatever share of the cores other processes took.
    """
    for run, _ in steps.values():
        for _ in range(warmup):
            run()
    times = {name: [] for name in steps}
    for r in range(repeats):
        for name, (run, cap) in steps.items():
            if cap is not None and r >= cap:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            times[name].append((time.perf_counter() - t0, time.process_time() - c0))
    return times


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_description():
    rows = []
    for lib in threadpool_info():
        arch = lib.get("architecture")
        rows.append(f"{lib['internal_api']} {lib.get('version')} ({Path(lib['filepath']).name}"
                    + (f", kernel {arch}" if arch else "") + ")")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1", help="comma-separated thread counts (default 1)")
    ap.add_argument("--repeats", type=int, default=9, help="timed rounds after warm-up (default 9)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--raster", choices=["all", "small", "none"], default="all",
                    help="configurations that also time the slow raster loop (default all)")
    ap.add_argument("--raster-repeats", type=int, default=3, help="cap on raster repeats (default 3)")
    ap.add_argument("--configs", default=",".join(c[0] for c in CONFIGS))
    ap.add_argument("--json", type=Path, default=None, help="also write results to this JSON file")
    args = ap.parse_args(argv)

    threads = [int(t) for t in args.threads.split(",")]
    wanted = set(args.configs.split(","))
    unknown = wanted - {c[0] for c in CONFIGS}
    if unknown:
        ap.error(f"unknown configurations {sorted(unknown)}; choose from {[c[0] for c in CONFIGS]}")
    meta = {
        "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "torch": None if torch is None else torch.__version__,
        "threadpools": blas_description(), "loadavg_before": os.getloadavg(),
        "env": {v: os.environ.get(v) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                               "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        "repeats": args.repeats, "warmup": args.warmup,
    }
    results = []
    for name, N, H, W, C, K, Q, k in CONFIGS:
        if name not in wanted:
            continue
        params, X, q, dA = make_inputs(N, H, W, C, K, Q, k)
        for n_threads in threads:
            with threadpool_limits(limits=n_threads):
                if torch is not None:
                    torch.set_num_threads(n_threads)
                steps = {"numpy wavefront": (numpy_step(params, X, q, dA, "wavefront"), None)}
                if args.raster == "all" or (args.raster == "small" and name == "small"):
                    steps["numpy raster"] = (numpy_step(params, X, q, dA, "raster"), args.raster_repeats)
                if torch is not None:
                    steps["torch wavefront"] = (torch_step(params, X, q, dA), None)
                times = time_interleaved(steps, args.repeats, args.warmup)
            torch_wall = [w for w, _ in times.get("torch wavefront", [])]
            for impl, ts in times.items():
                wall, cpu = [w for w, _ in ts], [c for _, c in ts]
                results.append({
                    "config": name, "dims": dict(N=N, H=H, W=W, C=C, K=K, Q=Q, k=k),
                    "impl": impl, "threads": n_threads, "runs": len(ts),
                    "min_ms": 1e3 * min(wall), "median_ms": 1e3 * statistics.median(wall),
                    "min_cpu_ms": 1e3 * min(cpu),
                    "vs_torch": min(wall) / min(torch_wall) if torch_wall else None,
                    "wall_ms": [1e3 * w for w in wall], "cpu_ms": [1e3 * c for c in cpu],
                })
            print(f"done {name} threads={n_threads}", file=sys.stderr, flush=True)
    meta["loadavg_after"] = os.getloadavg()

    print(f"CPU: {meta['cpu']} ({meta['logical_cpus']} logical CPUs); numpy {meta['numpy']}, "
          f"torch {meta['torch']}; load average before {meta['loadavg_before'][0]:.2f}, "
          f"after {meta['loadavg_after'][0]:.2f}")
    for row in meta["threadpools"]:
        print(f"thread pool: {row}")
    print(f"threads: threadpool_limits(n) on every pool above and torch.set_num_threads(n), n in {threads}")
    print()
    print("| config (N, H, W, C, K, Q, k) | implementation | threads | runs | min ms | median ms "
          "| min CPU ms | min / torch min |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        d = r["dims"]
        dims = f"{r['config']} ({d['N']}, {d['H']}, {d['W']}, {d['C']}, {d['K']}, {d['Q']}, {d['k']})"
        ratio = "" if r["vs_torch"] is None else f"{r['vs_torch']:.2f}×"
        print(f"| {dims} | {r['impl']} | {r['threads']} | {r['runs']} | {r['min_ms']:.1f} | "
              f"{r['median_ms']:.1f} | {r['min_cpu_ms']:.1f} | {ratio} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
