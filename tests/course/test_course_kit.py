"""The course kit: the reference passes every grader, each stub fails its exercise
with its teaching message, and a seeded wrong solution, named after an entry of
the catalogue of classic bugs, fails with the right message.

Grading runs in-process (``checks.grade`` on a workspace loaded as a package);
one test drives ``attnrnn-np course init`` / ``course grade`` end to end.
"""

import ast
import importlib.util
import sys
from itertools import count
from pathlib import Path

import pytest

from attnrnn_np.cli import main
from attnrnn_np.course import checks
from attnrnn_np.course.workspace import REFERENCE, cut_solutions, init_workspace, solution_regions
from attnrnn_np.verify.catalogue import bug

_names = count()


def load_student(folder):
    """Import a workspace's ``student`` package under a fresh name."""
    name = f"course_student_{next(_names)}"
    root = Path(folder) / "student"
    spec = importlib.util.spec_from_file_location(name, root / "__init__.py", submodule_search_locations=[str(root)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    return package


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved")
    init_workspace(folder, with_solutions=True)
    return folder


@pytest.fixture(scope="module")
def stubbed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stubbed")
    init_workspace(folder)
    return folder


def test_the_reference_passes_every_check_of_every_exercise(solved):
    results = checks.grade(load_student(solved), list(checks.EXERCISES))
    failed = {f"{ex}: {c}": msg for ex, r in results.items() for c, (ok, msg) in r.items() if not ok}
    assert not failed, failed
    assert len(checks.REQUIRED) >= 6 and "wavefront" not in checks.REQUIRED


@pytest.mark.parametrize("exercise", list(checks.EXERCISES))
def test_an_untouched_stub_fails_its_exercise_with_its_teaching_message(exercise, tmp_path):
    """Every other exercise solved, this one's stubs left as written: every check fails and teaches."""
    init_workspace(tmp_path, with_solutions=True)
    for module in REFERENCE.glob("*.py"):
        (tmp_path / "student" / module.name).write_text(cut_solutions(module.read_text(), exercises=(exercise,)))
    results = checks.grade(load_student(tmp_path), [exercise])[exercise]
    statement = checks.EXERCISES[exercise].statement
    for check_name, (passed, message) in results.items():
        assert not passed, check_name
        assert "not implemented yet" in message and f"exercise {exercise} (exercises/{statement})" in message
        assert "Hint: " in message, message


def test_the_other_exercises_still_pass_beside_a_stub(tmp_path):
    init_workspace(tmp_path, with_solutions=True)
    for module in REFERENCE.glob("*.py"):
        (tmp_path / "student" / module.name).write_text(cut_solutions(module.read_text(), exercises=("softmax",)))
    results = checks.grade(load_student(tmp_path), ["lstm_cell", "conv", "combiner"])
    assert all(ok for r in results.values() for ok, _ in r.values())


# (exercise, catalogue bug, module, text of the reference, the wrong text, failing check, words of its message)
SEEDED = [
    ("lstm_cell", "gate-order", "lstm_cell.py",
     "np.concatenate([dG_i, dG_f, dG_g, dG_o], axis=-1)", "np.concatenate([dG_f, dG_i, dG_g, dG_o], axis=-1)",
     "gradient_G", "first wrong entry: dG[0, 0, 0] (gate block i, unit 0)"),
    ("lstm_cell", "sigmoid-candidate", "lstm_cell.py",
     "dG_g = dc_tot * i * (1.0 - g ** 2)", "dG_g = dc_tot * i * g * (1.0 - g)",
     "gradient_G", "its derivative is that of a tanh"),
    ("conv", "col2im-offset", "conv.py",
     "return dXp[:, p:p + H, p:p + W, :]", "return dXp[:, p + 1:p + 1 + H, p + 1:p + 1 + W, :]",
     "col2im_is_the_adjoint_of_im2col", "first wrong entry: col2im(dcols)[0, 0, 0, 0] (sample 0, row 0, column 0, "
     "channel 0 (a border pixel))"),
    ("raster_forward", "wrong-neighbour-c", "scan.py",
     "c_left = c[:, i, j - 1] if j > 0 else zero", "c_left = c[:, i - 1, j] if i > 0 else zero",
     "every_cell_follows_the_recurrence", "c from the cell above"),
    ("raster_forward", "wrong-neighbour-h", "scan.py",
     "G = U[:, i, j] + h_up @ W_up + h_left @ W_left", "G = U[:, i, j] + h_left @ W_up + h_up @ W_left",
     "every_cell_follows_the_recurrence", "h · W_up from the cell to the left, h · W_left from the cell above"),
    ("raster_backward", "accumulate-assign", "scan.py",
     "dh_acc[:, i - 1, j] += dG @ W_up.T", "dh_acc[:, i - 1, j] = dG @ W_up.T",
     "gradients", "gradient of U (H=3, W=4)"),
    ("inverse_raster", "flip-axis", "directions.py",
     "return a[:, ::-1, ::-1]", "return a[:, ::-1, :]",
     "rot180", "rot180 reverses both spatial axes"),
    ("inverse_raster", "flip-axis", "directions.py",
     "return a[:, ::-1, ::-1]", "return a[:, ::-1, :]",
     "every_cell_follows_the_recurrence", "h · W_up from the cell below, h · W_left from the cell to the left"),
    ("inverse_raster", "reverse-flag", "directions.py",
     "h_rot, c_rot, cache = raster_scan_forward(rot180(U), W_up, W_left)\n"
     "    return rot180(h_rot), rot180(c_rot), cache",
     "h_rot, c_rot, cache = raster_scan_forward(U, W_up, W_left)\n    return h_rot, c_rot, cache",
     "first_cell_is_the_bottom_right_corner", "your scan starts at the top-left corner"),
    ("softmax", "softmax-axis", "softmax.py",
     "E = np.exp(S2 - S2.max(axis=1, keepdims=True))\n    A = (E / E.sum(axis=1, keepdims=True)).reshape(S.shape)",
     "E = np.exp(S - S.max(axis=2, keepdims=True))\n    A = E / E.sum(axis=2, keepdims=True)",
     "a_distribution_per_sample", "every row (or column) of your mask sums to 1"),
    ("softmax", "softmax-axis", "softmax.py",
     "inner = (dA * A).reshape(N, -1).sum(axis=1)               # (N,) Σ_{i,j} dA·A per sample\n"
     "    return A * (dA - inner[:, None, None])",
     "inner = (dA * A).sum(axis=2, keepdims=True)\n    return A * (dA - inner)",
     "constant_upstream_gives_zero", "the sum in the backward runs over all H·W positions"),
    ("softmax", "softmax-shift", "softmax.py",
     "E = np.exp(S2 - S2.max(axis=1, keepdims=True))", "E = np.exp(S2 - S2.max())",
     "large_logits", "subtract each sample's own maximum"),
    ("combiner", "combiner-axis", "combiner.py",
     "(beta * dbeta).sum(axis=-1, keepdims=True)", "(beta * dbeta).sum(axis=(1, 2), keepdims=True)",
     "gradients", "the sum runs over the last axis only"),
    ("wavefront", "skew-offset", "scan.py",
     "hp[:, i, j + 1] @ W_up", "hp[:, i, j] @ W_up",
     "same_numbers_as_your_raster_loop", "cell (1, 0) on diagonal t = 1"),
]


@pytest.mark.parametrize("exercise, name, module, right, wrong, check_name, words", SEEDED,
                         ids=[f"{s[0]}-{s[1]}-{s[5]}" for s in SEEDED])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the softmax-shift bug divides 0 by 0
def test_a_seeded_wrong_solution_fails_with_the_right_message(solved, tmp_path, exercise, name, module, right,
                                                             wrong, check_name, words):
    bug(name)  # named after an entry of the catalogue (KeyError otherwise)
    init_workspace(tmp_path, with_solutions=True)
    path = tmp_path / "student" / module
    source = path.read_text()
    assert source.count(right) == 1, f"the reference text to break is not in {module}"
    path.write_text(source.replace(right, wrong))
    results = checks.grade(load_student(tmp_path), [exercise])[exercise]
    passed, message = results[check_name]
    assert not passed, f"{name} passed {exercise}: {check_name}"
    assert words in message, message
    assert "hint: " in message


def test_the_student_workspace_holds_no_solution(stubbed):
    written = "\n".join(p.read_text() for p in stubbed.rglob("*") if p.is_file())
    assert "BEGIN SOLUTION" not in written and "END SOLUTION" not in written
    for module in REFERENCE.glob("*.py"):
        source = module.read_text()
        lines = source.splitlines()
        outside = set()
        regions = solution_regions(source)
        inside = {n for r in regions for n in range(r["start"] + 1, r["end"])}
        outside = {line.strip() for n, line in enumerate(lines) if n not in inside}
        for n in sorted(inside):
            line = lines[n].strip()
            if len(line) >= 20 and line not in outside:
                assert line not in written, f"{module.name} line {n + 1} of a solution is in the workspace: {line}"


def test_the_student_package_imports_only_numpy_and_itself(stubbed):
    for path in (stubbed / "student").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert all(a.name == "numpy" for a in node.names), (path.name, ast.unparse(node))
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1 or node.module in ("typing",), (path.name, ast.unparse(node))


def test_the_grader_uses_no_solution_of_the_package():
    source = (Path(checks.__file__)).read_text()
    imported = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
    assert {m for m in imported if m and m.startswith("attnrnn_np")} == {"attnrnn_np.gradcheck"}


def test_init_refuses_a_folder_with_files(tmp_path):
    (tmp_path / "my_work.py").write_text("x = 1\n")
    with pytest.raises(FileExistsError, match="not empty"):
        init_workspace(tmp_path)


def test_course_init_and_grade_end_to_end(tmp_path, capfd):
    """Through the command and pytest: the solutions pass all (exit 0), a stub fails and teaches (exit 1)."""
    ok, todo = tmp_path / "ok", tmp_path / "todo"
    assert main(["course", "init", str(ok), "--with-solutions"]) == 0
    assert main(["course", "init", str(todo)]) == 0
    assert main(["course", "grade", str(ok), *checks.EXERCISES]) == 0
    out = capfd.readouterr().out
    assert f"{len(checks.EXERCISES)} of {len(checks.EXERCISES)} exercises pass" in out

    assert main(["course", "grade", str(todo), "lstm-cell"]) == 1
    out = capfd.readouterr().out
    assert "[lstm_cell: gradient_G] not implemented yet" in out
    assert "lstm_cell            0/5    FAIL" in out and "0 of 1 exercises pass" in out
    assert "During handling" not in out

    assert main(["course", "grade", str(todo), "no_such"]) == 2
    assert main(["course", "grade", str(tmp_path)]) == 2
    assert main(["course", "init", str(todo)]) == 1
    assert "not empty" in capfd.readouterr().err
