"""The GPU day's measurements of the layer, run by ``benchmarks/gpu_check.py``.

What is measured, for the single-scale layer's forward + backward
(``arnn_forward`` then ``arnn_backward``), in float32 and float64:

- CPU time and GPU time per call: ``cupyx.profiler.benchmark`` (warm-up
  calls, then every repeat timed on the host and with CUDA events), and the
  verdict *launch-bound* when the GPU time is within 20 % of the host time
  (the GPU finishes when the host stops issuing work: it waits for launches);
- two sweeps that separate sequential steps from work: H = W ∈ {8, 16, 32,
  64} at a fixed N·H·W, and N ∈ {1, 8, 64, 256} at a fixed 16×16 map; each
  call walks 2 (H + W − 1) wavefront steps (forward and backward), so the
  host µs per step is the CPU time divided by that;
- kernel launches per wavefront step, counted with torch's profiler (CUPTI
  sees every kernel of the process, CuPy's too) where torch is present;
- cold (the first call of a configuration, events around it) against warm;
- the peak memory-pool bytes of one call (the default pool emptied, one call,
  the bytes it then holds);
- eager against a CUDA-graph replay of the same forward + backward (captured
  on its own stream, with its own memory pool warmed up before the capture so
  the capture allocates nothing new); a host synchronisation inside the
  capture makes it impossible, which is reported with its place;
- PyTorch eager against PyTorch CUDA graphs (``torch_arnn.py``), TF32 off
  for every float32 comparison;
- cuDNN's ``nn.LSTM`` over a sequence of H + W − 1 steps, labelled a
  speed-of-light bound: a different computation (one fused recurrent kernel
  per step), not the same layer;
- device, driver, CUDA, CuPy and torch versions.

Every repeat is kept in the JSON report. :func:`summary_markdown` writes the
tables for docs/performance.md.

Rehearsal (``gpu_check.py --rehearse``): :class:`RehearsalDevice` runs the
same code with the strict double (``attnrnn_np.testing.strict``) at tiny
sizes. Its clock is the host's, its "capture" runs the call once with every
host synchronisation of the double turned into an error (the rule CUDA
enforces during a capture) and replays by calling again, its memory peak
is tracemalloc's, and its launch count is the number of computing array
operations the double sees. What has no stand-in (PyTorch on CUDA, cuDNN)
is reported as ``needs a GPU``, never left out. Rehearsal numbers mean
nothing; they only show that the code runs.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import traceback
import tracemalloc
from pathlib import Path

import numpy as np

from attnrnn_np import arnn_backward, arnn_forward, init_arnn_params
from attnrnn_np.backend import to_numpy

HERE = Path(__file__).resolve().parent

C_SWEEP, K_SWEEP = 32, 32             # channels and hidden size of the sweeps
CELLS = 16384                         # N·H·W of the H = W sweep
HW_SWEEP = (8, 16, 32, 64)            # N = CELLS / (H·W): 256, 64, 16, 4
N_SWEEP = (1, 8, 64, 256)             # at the fixed map below
N_SWEEP_MAP = 16
LAUNCH_BOUND_RATIO = 1.2              # GPU time below 1.2 × host time: the GPU waits for the host


def sweep_configs(tiny=False):
    """``[(sweep, N, H, W, C, K)]``: the H = W sweep at fixed N·H·W, then the N sweep at a fixed map."""
    if tiny:
        return [("H=W", 4, 2, 2, 3, 2), ("H=W", 1, 4, 4, 3, 2), ("N", 1, 3, 3, 3, 2), ("N", 2, 3, 3, 3, 2)]
    rows = [("H=W", CELLS // (s * s), s, s, C_SWEEP, K_SWEEP) for s in HW_SWEEP]
    rows += [("N", n, N_SWEEP_MAP, N_SWEEP_MAP, C_SWEEP, K_SWEEP) for n in N_SWEEP]
    return rows


def wavefront_steps(H, W):
    """Sequential wavefront steps of one forward + backward: H + W − 1 anti-diagonals each way."""
    return 2 * (H + W - 1)


def launch_bound(cpu_us, gpu_us):
    """The verdict for one configuration from the median host and GPU times per call."""
    if gpu_us <= LAUNCH_BOUND_RATIO * cpu_us:
        return "launch-bound"
    return "GPU-bound"


# --------------------------------------------------------------------------- devices

class HostSyncInCapture(RuntimeError):
    """A host synchronisation was attempted where a CUDA graph capture forbids it."""


class RehearsalDevice:
    """The strict double standing in for CuPy: same calls, host clock, tracemalloc, counted operations."""

    rehearsal = True
    clock = "host clock (rehearsal stand-in for CUDA events)"

    def __init__(self):
        from attnrnn_np.testing import strict

        self.strict = strict
        self.xp = strict.xp

    def sync(self):
        return None

    def benchmark(self, fn, n_warmup, n_repeat):
        """Host and 'GPU' µs of every repeat after ``n_warmup`` calls (both host time here)."""
        for _ in range(n_warmup):
            fn()
        cpu = []
        for _ in range(n_repeat):
            t0 = time.perf_counter()
            fn()
            cpu.append(1e6 * (time.perf_counter() - t0))
        return {"cpu_us": cpu, "gpu_us": list(cpu)}

    def cold(self, fn):
        t0 = time.perf_counter()
        fn()
        us = 1e6 * (time.perf_counter() - t0)
        return {"cpu_us": us, "gpu_us": us}

    def peak_bytes(self, fn):
        """tracemalloc's peak over one call (NumPy reports its allocations to it)."""
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    @contextlib.contextmanager
    def _no_host_sync(self):
        """Every way the double's arrays reach the host raises :class:`HostSyncInCapture`."""
        cls = self.strict.StrictArray
        names = ("__bool__", "__float__", "__int__", "__complex__", "__format__", "item", "tolist", "get")
        saved = {name: cls.__dict__[name] for name in names if name in cls.__dict__}

        def forbid(name):
            def method(self, *args, **kwargs):
                raise HostSyncInCapture(f"{name}() of a device array")
            return method

        for name in saved:
            setattr(cls, name, forbid(name))
        try:
            yield
        finally:
            for name, method in saved.items():
                setattr(cls, name, method)

    def capture(self, fn):
        """A 'graph' of ``fn``: one call with host synchronisations forbidden; the replay calls it again."""
        fn()  # warm-up, as before a real capture
        with self._no_host_sync():
            out = fn()

        def replay():
            with self._no_host_sync():
                return fn()
        return replay, out

    @contextlib.contextmanager
    def count_launches(self):
        """Count the double's computing operations (≈ kernel launches on CuPy); views are not counted."""
        cls, ns = self.strict.StrictArray, self.xp
        views = {"reshape", "transpose", "swapaxes", "squeeze", "expand_dims", "moveaxis", "broadcast_to",
                 "asarray", "get", "item", "tolist", "ravel"}
        counter = {"launches": 0}

        def counted(fn):
            def call(*args, **kwargs):
                counter["launches"] += 1
                return fn(*args, **kwargs)
            return call

        saved_cls = {n: m for n, m in cls.__dict__.items()
                     if callable(m) and n not in views and (n in self.strict.ARRAY_METHODS or
                                                            (n.startswith("__") and n.endswith("__") and
                                                             n[2:-2].lstrip("ri") in _OPERATORS) or
                                                            n == "__setitem__")}
        saved_ns = {n: ns.__dict__[n] for n in self.strict.FUNCTIONS if n not in views and n in ns.__dict__}
        for n, m in saved_cls.items():
            setattr(cls, n, counted(m))
        for n, m in saved_ns.items():
            ns.__dict__[n] = counted(m)
        try:
            yield counter
        finally:
            for n, m in saved_cls.items():
                setattr(cls, n, m)
            ns.__dict__.update(saved_ns)

    def launch_counter(self):
        return "array operations counted on the strict double (each is at least one kernel launch on CuPy)"

    def versions(self):
        return {"device": "the strict double standing in for CuPy (rehearsal: no GPU was used)",
                "numpy": np.__version__, "python": sys.version.split()[0]}


