"""Writing a student workspace: the exercise modules with stubs, the statements, the grader.

The reference bodies live in ``reference/*.py`` between the lines
``# BEGIN SOLUTION <exercise>: <hint>`` and ``# END SOLUTION``. A student copy
replaces each such region by one ``raise NotImplementedError(...)`` carrying
the exercise's name, its statement and the hint; ``with_solutions=True``
keeps the bodies and drops only the marker lines. The workspace's modules
import nothing from ``attnrnn_np``: only NumPy and each other. The grader
(``grader/checks.py``, a copy of ``attnrnn_np/course/checks.py``) may use
``attnrnn_np.gradcheck``.

Layout of a workspace::

    README.md             how to work and how to grade
    exercises/NN_*.md     one statement per exercise
    student/*.py          the student's package (plain NumPy)
    grader/checks.py      every check
    grader/conftest.py    the score table
    grader/test_grader.py one test per check, marked with its exercise
    pytest.ini            markers, pythonpath
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .checks import EXERCISES

__all__ = ["REFERENCE", "STATEMENTS", "solution_regions", "cut_solutions", "keep_solutions", "init_workspace"]

HERE = Path(__file__).parent
REFERENCE = HERE / "reference"
STATEMENTS = HERE / "statements"
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION (?P<exercise>\w+): (?P<hint>.+)$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
DEF = re.compile(r"^def (\w+)\(")


def solution_regions(source):
    """The marked regions of a module's source.

    Returns a list of dicts with ``exercise``, ``hint``, ``function`` (the
    enclosing ``def``), ``indent``, and ``start``/``end``, the line numbers
    (0-based) of the BEGIN and END markers.
    """
    lines = source.splitlines()
    regions, function, current = [], None, None
    for n, line in enumerate(lines):
        if (m := DEF.match(line)):
            function = m.group(1)
        if (m := BEGIN.match(line)):
            if current is not None:
                raise ValueError(f"line {n + 1}: BEGIN SOLUTION inside another region")
            if m.group("exercise") not in EXERCISES:
                raise ValueError(f"line {n + 1}: unknown exercise {m.group('exercise')!r}")
            current = dict(m.groupdict(), function=function, start=n)
        elif END.match(line):
            if current is None:
                raise ValueError(f"line {n + 1}: END SOLUTION without BEGIN")
            regions.append(dict(current, end=n))
            current = None
    if current is not None:
        raise ValueError(f"BEGIN SOLUTION at line {current['start'] + 1} is never closed")
    return regions


def _stub(region):
    ex = EXERCISES[region["exercise"]]
    message = (f"exercise {ex.name} (exercises/{ex.statement}): {region['function']} is yours to write. "
               f"Hint: {region['hint']}")
    chunks, line = [], ""
    for word in message.split(" "):                 # one string literal per line of about 80 characters
        if line and len(line) + len(word) > 80:
            chunks.append(line + " ")
            line = word
        else:
            line = f"{line} {word}" if line else word
    chunks.append(line)
    indent = region["indent"]
    body = "\n".join(f"{indent}    {chunk!r}" for chunk in chunks)
    return f"{indent}raise NotImplementedError(\n{body}\n{indent})"


def cut_solutions(source, exercises=None):
    """The student's copy of a module: every marked region replaced by its stub.

    ``exercises``: cut only the regions of these exercises and keep the
    others' reference bodies (default: cut every region).
    """
    lines = source.splitlines()
    for region in reversed(solution_regions(source)):
        if exercises is None or region["exercise"] in exercises:
            lines[region["start"]:region["end"] + 1] = [_stub(region)]
        else:
            del lines[region["end"]]
            del lines[region["start"]]
    return "\n".join(lines) + "\n"


def keep_solutions(source):
    """The module with its reference bodies, the marker lines removed."""
    return cut_solutions(source, exercises=())


PYTEST_INI = """\
[pytest]
# The grader: one test per check, one marker per exercise (pytest -m lstm_cell).
testpaths = grader
pythonpath = .
addopts = -p no:cacheprovider
markers =
{markers}
"""

CONFTEST = '''\
"""The grader's pytest hooks: the score table at the end of a run."""

