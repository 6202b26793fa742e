"""The verdict a CI can trust: no false pass, coverage named, candidates isolated, results for machines.

Each check keeps the wrong candidate that must fail it and a right (or
right-but-different) one that must pass.
"""

import json
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import attnrnn_np
from attnrnn_np.cli import main
from attnrnn_np.verify import (
    assert_verified,
    gradcheck_candidate,
    problem_names,
    reference,
    select_names,
    verify,
    verify_npz,
    write_golden,
)

ONE = ["k3-q3-sigmoid-4x5"]


def _everything(p):
    return reference(p)


# --------------------------------------------------------------------------
# no false pass
# --------------------------------------------------------------------------

@pytest.mark.parametrize("rename, suggestion", [
    (("h.fwd", "h_fwd"), "h.fwd"),
    (("grads.fwd.W_x", "grads.fwd.Wx"), "grads.fwd.W_x"),
    (("U.bwd", "u_bwd"), "U.bwd"),
])
def test_a_misspelt_name_fails_with_the_nearest_known_name(rename, suggestion):
    old, new = rename

    def candidate(p):
        out = reference(p)
        out[new] = out.pop(old)
        return out
    report = verify(candidate, ONE)
    (r,) = report.results
    assert not report.passed and r.status == "fail"
    assert f"`{new}`: did you mean `{suggestion}`?" in str(report)


def test_a_name_of_another_problem_kind_is_not_a_failure():
    """dq on a problem without a query is a kit name that does not apply: listed, not failed."""
    def candidate(p):
        out = reference(p)
        out.setdefault("dq", np.zeros((p.dims["N"], 1)))
        return out
    report = verify(candidate, ["k3-q0-sigmoid-3x3"])
    assert report.passed and report.results[0].ignored == ["dq"]


def test_coverage_names_what_was_never_compared():
    only_A = verify(lambda p: {"A": reference(p)["A"]})
    text = str(only_A)
    assert only_A.passed  # nothing disagrees …
    assert "AGREES on what was compared" in text   # … but the verdict says what it rests on
    never = text.split("never compared: ")[1].splitlines()[0]
    for gap in ("dX", "every parameter's gradient", "U/gates/c/h of the raster direction"):
        assert gap in never
    sigmoid_only = verify(lambda p: reference(p) if p.normalize == "sigmoid" else None)
    assert "the softmax normalisation" in str(sigmoid_only).split("never compared: ")[1].splitlines()[0]
    everything = verify(_everything)
    assert "never compared: nothing" in str(everything)


def test_gradients_for_some_parameters_only_are_listed_as_not_compared():
    def candidate(p):
        out = reference(p)
        del out["grads.fwd.W_q"], out["grads.bwd.W_q"]
        return out
    report = verify(candidate, ONE)
    grads = report.coverage.items["grads"]
    assert grads.state == "never" or grads.complete == 0
    assert "grads.fwd.W_q" in grads.never
    assert not verify(candidate, ONE, require=["grads"]).passed


@pytest.mark.parametrize("require, candidate_kind, passes", [
    ("grads", "A only", False),
    ("intermediates", "A only", False),
    ("softmax", "sigmoid only", False),
    ("multiscale", "single-scale only", False),
    ("grads,intermediates,softmax,multiscale", "everything", True),
])
def test_require_turns_a_gap_into_a_failure(require, candidate_kind, passes):
    candidates = {
        "A only": lambda p: {"A": reference(p)["A"]},
        "sigmoid only": lambda p: reference(p) if p.normalize == "sigmoid" else None,
        "single-scale only": lambda p: None if p.scales else reference(p),
        "everything": _everything,
    }
    report = verify(candidates[candidate_kind], require=require.split(","))
    assert report.passed is passes
    if not passes:
        assert "required but not compared everywhere" in str(report)


def test_an_unknown_requirement_is_refused():
    with pytest.raises(ValueError, match="unknown requirement 'gradz'"):
        verify(_everything, ONE, require=["gradz"])


def test_state_carried_between_calls_is_found():
    calls = {"n": 0}

    def accumulating(p):   # a reused module whose gradients are never zeroed
        calls["n"] += 1
        out = reference(p)
        out["dX"] = out["dX"] * calls["n"] if p.name == ONE[0] else out["dX"]
        return out
    report = verify(accumulating, ONE + ["row-1x6"])
    assert not report.passed and report.extra and "state carried between calls" in report.extra[0].message
    assert verify(_everything, ONE + ["row-1x6"]).passed


# --------------------------------------------------------------------------
# selecting problems, golden files
# --------------------------------------------------------------------------