_OPERATORS = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
              "eq", "ne", "lt", "le", "gt", "ge", "neg", "abs"}


class CupyDevice:
    """CuPy on the first GPU: CUDA events, cupyx.profiler.benchmark, the memory pool, stream capture."""

    rehearsal = False
    clock = "CUDA events (cupyx.profiler.benchmark)"

    def __init__(self):
        import cupy
        import cupyx.profiler

        self.cupy, self.profiler, self.xp = cupy, cupyx.profiler, cupy

    def sync(self):
        self.cupy.cuda.Device().synchronize()

    def benchmark(self, fn, n_warmup, n_repeat):
        r = self.profiler.benchmark(fn, n_warmup=n_warmup, n_repeat=n_repeat)
        return {"cpu_us": [1e6 * float(t) for t in r.cpu_times], "gpu_us": [1e6 * float(t) for t in r.gpu_times[0]]}

    def cold(self, fn):
        cuda = self.cupy.cuda
        start, stop = cuda.Event(), cuda.Event()
        self.sync()
        t0 = time.perf_counter()
        start.record()
        fn()
        stop.record()
        cpu = 1e6 * (time.perf_counter() - t0)
        stop.synchronize()
        return {"cpu_us": cpu, "gpu_us": 1e3 * cuda.get_elapsed_time(start, stop)}

    def peak_bytes(self, fn):
        pool = self.cupy.get_default_memory_pool()
        self.sync()
        pool.free_all_blocks()
        before = pool.total_bytes()       # blocks still held by live arrays
        fn()
        self.sync()
        return pool.total_bytes() - before

    def capture(self, fn):
        """Capture ``fn`` into a CUDA graph on its own stream and memory pool; return (replay, outputs)."""
        cuda = self.cupy.cuda
        stream, pool = cuda.Stream(non_blocking=True), cuda.MemoryPool()
        with cuda.using_allocator(pool.malloc), stream:
            fn()                           # warm-up: the pool now holds every block the call needs
            stream.synchronize()
            stream.begin_capture()
            try:
                out = fn()
            except BaseException:
                with contextlib.suppress(Exception):  # leave the capture; the call's own error is the finding
                    stream.end_capture()
                raise
            graph = stream.end_capture()

        def replay():
            graph.launch()                 # on the current stream, where the benchmark records its events
            return out
        replay.keep = (stream, pool, graph)  # the graph writes into the pool's blocks: keep them alive
        return replay, out

    @contextlib.contextmanager
    def count_launches(self):
        from torch.profiler import ProfilerActivity, profile

        counter = {"launches": 0}
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            yield counter
            self.sync()
        counter["launches"] = sum(1 for e in prof.events() if str(e.device_type).endswith("CUDA"))

    def launch_counter(self):
        torch, _ = torch_on_cuda()
        if torch is None:
            return None
        return "GPU operations (kernels, memsets, copies) seen by torch.profiler (CUPTI: every one of the process)"

    def versions(self):
        cuda = self.cupy.cuda
        props = cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        out = {"device": f"{name}, {props['totalGlobalMem'] / 2**30:.0f} GiB",
               "driver": cuda.runtime.driverGetVersion(), "cuda_runtime": cuda.runtime.runtimeGetVersion(),
               "cupy": self.cupy.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}
        try:
            import torch

            out.update(torch=torch.__version__, torch_cuda=torch.version.cuda,
                       cudnn=torch.backends.cudnn.version() if torch.cuda.is_available() else None)
        except ImportError:
            out["torch"] = "not installed"
        return out


