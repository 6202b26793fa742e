"""Grading a workspace: one isolated child process per exercise, every verdict computed here.

:func:`grade` reads the student's files (refusing any that reaches for
``attnrnn_np``), starts one child per exercise (``remote.Child``), runs the
exercise's checks against it within the exercise's time limit, and returns
one :class:`Outcome` per check: ``passed``, ``failed`` or ``not run`` (a
check after the child died). The student's process never sees a verdict.
"""

from __future__ import annotations

import ast
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import exercises  # noqa: F401  (registers every check)
from .base import EXERCISES, REQUIRED, CheckFailure
from .remote import Child, ChildGone, Student, StudentRaised

__all__ = ["Outcome", "ExerciseResult", "grade", "default_points", "read_points", "score_table",
           "results_json", "source_problems", "describe_error"]


@dataclass
class Outcome:
    status: str          # "passed", "failed" or "not run"
    message: str = ""
    hidden: bool = False
    score: float = 0.0
    max_score: float = 0.0


@dataclass
class ExerciseResult:
    name: str
    outcomes: dict = field(default_factory=dict)
    output: str = ""      # what the student's process printed (the first characters)
    seconds: float = 0.0

    @property
    def passed(self):
        return bool(self.outcomes) and all(o.status == "passed" for o in self.outcomes.values())

    @property
    def score(self):
        return sum(o.score for o in self.outcomes.values())

    @property
    def max_score(self):
        return sum(o.max_score for o in self.outcomes.values())


def default_points():
    """Equal points for the required exercises (10 each), 0 for the optional one."""
    return {name: (0 if ex.optional else 10) for name, ex in EXERCISES.items()}


