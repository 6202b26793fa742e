"""The ``attnrnn-np`` command line: parses arguments, calls the package, no math.

Bad values are refused by the parser before anything runs: one line
``attnrnn-np: error: …`` on stderr and exit status 2, argparse's convention.
A run that fails later (an unreadable checkpoint, a loss that is no longer
finite) prints one such line and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from .course import command as course_command
from .verify import command as verify_command

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, ``attnrnn-np: error: …``, and exit status 2."""

    def error(self, message):
        self.exit(2, f"attnrnn-np: error: {message} (see '{self.prog} --help')\n")


def _int_at_least(lowest, wanted):
    """An argparse type: an integer >= ``lowest``, refused as ``expected {wanted}, got …`` otherwise."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


def _odd_positive_int(text):
    value = _positive_int(text)
    if value % 2 == 0:
        raise argparse.ArgumentTypeError(f"expected an odd kernel size (1, 3, 5, ...), got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _add_run_options(p, *, steps, seed=0):
    p.add_argument("--steps", type=_positive_int, default=steps, help=f"Adam steps per run (default {steps})")
    p.add_argument("--seed", type=int, default=seed, help="network initialisation and batch order")
    p.add_argument("--lr", type=_positive_float, default=3e-3, help="Adam step size (default 3e-3)")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--n-train", type=_positive_int, default=20000)
    p.add_argument("--n-test", type=_positive_int, default=2000)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--hidden", type=_positive_int, default=16, help="ARNN K / local attention hidden units")
    p.add_argument("--kernel-size", type=_odd_positive_int, default=1,
                   help="ARNN input-to-state kernel k, odd (default 1)")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--cache-dir", default="default",
                   help="task cache folder (default ~/.cache/attnrnn_np/tasks); 'none' generates the "
                        "data without caching them")


def _run_fields(args):
    return dict(lr=args.lr, batch_size=args.batch_size, n_train=args.n_train, n_test=args.n_test,
                data_seed=args.data_seed, hidden=args.hidden, kernel_size=args.kernel_size,
                backend=args.backend)


def _cache(args):
    return None if args.cache_dir == "none" else args.cache_dir


def _build_parser():
    from .learn.experiment import DEMO_STEPS, EXPERIMENT_SEED, EXPERIMENT_SEEDS, EXPERIMENT_STEPS
    from .learn.models import MODELS
    from .learn.objectives import models_for
    from .learn.tasks import TASKS

    all_models = tuple(dict.fromkeys(m for t in TASKS for m in models_for(t)))  # the task decides which apply

    parser = _Parser(prog="attnrnn-np", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="build a layer, run forward/backward, check gradients, print a report")
    tour.add_argument("--seed", type=int, default=0)
    tour.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")

    tr = sub.add_parser("train", help="train one model on one task, with checkpoints")
    tr.add_argument("--task", choices=TASKS, default="mref")
    tr.add_argument("--model", choices=all_models, default="arnn",
                    help="recolour: arnn, arnn-ind, local, no-mask, oracle-mask; the other tasks: " + ", ".join(MODELS))
    _add_run_options(tr, steps=2000)
    tr.add_argument("--out", required=True, help="folder for checkpoint.npz and metrics.json")
    tr.add_argument("--resume", default=None, help="checkpoint to continue from (same configuration)")
    tr.add_argument("--checkpoint-every", type=_positive_int, default=250)
    tr.add_argument("--threads", type=_non_negative_int, default=1,
                    help="BLAS threads (default 1; 0 leaves BLAS alone)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar; one line per evaluation")

    demo = sub.add_parser("demo", help="train arnn and local on MREF, compare, write metrics.json and masks.png")
    _add_run_options(demo, steps=DEMO_STEPS)
    demo.add_argument("--out", required=True)
    demo.add_argument("--jobs", type=_positive_int, default=2,
                      help="runs trained at once, one process each (default 2)")

    ex = sub.add_parser("experiment", help="every model on every task over several seeds; "
                                           "write table.md and table.json")
    _add_run_options(ex, steps=EXPERIMENT_STEPS, seed=EXPERIMENT_SEED)
    ex.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    ex.add_argument("--models", nargs="+", choices=all_models, default=None,
                    help="models to train (default: every model that applies to each task)")
    ex.add_argument("--out", required=True)
    ex.add_argument("--seeds", type=_positive_int, default=EXPERIMENT_SEEDS,
                    help=f"seeds per (task, model), counted up from --seed (default {EXPERIMENT_SEEDS})")
    ex.add_argument("--jobs", type=_positive_int, default=2,
                    help="runs trained at once, one process each with one BLAS thread (default 2)")
    verify_command.add_parser(sub)
    course_command.add_parsers(sub)  # course init/grade, figures
    return parser


def _check_paths(parser, args):
    """Refuse an --out that cannot be a folder and a --resume that is not a file, before any work."""
    out = getattr(args, "out", None)
    if out is not None:
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            parser.error(f"--out {out!r} cannot be created: {err.strerror or err}")
    resume = getattr(args, "resume", None)
    if resume is not None and not Path(resume).is_file():
        parser.error(f"--resume {resume!r}: no such checkpoint file")


def _silence_stdout():
    """After a closed pipe (``… | head``): send whatever is still written to stdout nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv=None):
    """Run the command; Ctrl-C ends it with one line and status 130, a closed pipe quietly."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("attnrnn-np: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 1


def _main(argv=None):
    parser = _build_parser()
    args = parser.parse_args(argv)
    _check_paths(parser, args)
    if hasattr(args, "handler"):  # course and figures
        return args.handler(args)
    if args.command == "tour":
        from .tour import run_tour

        return run_tour(seed=args.seed, backend=args.backend)
    if args.command == "train":
        return _train(args)
    if args.command == "demo":
        from .learn.experiment import run_demo

        run_demo(args.out, steps=args.steps, seed=args.seed, jobs=args.jobs, cache_dir=_cache(args),
                 **_run_fields(args))
        return 0
    from .learn.experiment import run_experiment
    from .learn.objectives import models_for

    unused = [m for m in args.models or () if not any(m in models_for(t) for t in args.tasks)]
    if unused:  # e.g. --tasks clutter --models oracle-mask
        parser.error(f"--models {' '.join(unused)}: applies to none of --tasks {' '.join(args.tasks)}")
    run_experiment(args.out, steps=args.steps, seed=args.seed, seeds=args.seeds, tasks=tuple(args.tasks),
                   models=None if args.models is None else tuple(args.models), jobs=args.jobs,
                   cache_dir=_cache(args), **_run_fields(args))
    return 0


def _train(args):
    from .learn.objectives import headline
    from .learn.train import CheckpointError, NonFiniteLossError, TrainConfig, blas_threads, train

    try:
        config = TrainConfig(task=args.task, model=args.model, steps=args.steps, seed=args.seed, **_run_fields(args))
    except ValueError as err:  # a model that does not apply to the task, a batch larger than the set
        print(f"attnrnn-np: error: {err}", file=sys.stderr)
        return 2
    try:
        with blas_threads(args.threads or None):
            result = train(config, out=args.out, resume=args.resume, checkpoint_every=args.checkpoint_every,
                           progress=not args.quiet, cache_dir=_cache(args))
    except (CheckpointError, NonFiniteLossError) as err:
        print(f"attnrnn-np: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    summary = {"config": json.loads(config.to_json()), "steps": result.state.step, **result.metrics,
               "seconds": result.seconds, "history": result.state.history}
    Path(args.out, "metrics.json").write_text(json.dumps(summary, indent=2))
    print(f"{args.model} on {args.task}: test {headline(result.metrics)}, {result.seconds:.1f} s; "
          f"checkpoint {result.checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