# --------------------------------------------------------------------------- the layer

def layer_problem(dev, N, H, W, C, K, dtype, seed=0):
    """Parameters (non-zero biases), X and dA on the device, and the forward + backward as one call."""
    rng = np.random.default_rng(seed)
    params = init_arnn_params(C, K, kernel_size=3, seed=seed)
    params = {key: dev.xp.asarray((v + rng.normal(0.0, 0.1, v.shape)).astype(dtype)) for key, v in params.items()}
    X = dev.xp.asarray(rng.normal(size=(N, H, W, C)).astype(dtype))
    dA = dev.xp.asarray(rng.normal(size=(N, H, W)).astype(dtype))

    def step():
        A, cache = arnn_forward(X, params)
        dX, _, grads = arnn_backward(dA, cache)
        return A, dX, grads
    return step


def _where(err):
    """'file:line' of the innermost frame of the package in ``err``'s traceback."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "attnrnn_np" in f.filename]
    frame = frames[-1] if frames else traceback.extract_tb(err.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})"


def _max_error(a, b):
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    err = float(np.abs(a - b).max(initial=0.0) / (1.0 + np.abs(b).max(initial=0.0)))
    return err if np.isfinite(err) else float("inf")   # NaN (an unwritten buffer) must fail every tolerance


def graph_against_eager(dev, step, n_warmup, n_repeat):
    """Eager and CUDA-graph replay times of ``step``, and how far the replay's outputs are from eager ones."""
    A_ref, dX_ref, _ = step()
    A_ref, dX_ref = to_numpy(A_ref), to_numpy(dX_ref)
    try:
        replay, out = dev.capture(step)
    except Exception as err:  # noqa: BLE001  a capture that cannot be made is a finding, reported as such
        return {"status": "not possible", "reason": f"{type(err).__name__}: {str(err)[:200]} at {_where(err)}"}
    for a in out[:2]:
        a.fill(np.nan)                     # the replay must write them: a graph that replays nothing fails here
    A, dX, _ = replay()
    dev.sync()
    error = max(_max_error(A, A_ref), _max_error(dX, dX_ref))
    return {"status": "measured", "replay_max_error": error,
            "eager": dev.benchmark(step, n_warmup, n_repeat), "graph": dev.benchmark(replay, n_warmup, n_repeat)}


