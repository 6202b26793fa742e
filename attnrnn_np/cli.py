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


def _float_above(lowest, wanted, finite, *, inclusive=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not (math.isfinite(value) and (value >= lowest if inclusive else value > lowest)):
            raise argparse.ArgumentTypeError(f"expected {finite}, got {text}")
        return value

    return parse


_positive_float = _float_above(0, "a positive number", "a positive finite number")
_non_negative_float = _float_above(0, "a number >= 0", "a finite number >= 0", inclusive=True)


def _recipe_default(field):
    """``the task's: 2000, recolour 1500``: a field of the tasks' recipes, the common value first."""
    from .learn.objectives import recipe
    from .learn.tasks import TASKS

    values = {task: getattr(recipe(task), field) for task in TASKS}
    common = max(set(values.values()), key=list(values.values()).count)
    return ", ".join([f"the task's: {common:g}"] + [f"{t} {v:g}" for t, v in values.items() if v != common])


def _add_run_options(p, *, steps, seed=0, lr=None, batch_size=None, recolour=True):
    """The options every training command shares; a default of None is the task's recipe (objectives.RECIPES)."""
    def default(value, field):
        return _recipe_default(field) if value is None else f"{value:g}"

    p.add_argument("--steps", type=_positive_int, default=steps,
                   help=f"Adam steps per run (default {default(steps, 'steps')})")
    p.add_argument("--seed", type=_non_negative_int, default=seed, help="network initialisation and batch order")
    p.add_argument("--lr", type=_positive_float, default=lr, help=f"Adam step size (default {default(lr, 'lr')})")
    p.add_argument("--batch-size", type=_positive_int, default=batch_size,
                   help=f"images per step (default {default(batch_size, 'batch_size')})")
    if recolour:
        p.add_argument("--recon-weight", type=_non_negative_float, default=None,
                       help="recolour: λ of the editor's reconstruction term (default the task's: 1; 0: none)")
    p.add_argument("--n-train", type=_positive_int, default=20000)
    p.add_argument("--n-test", type=_positive_int, default=2000)
    p.add_argument("--data-seed", type=_non_negative_int, default=0)
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
                backend=args.backend, recon_weight=getattr(args, "recon_weight", None))


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
    tour.add_argument("--seed", type=_non_negative_int, default=0)
    tour.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    tour.set_defaults(handler=_tour)

    tr = sub.add_parser("train", help="train one model on one task, with checkpoints")
    tr.add_argument("--task", choices=TASKS, default="mref")
    tr.add_argument("--model", choices=all_models, default="arnn",
                    help="recolour: arnn, arnn-ind, local, no-mask, oracle-mask; the other tasks: " + ", ".join(MODELS))
    _add_run_options(tr, steps=None)
    tr.add_argument("--out", required=True, help="folder for checkpoint.npz and metrics.json")
    tr.add_argument("--resume", default=None, help="checkpoint to continue from (same configuration)")
    tr.add_argument("--overwrite", action="store_true",
                    help="replace the run already in --out (without it, such an --out is refused)")
    tr.add_argument("--accept-environment", action="store_true",
                    help="resume even where the checkpoint was written with another backend or BLAS "
                         "thread count (the numbers then differ from an uninterrupted run)")
    tr.add_argument("--checkpoint-every", type=_positive_int, default=250)
    tr.add_argument("--threads", type=_non_negative_int, default=1,
                    help="BLAS threads (default 1; 0 leaves BLAS alone)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar; one line per evaluation")
    tr.set_defaults(handler=_train, writes=("checkpoint.npz", "metrics.json"))

    demo = sub.add_parser("demo", help="train arnn and local on MREF, compare, write metrics.json and masks.png")
    _add_run_options(demo, steps=DEMO_STEPS, lr=3e-3, batch_size=64, recolour=False)
    demo.add_argument("--out", required=True)
    demo.add_argument("--jobs", type=_positive_int, default=2,
                      help="runs trained at once, one process each (default 2)")
    demo.set_defaults(handler=_demo, writes=("metrics.json", "masks.png"), min_test=8)

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
    ex.set_defaults(handler=_experiment, writes=("table.json", "table.md"))
    verify_command.add_parser(sub)
    course_command.add_parsers(sub)  # course init/grade, figures
    return parser


def _check_run(parser, args):
    """Refuse, before any work, what a training command would fail on later."""
    if getattr(args, "backend", None) == "cupy":
        from .backend import gpu_available

        if not gpu_available():
            parser.error("--backend cupy: CuPy is not installed or no CUDA GPU is usable")
    if not hasattr(args, "batch_size"):
        return
    batch = args.batch_size
    if batch is None:  # each task's own
        from .learn.objectives import recipe

        batch = max(recipe(t).batch_size for t in getattr(args, "tasks", None) or [getattr(args, "task", "mref")])
    if batch > args.n_train:
        parser.error(f"--batch-size {batch} exceeds --n-train {args.n_train} (an epoch needs one batch)")
    if args.n_test < getattr(args, "min_test", 1):
        parser.error(f"--n-test {args.n_test}: {args.command} shows {args.min_test} test images, "
                     f"expected at least {args.min_test}")
    cache = args.cache_dir
    if cache not in ("none", "default"):
        cache = Path(cache)
        if cache.exists() and not cache.is_dir():
            parser.error(f"--cache-dir {str(cache)!r} is a file, not a folder")
        probe = next((p for p in (cache, *cache.parents) if p.exists()), Path("."))
        if not os.access(probe, os.W_OK | os.X_OK):
            parser.error(f"--cache-dir {str(cache)!r} cannot be written ({probe} is read-only); "
                         f"give another folder, or 'none'")