def read_points(path):
    """A points table from a JSON file ``{"lstm_cell": 10, …}``; exercises it leaves out keep their default."""
    try:
        table = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the points table {path}: {err}") from None
    if not isinstance(table, dict):
        raise ValueError(f"the points table {path} is not a JSON object of exercise: points")
    points = default_points()
    for name, value in table.items():
        if name not in EXERCISES:
            raise ValueError(f"the points table {path} names an unknown exercise {name!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"the points table {path} gives {name} {value!r}: points are numbers ≥ 0")
        points[name] = value
    return points


def source_problems(workspace):
    """Lines of the student's files that reach for the package holding the grader: imports, names, paths."""
    problems = []
    for path in sorted(Path(workspace, "student").glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue          # reported by the import, with its line
        prose = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
                names = [node.value]
            elif isinstance(node, (ast.Name, ast.Attribute)):
                names = [node.id if isinstance(node, ast.Name) else node.attr]
            if any("attnrnn_np" in n or "attnrnn-np" in n for n in names):
                problems.append(f"student/{path.name} line {node.lineno} uses attnrnn_np, the package that holds "
                                "the grader and the reference solutions: the course asks for your own code")
                break
    return problems


def describe_error(err):
    """What the student's code raised (:class:`StudentRaised`), and where, with a hint that fits."""
    info, during = err.info, err.during
    kind, message, where = info.get("type", "an exception"), info.get("message", ""), info.get("where")
    at = f" (in {where[2]}, {where[0]} line {where[1]})" if isinstance(where, list) and len(where) == 3 else ""
    if kind == "NotImplementedError":
        return f"not implemented yet{at}: {message}"
    if kind in ("SyntaxError", "IndentationError", "TabError"):
        return (f"your code does not parse: {info.get('text', message)}\n  hint: fix that line first; "
                "`python -m py_compile student/FILE.py` shows the same error")
    if kind in ("ImportError", "ModuleNotFoundError"):
        return (f"importing your package failed: {kind}: {message}{at}\n  hint: the student package imports only "
                "numpy and its own modules, relatively (from .lstm_cell import lstm_cell_forward)")
    if kind == "SystemExit":
        return (f"your code called sys.exit({info.get('code')}) during {during}{at}\n  hint: a function returns "
                "its results; it never ends the program")
    if kind == "KeyboardInterrupt":
        return f"your code raised KeyboardInterrupt during {during}{at}\n  hint: raise nothing from a function"
    text = f"your code raised {kind}: {message}{at} during {during}."
    shape_words = ("shape", "broadcast", "dimension", "size", "matmul", "index")
    if kind in ("ValueError", "IndexError") and any(w in message for w in shape_words):
        return text + ("\n  hint: compare the shapes you build with the shapes the statement and the docstring "
                       "give (print .shape of each operand)")
    return text + "\n  hint: run the function on a small input yourself and read the whole traceback"


def _run_check(fn, hidden, s, rng):
    return fn(s, rng) if hidden else fn(s)


def grade(workspace, names=None, *, timeout=60.0, hidden=False, seed=0, points=None):
    """Grade the student's package of ``workspace``; ``{exercise: ExerciseResult}`` in the order asked.

    ``timeout``: seconds per exercise, startup included. ``hidden``: also run
    the hidden checks, their cases drawn from ``seed``. ``points``: a table
    (:func:`default_points` by default), each exercise's divided equally
    among the checks run.
    """
    workspace = Path(workspace)
    points = points or default_points()
    problems = source_problems(workspace)
    results = {}
    for name in names or REQUIRED:
        ex = EXERCISES[name]
        checks = {c: (fn, h) for c, (fn, h) in ex.checks.items() if hidden or not h}
        share = points[name] / len(checks) if checks else 0.0
        result = results[name] = ExerciseResult(name)
        for c, (_, h) in checks.items():
            result.outcomes[c] = Outcome("not run", "", h, 0.0, share)
        start = time.monotonic()
        if problems:
            for outcome in result.outcomes.values():
                outcome.status, outcome.message = "failed", f"[{name}] " + "\n".join(problems)
            continue
        with tempfile.TemporaryDirectory(prefix="attnrnn_grade_") as tmp:
            _grade_exercise(workspace, ex, checks, result, timeout, seed, Path(tmp) / "output.txt")
        result.seconds = time.monotonic() - start
        for outcome in result.outcomes.values():
            outcome.score = outcome.max_score if outcome.status == "passed" else 0.0
    return results


def _grade_exercise(workspace, ex, checks, result, timeout, seed, output_file):
    child = None
    try:
        try:
            child = Child(workspace, ex.modules, timeout, output_file)
        except (ChildGone, OSError) as err:    # OSError: the child could not be started at all
            for outcome in result.outcomes.values():
                outcome.status, outcome.message = "failed", f"[{ex.name}] {err}"
            return
        if not child.hello.get("ok"):
            text = describe_error(StudentRaised(child.hello.get("error") or {}, "import"))
            for outcome in result.outcomes.values():
                outcome.status, outcome.message = "failed", f"[{ex.name}] {text}"
            return
        s = Student(child)
        for k, (check_name, (fn, hidden)) in enumerate(checks.items()):
            outcome = result.outcomes[check_name]
            rng = np.random.default_rng([seed, k, sum(map(ord, ex.name))])
            try:
                _run_check(fn, hidden, s, rng)
                outcome.status = "passed"
            except CheckFailure as err:
                outcome.status, outcome.message = "failed", str(err)
            except StudentRaised as err:
                outcome.status, outcome.message = "failed", f"[{ex.name}: {check_name}] {describe_error(err)}"
            except ChildGone as err:
                outcome.status, outcome.message = "failed", f"[{ex.name}: {check_name}] {err}"
                for later in list(checks)[k + 1:]:
                    result.outcomes[later].message = f"not run: the student's process was gone ({err})"
                break
            except (TypeError, ValueError, IndexError, ArithmeticError, AttributeError) as err:
                outcome.status = "failed"
                outcome.message = (f"[{ex.name}: {check_name}] the grader could not complete this check "
                                   f"({type(err).__name__}: {err})\n  hint: return what the docstring says, "
                                   "NumPy arrays of the stated shapes in the stated order; if yours do, tell your "
                                   "teacher: this is then a fault of the grader")
    finally:
        if child is not None:
            child.close()
            result.output, more = child.output()
            if more:
                result.output += "\n… (output cut)"


def score_table(results):
    """One line per exercise: checks passed, points, PASS / FAIL / not run; the total."""
    lines = [f"{'exercise':<18}{'checks':>8}  {'points':>13}  result", "-" * 52]
    passed = 0
    for name, r in results.items():
        ok = sum(o.status == "passed" for o in r.outcomes.values())
        ran = [o for o in r.outcomes.values() if o.status != "not run"]
        tag = " (optional)" if EXERCISES[name].optional else ""
        verdict = "PASS" if r.passed else ("not run" if not ran else "FAIL")
        passed += r.passed
        missing = len(r.outcomes) - len(ran)
        tag += f" ({missing} not run)" if missing and ran else ""
        lines.append(f"{name:<18}{ok:>4}/{len(r.outcomes):<3}  {r.score:>6.2f}/{r.max_score:<6.2f}  {verdict}{tag}")
    lines.append("-" * 52)
    total = sum(r.score for r in results.values())
    top = sum(r.max_score for r in results.values())
    lines.append(f"{passed} of {len(results)} exercises pass; {total:.2f} of {top:.2f} points")
    return "\n".join(lines)


def results_json(results, seconds):
    """Gradescope's ``results.json``: the score, the time, the table and one test per check."""
    tests = []
    for name, r in results.items():
        for check_name, o in r.outcomes.items():
            text = o.message if o.status != "not run" else (o.message or "not run")
            tests.append({"name": f"{name}: {check_name.replace('_', ' ')}", "score": round(o.score, 6),
                          "max_score": round(o.max_score, 6),
                          "status": "passed" if o.status == "passed" else "failed", "output": text,
                          "visibility": "after_published" if o.hidden else "visible"})
    printed = "".join(f"\n\nwhat your code printed during {name}:\n{r.output}" for name, r in results.items()
                      if r.output)
    return {"score": round(sum(r.score for r in results.values()), 6), "execution_time": round(seconds, 3),
            "output": score_table(results) + printed, "tests": tests}