def measure_layer(dev, *, tiny=False, dtypes=("float32", "float64")):
    """Every layer measurement over the sweeps, one row per (configuration, dtype), every repeat kept."""
    n_warmup, n_repeat = (1, 3) if tiny else (3, 20)
    counting = dev.launch_counter()
    rows = []
    for dtype in dtypes:
        for sweep, N, H, W, C, K in sweep_configs(tiny):
            step = layer_problem(dev, N, H, W, C, K, dtype)
            row = {"sweep": sweep, "dtype": dtype, "shape": dict(N=N, H=H, W=W, C=C, K=K),
                   "wavefront_steps": wavefront_steps(H, W)}
            row["cold"] = dev.cold(step)
            row["warm"] = dev.benchmark(step, n_warmup, n_repeat)
            cpu, gpu = statistics.median(row["warm"]["cpu_us"]), statistics.median(row["warm"]["gpu_us"])
            row["median_cpu_us"], row["median_gpu_us"] = cpu, gpu
            row["verdict"] = launch_bound(cpu, gpu)
            row["host_us_per_step"] = cpu / row["wavefront_steps"]
            row["peak_pool_bytes"] = dev.peak_bytes(step)
            if counting is None:
                row["launches"] = {"status": "needs torch's profiler (CUPTI): torch with CUDA is not installed"}
            else:
                with dev.count_launches() as counter:
                    step()
                if counter["launches"] == 0:   # a profiler that saw nothing measured nothing
                    row["launches"] = {"status": f"not measured: {counting} saw no operation"}
                else:
                    row["launches"] = {"status": "measured", "per_call": counter["launches"],
                                       "per_step": counter["launches"] / row["wavefront_steps"], "how": counting}
            row["graph"] = graph_against_eager(dev, step, n_warmup, n_repeat)
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- PyTorch on CUDA