def test_problems_by_names_patterns_and_groups():
    assert select_names("k3-*") == [n for n in problem_names() if n.startswith("k3-")]
    assert select_names("multi-scale") == [n for n in problem_names() if n.startswith("ms")]
    single = select_names("single-scale")
    assert len(single) == 9 and not any(n.startswith("ms") for n in single)
    assert select_names("pixel-1x1, k1-*") == ["k1-q2-sigmoid-3x4", "k1-q0-softmax-4x3", "pixel-1x1"]
    for bad in ("", " , ", "k9-*"):
        with pytest.raises(ValueError):
            select_names(bad)


def test_a_result_file_with_meta_skip_is_skipped_and_named_as_not_compared(tmp_path):
    write_golden(tmp_path, [p for p in __import__("attnrnn_np.verify", fromlist=["problems"]).problems(
        ["row-1x6", "ms12-q2-sigmoid-4x6"])])
    np.savez(tmp_path / "ms12-q2-sigmoid-4x6.npz", **{"meta.skip": np.array("multi-scale not written yet")})
    report = verify_npz(tmp_path, ["row-1x6", "ms12-q2-sigmoid-4x6"])
    statuses = [r.status for r in report.results]
    assert statuses == ["pass", "skipped"] and report.passed
    assert "the multi-scale layer" in str(report).split("never compared: ")[1].splitlines()[0]
    assert not verify_npz(tmp_path, ["row-1x6", "ms12-q2-sigmoid-4x6"], require=["multiscale"]).passed


def test_a_npy_or_a_pickle_where_an_npz_belongs_is_named(tmp_path):
    np.save(tmp_path / "row-1x6.npz", np.zeros(3))            # np.save keeps the name it is given
    os.replace(tmp_path / "row-1x6.npz.npy", tmp_path / "row-1x6.npz") if (tmp_path / "row-1x6.npz.npy").exists() \
        else None
    import pickle
    (tmp_path / "pixel-1x1.npz").write_bytes(pickle.dumps({"A": [1.0]}))
    report = verify_npz(tmp_path, ["row-1x6", "pixel-1x1"])
    messages = {r.name: r.message for r in report.results}
    assert "single .npy array" in messages["row-1x6"]
    assert "pickle" in messages["pixel-1x1"] and not report.passed


# --------------------------------------------------------------------------
# the command: isolation, exit codes, outputs
# --------------------------------------------------------------------------

CANDIDATES = '''
import os, sys, time
from attnrnn_np.verify import reference

def good(problem):
    return reference(problem)

def exits(problem):
    sys.exit(0)

def hard_exit(problem):
    os._exit(0)

def hangs(problem):
    if problem.name == "pixel-1x1":
        while True:
            time.sleep(0.05)
    return reference(problem)

def crashes(problem):
    import ctypes
    ctypes.string_at(0)

def only_A(problem):
    return {"A": reference(problem)["A"]}

def misspelt(problem):
    out = reference(problem)
    out["h_fwd"] = out.pop("h.fwd")
    return out

def wrong_backward(problem):
    out = reference(problem)
    out["grads"] = {k[6:]: v * 1.001 for k, v in out.items() if k.startswith("grads.")}
    return out
'''


@pytest.fixture
def folder(tmp_path, monkeypatch):
    (tmp_path / "cands.py").write_text(CANDIDATES)
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(0)\ndef f(p):\n    return {}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


