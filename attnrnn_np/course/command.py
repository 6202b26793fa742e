"""The ``course`` and ``figures`` subcommands of ``attnrnn-np``: parsing and handlers, no math.

Errors are one line ``attnrnn-np: error: …`` on standard error; exit status 0
when every selected exercise passes, 1 when one fails (or a run fails), 2 for
a usage error, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["add_parsers", "run_course", "run_figures", "grade_workspace"]


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value != value:
        raise argparse.ArgumentTypeError(f"{text!r}: the time limit must be a positive number of seconds")
    return value


def _jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1 job")
    return value


def _grading_options(p, hidden_default=False):
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                   help="time limit of each exercise, its startup included (default 60)")
    if hidden_default:
        p.add_argument("--public-only", dest="hidden", action="store_false",
                       help="grade with the public checks only (default: the hidden checks too)")
        p.set_defaults(hidden=True)
    else:
        p.add_argument("--hidden", action="store_true",
                       help="also run the hidden checks, their cases drawn at grading time from --seed")
    p.add_argument("--seed", type=int, default=0, help="the seed of the hidden checks' cases (default 0)")
    p.add_argument("--points", metavar="FILE", help="a points table (JSON, as `course init` writes points.json)")


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
    """Add ``course init|grade|grade-class|gradescope`` and ``figures`` to the command's subparsers."""
    course = sub.add_parser("course", help="the course kit: write a student workspace, grade it, grade a class")
    steps = course.add_subparsers(dest="course_command", required=True)
    init = steps.add_parser("init", help="write a student workspace (stubs, statements, points)")
    init.add_argument("dir", help="a new or empty folder")
    init.add_argument("--with-solutions", action="store_true",
                      help="fill in the reference bodies instead of stubs (for teachers)")

    grade = steps.add_parser("grade", help="grade a workspace with the installed grader, each exercise in its own "
                                           "process; exit 0 only when every selected exercise passes")
    grade.add_argument("dir", help="the workspace folder")
    grade.add_argument("exercises", nargs="*",
                       help="exercises to grade (default: every required one; name 'wavefront' for the challenge)")
    _grading_options(grade)
    grade.add_argument("--results-json", metavar="PATH", help="also write Gradescope's results.json there")

    klass = steps.add_parser("grade-class", help="grade a folder of submissions, one CSV row per student")
    klass.add_argument("submissions", help="one folder per student (a workspace or its student/ files), or "
                                           "nbgrader's submitted/{student}/{assignment}/")
    klass.add_argument("--csv", required=True, metavar="PATH", help="the grades file to write")
    klass.add_argument("--jobs", type=_jobs, default=1, help="students graded at once (default 1)")
    klass.add_argument("--assignment", help="nbgrader's assignment folder name (default: the only one)")
    klass.add_argument("--exercises", nargs="+", metavar="EXERCISE", help="default: every required one")
    _grading_options(klass, hidden_default=True)

    scope = steps.add_parser("gradescope", help="write a Gradescope autograder (setup.sh, run_autograder, the "
                                                "attnrnn_np wheel)")
    scope.add_argument("--out", dest="zip_path", required=True, metavar="ZIP",   # not args.out: no folder made
                       help="the autograder.zip to write")
    scope.add_argument("--exercises", nargs="+", metavar="EXERCISE", help="default: every required one")
    _grading_options(scope, hidden_default=True)
    course.set_defaults(handler=run_course)

    fig = sub.add_parser("figures", help="draw the course's pictures (PNG and an animated GIF)")
    fig.add_argument("--out", required=True, help="folder for the pictures")
    fig.add_argument("--seed", type=_seed, default=0, help="every random number of every picture")
    fig.set_defaults(handler=run_figures)


class UsageError(Exception):
    """Exit status 2."""


class RunError(Exception):
    """Exit status 1."""


def _error(text, code):
    print(f"attnrnn-np: error: {text}", file=sys.stderr)
    return code


def run_course(args):
    try:
        return _run(args)
    except UsageError as err:
        return _error(err, 2)
    except RunError as err:
        return _error(err, 1)
    except KeyboardInterrupt:
        return _error("interrupted (Ctrl-C); nothing more was graded or written", 130)


