"""The course kit: the reference passes every check (public and hidden), each stub fails its exercise
with its teaching message, and a seeded wrong solution, named after an entry of the catalogue of classic
bugs, fails with the right message. Grading runs the installed grader, each exercise in its own process.
"""

import ast
from pathlib import Path

import pytest

from attnrnn_np.cli import main
from attnrnn_np.course import grader
from attnrnn_np.course.grader import EXERCISES, REQUIRED, grade
from attnrnn_np.course.workspace import (
    REFERENCE,
    TEMPLATES,
    cut_solutions,
    init_workspace,
    model_excerpt,
    solution_regions,
)
from attnrnn_np.verify.catalogue import bug

ROOT = Path(__file__).resolve().parents[2]


def outcomes(results):
    return {f"{ex}: {c}": o for ex, r in results.items() for c, o in r.outcomes.items()}


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved") / "ws"
    init_workspace(folder, with_solutions=True)
    return folder


@pytest.fixture(scope="module")
def stubbed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stubbed") / "ws"
    init_workspace(folder)
    return folder


@pytest.mark.parametrize("seed", [0, 1])
def test_the_reference_passes_every_check_of_every_exercise_public_and_hidden(solved, seed):
    results = grade(solved, list(EXERCISES), hidden=True, seed=seed)
    failed = {k: o.message for k, o in outcomes(results).items() if o.status != "passed"}
    assert not failed, failed
    assert len(REQUIRED) == 7 and "wavefront" not in REQUIRED
    assert all(any(h for _, h in ex.checks.values()) for ex in EXERCISES.values())   # every exercise has hidden


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_an_untouched_stub_fails_its_exercise_with_its_teaching_message(exercise, tmp_path):
    """Every other exercise solved, this one's stubs left as written: every check fails and teaches."""
    init_workspace(tmp_path / "ws", with_solutions=True)
    for module in REFERENCE.glob("*.py"):
        (tmp_path / "ws" / "student" / module.name).write_text(
            cut_solutions(module.read_text(), exercises=(exercise,)))
    results = grade(tmp_path / "ws", [exercise])[exercise]
    statement = EXERCISES[exercise].statement
    assert not results.passed and results.score == 0
    for check_name, o in results.outcomes.items():
        assert o.status == "failed", check_name
        if "not implemented yet" in o.message:
            assert f"exercise {exercise} (exercises/{statement})" in o.message and "Hint: " in o.message
        else:   # a check of a given function still passes the given code, or says what is missing
            assert "given" not in check_name, (check_name, o.message)


def test_the_other_exercises_still_pass_beside_a_stub(tmp_path):
    init_workspace(tmp_path / "ws", with_solutions=True)
    for module in REFERENCE.glob("*.py"):
        (tmp_path / "ws" / "student" / module.name).write_text(
            cut_solutions(module.read_text(), exercises=("softmax",)))
    results = grade(tmp_path / "ws", ["lstm_cell", "conv", "combiner", "softmax"])
    assert [r.passed for r in results.values()] == [True, True, True, False]


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
    init_workspace(tmp_path / "ws", with_solutions=True)
    path = tmp_path / "ws" / "student" / module
    source = path.read_text()
    assert source.count(right) == 1, f"the reference text to break is not in {module}"
    path.write_text(source.replace(right, wrong))
    result = grade(tmp_path / "ws", [exercise])[exercise]
    o = result.outcomes[check_name]
    assert o.status == "failed", f"{name} passed {exercise}: {check_name}"
    assert words in o.message, o.message
    assert "hint: " in o.message
    assert not result.passed


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


def test_the_workspace_holds_no_grader_and_the_cited_model_sections(stubbed):
    written = sorted(p.relative_to(stubbed).as_posix() for p in stubbed.rglob("*") if p.is_file())
    assert not any(p.startswith("grader/") or p.endswith(("conftest.py", "pytest.ini")) for p in written), written
    model = (stubbed / "docs" / "model.md").read_text()
    for section in ("§1 Notation", "§3.1", "§3.2", "§3.3", "§3.5", "§4", "§5"):
        assert section in model, section


