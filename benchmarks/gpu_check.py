"""One command for a machine with a GPU: does the CuPy path hold, and how fast is it?

Runs, in order, and prints one summary (and ``--json`` writes it):

1. the CuPy tests, ``pytest -m gpu tests`` (hypothesis profile ``gpu``: fewer
   examples than ``ci``, to fit the time budget; the strict double runs the
   full profile on every code path in the default test run);
2. NumPy against CuPy on the same inputs: the layer (both normalisations),
   the multi-scale layer (scales 1, 2, 4) and one training step of each of
   the six models; float64 within 1e-10 and float32 within 1e-4 of the
   values' scale (error = max |cupy − numpy| / (1 + max |numpy|));
3. forward + backward timings of the layer in float32, CuPy against
   PyTorch-CUDA eager mode (``torch_arnn.py``, same wavefront schedule) where
   torch with CUDA is present, and NumPy on the CPU for the small size;
4. the measurements of ``gpu_measure.py``: CPU and GPU time per call
   (CUDA events, warm-up) and the launch-bound verdict, the H = W sweep at
   fixed N·H·W and the N sweep at a fixed map, kernel launches and host µs
   per wavefront step, cold against warm, peak memory-pool bytes, eager
   against a CUDA-graph replay, PyTorch eager against PyTorch CUDA graphs
   (TF32 off), cuDNN ``nn.LSTM`` over H + W − 1 steps as a labelled
   speed-of-light bound, float32 and float64, and the versions of device,
   driver, CUDA, CuPy and torch; every repeat goes to the JSON report and
   ``--summary`` writes the tables for docs/performance.md;
5. the demo with ``--backend cupy`` at a small size.

It finishes within about 10 minutes on one GPU. Without a usable GPU it
checks nothing and exits with status 2 and a message saying why.
``--rehearse`` runs every step with the strict double
(attnrnn_np.testing.strict) standing in for CuPy and tiny sizes, to test
this script on any machine; its numbers mean nothing. What has no stand-in
on the double (PyTorch on CUDA, cuDNN) is reported as ``needs a GPU``.

Usage::

    python benchmarks/gpu_check.py --json gpu_check.json --summary gpu_summary.md
    python benchmarks/gpu_check.py --rehearse          # no GPU needed; checks the script only

Exit status: 0 when every check passes, 1 when one fails, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from attnrnn_np import (
    arnn_backward,
    arnn_forward,
    init_arnn_params,
    init_multiscale_params,
    multiscale_arnn_backward,
    multiscale_arnn_forward,
)
from attnrnn_np.atomic import write_text_atomic
from attnrnn_np.backend import gpu_available, to_numpy
from attnrnn_np.learn.layers import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from attnrnn_np.learn.models import MODELS, ModelConfig, init_model, model_backward, model_forward
from attnrnn_np.learn.optim import Adam

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_measure  # noqa: E402  the measurements, beside this script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOL = {"float64": 1e-10, "float32": 1e-4}
# (name, N, H, W, C, K, Q, k), as in bench_arnn.py
TIMING_CONFIGS = [("small", 8, 14, 14, 32, 32, 16, 3), ("cifar32", 32, 32, 32, 64, 64, 0, 3)]


def why_no_gpu():
    """A sentence saying why no GPU is usable (CuPy missing, no device, no kernel launch)."""
    try:
        import cupy
    except Exception as err:
        return f"CuPy cannot be imported ({type(err).__name__}: {err}); install the 'gpu' extra"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:
        return f"CuPy {cupy.__version__} finds no CUDA driver or device ({type(err).__name__}: {err})"
    if n < 1:
        return f"CuPy {cupy.__version__} sees no CUDA device"
    return "CuPy sees a device but cannot run a kernel on it"


# --------------------------------------------------------------------------- parity

def _error(got, ref):
    got, ref = to_numpy(got), to_numpy(ref)
    if got.shape != ref.shape:
        return float("inf")
    return float(np.abs(got.astype(np.float64) - ref).max(initial=0.0) / (1.0 + np.abs(ref).max(initial=0.0)))


def _worst(dev_out, ref_out):
    """The largest error over two dicts of arrays with the same keys, and its key."""
    errors = {key: _error(dev_out[key], ref_out[key]) for key in ref_out if ref_out[key] is not None}
    key = max(errors, key=errors.get)
    return errors[key], key


def _layer_outputs(xp, inputs, dtype, normalize, scales):
    params, X, q, dA = ({k: xp.asarray(v, dtype=dtype) for k, v in inputs[0].items()},
                        *(None if a is None else xp.asarray(a, dtype=dtype) for a in inputs[1:]))
    if scales is None:
        A, cache = arnn_forward(X, params, q, normalize=normalize)
        dX, dq, grads = arnn_backward(dA, cache)
    else:
        A, cache = multiscale_arnn_forward(X, params, q, scales=scales, normalize=normalize)
        dX, dq, grads = multiscale_arnn_backward(dA, cache)
    return {"A": A, "dX": dX, "dq": dq, **grads}


def parity_layer(dev, dtype, *, scales=None, tiny=False):
    N, H, W, C, K, Q, k = (2, 4, 4, 3, 3, 2, 3) if tiny else (4, 12, 12, 8, 16, 4, 3)
    rng = np.random.default_rng(0)
    if scales is None:
        params = init_arnn_params(C, K, query_dim=Q, kernel_size=k, seed=0)
    else:
        params = init_multiscale_params(C, K, scales, query_dim=Q, kernel_size=k, seed=0)
    params = {key: v + rng.normal(0.0, 0.3, v.shape) for key, v in params.items()}  # non-zero biases
    inputs = (params, rng.normal(size=(N, H, W, C)), rng.normal(size=(N, Q)), rng.normal(size=(N, H, W)))
    worst = (0.0, "")
    for normalize in ("sigmoid", "softmax"):
        ref = _layer_outputs(np, inputs, dtype, normalize, scales)
        got = _layer_outputs(dev, inputs, dtype, normalize, scales)
        err, key = _worst(got, ref)
        worst = max(worst, (err, f"{normalize} {key}"))
    return worst


def _training_step(xp, model, dtype, side):
    """One Adam step of a model on a fixed random batch: loss, logits, gradients, parameters after."""
    config = ModelConfig(model=model, hidden=8, query_dim=10, n_classes=5)
    rng = np.random.default_rng(1)
    params = init_model(config, seed=0, dtype=dtype, xp=xp)
    X = xp.asarray(rng.random((8, side, side, 3)), dtype=dtype)
    q = xp.asarray(np.eye(10)[rng.integers(0, 10, 8)], dtype=dtype)
    y = xp.asarray(rng.integers(0, 5, 8))
    logits, _, cache = model_forward(params, X, q, config)
    loss, ce = softmax_cross_entropy_forward(logits, y)
    grads = model_backward(softmax_cross_entropy_backward(1.0, ce), cache)
    Adam(lr=3e-3).step(params, grads)
    out = {"loss": loss, "logits": logits, **{f"grad {k}": v for k, v in grads.items()}}
    out.update({f"param {k}": v for k, v in params.items()})
    return out


def parity_training(dev, dtype, *, tiny=False):
    """Every model's training step. float32 leaves out the parameters after Adam: Adam's first step
    is lr·sign(g) wherever |g| ≫ ε, so a gradient that is 0 in exact arithmetic (head.b under the
    spatial softmax) and round-off in practice moves by ±lr on either backend at random."""
    side = 8 if tiny else 16
    worst = (0.0, "")
    for model in MODELS:
        ref, got = _training_step(np, model, dtype, side), _training_step(dev, model, dtype, side)
        if dtype == "float32":
            ref = {k: v for k, v in ref.items() if not k.startswith("param ")}
        err, key = _worst(got, ref)
        worst = max(worst, (err, f"{model} {key}"))
    return worst


# --------------------------------------------------------------------------- timing

def _time(run, sync, repeats, warmup):
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - t0)
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
            "repeats_ms": [1e3 * t for t in times]}


def timings(dev, sync, *, tiny=False):
    """Forward + backward in float32: CuPy (or the stand-in), PyTorch CUDA when present, NumPy (small only)."""
    torch = None
    try:
        import torch

        if not torch.cuda.is_available():
            torch = None
    except ImportError:
        pass
    if torch is not None:
        sys.path.insert(0, str(HERE))
        from torch_arnn import params_to_torch, torch_arnn_forward
    configs = [("tiny", 2, 6, 6, 4, 4, 2, 3)] if tiny else TIMING_CONFIGS
    repeats, warmup = (2, 1) if tiny else (5, 2)
    rows = []
    for name, N, H, W, C, K, Q, k in configs:
        rng = np.random.default_rng(0)
        params = {key: v.astype(np.float32) for key, v in
                  init_arnn_params(C, K, query_dim=Q, kernel_size=k, seed=0).items()}
        X = rng.normal(size=(N, H, W, C)).astype(np.float32)
        q = rng.normal(size=(N, Q)).astype(np.float32) if Q else None
        dA = rng.normal(size=(N, H, W)).astype(np.float32)
        row = {"config": name, "shape": dict(N=N, H=H, W=W, C=C, K=K, Q=Q, k=k)}

        def layer_step(p, X_, q_, dA_):
            return lambda: arnn_backward(dA_, arnn_forward(X_, p, q_)[1])

        dev_args = ({key: dev.asarray(v) for key, v in params.items()}, dev.asarray(X),
                    None if q is None else dev.asarray(q), dev.asarray(dA))
        row["cupy"] = _time(layer_step(*dev_args), sync, repeats, warmup)
        if name in ("small", "tiny"):
            row["numpy_cpu"] = _time(layer_step(params, X, q, dA), lambda: None, min(repeats, 3), 1)
        if torch is not None:
            cuda = torch.device("cuda")
            pt = {key: v.detach().to(cuda).requires_grad_(True) for key, v in params_to_torch(params).items()}
            Xt = torch.tensor(X, device=cuda, requires_grad=True)
            qt = None if q is None else torch.tensor(q, device=cuda, requires_grad=True)
            dAt = torch.tensor(dA, device=cuda)
            leaves = [Xt, *pt.values()] + ([qt] if qt is not None else [])

            def torch_step(leaves=leaves, Xt=Xt, pt=pt, qt=qt, dAt=dAt):
                for t in leaves:
                    t.grad = None
                torch_arnn_forward(Xt, pt, qt).backward(dAt)

            try:
                row["torch_cuda"] = _time(torch_step, torch.cuda.synchronize, repeats, warmup)
            except Exception as err:  # noqa: BLE001  the comparison is optional; CuPy's timing stands
                row["torch_cuda_error"] = f"{type(err).__name__}: {str(err)[:200]}"
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- subprocess steps

def run_gpu_tests(timeout, *, collect_only=False):
    """``pytest -m gpu tests``; a rehearsal only collects them (without a GPU they would all skip)."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": "gpu"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "-o", "addopts=", "tests"]
    cmd += ["--collect-only"] if collect_only else []
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"passed": False, "summary": f"timed out after {timeout} s"}
    lines = [line for line in proc.stdout.strip().splitlines() if line.strip()]
    summary = lines[-1] if lines else proc.stderr.strip()[-300:]
    if collect_only:
        ok = proc.returncode == 0 and " collected" in summary
    else:  # rc 5: nothing selected; all skipped (no " passed") means nothing ran either
        ok = proc.returncode == 0 and " passed" in summary and "failed" not in summary
    return {"passed": ok, "summary": summary, "output_tail": proc.stdout[-3000:]}


