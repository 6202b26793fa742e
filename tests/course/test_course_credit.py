"""Grading for credit around the isolated grader: points, Gradescope's results.json, a whole class
(grade-class and its CSV), a simulated Gradescope run of the exported autograder, the wire format's
refusal of anything but numbers, and `course init`'s one-line errors."""

import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from attnrnn_np.cli import main
from attnrnn_np.course.grader import EXERCISES, REQUIRED, grade, results_json, wire
from attnrnn_np.course.grader.run import default_points
from attnrnn_np.course.workspace import REFERENCE, cut_solutions, init_workspace

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["lstm_cell", "softmax"]          # two exercises keep these runs short


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved") / "ws"
    init_workspace(folder, with_solutions=True)
    return folder


def half_done(dest):
    """A workspace with lstm_cell solved and softmax left as its stub."""
    init_workspace(dest, with_solutions=True)
    for module in REFERENCE.glob("*.py"):
        (dest / "student" / module.name).write_text(cut_solutions(module.read_text(), exercises=("softmax",)))
    return dest


# --------------------------------------------------------------------------------------------- points

def test_default_points_are_equal_for_the_required_exercises_and_zero_for_the_optional_one():
    points = default_points()
    assert set(points) == set(EXERCISES)
    assert len({points[n] for n in REQUIRED}) == 1 and points[REQUIRED[0]] > 0
    assert all(points[n] == 0 for n, ex in EXERCISES.items() if ex.optional)


def test_the_workspace_points_file_decides_and_is_divided_among_the_checks(tmp_path, capfd):
    ws = half_done(tmp_path / "ws")
    table = json.loads((ws / "points.json").read_text())
    assert table == default_points()
    table.update(lstm_cell=30, softmax=5)
    (ws / "points.json").write_text(json.dumps(table))
    assert main(["course", "grade", str(ws), *QUICK]) == 1
    out = capfd.readouterr().out
    assert "30.00 of 35.00 points" in out
    results = grade(ws, QUICK, points=table)
    lstm = results["lstm_cell"]
    assert lstm.score == pytest.approx(30) and lstm.max_score == pytest.approx(30)
    assert all(o.max_score == pytest.approx(30 / len(lstm.outcomes)) for o in lstm.outcomes.values())
    (ws / "points.json").write_text('{"lstm_cell": "ten"}')
    assert main(["course", "grade", str(ws), "lstm_cell"]) == 2
    err = capfd.readouterr().err
    assert err.startswith("attnrnn-np: error: ") and err.count("\n") == 1 and "lstm_cell" in err


# --------------------------------------------------------------------------------------- results.json

def test_results_json_follows_gradescope_schema(tmp_path, capfd):
    ws = half_done(tmp_path / "ws")
    path = tmp_path / "out" / "results.json"
    path.parent.mkdir()
    assert main(["course", "grade", str(ws), *QUICK, "--hidden", "--seed", "3", "--results-json", str(path)]) == 1
    capfd.readouterr()
    report = json.loads(path.read_text())
    assert sorted(os.listdir(path.parent)) == ["results.json"]          # written atomically, nothing left
    assert set(report) == {"score", "execution_time", "output", "tests"}
    assert isinstance(report["execution_time"], (int, float)) and report["execution_time"] > 0
    assert "0 of 2 exercises pass" not in report["output"] and "1 of 2 exercises pass" in report["output"]
    tests = report["tests"]
    want = sum(len(EXERCISES[n].checks) for n in QUICK)                 # --hidden: every check, hidden too
    assert len(tests) == want
    for t in tests:
        assert set(t) == {"name", "score", "max_score", "status", "output", "visibility"}
        exercise = t["name"].split(": ", 1)[0]
        assert exercise in QUICK and len(t["name"]) > len(exercise) + 2
        assert t["status"] in ("passed", "failed")
        assert t["visibility"] in ("visible", "after_published")
        assert (t["score"] == t["max_score"]) == (t["status"] == "passed")
        if exercise == "lstm_cell":
            assert t["status"] == "passed" and t["max_score"] > 0
        else:
            assert t["status"] == "failed" and "not implemented yet" in t["output"]
    assert any(t["visibility"] == "after_published" for t in tests)
    hidden = {f"{n}: {c.replace('_', ' ')}" for n in QUICK for c, (_, h) in EXERCISES[n].checks.items() if h}
    assert {t["name"] for t in tests if t["visibility"] == "after_published"} == hidden
    assert report["score"] == pytest.approx(sum(t["score"] for t in tests))
    assert report["score"] == pytest.approx(default_points()["lstm_cell"])


def test_results_json_lists_every_selected_check_even_when_none_ran(tmp_path):
    init_workspace(tmp_path / "ws")
    (tmp_path / "ws" / "student" / "__init__.py").write_text("raise RuntimeError('broken on purpose')\n")
    results = grade(tmp_path / "ws", QUICK, timeout=20)
    report = results_json(results, 1.0)
    assert len(report["tests"]) == sum(len(r.outcomes) for r in results.values()) > 0
    assert report["score"] == 0 and all(t["status"] == "failed" for t in report["tests"])
    assert all("broken on purpose" in t["output"] for t in report["tests"])