import pytest

import checks

RESULTS = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "exercise" in params and (report.when == "call" or report.failed):
        RESULTS.setdefault(params["exercise"], {})[params["check"]] = (report.passed, "")


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.section("score")
        ordered = {name: RESULTS[name] for name in checks.EXERCISES if name in RESULTS}
        terminalreporter.write_line(checks.score_table(ordered))
'''

TEST_GRADER = '''\
"""One test per check, marked with its exercise: ``pytest -m lstm_cell`` grades one exercise."""

import pytest

import checks
import student

CASES = [pytest.param(name, check, marks=getattr(pytest.mark, name), id=f"{name}-{check}")
         for name, exercise in checks.EXERCISES.items() for check in exercise.checks]


@pytest.mark.parametrize("exercise, check", CASES)
def test_check(exercise, check):
    failure = None
    try:
        checks.run(exercise, check, student)
    except checks.CheckFailure as err:
        failure = str(err)
    if failure:
        pytest.fail(failure, pytrace=False)
'''


def _readme(with_solutions):
    rows = "\n".join(f"| `{ex.name}` | {ex.title} | `exercises/{ex.statement}` | "
                     + ", ".join(f"`student/{f.replace('.', '.py: ', 1)}`" for f in ex.functions) + " |"
                     for ex in EXERCISES.values())
    kind = ("This copy has the reference solutions filled in (for teachers)." if with_solutions else
            "Every function you write raises `NotImplementedError` until you replace its body.")
    return f"""# AttentionRNN course workspace

You implement the pieces of AttentionRNN ("AttentionRNN: A Structured Spatial
Attention Mechanism", Khandelwal & Sigal, ICCV 2019) in plain NumPy, in the
package `student/`. {kind}

| exercise | what | statement | you write |
|---|---|---|---|
{rows}

Work in the order of the table: later exercises call your earlier functions
(the inverse-raster direction runs your raster scan; the raster backward
runs your LSTM cell backward). `wavefront` is an optional challenge.

Grade your work from this folder:

```bash
attnrnn-np course grade .                  # every required exercise, with a score table
attnrnn-np course grade . lstm_cell conv   # only these
python -m pytest -m raster_forward         # the same tests, straight through pytest
```

The grader checks properties, not hidden numbers: your gradients against
central finite differences of your own forward pass, the recurrence at every
cell, the receptive field, the adjoint identity of im2col and col2im, and
shapes and dtypes. A failure says which check failed, by how much, the
first wrong entry and a hint. The equations are those of the project's
docs/model.md (§3 the forward computation, §4 the receptive field, §5 the
combiner).
"""


def init_workspace(dest, *, with_solutions=False):
    """Write a student workspace into ``dest`` (created; must be empty or absent).

    Returns the list of files written, relative to ``dest``.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty; choose a new folder (nothing was overwritten)")
    write = keep_solutions if with_solutions else cut_solutions
    files = {"README.md": _readme(with_solutions), "grader/conftest.py": CONFTEST,
             "grader/test_grader.py": TEST_GRADER,
             "pytest.ini": PYTEST_INI.format(markers="\n".join(f"    {ex.name}: {ex.title}"
                                                                for ex in EXERCISES.values()))}
    for module in sorted(REFERENCE.glob("*.py")):
        files[f"student/{module.name}"] = write(module.read_text())
    for ex in EXERCISES.values():
        files[f"exercises/{ex.statement}"] = (STATEMENTS / ex.statement).read_text()
    for name, text in files.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    shutil.copyfile(HERE / "checks.py", dest / "grader" / "checks.py")
    return sorted(files) + ["grader/checks.py"]
