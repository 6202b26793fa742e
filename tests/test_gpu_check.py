"""benchmarks/gpu_check.py, the one command for a GPU day, as far as it can be checked without one.

Without a GPU it must say so and check nothing (exit status 2). Its
rehearsal runs every step with the strict double standing in for CuPy at
tiny sizes, so a broken script shows here and not on the day a GPU is lent.
"""

import importlib.util
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
                 "timing (forward+backward", "demo"):
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