def run_demo(backend, timeout, *, tiny=False):
    sizes = (["--steps", "2", "--n-train", "32", "--n-test", "8", "--batch-size", "16", "--hidden", "3"] if tiny
             else ["--steps", "200", "--n-train", "2000", "--n-test", "500"])
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "attnrnn_np.cli", "demo", "--backend", backend, "--jobs", "1",
               "--out", str(Path(tmp) / "demo"), "--cache-dir", str(Path(tmp) / "cache"), *sizes]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"passed": False, "summary": f"timed out after {timeout} s"}
        seconds = time.perf_counter() - t0
        metrics_path = Path(tmp) / "demo" / "metrics.json"
        if proc.returncode != 0 or not metrics_path.exists():
            return {"passed": False, "summary": f"exit status {proc.returncode}: {proc.stderr.strip()[-500:]}"}
        models = json.loads(metrics_path.read_text())["models"]
    summary = ", ".join(f"{m} accuracy {r['accuracy']:.3f} ({r['seconds']:.1f} s)" for m, r in models.items())
    return {"passed": True, "summary": f"{summary}; {seconds:.0f} s in all", "models": models}


# --------------------------------------------------------------------------- main

def _guarded(run):
    """Run one step; an exception becomes a failed check (the other steps still run)."""
    try:
        return run()
    except Exception as err:  # noqa: BLE001  a GPU day should report every step
        return {"passed": False, "summary": f"raised {type(err).__name__}: {str(err)[:300]}"}