# -------------------------------------------------------------------------------------------- a class

def test_grade_class_writes_one_row_per_student_and_one_broken_folder_stops_nothing(solved, tmp_path, capfd):
    subs = tmp_path / "subs"
    shutil.copytree(solved, subs / "alice")                                    # a whole workspace
    (subs / "bob").mkdir(parents=True)                                         # only the student files
    for path in (solved / "student").glob("*.py"):
        shutil.copyfile(path, subs / "bob" / path.name)
    (subs / "bob" / "softmax.py").write_text(cut_solutions((REFERENCE / "softmax.py").read_text()))
    shutil.copytree(solved / "student", subs / "carol" / "student")            # a broken package
    (subs / "carol" / "student" / "__init__.py").write_text("def oops(:\n")
    (subs / "dave").mkdir()                                                    # nothing handed in
    (subs / "dave" / "notes.txt").write_text("I ran out of time\n")
    out = tmp_path / "grades.csv"
    assert main(["course", "grade-class", str(subs), "--csv", str(out), "--exercises", *QUICK, "--jobs", "2",
                 "--timeout", "30"]) == 0
    assert "graded 3 of 4 submissions" in capfd.readouterr().out
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    assert list(next(iter(rows.values()))) == ["student", *QUICK, "total", "status", "failed"]
    full = default_points()
    assert float(rows["alice"]["total"]) == pytest.approx(full["lstm_cell"] + full["softmax"])
    assert rows["alice"]["status"] == "graded" and rows["alice"]["failed"] == ""
    assert float(rows["bob"]["lstm_cell"]) == pytest.approx(full["lstm_cell"]) and float(rows["bob"]["softmax"]) == 0
    assert rows["bob"]["failed"] == "softmax"
    assert float(rows["carol"]["total"]) == 0 and rows["carol"]["failed"] == " ".join(QUICK)
    assert rows["dave"]["status"] == "no student files" and rows["dave"]["total"] == ""


def test_grade_class_reads_nbgraders_layout(solved, tmp_path, capfd):
    subs = tmp_path / "course"
    shutil.copytree(solved / "student", subs / "submitted" / "erin" / "hw1")
    shutil.copytree(solved / "student", subs / "submitted" / "erin" / "hw0")
    shutil.copytree(solved / "student", subs / "submitted" / "finn" / "hw1")
    (subs / "submitted" / "finn" / "hw1" / "lstm_cell.py").write_text(
        cut_solutions((REFERENCE / "lstm_cell.py").read_text()))
    out = tmp_path / "grades.csv"
    assert main(["course", "grade-class", str(subs), "--csv", str(out), "--assignment", "hw1",
                 "--exercises", "lstm_cell", "--public-only"]) == 0
    capfd.readouterr()
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert float(rows["erin"]["lstm_cell"]) == pytest.approx(default_points()["lstm_cell"])
    assert float(rows["finn"]["lstm_cell"]) == 0 and rows["finn"]["failed"] == "lstm_cell"
    assert main(["course", "grade-class", str(tmp_path / "nowhere"), "--csv", str(out)]) == 2
    err = capfd.readouterr().err
    assert err.startswith("attnrnn-np: error: ") and err.count("\n") == 1


# ----------------------------------------------------------------------------------------- Gradescope

