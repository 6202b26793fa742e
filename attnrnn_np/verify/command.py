"""The ``attnrnn-np verify`` subcommand: its arguments and what it runs.

::

    attnrnn-np verify --against MODULE:FUNCTION [--problems WHICH] [--dtype float32] [--timeout S]
    attnrnn-np verify --against MODULE:FUNCTION --gradcheck [--problems WHICH]
    attnrnn-np verify --npz DIR [--problems WHICH] [--dtype float32]
    attnrnn-np verify --self
    attnrnn-np verify golden --out DIR [--problems WHICH]

and for any check ``--require WHAT,…``, ``--json PATH``, ``--junit PATH``,
``--brief`` or ``--full``. ``--against`` runs the candidate in a child
process. Exit status 0 when everything agrees and everything required was
compared, 1 otherwise (a candidate that exits, crashes or times out
included), 2 with one line for a usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add ``verify`` (and its ``golden`` subcommand) to the command's subparsers."""
    from .coverage import REQUIREMENTS

    p = subparsers.add_parser(
        "verify", help="check another AttentionRNN implementation against this one (docs/verify.md)",
        description="Check another AttentionRNN implementation against this one, problem by problem; "
                    "the report names the first stage that diverges and the likely causes.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--against", metavar="MODULE:FUNCTION",
                      help="a candidate f(problem) -> dict; MODULE is importable or a path to a .py file; "
                           "it runs in a child process")
    what.add_argument("--npz", metavar="DIR", help="results dumped by another program, one NAME.npz per problem")
    what.add_argument("--self", dest="self_check", action="store_true",
                      help="check this installation against the golden files shipped in the package")
    p.add_argument("--problems", metavar="WHICH",
                   help="names, patterns (k3-*) and groups (single-scale, multi-scale), comma-separated "
                        "(default: all)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="the dtype the candidate is given (default float64); picks the tolerance")
    p.add_argument("--require", metavar="WHAT,...",
                   help=f"coverage that must be complete for a pass: {', '.join(REQUIREMENTS)}")
    p.add_argument("--timeout", type=_positive_seconds, default=120.0, metavar="SECONDS",
                   help="time limit per problem for --against (default 120)")
    p.add_argument("--gradcheck", action="store_true",
                   help="with --against: the candidate's gradients against finite differences of its own forward")
    p.add_argument("--json", metavar="PATH", help="also write the result as JSON")
    p.add_argument("--junit", metavar="PATH", help="also write a JUnit XML file, one test case per problem")
    detail = p.add_mutually_exclusive_group()
    detail.add_argument("--brief", action="store_true", help="one line per problem")
    detail.add_argument("--full", action="store_true", help="the full table of every failing problem")
    sub = p.add_subparsers(dest="verify_command", metavar="golden")
    golden = sub.add_parser("golden", help="write the golden .npz files and manifest.json")
    golden.add_argument("--out", required=True, metavar="DIR")
    golden.add_argument("--problems", metavar="WHICH", help="names, patterns and groups (default: all)")
    p.set_defaults(verify_parser=p, handler=run)
    golden.set_defaults(verify_parser=golden)
    return p


def _positive_seconds(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _problem_names(args, parser):
    from .problems import select_names

    if args.problems is None:
        return None
    try:
        return select_names(args.problems)
    except ValueError as err:
        parser.error(str(err))


def _requirements(args, parser):
    from .report import check_requirements

    if not args.require:
        return ()
    try:
        return check_requirements(r.strip() for r in args.require.split(",") if r.strip())
    except ValueError as err:
        parser.error(f"--require: {err}")


def _check_target(target, parser):
    module_name, sep, function = target.rpartition(":")
    if not sep or not module_name or not function:
        parser.error(f"--against needs MODULE:FUNCTION, got {target!r}")
    if module_name.endswith(".py") and not Path(module_name).is_file():
        parser.error(f"cannot import {module_name}: no such file")


def _fail(message):
    print(f"attnrnn-np: error: {message}", file=sys.stderr)
    return 1


def _write_outputs(args, report):
    from .outputs import write_json, write_junit

    for path, write in ((args.json, write_json), (args.junit, write_junit)):
        if path:
            write(report, path)


def _check_output_paths(args, parser):
    for flag, path in (("--json", args.json), ("--junit", args.junit)):
        if path is None:
            continue
        p = Path(path)
        if p.is_dir():
            parser.error(f"{flag} {path}: is a folder, not a file")
        if not p.parent.is_dir():
            parser.error(f"{flag} {path}: no folder {str(p.parent)!r}")


def _golden(args, parser, names):
    from .golden import write_golden
    from .problems import problems

    if args.against or args.npz or args.self_check:
        parser.error("golden writes files; it takes none of --against, --npz, --self")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {args.out}: is a file, not a folder")
    try:
        written = write_golden(out, problems(names))
    except OSError as err:
        return _fail(f"cannot write the golden files into {args.out}: {err.strerror or err}; "
                     "files already written there are whole")
    print(f"wrote {len(written) - 1} golden files and {written[-1].name} to {args.out}")
    return 0


def _against(args, parser, names, require):
    from .gradcheck import run_gradcheck
    from .isolate import CandidateImportError, ChildCandidate
    from .report import _problem_list, run_candidate

    _check_target(args.against, parser)
    with ChildCandidate(args.against, timeout=args.timeout) as child:
        try:
            child.import_check()
        except CandidateImportError as err:
            parser.error(str(err))
        problems = _problem_list(names)
        if args.gradcheck:
            return run_gradcheck(child, problems, source=args.against)
        return run_candidate(child, problems, args.dtype, source=args.against, require=require)


def run(args):
    """Run the parsed ``verify`` command; return the exit status."""
    parser = args.verify_parser
    names = _problem_names(args, parser)
    if args.verify_command == "golden":
        return _golden(args, parser, names)
    require = _requirements(args, parser)
    _check_output_paths(args, parser)
    if args.gradcheck and not args.against:
        parser.error("--gradcheck runs a candidate's own forward: it needs --against MODULE:FUNCTION")
    if args.gradcheck and args.dtype != "float64":
        parser.error("--gradcheck compares finite differences in float64; it takes no --dtype float32")
    if args.against:
        report = _against(args, parser, names, require)
    elif args.npz:
        from .report import verify_npz

        if not Path(args.npz).is_dir():
            parser.error(f"--npz {args.npz}: no such folder")
        report = verify_npz(args.npz, names, dtype=args.dtype, require=require)
    elif args.self_check:
        from .report import verify_installation

        if names is not None or args.dtype != "float64" or require:
            parser.error("--self checks the shipped golden set in float64; it takes no --problems, --dtype "
                         "or --require")
        try:
            report = verify_installation()
        except FileNotFoundError as err:   # installed without its package data
            parser.error(str(err))
    else:
        parser.error("say what to check: --against MODULE:FUNCTION, --npz DIR, --self, or golden --out DIR")
    from .render import render

    try:
        print(render(report, "brief" if args.brief else "all" if args.full else "first"), flush=True)
    except BrokenPipeError:   # `… | head`: the reader has gone; the result files and the status still count
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    try:
        _write_outputs(args, report)
    except OSError as err:
        return _fail(f"cannot write the result file: {err}")
    return 0 if report.passed else 1