def measure(rehearse, report):
    """gpu_measure's layer and PyTorch measurements into ``report["measurements"]``; one summary line."""
    dev = gpu_measure.RehearsalDevice() if rehearse else gpu_measure.CupyDevice()
    m = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "rehearsal": rehearse, "clock": dev.clock, "versions": dev.versions()}
    report["measurements"] = m
    m["layer"] = gpu_measure.measure_layer(dev, tiny=rehearse)
    m["torch"] = gpu_measure.measure_torch(tiny=rehearse) if not rehearse else {
        "status": "needs a GPU", "reason": "a rehearsal: PyTorch on CUDA and cuDNN have no stand-in on the double",
        "rows": []}
    rows = m["layer"]
    graphs = {r["graph"]["status"] for r in rows}
    parts = [f"{len(rows)} layer configurations ({', '.join(sorted({r['dtype'] for r in rows}))}), "
             f"{sum(len(r['warm']['cpu_us']) for r in rows)} timed repeats, clock: {dev.clock}",
             "verdicts: " + ", ".join(f"{v} ×{sum(r['verdict'] == v for r in rows)}"
                                      for v in sorted({r["verdict"] for r in rows})),
             "launches per step: " + ("; ".join(sorted({r["launches"]["status"] for r in rows})))]
    if "not possible" in graphs:
        first = next(r["graph"]["reason"] for r in rows if r["graph"]["status"] == "not possible")
        parts.append(f"CUDA-graph capture not possible: {first}")
    else:
        worst = max(r["graph"]["replay_max_error"] for r in rows)
        parts.append(f"CUDA-graph replay measured, max error against eager {worst:.1e}")
    if m["torch"]["status"] != "measured":
        parts.append(f"torch eager/graphs and cuDNN LSTM bound: needs a GPU ({m['torch']['reason']})")
    ok = all(r["graph"]["status"] == "not possible" or r["graph"]["replay_max_error"] <= TOL[r["dtype"]]
             for r in rows)
    return {"passed": ok, "summary": "; ".join(parts)}


