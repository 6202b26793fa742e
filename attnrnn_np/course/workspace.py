"""Writing a student workspace: the exercise modules with stubs, the statements, the grader.

The reference bodies live in ``reference/*.py`` between the lines
``# BEGIN SOLUTION <exercise>: <hint>`` and ``# END SOLUTION``. A student copy
replaces each such region by one ``raise NotImplementedError(...)`` carrying
the exercise's name, its statement and the hint; ``with_solutions=True``
keeps the bodies and drops only the marker lines. The workspace's modules
import nothing from ``attnrnn_np``: only NumPy and each other. The workspace
holds no grader: ``attnrnn-np course grade`` runs the one installed with the
package (``grader/``).

Layout of a workspace::

    README.md             how to work and how to grade
    points.json           the points of each exercise (the teacher's copy decides)
    docs/model.md         the parts of the project's docs/model.md the statements cite
    exercises/NN_*.md     one statement per exercise
    student/*.py          the student's package (plain NumPy)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..atomic import atomic_directory
from .grader.base import EXERCISES
from .grader.run import default_points

__all__ = ["REFERENCE", "STATEMENTS", "solution_regions", "cut_solutions", "keep_solutions", "workspace_files",
           "init_workspace"]

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


TEMPLATES = HERE / "templates"


def _readme(with_solutions):
    rows = "\n".join(f"| `{ex.name}` | {ex.title} | `exercises/{ex.statement}` | "
                     + ", ".join(f"`student/{f.replace('.', '.py: ', 1)}`" for f in ex.functions) + " |"
                     for ex in EXERCISES.values())
    kind = ("This copy has the reference solutions filled in (for teachers)." if with_solutions else
            "Every function you write raises `NotImplementedError` until you replace its body.")
    return (TEMPLATES / "README.md").read_text().format(kind=kind, rows=rows)


MODEL_SECTIONS = ("## §1", "## §3", "## §4", "## §5")


def model_excerpt(text):
    """The sections of docs/model.md the statements cite (§1, §3, §4, §5), pictures left out.

    ``templates/model.md`` holds it; a test keeps it equal to this function of
    the project's docs/model.md.
    """
    parts = re.split(r"(?m)^(?=## )", text)
    kept = "".join(p for p in parts if p.startswith(MODEL_SECTIONS))
    kept = "\n".join(line for line in kept.splitlines() if not line.startswith("!["))
    return ("# The model (excerpt for the course workspace)\n\nThe sections of the project's docs/model.md that "
            "the exercises cite: §1 notation, §3 the\nforward computation, §4 the receptive field, §5 the "
            "multi-scale layer.\n\n" + re.sub(r"\n{3,}", "\n\n", kept).rstrip() + "\n")


def workspace_files(with_solutions=False):
    """``{relative path: text}`` of a workspace."""
    write = keep_solutions if with_solutions else cut_solutions
    files = {"README.md": _readme(with_solutions),
             "points.json": json.dumps(default_points(), indent=2) + "\n",
             "docs/model.md": (TEMPLATES / "model.md").read_text()}
    for module in sorted(REFERENCE.glob("*.py")):
        files[f"student/{module.name}"] = write(module.read_text())
    for ex in EXERCISES.values():
        files[f"exercises/{ex.statement}"] = (STATEMENTS / ex.statement).read_text()
    return files


def init_workspace(dest, *, with_solutions=False):
    """Write a student workspace into ``dest`` (created; must be empty or absent), all at once.

    The workspace is built in a temporary sibling folder and renamed into
    place (``attnrnn_np.atomic.atomic_directory``): a full disk or an
    interruption leaves no half-written workspace. Returns the list of files
    written, relative to ``dest``.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"{dest} is a file, not a folder; choose a new folder (nothing was overwritten)")
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty; choose a new folder (nothing was overwritten)")
    files = workspace_files(with_solutions)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(20, f"{dest.parent} is not a folder") from None
    with atomic_directory(dest) as tmp:
        for name, text in files.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return sorted(files)
