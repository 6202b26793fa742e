"""Grading a whole class: one folder per student, one CSV row per student, each graded in isolation.

Layouts of ``SUBMISSIONS``: one folder per student holding a workspace (its
``student/`` folder) or just the student's ``*.py`` files; or nbgrader's
``submitted/{student}/{assignment}/``. Every submission's files are copied
into a fresh workspace (``workspace_from_submission``) and graded there by
the installed grader, so nothing else a student handed in takes part. One
broken folder gives its row a status and never stops the others.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..atomic import write_text_atomic
from .grader import grade
from .workspace import REFERENCE, init_workspace

__all__ = ["find_student_files", "workspace_from_submission", "submissions", "grade_class"]

MODULES = {p.name for p in REFERENCE.glob("*.py")}


def find_student_files(folder):
    """The folder of a submission that holds the student's modules: ``student/``, the folder itself, or the
    first folder below (three levels at most) holding one of the workspace's module names; None if none."""
    folder = Path(folder)
    if (folder / "student").is_dir():
        return folder / "student"
    level = [folder]
    for _ in range(4):
        for d in level:
            if any((d / m).is_file() for m in MODULES):
                return d
        level = sorted(c for d in level for c in d.iterdir() if c.is_dir() and not c.name.startswith("."))
    return None


def workspace_from_submission(folder, dest):
    """A fresh stub workspace in ``dest`` with the submission's ``*.py`` files over its ``student/``;
    returns the names of the files copied (empty when the submission holds none)."""
    init_workspace(dest)
    source = find_student_files(folder)
    if source is None:
        return []
    copied = []
    for path in sorted(source.glob("*.py")):
        if path.is_file():
            shutil.copyfile(path, Path(dest, "student", path.name))
            copied.append(path.name)
    return copied


def submissions(root, assignment=None):
    """``[(student, folder)]`` of a submissions folder, nbgrader's layout recognised."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of submissions")
    base = root / "submitted" if (root / "submitted").is_dir() else root
    found = []
    for student in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        folder = student
        if base.name == "submitted":
            inner = sorted(p for p in student.iterdir() if p.is_dir())
            if assignment is not None:
                folder = student / assignment
            elif len(inner) == 1:
                folder = inner[0]
        found.append((student.name, folder))
    return found


def _grade_one(student, folder, names, options):
    row = {"student": student}
    if not folder.is_dir():
        return dict(row, status=f"no folder {folder.name}")
    try:
        with tempfile.TemporaryDirectory(prefix="attnrnn_class_") as tmp:
            ws = Path(tmp) / "ws"
            copied = workspace_from_submission(folder, ws)
            if not copied:
                return dict(row, status="no student files")
            results = grade(ws, names, **options)
    except Exception as err:  # one broken folder never stops the class
        return dict(row, status=f"error: {type(err).__name__}: {err}")
    for name, r in results.items():
        row[name] = round(r.score, 4)
    row["total"] = round(sum(r.score for r in results.values()), 4)
    failed = [n for n, r in results.items() if not r.passed]
    row["status"] = "graded"
    row["failed"] = " ".join(failed)
    return row


def grade_class(root, csv_path, names, *, jobs=1, assignment=None, **options):
    """Grade every submission of ``root``; write ``csv_path`` (atomically) and return its rows."""
    found = submissions(root, assignment)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(lambda item: _grade_one(item[0], item[1], names, options), found))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["student", *names, "total", "status", "failed"], restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(csv_path, buffer.getvalue())
    return rows