def _check_paths(parser, args):
    """Refuse an --out that cannot hold the command's files and a --resume that is not a file, before any work."""
    out = getattr(args, "out", None)
    if out is not None:
        if not out.strip():
            parser.error("--out is empty; give a folder")
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            parser.error(f"--out {out!r} cannot be created: {err.strerror or err}")
        if not Path(out).is_dir():
            parser.error(f"--out {out!r} is a file, not a folder")
        if not os.access(out, os.W_OK | os.X_OK):
            parser.error(f"--out {out!r} is not writable")
        for name in getattr(args, "writes", ()):
            target = Path(out, name)
            if name.endswith((".npz", ".json", ".md", ".png")) and target.is_dir():
                parser.error(f"--out {out!r}: {target} is a folder where the file {name} goes")
    resume = getattr(args, "resume", None)
    if resume is not None and not Path(resume).is_file():
        parser.error(f"--resume {resume!r}: no such checkpoint file")
    if args.command == "train" and resume is None and not args.overwrite:
        held = [n for n in ("checkpoint.npz", "metrics.json") if Path(out, n).is_file()]
        if held:
            parser.error(f"--out {out!r} holds a run ({', '.join(held)}); continue it with --resume "
                         f"{str(Path(out, 'checkpoint.npz'))!r}, replace it with --overwrite, or choose another --out")
    if args.command == "train" and args.overwrite and resume is not None:
        parser.error("--overwrite and --resume exclude each other")


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
    _check_run(parser, args)
    _check_paths(parser, args)
    try:
        return args.handler(args)
    except OSError as err:  # a full disk, a folder gone while running: the path and the reason, one line
        if isinstance(err, BrokenPipeError):
            raise
        where = f" {err.filename}" if getattr(err, "filename", None) else ""
        print(f"attnrnn-np: error:{where} {err.strerror or err}", file=sys.stderr)
        return 1


def _tour(args):
    from .tour import run_tour

    return run_tour(seed=args.seed, backend=args.backend)


def _demo(args):
    from .learn.experiment import run_demo

    run_demo(args.out, steps=args.steps, seed=args.seed, jobs=args.jobs, cache_dir=_cache(args),
             **_run_fields(args))
    return 0


def _experiment(args):
    from .learn.experiment import run_experiment
    from .learn.objectives import models_for

    unused = [m for m in args.models or () if not any(m in models_for(t) for t in args.tasks)]
    if unused:  # e.g. --tasks clutter --models oracle-mask
        print(f"attnrnn-np: error: --models {' '.join(unused)}: applies to none of --tasks {' '.join(args.tasks)}",
              file=sys.stderr)
        raise SystemExit(2)   # a usage error, as the parser's own
    run_experiment(args.out, steps=args.steps, seed=args.seed, seeds=args.seeds, tasks=tuple(args.tasks),
                   models=None if args.models is None else tuple(args.models), jobs=args.jobs,
                   cache_dir=_cache(args), **_run_fields(args))
    return 0


def _train(args):
    from .atomic import write_text_atomic
    from .learn.objectives import headline
    from .learn.train import (
        CheckpointError,
        CheckpointWriteError,
        NonFiniteLossError,
        RunLockedError,
        TrainConfig,
        blas_threads,
        train,
    )

    try:
        config = TrainConfig(task=args.task, model=args.model, steps=args.steps, seed=args.seed, **_run_fields(args))
    except ValueError as err:  # a model that does not apply to the task, a batch larger than the set
        print(f"attnrnn-np: error: {err}", file=sys.stderr)
        return 2
    try:
        with blas_threads(args.threads or None):
            result = train(config, out=args.out, resume=args.resume, checkpoint_every=args.checkpoint_every,
                           progress=not args.quiet, cache_dir=_cache(args),
                           accept_environment=args.accept_environment)
    except (CheckpointError, NonFiniteLossError, RunLockedError, CheckpointWriteError) as err:
        print(f"attnrnn-np: error: {err}", file=sys.stderr)
        return 1
    summary = {"config": json.loads(config.to_json()), "steps": result.state.step, **result.metrics,
               "seconds": result.seconds, "history": result.state.history}
    metrics = Path(args.out, "metrics.json")
    try:
        write_text_atomic(metrics, json.dumps(summary, indent=2))
    except OSError as err:
        print(f"attnrnn-np: error: cannot write {metrics}: {err.strerror or err}; the checkpoint of step "
              f"{result.state.step}, {result.checkpoint}, is intact", file=sys.stderr)
        return 1
    print(f"{args.model} on {args.task}: test {headline(result.metrics)}, {result.seconds:.1f} s; "
          f"checkpoint {result.checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
