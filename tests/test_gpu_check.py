"""benchmarks/gpu_check.py, the one command for a GPU day, as far as it can be checked without one.

Without a GPU it must say so and check nothing (exit status 2). Its
rehearsal runs every step with the strict double standing in for CuPy at
tiny sizes, so a broken script shows here and not on the day a GPU is lent.
The measurements of gpu_measure.py are rehearsed the same way: the stand-ins
for CUDA events, graph capture, the memory pool and the launch counter are
attacked both ways below, and what has no stand-in must say "needs a GPU".
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from strategies import GPU

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


@pytest.mark.skipif(GPU, reason="only meaningful where no GPU is usable")
def test_without_a_gpu_it_says_why_and_checks_nothing():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("gpu_check: no usable GPU, nothing was checked: ")
    assert proc.stdout == ""


def test_the_rehearsal_runs_every_step(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--rehearse", "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "rehearsal: no GPU was used" in out and out.strip().endswith("all checks passed")
    for step in ("pytest -m gpu", "layer float64", "multi-scale layer float32", "training step, six models float64",
                 "timing (forward+backward", "measurements (sweeps", "demo"):
        assert f"ok   {step}" in out, step
    assert (tmp_path / "r.json").read_text().startswith("{")


def test_the_parity_measure_sees_a_difference():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    ref = np.array([1.0, -3.0])
    assert gpu_check._error(ref, ref) == 0.0
    assert gpu_check._error(ref + [0.0, 4e-10], ref) == pytest.approx(1e-10)  # scaled by 1 + max |ref|
    assert gpu_check._error(np.zeros(3), ref) == float("inf")                 # a shape mismatch never passes
    assert gpu_check._worst({"a": ref, "b": ref + 1.0, "c": None}, {"a": ref, "b": ref, "c": None}) == (0.25, "b")


# --------------------------------------------------------------------------- the GPU day's measurements

def _load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPT.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def measure():
    return _load("gpu_measure")


def test_the_rehearsal_reports_every_measurement_and_what_needs_a_gpu(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--rehearse", "--skip", "tests", "parity", "timing", "demo",
                           "--json", str(tmp_path / "r.json"), "--summary", str(tmp_path / "s.md")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(li for li in proc.stdout.splitlines() if "measurements" in li)
    assert line.startswith("  ok   measurements")
    assert "needs a GPU" in line                        # torch and cuDNN: said, not silently left out
    assert "CUDA-graph" in line and "launches per step: measured" in line
    m = json.loads((tmp_path / "r.json").read_text())["measurements"]
    assert m["rehearsal"] and m["versions"]["numpy"] == np.__version__ and m["date"]
    sweeps = {(r["sweep"], r["dtype"]) for r in m["layer"]}
    assert sweeps == {(s, d) for s in ("H=W", "N") for d in ("float32", "float64")}
    for r in m["layer"]:
        assert len(r["warm"]["cpu_us"]) == len(r["warm"]["gpu_us"]) == 3      # every repeat is kept
        assert r["cold"]["cpu_us"] > 0 and r["peak_pool_bytes"] > 0
        assert r["wavefront_steps"] == 2 * (r["shape"]["H"] + r["shape"]["W"] - 1)
        assert r["launches"]["per_call"] > r["wavefront_steps"]              # several operations per step
        assert r["verdict"] in ("launch-bound", "GPU-bound")
        assert r["graph"]["status"] in ("measured", "not possible")
        if r["graph"]["status"] == "not possible":
            assert "host synchronisation" in r["graph"]["reason"] or "HostSyncInCapture" in r["graph"]["reason"]
    assert m["torch"]["status"] == "needs a GPU"
    summary = (tmp_path / "s.md").read_text()
    assert "these numbers mean nothing" in summary and "needs a GPU" in summary
    rows = summary.splitlines()
    assert sum(r.startswith("| H=W |") for r in rows) == 4 and sum(r.startswith("| N |") for r in rows) == 4


def test_the_sweeps_hold_work_or_the_map_fixed(measure):
    configs = measure.sweep_configs()
    hw = [c for c in configs if c[0] == "H=W"]
    assert [c[2] for c in hw] == [8, 16, 32, 64] and all(c[2] == c[3] for c in hw)
    assert {N * H * W for _, N, H, W, _, _ in hw} == {measure.CELLS}
    n = [c for c in configs if c[0] == "N"]
    assert [c[1] for c in n] == [1, 8, 64, 256] and {(c[2], c[3]) for c in n} == {(16, 16)}


def test_the_launch_bound_verdict_goes_both_ways(measure):
    assert measure.launch_bound(cpu_us=1000.0, gpu_us=1050.0) == "launch-bound"
    assert measure.launch_bound(cpu_us=1000.0, gpu_us=5000.0) == "GPU-bound"


def test_the_capture_stand_in_refuses_host_synchronisation_and_replays_what_it_captured(measure):
    dev = measure.RehearsalDevice()
    xp = dev.xp
    a = xp.asarray(np.linspace(-1.0, 1.0, 6))

    def pure():                          # no host synchronisation: capturable, replays the same numbers
        return xp.tanh(a), a * 2.0, {}

    r = measure.graph_against_eager(dev, pure, 1, 2)
    assert r["status"] == "measured" and r["replay_max_error"] == 0.0
    assert len(r["eager"]["cpu_us"]) == len(r["graph"]["cpu_us"]) == 2

    def syncs():                         # a bool() on a device array, as a data-dependent check does
        if bool((a > 0).any()):
            return xp.tanh(a), a, {}
        return a, a, {}

    r = measure.graph_against_eager(dev, syncs, 1, 2)
    assert r["status"] == "not possible" and "__bool__() of a device array" in r["reason"]
    assert bool((a > 0).any())           # the double's own methods are back after the capture


def test_a_replay_that_writes_nothing_is_seen(measure):
    dev = measure.RehearsalDevice()
    xp = dev.xp
    a = xp.asarray(np.ones(3))
    stale = (a * 1.0, a * 1.0, {})     # A and dX: the replay's dX alone left unwritten must be seen too

    class Frozen(type(dev)):
        def capture(self, fn):           # a 'graph' whose replay returns the old buffers untouched
            fn()
            return (lambda: stale), stale

    r = measure.graph_against_eager(Frozen(), lambda: (a * 1.0, a * 1.0, {}), 1, 1)
    assert r["status"] == "measured" and r["replay_max_error"] == float("inf")

    fresh = a * 1.0

    class HalfFrozen(type(dev)):
        def capture(self, fn):           # A rewritten, dX left stale
            fn()
            return (lambda: (fresh, stale[1], {})), stale

    r = measure.graph_against_eager(HalfFrozen(), lambda: (a * 1.0, a * 1.0, {}), 1, 1)
    assert r["replay_max_error"] == float("inf")


def test_the_operation_counter_counts_computing_operations_only(measure):
    dev = measure.RehearsalDevice()
    xp = dev.xp
    a = xp.asarray(np.ones((2, 3)))
    with dev.count_launches() as counter:
        b = a * 2.0                      # one
        c = xp.tanh(b)                   # two
        c += 1.0                         # three
        a.reshape(3, 2).transpose(1, 0)  # views: none
        c[0] = 0.0                       # four: a copy kernel
    assert counter["launches"] == 4
    with dev.count_launches() as counter:
        pass
    assert counter["launches"] == 0
    assert (a * 2.0).sum().item() == 12.0    # the double works as before


def test_the_peak_memory_stand_in_sees_an_allocation(measure):
    dev = measure.RehearsalDevice()
    small = dev.peak_bytes(lambda: dev.xp.zeros(10))
    large = dev.peak_bytes(lambda: dev.xp.zeros(1_000_000))
    assert large >= 8_000_000 > small


def test_the_summary_tables_read_a_gpu_report(measure):
    """The GPU day's branches of the summary (torch measured, a graph measured) on a report of that shape."""
    timed = {"cpu_us": [900.0, 1100.0], "gpu_us": [1000.0, 1200.0]}
    layer = {"sweep": "N", "dtype": "float32", "shape": dict(N=8, H=16, W=16, C=32, K=32), "wavefront_steps": 62,
             "cold": {"cpu_us": 5e4, "gpu_us": 6e4}, "warm": timed, "median_cpu_us": 1000.0,
             "median_gpu_us": 1100.0, "verdict": "launch-bound", "host_us_per_step": 16.1,
             "peak_pool_bytes": 3 * 2**20,
             "launches": {"status": "measured", "per_call": 2232, "per_step": 36.0, "how": "profiler"},
             "graph": {"status": "measured", "replay_max_error": 0.0, "eager": timed, "graph": timed}}
    torch_row = {"sweep": "N", "dtype": "float32", "shape": layer["shape"], "tf32": False, "eager": timed,
                 "graph": {"status": "not possible", "reason": "x"}, "cudnn_lstm_bound": {"label": "bound", **timed}}
    report = {"date": "today", "rehearsal": False, "clock": "CUDA events",
              "versions": {"device": "a GPU", "driver": 1, "cuda_runtime": 2, "cupy": "3", "torch": "4"},
              "layer": [layer], "torch": {"status": "measured", "rows": [torch_row]}}
    text = measure.summary_markdown(report)
    assert "| N | float32 | 8 | 16 | 62 | 60.00 | 1.00 | 1.10 | launch-bound | 16 | 36.0 | 3.0 | 1.10 |" in text
    assert "| N | float32 | 8 | 16 | 1.10 | not possible | 1.10 |" in text
    assert "TF32 off" in text and "speed-of-light bound" in text and "mean nothing" not in text