def test_a_simulated_gradescope_run_writes_results_json(solved, tmp_path, capfd):
    """The zip's run_autograder on a simulated /autograder tree, with this source tree instead of the wheel."""
    zip_path = tmp_path / "autograder.zip"
    assert main(["course", "gradescope", "--out", str(zip_path), "--exercises", *QUICK, "--seed", "7",
                 "--timeout", "30"]) == 0
    capfd.readouterr()
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        z.extractall(root / "source")
        wheels = [n for n in names if n.endswith(".whl")]
        assert {"setup.sh", "run_autograder", "config.json"} <= set(names) and len(wheels) == 1
        assert (z.getinfo("run_autograder").external_attr >> 16) & 0o111
    config = json.loads((root / "source" / "config.json").read_text())
    assert config["hidden"] is True and config["seed"] == 7 and config["exercises"] == QUICK
    with zipfile.ZipFile(root / "source" / wheels[0]) as w:
        packed = set(w.namelist())
    assert "attnrnn_np/course/grader/child.py" in packed and "attnrnn_np/course/templates/model.md" in packed
    assert "pip install" in (root / "source" / "setup.sh").read_text()

    (root / "submission").mkdir(parents=True)
    for path in (solved / "student").glob("*.py"):
        shutil.copyfile(path, root / "submission" / path.name)
    (root / "submission" / "softmax.py").write_text(cut_solutions((REFERENCE / "softmax.py").read_text()))
    (root / "submission" / "conftest.py").write_text("raise SystemExit('a conftest is never run')\n")
    env = {"PATH": os.environ.get("PATH", os.defpath), "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable,
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    report = json.loads((root / "results" / "results.json").read_text())
    full = default_points()["lstm_cell"]
    assert report["score"] == pytest.approx(full)
    assert {t["name"].split(": ")[0] for t in report["tests"]} == set(QUICK)
    assert any(t["visibility"] == "after_published" for t in report["tests"])
    assert all(t["status"] == "failed" for t in report["tests"] if t["name"].startswith("softmax: "))

    shutil.rmtree(root / "submission")
    (root / "submission").mkdir()
    (root / "submission" / "answers.pdf").write_bytes(b"%PDF-1.4\n")
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    report = json.loads((root / "results" / "results.json").read_text())
    assert report["score"] == 0 and "no Python files" in report["output"]


# ---------------------------------------------------------------------------------------- the wire

def _message(header, payload=b""):
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + payload


@pytest.mark.parametrize("body, words", [
    (_message({"ok": True, "arrays": [{"dtype": "|O", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 8),
     "only plain numeric arrays"),
    (b"\x80\x04\x95" + b"cos\nsystem\n(S'echo forged'\ntR." + b"\0" * 8, "header"),
    (_message({"ok": True, "arrays": [{"dtype": "<f8", "shape": [3], "offset": 0, "nbytes": 8}]}, b"\0" * 8),
     "does not fill"),
    (_message({"ok": True, "arrays": [{"dtype": "<f8", "shape": [1], "offset": 8, "nbytes": 8}]}, b"\0" * 8),
     "outside the message"),
    (_message([1, 2, 3]), "not an object"),
])
def test_a_forged_message_is_refused(body, words):
    with pytest.raises(wire.WireError, match=words):
        wire.unpack(body)


def test_the_wire_carries_numbers_exactly():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array(2.5), np.zeros((0, 4), dtype=np.int64),
              np.arange(4.0).astype(">f8")]
    header, back = wire.unpack(wire.pack({"op": "x"}, arrays)[8:])
    assert header == {"op": "x"}
    for a, b in zip(arrays, back, strict=True):
        assert b.shape == a.shape and b.dtype == a.dtype.newbyteorder("=") and np.array_equal(a, b)
        assert b.flags.writeable


def test_a_student_writing_a_pickle_to_the_grader_fails_its_exercise(tmp_path):
    """Student code that writes a malicious pickle on the child's answer channel gets a failure, nothing runs."""
    init_workspace(tmp_path / "ws")
    marker = tmp_path / "ran"
    forged = ("import os, pickle, struct, sys\n"
              f"blob = pickle.dumps(eval, protocol=4) + repr({str(marker)!r}).encode()\n"
              "os.write(int(sys.argv[2]), struct.pack('>Q', len(blob)) + blob)\n")
    (tmp_path / "ws" / "student" / "__init__.py").write_text(forged)
    results = grade(tmp_path / "ws", ["lstm_cell"], timeout=20)
    r = results["lstm_cell"]
    assert r.score == 0 and not r.passed and not marker.exists()
    assert all(o.status in ("failed", "not run") for o in r.outcomes.values())
    assert any("cannot read" in o.message or "message of" in o.message for o in r.outcomes.values())


# ------------------------------------------------------------------------------------------- init

def test_init_into_an_impossible_place_is_one_line(tmp_path, capfd):
    (tmp_path / "a_file").write_text("x\n")
    for dest, code in ((tmp_path / "a_file", 2), (tmp_path / "a_file" / "ws", 1)):
        assert main(["course", "init", str(dest)]) == code, dest
        err = capfd.readouterr().err
        assert err.startswith("attnrnn-np: error: ") and err.count("\n") == 1, err
        assert "a_file is " in err and "not a folder" in err
    assert (tmp_path / "a_file").read_text() == "x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]          # nothing half-written


def test_init_where_it_may_not_write_is_one_line_with_exit_1(tmp_path, capfd, monkeypatch):
    import attnrnn_np.course.workspace as workspace

    def refuse(dest):
        raise PermissionError(13, "Permission denied", str(dest))

    monkeypatch.setattr(workspace, "atomic_directory", refuse)     # a read-only folder, even for root
    assert main(["course", "init", str(tmp_path / "ws")]) == 1
    err = capfd.readouterr().err
    assert err.startswith("attnrnn-np: error: cannot write a workspace to ") and err.count("\n") == 1, err
    assert "Permission denied" in err


def test_init_that_fails_midway_leaves_nothing(tmp_path, monkeypatch):
    import attnrnn_np.course.workspace as workspace

    real = Path.write_text
    calls = []

    def full_disk(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError, match="No space"):
        workspace.init_workspace(tmp_path / "ws")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