def torch_on_cuda():
    """torch when it can run on CUDA, else a sentence saying why not."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    if not torch.cuda.is_available():
        return None, f"torch {torch.__version__} sees no CUDA device"
    return torch, ""


def _torch_time(torch, fn, n_warmup, n_repeat):
    for _ in range(n_warmup):
        fn()
    torch.cuda.synchronize()
    cpu, gpu = [], []
    for _ in range(n_repeat):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0 = time.perf_counter()
        start.record()
        fn()
        stop.record()
        cpu.append(1e6 * (time.perf_counter() - t0))
        stop.synchronize()
        gpu.append(1e3 * start.elapsed_time(stop))
    return {"cpu_us": cpu, "gpu_us": gpu}


def measure_torch(*, tiny=False, dtypes=("float32", "float64")):
    """torch eager vs torch CUDA graphs for ``torch_arnn.py``, and cuDNN nn.LSTM over H + W − 1 steps.

    TF32 is switched off first, so float32 matmuls and convolutions are true float32.
    Without torch on CUDA (and always in a rehearsal) every row says ``needs a GPU`` and why.
    """
    torch, why = torch_on_cuda()
    configs = sweep_configs(tiny)
    if torch is None:
        return {"status": "needs a GPU", "reason": why,
                "rows": [{"sweep": s, "shape": dict(N=N, H=H, W=W, C=C, K=K), "status": "needs a GPU"}
                         for s, N, H, W, C, K in configs]}
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    sys.path.insert(0, str(HERE))
    from torch_arnn import params_to_torch, torch_arnn_forward

    n_warmup, n_repeat = (1, 3) if tiny else (3, 20)
    cuda = torch.device("cuda")
    rows = []
    for dtype in dtypes:
        tdtype = getattr(torch, dtype)
        for sweep, N, H, W, C, K in configs:
            rng = np.random.default_rng(0)
            params = init_arnn_params(C, K, kernel_size=3, seed=0)
            pt = {k: v.detach().to(device=cuda, dtype=tdtype).requires_grad_(True)
                  for k, v in params_to_torch(params).items()}
            X = torch.tensor(rng.normal(size=(N, H, W, C)), device=cuda, dtype=tdtype, requires_grad=True)
            dA = torch.tensor(rng.normal(size=(N, H, W)), device=cuda, dtype=tdtype)
            leaves = [X, *pt.values()]

            def step(leaves=leaves, X=X, pt=pt, dA=dA):
                for t in leaves:
                    t.grad = None
                torch_arnn_forward(X, pt, None).backward(dA)

            row = {"sweep": sweep, "dtype": dtype, "shape": dict(N=N, H=H, W=W, C=C, K=K), "tf32": False,
                   "eager": _torch_time(torch, step, n_warmup, n_repeat)}
            try:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    for _ in range(3):
                        step()
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                for t in leaves:
                    t.grad = None
                with torch.cuda.graph(graph):
                    torch_arnn_forward(X, pt, None).backward(dA)
                row["graph"] = _torch_time(torch, graph.replay, n_warmup, n_repeat)
            except Exception as err:  # noqa: BLE001  reported, the eager timing stands
                row["graph"] = {"status": "not possible", "reason": f"{type(err).__name__}: {str(err)[:200]}"}
            row["cudnn_lstm_bound"] = _cudnn_lstm(torch, N, H, W, K, tdtype, n_warmup, n_repeat)
            rows.append(row)
    return {"status": "measured", "rows": rows}


def _cudnn_lstm(torch, N, H, W, K, tdtype, n_warmup, n_repeat):
    """cuDNN nn.LSTM, forward + backward over T = H + W − 1 steps, batch = both scans' cells of the
    longest diagonal (2 · N · min(H, W)), input and hidden size K. A speed-of-light bound for a
    recurrence of this many sequential steps, NOT the same computation as the layer."""
    T, B = H + W - 1, 2 * N * min(H, W)
    lstm = torch.nn.LSTM(K, K).to(device="cuda", dtype=tdtype)
    x = torch.randn(T, B, K, device="cuda", dtype=tdtype, requires_grad=True)

    def step():
        x.grad = None
        lstm.zero_grad(set_to_none=True)
        lstm(x)[0].sum().backward()
    return {"label": "speed-of-light bound, a different computation (cuDNN LSTM, one fused kernel per step)",
            "T": T, "batch": B, **_torch_time(torch, step, n_warmup, n_repeat)}


# --------------------------------------------------------------------------- summary

def _ms(us):
    return f"{us / 1e3:.2f}"


def summary_markdown(report):
    """Markdown tables of a report, to paste into docs/performance.md (with the report's date and device)."""
    v = report["versions"]
    lines = [f"Measured {report['date']} on {v['device']}"
             + ("" if report["rehearsal"] else
                f" (driver {v.get('driver')}, CUDA runtime {v.get('cuda_runtime')}, CuPy {v.get('cupy')}, "
                f"torch {v.get('torch')})") + f"; clock: {report['clock']}.", ""]
    if report["rehearsal"]:
        lines += ["**Rehearsal: the strict double on the CPU; these numbers mean nothing.**", ""]
    lines += ["| sweep | dtype | N | H=W | steps | cold ms | warm CPU ms | warm GPU ms | verdict | host µs/step "
              "| launches/step | pool MiB | graph replay ms |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["layer"]:
        s, g, la = r["shape"], r["graph"], r["launches"]
        graph = _ms(statistics.median(g["graph"]["gpu_us"])) if g["status"] == "measured" else g["status"]
        launches = f"{la['per_step']:.1f}" if la["status"] == "measured" else "n/a"
        lines.append(f"| {r['sweep']} | {r['dtype']} | {s['N']} | {s['H']} | {r['wavefront_steps']} "
                     f"| {_ms(r['cold']['gpu_us'])} | {_ms(r['median_cpu_us'])} | {_ms(r['median_gpu_us'])} "
                     f"| {r['verdict']} | {r['host_us_per_step']:.0f} | {launches} "
                     f"| {r['peak_pool_bytes'] / 2**20:.1f} | {graph} |")
    t = report["torch"]
    lines.append("")
    if t["status"] != "measured":
        lines.append(f"PyTorch eager / CUDA graphs and the cuDNN LSTM bound: needs a GPU ({t['reason']}).")
    else:
        lines += ["| sweep | dtype | N | H=W | torch eager GPU ms | torch graph GPU ms | cuDNN LSTM bound ms |",
                  "|---|---|---|---|---|---|---|"]
        for r in t["rows"]:
            s = r["shape"]
            graph = (_ms(statistics.median(r["graph"]["gpu_us"])) if "gpu_us" in r["graph"]
                     else r["graph"]["status"])
            lines.append(f"| {r['sweep']} | {r['dtype']} | {s['N']} | {s['H']} "
                         f"| {_ms(statistics.median(r['eager']['gpu_us']))} | {graph} "
                         f"| {_ms(statistics.median(r['cudnn_lstm_bound']['gpu_us']))} |")
        lines.append("")
        lines.append("TF32 off for every PyTorch float32 run. The cuDNN LSTM is a different computation "
                     "(T = H + W − 1 steps, batch 2·N·min(H, W)): a speed-of-light bound, not a competitor.")
    not_measured = [f"{r['sweep']} {r['dtype']} N={r['shape']['N']} H={r['shape']['H']}: {r['graph']['reason']}"
                    for r in report["layer"] if r["graph"]["status"] != "measured"]
    if not_measured:
        lines += ["", "CUDA-graph capture of the layer not possible:"] + [f"- {m}" for m in not_measured]
    return "\n".join(lines) + "\n"
