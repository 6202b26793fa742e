"""The ``course`` and ``figures`` subcommands of ``attnrnn-np``: parsing and handlers, no math."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["add_parsers", "run_course", "run_figures", "grade_workspace"]


def _seed(text):
    """An argparse type: a seed, an integer >= 0."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def add_parsers(sub):
    """Add ``course init``, ``course grade`` and ``figures`` to the command's subparsers."""
    course = sub.add_parser("course", help="the course kit: write a student workspace, grade it")
    steps = course.add_subparsers(dest="course_command", required=True)
    init = steps.add_parser("init", help="write a student workspace (stubs, statements, grader)")
    init.add_argument("dir", help="a new or empty folder")
    init.add_argument("--with-solutions", action="store_true",
                      help="fill in the reference bodies instead of stubs (for teachers)")
    grade = steps.add_parser("grade", help="grade a workspace: pytest underneath, a score table, "
                                           "exit 0 only when every selected exercise passes")
    grade.add_argument("dir", help="the workspace folder")
    grade.add_argument("exercises", nargs="*",
                       help="exercises to grade (default: every required one; name 'wavefront' for the challenge)")
    course.set_defaults(handler=run_course)

    fig = sub.add_parser("figures", help="draw the course's pictures (PNG and an animated GIF)")
    fig.add_argument("--out", required=True, help="folder for the pictures")
    fig.add_argument("--seed", type=_seed, default=0, help="every random number of every picture")
    fig.set_defaults(handler=run_figures)


def run_course(args):
    from .checks import EXERCISES
    from .workspace import init_workspace

    if args.course_command == "init":
        try:
            files = init_workspace(args.dir, with_solutions=args.with_solutions)
        except FileExistsError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        kind = "with the reference solutions" if args.with_solutions else "with stubs to fill in"
        print(f"wrote a course workspace {kind} to {args.dir} ({len(files)} files, {len(EXERCISES)} exercises); "
              f"read {Path(args.dir, 'README.md')}")
        return 0
    return grade_workspace(args.dir, args.exercises)


def grade_workspace(folder, names=()):
    """Run the workspace's grader with pytest; return pytest's exit code (0: every selected exercise passes)."""
    from .checks import EXERCISES, REQUIRED

    folder = Path(folder)
    if not (folder / "grader" / "test_grader.py").is_file():
        print(f"error: {folder} is not a course workspace (no grader/test_grader.py); "
              "write one with `attnrnn-np course init DIR`", file=sys.stderr)
        return 2
    names = [n.replace("-", "_") for n in names] or list(REQUIRED)
    unknown = [n for n in names if n not in EXERCISES]
    if unknown:
        print(f"error: unknown exercise {', '.join(unknown)}; known: {', '.join(EXERCISES)}", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "pytest", "-q", "--no-header", "-rN", "-m", " or ".join(names)]
    return subprocess.run(command, cwd=folder).returncode


def run_figures(args):
    from .figures import write_figures

    for path in write_figures(args.out, seed=args.seed):
        print(path)
    return 0
