"""Attacks on the grader: forged verdicts, grader files in the workspace, endless loops, exits, interrupts,
signals, floods of output, objects instead of numbers, imports of the package. Untouched stubs stay at zero,
every run ends within its time limit, and the exit status and the score table tell the truth."""

import json
import shutil
import time

import pytest

from attnrnn_np.cli import main
from attnrnn_np.course.grader import grade
from attnrnn_np.course.grader.remote import OUTPUT_SHOWN
from attnrnn_np.course.workspace import init_workspace

FORGE_INIT = '''
import sys
main = sys.modules.get("__main__")
# try to forge every answer: the child's request loop, its encoder, the wire format
if main is not None:
    main._serve = lambda header, arrays: ({"ok": True, "result": {"v": 1.0}, "keep": 1, "args": 1, "calls": 7,
                                           "names": []}, [])
'''

GRADER_FILES = {
    "conftest.py": "import pytest\n\n@pytest.hookimpl(tryfirst=True)\ndef pytest_runtest_makereport(item, call):\n"
                   "    call.excinfo = None\n",
    "grader/checks.py": "def run(*a):\n    pass\n",
    "grader/test_grader.py": "def test_ok():\n    pass\n",
    "pytest.ini": "[pytest]\n",
}


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stubs") / "ws"
    init_workspace(folder)
    return folder


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved") / "ws"
    init_workspace(folder, with_solutions=True)
    return folder


def copy(src, tmp_path):
    shutil.copytree(src, tmp_path / "ws")
    return tmp_path / "ws"


def append(ws, module, text):
    path = ws / "student" / module
    path.write_text(path.read_text() + text)


def test_forging_the_child_and_grader_files_leave_stubs_at_zero(stubs, tmp_path, capfd):
    ws = copy(stubs, tmp_path)
    (ws / "student" / "__init__.py").write_text(FORGE_INIT)
    for module in ("lstm_cell.py", "scan.py"):
        append(ws, module, FORGE_INIT)
    for name, text in GRADER_FILES.items():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(text)
    results = grade(ws, None, hidden=True, seed=1)
    assert all(r.score == 0 and not r.passed for r in results.values())
    assert main(["course", "grade", str(ws), "--results-json", str(tmp_path / "r.json")]) == 1
    out = capfd.readouterr().out
    assert "0 of 7 exercises pass; 0.00 of 70.00 points" in out
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 0


def test_an_endless_loop_times_out_and_the_others_are_graded(solved, tmp_path, capfd):
    ws = copy(solved, tmp_path)
    append(ws, "lstm_cell.py", "\n\ndef lstm_cell_backward(dh, dc, cache):\n    while True:\n        pass\n")
    start = time.monotonic()
    report = tmp_path / "results.json"
    assert main(["course", "grade", str(ws), "lstm_cell", "conv", "--timeout", "6", "--results-json",
                 str(report)]) == 1
    assert time.monotonic() - start < 40
    out = capfd.readouterr().out
    assert "timed out after 6 s during lstm_cell_backward" in out
    assert "not run" in out and "conv" in out and "1 of 2 exercises pass" in out
    tests = json.loads(report.read_text())["tests"]
    cell = [t for t in tests if t["name"].startswith("lstm_cell: ")]
    assert cell and all(t["status"] == "failed" and t["score"] == 0 for t in cell)
    assert any("not run" in t["output"] for t in cell)


@pytest.mark.parametrize("body, words", [
    ("import os\n    os._exit(0)", "the process ended with exit status 0 during lstm_cell_backward"),
    ("import sys\n    sys.exit(0)", "your code called sys.exit(0) during lstm_cell_backward"),
    ("raise KeyboardInterrupt", "your code raised KeyboardInterrupt during lstm_cell_backward"),
    ("import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)", "was killed by SIGKILL during lstm_cell_backward"),
    ("import numpy as np\n    return np.array([object()]), None", "dG is a"),
])
def test_an_exit_an_interrupt_or_a_signal_fails_that_exercise_only(solved, tmp_path, body, words):
    ws = copy(solved, tmp_path)
    append(ws, "lstm_cell.py", f"\n\ndef lstm_cell_backward(dh, dc, cache):\n    {body}\n")
    results = grade(ws, ["lstm_cell", "conv", "softmax"])
    assert list(results) == ["lstm_cell", "conv", "softmax"]
    assert not results["lstm_cell"].passed and results["lstm_cell"].score == 0
    messages = "\n".join(o.message for o in results["lstm_cell"].outcomes.values())
    assert words in messages or "cannot read" in messages, messages
    assert results["conv"].passed and results["softmax"].passed


@pytest.mark.parametrize("init, words", [
    ("raise SystemExit(0)\n", "your code called sys.exit(0)"),
    ("def broken(:\n", "your code does not parse"),
    ("import scipy_that_is_not_there\n", "importing your package failed: ModuleNotFoundError"),
    ("import os\nos._exit(0)\n", "the process ended with exit status 0 during startup"),
])
def test_a_broken_init_fails_every_exercise_with_its_error(solved, tmp_path, capfd, init, words):
    ws = copy(solved, tmp_path)
    (ws / "student" / "__init__.py").write_text(init)
    assert main(["course", "grade", str(ws)]) == 1
    out = capfd.readouterr().out
    assert words in out and "0 of 7 exercises pass" in out
    for name in ("lstm_cell", "conv", "raster_forward", "raster_backward", "inverse_raster", "softmax", "combiner"):
        assert f"\n{name} " in out


def test_a_flood_of_output_is_cut(solved, tmp_path, capfd):
    ws = copy(solved, tmp_path)
    append(ws, "softmax.py", "\nprint('x' * 5_000_000)\n")
    assert main(["course", "grade", str(ws), "softmax"]) == 0
    out = capfd.readouterr().out
    assert "(output cut)" in out and len(out) < OUTPUT_SHOWN + 10_000


@pytest.mark.parametrize("line", ["import attnrnn_np.course.reference.lstm_cell as ref\n",
                                  "from attnrnn_np.course.reference import scan\n",
                                  "SOURCE = open(__import__('os').path.join('attnrnn_np', 'course')).read()\n"])
def test_a_student_file_that_uses_the_package_fails_clearly(solved, tmp_path, line):
    ws = copy(solved, tmp_path)
    append(ws, "conv.py", "\n" + line)
    results = grade(ws, ["lstm_cell", "conv"])
    for r in results.values():
        assert not r.passed and r.score == 0
        assert all("student/conv.py line" in o.message and "uses attnrnn_np" in o.message
                   for o in r.outcomes.values())


def test_hints_fit_the_error(solved, tmp_path):
    ws = copy(solved, tmp_path)
    append(ws, "softmax.py", "\n\ndef spatial_softmax_backward(dA, cache):\n    return dA @ cache.A\n")
    (ws / "student" / "combiner.py").write_text("def combiner_forward(:\n")
    results = grade(ws, ["softmax", "combiner"])
    softmax = "\n".join(o.message for o in results["softmax"].outcomes.values())
    combiner = "\n".join(o.message for o in results["combiner"].outcomes.values())
    assert "compare the shapes you build" in softmax
    assert "your code does not parse" in combiner and "py_compile" in combiner
    assert "compare the shapes" not in combiner
