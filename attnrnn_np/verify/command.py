"""The ``attnrnn-np verify`` subcommand: its arguments and what it runs.

::

    attnrnn-np verify --against MODULE:FUNCTION [--problems NAME,...] [--dtype float32]
    attnrnn-np verify --npz DIR [--problems NAME,...] [--dtype float32]
    attnrnn-np verify --self
    attnrnn-np verify golden --out DIR [--problems NAME,...]

Exit status 0 when everything agrees, 1 on any disagreement, 2 with one
line for a usage error.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add ``verify`` (and its ``golden`` subcommand) to the command's subparsers."""
    p = subparsers.add_parser(
        "verify", help="check another AttentionRNN implementation against this one (docs/verify.md)",
        description="Check another AttentionRNN implementation against this one, problem by problem; "
                    "the report names the first stage that diverges and the likely causes.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--against", metavar="MODULE:FUNCTION",
                      help="a candidate f(problem) -> dict; MODULE is importable or a path to a .py file")
    what.add_argument("--npz", metavar="DIR", help="results dumped by another program, one NAME.npz per problem")
    what.add_argument("--self", dest="self_check", action="store_true",
                      help="check this installation against the golden files shipped in the package")
    p.add_argument("--problems", metavar="NAME,...", help="only these problems (default: all)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="the dtype the candidate is given (default float64); picks the tolerance")
    sub = p.add_subparsers(dest="verify_command", metavar="golden")
    golden = sub.add_parser("golden", help="write the golden .npz files and manifest.json")
    golden.add_argument("--out", required=True, metavar="DIR")
    golden.add_argument("--problems", metavar="NAME,...", help="only these problems (default: all)")
    p.set_defaults(verify_parser=p)
    golden.set_defaults(verify_parser=golden)
    return p


def _problem_names(args, parser):
    from .problems import problem_names

    if not args.problems:
        return None
    names = [n.strip() for n in args.problems.split(",") if n.strip()]
    unknown = [n for n in names if n not in problem_names()]
    if unknown or not names:
        parser.error(f"unknown problem {', '.join(unknown) or repr(args.problems)}; "
                     f"known: {', '.join(problem_names())}")
    return names


def _load_candidate(target, parser):
    module_name, sep, function = target.rpartition(":")
    if not sep or not module_name or not function:
        parser.error(f"--against needs MODULE:FUNCTION, got {target!r}")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                parser.error(f"cannot import {module_name}: no such file")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:   # as `python -m` does: modules of the current folder import
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except Exception as err:   # any failure while importing is the user's module, reported in one line
        parser.error(f"cannot import {module_name}: {type(err).__name__}: {err}")
    candidate = getattr(module, function, None)
    if candidate is None:
        parser.error(f"module {module_name} has no attribute {function!r}")
    if not callable(candidate):
        parser.error(f"{module_name}:{function} is not callable (it is a {type(candidate).__name__})")
    return candidate


def run(args):
    """Run the parsed ``verify`` command; return the exit status."""
    parser = args.verify_parser
    names = _problem_names(args, parser)
    if args.verify_command == "golden":
        if args.against or args.npz or args.self_check:
            parser.error("golden writes files; it takes none of --against, --npz, --self")
        from .golden import write_golden
        from .problems import problems

        written = write_golden(args.out, problems(names))
        print(f"wrote {len(written) - 1} golden files and {written[-1].name} to {args.out}")
        return 0
    if args.against:
        from .report import verify

        report = verify(_load_candidate(args.against, parser), names, dtype=args.dtype)
    elif args.npz:
        from .report import verify_npz

        if not Path(args.npz).is_dir():
            parser.error(f"--npz {args.npz}: no such folder")
        report = verify_npz(args.npz, names, dtype=args.dtype)
    elif args.self_check:
        from .report import verify_installation

        if names is not None or args.dtype != "float64":
            parser.error("--self checks the shipped golden set in float64; it takes no --problems or --dtype")
        try:
            report = verify_installation()
        except FileNotFoundError as err:   # installed without its package data
            parser.error(str(err))
    else:
        parser.error("say what to check: --against MODULE:FUNCTION, --npz DIR, --self, or golden --out DIR")
    print(report)
    return 0 if report.passed else 1