def device_description(rehearse):
    if rehearse:
        return "the strict double standing in for CuPy (rehearsal: no GPU was used)"
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return (f"{name}, {props['totalGlobalMem'] / 2**30:.0f} GiB; CUDA runtime "
            f"{cupy.cuda.runtime.runtimeGetVersion()}, CuPy {cupy.__version__}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    ap.add_argument("--rehearse", action="store_true",
                    help="no GPU: the strict double stands in for CuPy, tiny sizes; checks this script only")
    ap.add_argument("--tests-timeout", type=int, default=300, help="seconds for pytest -m gpu (default 300)")
    ap.add_argument("--demo-timeout", type=int, default=150, help="seconds for the demo (default 150)")
    ap.add_argument("--summary", type=Path, default=None,
                    help="write the measurements' tables (Markdown, for docs/performance.md) to this file")
    ap.add_argument("--skip", nargs="*", default=[], choices=["tests", "parity", "timing", "measure", "demo"],
                    help="steps to leave out")
    args = ap.parse_args(argv)

    if args.rehearse:
        from attnrnn_np.testing.strict import xp as dev

        def sync():
            return None
    else:
        if not gpu_available():
            print(f"gpu_check: no usable GPU, nothing was checked: {why_no_gpu()}.", file=sys.stderr)
            return 2
        import cupy as dev

        def sync():
            dev.cuda.Device().synchronize()

    t_start = time.perf_counter()
    report = {"device": device_description(args.rehearse), "python": platform.python_version(),
              "numpy": np.__version__, "rehearsal": args.rehearse, "checks": {}}
    checks = report["checks"]
    tiny = args.rehearse

    def parity(run, dtype):
        err, where = run()
        return {"passed": err <= TOL[dtype], "error": err,
                "summary": f"max error {err:.1e} (tolerance {TOL[dtype]:.0e}) at {where}"}

    def timing():
        rows = timings(dev, sync, tiny=tiny)
        report["timings"] = rows
        parts = [f"{r['config']}: " + ", ".join(f"{impl} {r[impl]['median_ms']:.1f} ms"
                                                 for impl in ("cupy", "torch_cuda", "numpy_cpu") if impl in r)
                 + (f" (torch failed: {r['torch_cuda_error']})" if "torch_cuda_error" in r else "")
                 for r in rows]
        if not args.rehearse:
            report["gpu_memory_pool_bytes"] = dev.get_default_memory_pool().total_bytes()
            parts.append(f"CuPy memory pool {report['gpu_memory_pool_bytes'] / 2**20:.0f} MiB")
        return {"passed": True, "summary": "; ".join(parts)}

    if "tests" not in args.skip:
        checks["pytest -m gpu"] = _guarded(lambda: run_gpu_tests(args.tests_timeout, collect_only=args.rehearse))
    if "parity" not in args.skip:
        for dtype in ("float64", "float32"):
            for label, run in (("layer", lambda d=dtype: parity_layer(dev, d, tiny=tiny)),
                               ("multi-scale layer",
                                lambda d=dtype: parity_layer(dev, d, scales=(1, 2, 4), tiny=tiny)),
                               ("training step, six models", lambda d=dtype: parity_training(dev, d, tiny=tiny))):
                checks[f"{label} {dtype}"] = _guarded(lambda run=run, d=dtype: parity(run, d))
    if "timing" not in args.skip:
        checks["timing (forward+backward, float32, median)"] = _guarded(timing)
    if "measure" not in args.skip:
        checks["measurements (sweeps, graphs, memory, launches)"] = _guarded(lambda: measure(args.rehearse, report))
    if "demo" not in args.skip:
        checks["demo"] = _guarded(lambda: run_demo("numpy" if args.rehearse else "cupy", args.demo_timeout,
                                                    tiny=tiny))
    report["seconds"] = time.perf_counter() - t_start

    print(f"\ngpu_check on {report['device']} ({report['seconds']:.0f} s)")
    for name, c in checks.items():
        print(f"  {'ok  ' if c['passed'] else 'FAIL'} {name}: {c['summary']}")
    failed = [name for name, c in checks.items() if not c["passed"]]
    print("all checks passed" if not failed else f"FAILED: {', '.join(failed)}")
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(report, indent=2))
    if args.summary is not None and "measurements" in report:
        write_text_atomic(args.summary, gpu_measure.summary_markdown(report["measurements"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