ROOT = str(Path(attnrnn_np.__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": ROOT}   # the package under test, whatever the current folder


def _run(*argv):
    proc = subprocess.run([sys.executable, "-m", "attnrnn_np.cli", "verify", *argv], capture_output=True,
                          text=True, timeout=240, env=ENV)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("target, expected", [
    ("cands:exits", "sys.exit(0)"),
    ("cands:hard_exit", "exited with status 0"),
    ("cands:crashes", "killed by signal"),
    ("exits_on_import:f", "sys.exit(0) on import"),
])
def test_a_candidate_that_exits_or_crashes_never_gets_exit_0(folder, target, expected):
    code, out, err = _run("--against", target, "--problems", "pixel-1x1,row-1x6")
    assert code == 1 and expected in out, (out, err)
    assert "Traceback" not in err


def test_a_hanging_candidate_times_out_and_the_others_still_run(folder):
    code, out, _ = _run("--against", "cands:hangs", "--problems", "pixel-1x1,row-1x6", "--timeout", "3")
    assert code == 1 and "timed out after 3 s" in out
    assert "row-1x6: pass" in out


def test_exit_codes_and_the_machine_readable_results(folder):
    code, out, _ = _run("--against", "cands:good", "--problems", "pixel-1x1,row-1x6", "--json", "r.json",
                        "--junit", "r.xml")
    assert code == 0 and "AGREES" in out
    data = json.loads((folder / "r.json").read_text())
    assert data["passed"] is True and data["dtype"] == "float64"
    assert [p["status"] for p in data["problems"]] == ["pass", "pass"]
    assert data["coverage"]["never_compared"] == []
    t = data["problems"][0]["tensors"][0]
    assert set(t) >= {"name", "stage", "max_abs", "max_rel", "mismatched", "total"}
    suite = ET.parse(folder / "r.xml").getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "0"

    code, out, _ = _run("--against", "cands:misspelt", "--problems", "pixel-1x1", "--json", "m.json",
                        "--junit", "m.xml", "--brief")
    assert code == 1 and "did you mean `h.fwd`" in out
    assert json.loads((folder / "m.json").read_text())["problems"][0]["status"] == "fail"
    case = ET.parse(folder / "m.xml").getroot().find("testsuite/testcase")
    assert case.find("failure") is not None

    code, out, _ = _run("--against", "cands:only_A", "--problems", "row-1x6", "--require", "grads")
    assert code == 1 and "required but not compared everywhere: grads" in out
    code, out, _ = _run("--against", "cands:only_A", "--problems", "row-1x6")
    assert code == 0 and "never compared: dX" in out


@pytest.mark.parametrize("argv, match", [
    (["--against", "cands:good", "--problems", ""], "names no problem"),
    (["--against", "cands:good", "--problems", "k9-*"], "unknown problem 'k9-*'"),
    (["--against", "cands:good", "--require", "gradz"], "unknown requirement"),
    (["--against", "cands:good", "--timeout", "0"], "positive number of seconds"),
    (["--npz", ".", "--gradcheck"], "--gradcheck"),
    (["--against", "no_module_here:f"], "cannot import no_module_here"),
    (["--against", "cands:good", "--json", "."], "is a folder"),
])
def test_usage_errors_are_one_line_exit_2(folder, argv, match):
    code, _, err = _run(*argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("attnrnn-np: error: ") and match in lines[0], err


def test_a_closed_pipe_ends_quietly(folder):
    proc = subprocess.run(f"{sys.executable} -m attnrnn_np.cli verify --self --full | head -n 1", shell=True,
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.stdout.startswith("Verifying") and "Traceback" not in proc.stderr and "Broken" not in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_golden_folder_is_one_line(tmp_path):  # pragma: no cover - CI runs as root
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    code, _, err = _run("golden", "--out", str(out), "--problems", "pixel-1x1")
    assert code == 1 and err.startswith("attnrnn-np: error: cannot write the golden files")


def test_a_golden_folder_that_cannot_be_written_is_one_line(tmp_path, capsys, monkeypatch):
    import attnrnn_np.verify.golden as golden

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(golden, "save_npz_atomic", full_disk)
    assert main(["verify", "golden", "--out", str(tmp_path / "g"), "--problems", "pixel-1x1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write the golden files" in err[0] and "No space left" in err[0]


# --------------------------------------------------------------------------
# gradcheck and the pytest entry point
# --------------------------------------------------------------------------

def test_gradcheck_against_the_candidates_own_forward():
    right = gradcheck_candidate(_everything, ["k3-q3-sigmoid-4x5", "ms12-q2-sigmoid-4x6"])
    assert right.passed, str(right)
    assert all(len(r.tensors) >= 10 for r in right.results)

    def wrong(p):
        out = reference(p)
        out["grads.bwd.W_up"] = out["grads.bwd.W_up"].T.copy() if out["grads.bwd.W_up"].shape[0] == \
            out["grads.bwd.W_up"].shape[1] else out["grads.bwd.W_up"] * 0.9
        return out
    report = gradcheck_candidate(wrong, ["k3-q3-sigmoid-4x5"])
    bad = [t.name for t in report.results[0].tensors if not t.passed]
    assert not report.passed and bad == ["grads.bwd.W_up"]


def test_gradcheck_on_the_command_line(folder):
    code, out, _ = _run("--against", "cands:good", "--gradcheck", "--problems", "pixel-1x1")
    assert code == 0 and "finite differences of its own forward" in out
    code, out, _ = _run("--against", "cands:wrong_backward", "--gradcheck", "--problems", "pixel-1x1")
    assert code == 1


def test_assert_verified_for_a_researchers_suite():
    assert assert_verified(_everything, "pixel-1x1,row-1x6").passed
    with pytest.raises(AssertionError, match="never compared|required but not compared"):
        assert_verified(lambda p: {"A": reference(p)["A"]}, "row-1x6", require=["grads"])
