"""Points, Gradescope's results.json, a whole class (grade-class) and a simulated Gradescope run."""

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from attnrnn_np.cli import main
from attnrnn_np.course.gradescope import build_wheel
from attnrnn_np.course.workspace import REFERENCE, cut_solutions, init_workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved") / "ws"
    init_workspace(folder, with_solutions=True)
    return folder


def half_solved(dest):
    """A workspace whose softmax is left as a stub."""
    init_workspace(dest, with_solutions=True)
    for module in REFERENCE.glob("*.py"):
        (dest / "student" / module.name).write_text(cut_solutions(module.read_text(), exercises=("softmax",)))
    return dest


def test_results_json_follows_gradescopes_schema_with_the_teachers_points(tmp_path, capfd):
    ws = half_solved(tmp_path / "ws")
    (tmp_path / "points.json").write_text(json.dumps({"softmax": 30, "conv": 5}))
    out = tmp_path / "results.json"
    assert main(["course", "grade", str(ws), "conv", "softmax", "--hidden", "--seed", "4", "--points",
                 str(tmp_path / "points.json"), "--results-json", str(out)]) == 1
    capfd.readouterr()
    report = json.loads(out.read_text())
    assert set(report) == {"score", "execution_time", "output", "tests"}
    assert report["score"] == pytest.approx(5.0)
    assert sum(t["max_score"] for t in report["tests"]) == pytest.approx(35.0)
    for t in report["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["name"].split(": ")[0] in ("conv", "softmax")
        assert t["status"] in ("passed", "failed")
        assert t["visibility"] == ("after_published" if t["name"].endswith("hidden cases") else "visible")
        assert (t["status"] == "passed") == (t["score"] == t["max_score"] > 0)
    assert any(t["name"] == "softmax: gradient" and "not implemented yet" in t["output"] for t in report["tests"])


def test_a_bad_points_table_is_a_usage_error(solved, tmp_path, capfd):
    (tmp_path / "p.json").write_text(json.dumps({"softmax": -1}))
    assert main(["course", "grade", str(solved), "conv", "--points", str(tmp_path / "p.json")]) == 2
    err = capfd.readouterr().err
    assert err.startswith("attnrnn-np: error: ") and "points are numbers" in err and err.count("\n") == 1


def test_grade_class_one_row_per_student_and_a_broken_folder_stops_nothing(tmp_path, solved, capfd):
    subs = tmp_path / "subs"
    shutil.copytree(solved, subs / "ada")                                   # a whole workspace
    (subs / "bob").mkdir(parents=True)
    for module in REFERENCE.glob("*.py"):                                    # just the student files
        (subs / "bob" / module.name).write_text(cut_solutions(module.read_text(), exercises=("softmax",)))
    (subs / "cy").mkdir()                                                   # nothing handed in
    (subs / "cy" / "notes.txt").write_text("sorry")
    shutil.copytree(solved / "student", subs / "dee" / "student")
    (subs / "dee" / "student" / "__init__.py").write_text("import os\nos._exit(3)\n")   # broken
    grades = tmp_path / "grades.csv"
    assert main(["course", "grade-class", str(subs), "--csv", str(grades), "--jobs", "2", "--public-only"]) == 0
    assert "graded 3 of 4 submissions" in capfd.readouterr().out
    rows = {r["student"]: r for r in csv.DictReader(grades.open())}
    assert list(rows) == ["ada", "bob", "cy", "dee"]
    assert float(rows["ada"]["total"]) == pytest.approx(70) and rows["ada"]["status"] == "graded"
    assert float(rows["bob"]["total"]) == pytest.approx(60) and rows["bob"]["failed"] == "softmax"
    assert float(rows["bob"]["softmax"]) == 0
    assert rows["cy"]["status"] == "no student files" and rows["cy"]["total"] == ""
    assert float(rows["dee"]["total"]) == 0 and rows["dee"]["status"] == "graded"


def test_grade_class_reads_nbgraders_layout(tmp_path, solved, capfd):
    subs = tmp_path / "course"
    shutil.copytree(solved / "student", subs / "submitted" / "ada" / "hw1" / "student")
    half_solved(tmp_path / "bob_ws")
    shutil.copytree(tmp_path / "bob_ws" / "student", subs / "submitted" / "bob" / "hw1")
    grades = tmp_path / "grades.csv"
    assert main(["course", "grade-class", str(subs), "--csv", str(grades), "--assignment", "hw1",
                 "--exercises", "softmax", "conv"]) == 0
    capfd.readouterr()
    rows = {r["student"]: r for r in csv.DictReader(grades.open())}
    assert float(rows["ada"]["total"]) == pytest.approx(20) and float(rows["bob"]["total"]) == pytest.approx(10)
    assert main(["course", "grade-class", str(tmp_path / "nowhere"), "--csv", str(grades)]) == 2
    assert capfd.readouterr().err.startswith("attnrnn-np: error: ")


def test_the_wheel_holds_the_package_and_its_data_and_pip_installs_it(tmp_path):
    name, data = build_wheel()
    assert name.startswith("attnrnn_np-") and name.endswith("-py3-none-any.whl")
    path = tmp_path / name
    path.write_bytes(data)
    names = zipfile.ZipFile(path).namelist()
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--target", str(tmp_path / "site"), str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    probe = subprocess.run([sys.executable, "-c", "import attnrnn_np.course.grader as g; print(g.__file__)"],
                           cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(tmp_path / "site")),
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.startswith(str(tmp_path / "site")), probe.stderr
    for want in ("attnrnn_np/cli.py", "attnrnn_np/course/grader/child.py",
                 "attnrnn_np/course/statements/01_lstm_cell.md",
                 "attnrnn_np/course/templates/model.md", "attnrnn_np/verify/golden/manifest.json"):
        assert want in names, want
    assert not any("__pycache__" in n for n in names)
    assert any(n.endswith(".dist-info/RECORD") for n in names)


def test_a_simulated_gradescope_run_writes_results_json(tmp_path, capfd):
    zip_path = tmp_path / "autograder.zip"
    assert main(["course", "gradescope", "--out", str(zip_path), "--seed", "7", "--timeout", "30",
                 "--exercises", "lstm_cell", "softmax"]) == 0
    capfd.readouterr()
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert json.loads((root / "source" / "config.json").read_text())["hidden"] is True
    half_solved(tmp_path / "sub_ws")
    shutil.copytree(tmp_path / "sub_ws" / "student", root / "submission" / "student")
    run = root / "source" / "run_autograder"
    run.chmod(0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PYTHON=sys.executable, PYTHONPATH=str(ROOT))
    done = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads((root / "results" / "results.json").read_text())
    assert report["score"] == pytest.approx(10.0)
    names = [t["name"] for t in report["tests"]]
    assert "lstm_cell: hidden cases" in names and "softmax: hidden cases" in names
    assert all(t["visibility"] == "after_published" for t in report["tests"] if t["name"].endswith("hidden cases"))

    shutil.rmtree(root / "submission")
    (root / "submission").mkdir()
    (root / "submission" / "notes.txt").write_text("no code")
    done = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=300)
    report = json.loads((root / "results" / "results.json").read_text())
    assert done.returncode == 0 and report["score"] == 0 and "no Python files" in report["output"]