def test_the_workspace_model_excerpt_follows_docs_model():
    """templates/model.md is model_excerpt(docs/model.md); rewrite it with that function after editing the model."""
    want = model_excerpt((ROOT / "docs" / "model.md").read_text())
    assert (TEMPLATES / "model.md").read_text() == want, "templates/model.md is stale: regenerate it"


def test_the_child_process_imports_nothing_of_the_package():
    for name in ("child.py", "wire.py"):
        tree = ast.parse((Path(grader.__file__).parent / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(m.startswith("attnrnn_np") for m in mods), (name, ast.unparse(node))
                assert getattr(node, "level", 0) == 0, (name, ast.unparse(node))


def test_init_refuses_a_folder_with_files_and_a_file(tmp_path):
    (tmp_path / "my_work.py").write_text("x = 1\n")
    with pytest.raises(FileExistsError, match="not empty"):
        init_workspace(tmp_path)
    with pytest.raises(FileExistsError, match="is a file"):
        init_workspace(tmp_path / "my_work.py")


def test_course_init_and_grade_end_to_end(tmp_path, capfd):
    """Through the command: the solutions pass all (exit 0), a stub fails and teaches (exit 1), usage exit 2."""
    ok, todo = tmp_path / "ok", tmp_path / "todo"
    assert main(["course", "init", str(ok), "--with-solutions"]) == 0
    assert main(["course", "init", str(todo)]) == 0
    assert main(["course", "grade", str(ok), *EXERCISES]) == 0
    out = capfd.readouterr().out
    assert f"{len(EXERCISES)} of {len(EXERCISES)} exercises pass; 70.00 of 70.00 points" in out

    assert main(["course", "grade", str(todo), "lstm-cell"]) == 1
    out = capfd.readouterr().out
    assert "[lstm_cell: gradient_G] not implemented yet" in out
    public = sum(not hidden for _, hidden in EXERCISES["lstm_cell"].checks.values())
    assert f"lstm_cell{0:>13}/{public:<3}  {0:>6.2f}/{10:<6.2f}  FAIL" in out and "0 of 1 exercises pass" in out
    assert "During handling" not in out and "Traceback" not in out

    for argv in (["course", "grade", str(todo), "no_such"], ["course", "grade", str(tmp_path)],
                 ["course", "init", str(todo)], ["course", "init", str(todo / "README.md")]):
        assert main(argv) == 2, argv
        err = capfd.readouterr().err
        assert err.startswith("attnrnn-np: error: ") and err.count("\n") == 1, err
    with pytest.raises(SystemExit) as exc:
        main(["course", "grade", str(ok), "--timeout", "0"])
    assert exc.value.code == 2
    assert capfd.readouterr().err.startswith("attnrnn-np: error: ")


def test_course_init_where_it_cannot_write_is_one_line(tmp_path, capfd):
    (tmp_path / "a_file").write_text("x")
    assert main(["course", "init", str(tmp_path / "a_file" / "ws")]) == 1
    err = capfd.readouterr().err
    assert err.startswith("attnrnn-np: error: cannot write a workspace") and err.count("\n") == 1, err
    assert not (tmp_path / "a_file" / "ws").exists()
    assert main(["course", "init", str(tmp_path / "a_file")]) == 2
    assert "is a file" in capfd.readouterr().err


def test_course_init_leaves_nothing_half_written(tmp_path, monkeypatch):
    from attnrnn_np.course import workspace

    real = Path.write_text
    calls = []

    def full_disk(self, text, *args, **kwargs):
        calls.append(self)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError):
        workspace.init_workspace(tmp_path / "ws")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_ctrl_c_while_grading_is_one_line_and_exit_130(solved, monkeypatch, capfd):
    from attnrnn_np.course.grader import run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "grade", interrupted)
    monkeypatch.setattr(grader, "grade", interrupted)
    assert main(["course", "grade", str(solved), "conv"]) == 130
    err = capfd.readouterr().err
    assert err.startswith("attnrnn-np: error: interrupted") and err.count("\n") == 1
