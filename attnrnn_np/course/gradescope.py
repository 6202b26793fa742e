"""A Gradescope autograder: ``autograder.zip`` with ``setup.sh``, ``run_autograder``, the package's wheel.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh``
once (it installs the attnrnn_np wheel carried in the zip) and, for every
submission, ``run_autograder``, which calls :func:`run_autograder`: the
submission's student files (``/autograder/submission``) are copied into a
fresh workspace and graded with the settings of ``config.json`` (hidden
checks on by default, the teacher's seed, time limit and points), and
``/autograder/results/results.json`` is written, also when grading itself
fails. The root is ``$AUTOGRADER_ROOT`` when set, so a test can simulate the
tree in a temporary folder.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

from .. import __version__
from ..atomic import write_bytes_atomic, write_text_atomic

__all__ = ["build_wheel", "write_autograder", "run_autograder", "SETUP_SH", "RUN_AUTOGRADER"]

PACKAGE = Path(__file__).resolve().parents[1]          # the attnrnn_np folder
SKIP = {"__pycache__"}

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, in /autograder/source: install the attnrnn_np wheel carried in the zip.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install --quiet ./attnrnn_np-*.whl
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write /autograder/results/results.json.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
exec "${PYTHON:-python3}" -c 'import sys; from attnrnn_np.course.gradescope import run_autograder; \\
sys.exit(run_autograder(sys.argv[1]))' "$ROOT"
"""


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel():
    """``(file name, bytes)`` of a wheel of the attnrnn_np package as it is here: its modules and data files,
    metadata with its dependency on NumPy and its console script. Built in memory, offline."""
    name = f"attnrnn_np-{__version__}-py3-none-any.whl"
    info = f"attnrnn_np-{__version__}.dist-info"
    files = {}
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE.parent)
        if path.is_file() and not SKIP & set(rel.parts) and path.suffix not in (".pyc", ".pyo"):
            files[rel.as_posix()] = path.read_bytes()
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: attnrnn_np\nVersion: {__version__}\n"
                                 "Requires-Python: >=3.11\nRequires-Dist: numpy>=1.24\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: attnrnn_np.course.gradescope\nRoot-Is-Purelib: true\n" \
                             b"Tag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nattnrnn-np = attnrnn_np.cli:main\n"
    record = "".join(f"{k},{_record_hash(v)},{len(v)}\n" for k, v in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in files.items():
            z.writestr(zipfile.ZipInfo(k, date_time=(2020, 1, 1, 0, 0, 0)), v, zipfile.ZIP_DEFLATED)
    return name, buffer.getvalue()


def _executable(name, text):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o755 << 16
    return info, text


def write_autograder(path, names, *, timeout=60.0, hidden=True, seed=0, points=None):
    """Write the autograder zip to ``path`` (atomically); returns the path."""
    from .grader import default_points

    wheel_name, wheel = build_wheel()
    config = {"exercises": list(names), "timeout": timeout, "hidden": hidden, "seed": seed,
              "points": points or default_points()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(*_executable("setup.sh", SETUP_SH))
        z.writestr(*_executable("run_autograder", RUN_AUTOGRADER))
        z.writestr("config.json", json.dumps(config, indent=2) + "\n")
        z.writestr(wheel_name, wheel)
    write_bytes_atomic(path, buffer.getvalue())
    return Path(path)


def run_autograder(root="/autograder"):
    """Grade ``root/submission`` with ``root/source/config.json``; write ``root/results/results.json``.

    Returns 0 when the results file was written (whatever the score), 1 otherwise.
    """
    from .grader import default_points, grade, results_json
    from .klass import workspace_from_submission

    root = Path(root)
    results_path = root / "results" / "results.json"
    start = time.monotonic()
    try:
        config = json.loads((root / "source" / "config.json").read_text())
        points = dict(default_points(), **config.get("points", {}))
        with tempfile.TemporaryDirectory(prefix="attnrnn_autograder_") as tmp:
            ws = Path(tmp) / "ws"
            copied = workspace_from_submission(root / "submission", ws)
            if not copied:
                raise FileNotFoundError("the submission holds no Python files of the student package "
                                        "(lstm_cell.py, conv.py, scan.py, …); upload your student/ files")
            results = grade(ws, config.get("exercises"), timeout=float(config.get("timeout", 60)),
                            hidden=bool(config.get("hidden", True)), seed=int(config.get("seed", 0)), points=points)
        report = results_json(results, time.monotonic() - start)
        report["output"] = f"graded the files {', '.join(copied)}\n\n" + report["output"]
    except Exception as err:  # the results file is written whatever happened
        report = {"score": 0, "execution_time": round(time.monotonic() - start, 3), "tests": [],
                  "output": f"the autograder could not grade this submission: {err}\n\n"
                            + traceback.format_exc(limit=3)}
    try:
        results_path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(results_path, json.dumps(report, indent=2) + "\n")
    except OSError as err:
        print(f"attnrnn-np: error: cannot write {results_path}: {err}", file=sys.stderr)
        return 1
    return 0