def _names(names):
    from .grader import EXERCISES, REQUIRED

    names = [n.replace("-", "_") for n in (names or ())] or list(REQUIRED)
    unknown = [n for n in names if n not in EXERCISES]
    if unknown:
        raise UsageError(f"unknown exercise {', '.join(unknown)}; known: {', '.join(EXERCISES)}")
    return list(dict.fromkeys(names))


def _points(path, workspace=None):
    from .grader import default_points, read_points

    if path is None and workspace is not None and Path(workspace, "points.json").is_file():
        path = Path(workspace, "points.json")
    if path is None:
        return default_points()
    try:
        return read_points(path)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _run(args):
    if args.course_command == "init":
        return _init(args)
    if args.course_command == "grade":
        return grade_workspace(args.dir, args.exercises, timeout=args.timeout, hidden=args.hidden, seed=args.seed,
                               points_file=args.points, results_json=args.results_json)
    if args.course_command == "grade-class":
        from .klass import grade_class

        names = _names(args.exercises)
        points = _points(args.points)
        try:
            rows = grade_class(args.submissions, args.csv, names, jobs=args.jobs, assignment=args.assignment,
                               timeout=args.timeout, hidden=args.hidden, seed=args.seed, points=points)
        except FileNotFoundError as err:
            raise UsageError(str(err)) from None
        except OSError as err:
            raise RunError(f"cannot write {args.csv}: {err.strerror or err}") from None
        graded = sum(r["status"] == "graded" for r in rows)
        print(f"graded {graded} of {len(rows)} submissions; wrote {args.csv}")
        return 0
    from .gradescope import write_autograder

    names = _names(args.exercises)
    points = _points(args.points)
    try:
        path = write_autograder(args.zip_path, names, timeout=args.timeout, hidden=args.hidden, seed=args.seed,
                                points=points)
    except OSError as err:
        raise RunError(f"cannot write {args.zip_path}: {err.strerror or err}") from None
    print(f"wrote the Gradescope autograder {path} (hidden checks {'on' if args.hidden else 'off'}, seed "
          f"{args.seed}); upload it as the assignment's autograder")
    return 0


def _init(args):
    from .grader import EXERCISES
    from .workspace import init_workspace

    try:
        files = init_workspace(args.dir, with_solutions=args.with_solutions)
    except FileExistsError as err:
        raise UsageError(str(err)) from None
    except OSError as err:
        raise RunError(f"cannot write a workspace to {args.dir}: {err.strerror or err} (nothing was left "
                       "half-written)") from None
    kind = "with the reference solutions" if args.with_solutions else "with stubs to fill in"
    print(f"wrote a course workspace {kind} to {args.dir} ({len(files)} files, {len(EXERCISES)} exercises); "
          f"read {Path(args.dir, 'README.md')}")
    return 0


def grade_workspace(folder, names=(), *, timeout=60.0, hidden=False, seed=0, points_file=None, results_json=None):
    """Grade a workspace with the installed grader, print the report; the exit status (0 only if all pass)."""
    from ..atomic import write_text_atomic
    from .grader import grade, score_table
    from .grader import results_json as to_results

    folder = Path(folder)
    if not (folder / "student").is_dir():
        raise UsageError(f"{folder} is not a course workspace (no student/ folder); write one with "
                         "`attnrnn-np course init DIR`")
    names = _names(names)
    points = _points(points_file, folder)
    start = time.monotonic()
    results = grade(folder, names, timeout=timeout, hidden=hidden, seed=seed, points=points)
    seconds = time.monotonic() - start
    for name, r in results.items():
        for check_name, o in r.outcomes.items():
            if o.status == "failed":
                print(f"FAILED {name}: {check_name}\n{o.message}\n")
            elif o.status == "not run":
                print(f"NOT RUN {name}: {check_name} ({o.message or 'not run'})\n")
        if r.output:
            print(f"--- what your code printed during {name} ---\n{r.output}\n")
    print(score_table(results))
    if results_json:
        try:
            write_text_atomic(results_json, json.dumps(to_results(results, seconds), indent=2) + "\n")
        except OSError as err:
            raise RunError(f"cannot write {results_json}: {err.strerror or err}") from None
    return 0 if all(r.passed for r in results.values()) else 1


def run_figures(args):
    from .figures import write_figures

    for path in write_figures(args.out, seed=args.seed):
        print(path)
    return 0
