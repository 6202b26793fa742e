"""The demo (``arnn`` against ``local`` on MREF) and the full experiment table.

Both run several independent training runs (:func:`attnrnn_np.learn.train.train`),
up to ``jobs`` at a time in separate processes, each process with one BLAS
thread: on the 2-core machine this project is developed on, two single-thread
processes use both cores far better than one process with two BLAS threads
(small GEMMs do not scale across threads). Each run writes its checkpoint to
``out/<task>-<model>-seed<seed>/checkpoint.npz``; results are read back from
the workers and written as JSON (and Markdown for the table).

Every number is fixed by the configurations: the same command on the same
code, NumPy build and CPU gives the same table; only the seconds differ
(another BLAS or CPU may round float32 differently, which changes the
trajectories in detail).

The experiment runs every (task, model, seed) and reports, for each model
and task, the mean over seeds and the spread as min–max. The query and
clutter tasks share one table (accuracy, attention correctness); recolour,
whose networks and metrics differ, has its own (edit error, preservation
error, mask IoU, attention correctness).
"""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ..atomic import write_text_atomic
from .editing import EDIT_MODELS
from .models import MODELS
from .objectives import METRICS, models_for, task_kind
from .tasks import TASKS, load_task, resolve_cache_dir
from .train import TrainConfig, blas_threads, load_checkpoint, model_config, train

__all__ = ["DEMO_MODELS", "DEMO_STEPS", "EXPERIMENT_STEPS", "EXPERIMENT_SEED", "EXPERIMENT_SEEDS", "run_many",
           "run_demo", "run_experiment", "experiment_table"]

DEMO_MODELS = ("arnn", "local")
DEMO_STEPS = 2000
EXPERIMENT_STEPS = 3000
EXPERIMENT_SEED = 0
EXPERIMENT_SEEDS = 3


def _run_dir(out, config):
    return Path(out) / f"{config.task}-{config.model}-seed{config.seed}"


def _worker(config_json, out, cache_dir):
    """Train one configuration (in a worker process); return its summary."""
    config = TrainConfig.from_json(config_json)
    lines = []

    def log(message):
        line = f"[{config.task} {config.model} seed {config.seed}] {message}"
        print(line, flush=True)
        lines.append(line)

    with blas_threads(1):
        result = train(config, out=_run_dir(out, config), progress=False, cache_dir=cache_dir, log=log,
                       checkpoint_every=max(250, config.steps // 4))
    return {"task": config.task, "model": config.model, "seed": config.seed, "steps": config.steps,
            "accuracy": result.accuracy, "attention_correctness": result.attention_correctness,
            "metrics": result.metrics, "seconds": result.seconds, "history": result.state.history,
            "checkpoint": str(result.checkpoint)}


def run_many(configs, out, *, jobs=2, cache_dir="default"):
    """Train every configuration, ``jobs`` at a time; return their summaries in order.

    The task data are generated (or read from the cache) once in this process
    before the workers start, so workers only read the cache.
    """
    cache_dir = resolve_cache_dir(cache_dir)
    for key in sorted({(c.task, c.n_train, c.n_test, c.data_seed) for c in configs}):
        load_task(key[0], n_train=key[1], n_test=key[2], seed=key[3], cache_dir=cache_dir)
    Path(out).mkdir(parents=True, exist_ok=True)
    if jobs <= 1:
        return [_worker(c.to_json(), str(out), cache_dir) for c in configs]
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_ignore_interrupts)
    try:
        futures = [pool.submit(_worker, c.to_json(), str(out), cache_dir) for c in configs]
        return [f.result() for f in futures]
    except BaseException:
        # Ctrl-C (or a failed run): stop every worker now; their files are written atomically, so a stopped
        # run leaves its last whole checkpoint and a lock that the next run into its folder takes over
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def _ignore_interrupts():
    """In a worker: Ctrl-C is the parent's to handle (it stops the workers), so no worker prints a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _masks_png(path, summaries, configs, *, n=8, cache_dir="default"):
    from .figures import save_masks_png
    from .models import model_forward

    first = configs[0]
    data = load_task(first.task, n_train=first.n_train, n_test=first.n_test, seed=first.data_seed,
                     cache_dir=resolve_cache_dir(cache_dir))
    b = data.test.batch(np.arange(n), dtype=first.dtype)
    rows = {}
    for summary, config in zip(summaries, configs, strict=True):
        state = load_checkpoint(summary["checkpoint"])
        logits, A, _ = model_forward(state.params, b.X, b.q, model_config(config))
        rows[config.model] = (A, logits.argmax(axis=1))
    return save_masks_png(path, b.X, rows, b.q.argmax(axis=1), b.y, b.box)


def run_demo(out, *, steps=DEMO_STEPS, seed=0, lr=3e-3, models=DEMO_MODELS, jobs=2, cache_dir="default",
             log=print, **overrides):
    """Train ``arnn`` and ``local`` on MREF; write ``metrics.json`` and ``masks.png`` to ``out``.

    Returns the metrics dict ``{"models": {name: {"accuracy", "attention_correctness",
    "seconds", ...}}, ...}``.
    """
    out = Path(out)
    configs = [TrainConfig(task="mref", model=m, steps=steps, seed=seed, lr=lr, **overrides) for m in models]
    t0 = time.perf_counter()
    summaries = run_many(configs, out, jobs=jobs, cache_dir=cache_dir)
    wall = time.perf_counter() - t0
    metrics = {
        "models": {s["model"]: {"accuracy": s["accuracy"], "attention_correctness": s["attention_correctness"],
                                "seconds": s["seconds"], "steps": s["steps"], "history": s["history"]}
                   for s in summaries},
        "config": {m: json.loads(c.to_json()) for m, c in zip(models, configs, strict=True)},
        "wall_seconds": wall,
    }
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2))
    _masks_png(out / "masks.png", summaries, configs, cache_dir=cache_dir)
    log(f"\nMREF, {steps} steps each, seed {seed} (test set of {configs[0].n_test} images):")
    log(f"{'model':<8} {'accuracy':>9} {'attention correctness':>22} {'seconds':>8}")
    for name, m in metrics["models"].items():
        log(f"{name:<8} {m['accuracy']:>9.3f} {m['attention_correctness']:>22.3f} {m['seconds']:>8.1f}")
    log(f"wall time {wall:.1f} s; wrote {out / 'metrics.json'} and {out / 'masks.png'}")
    return metrics


def _mean_spread(values):
    """``mean (min–max)`` of a list of numbers; just the number for one value."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{sum(values) / len(values):.3f} ({min(values):.3f}–{max(values):.3f})"


_LABELS = {"accuracy": "accuracy", "attention_correctness": "att. corr.", "edit_error": "edit error",
           "preservation_error": "preservation error", "mask_iou": "mask IoU"}


def experiment_table(summaries, *, tasks=TASKS, models=None):
    """The tables as Markdown: one row per model; per task, each of its metrics.

    The query and clutter tasks share a table (accuracy, attention
    correctness); recolour has its own. With several seeds a cell is
    ``mean (min–max)`` over the seeds; a model not run on a task shows "–".
    """
    runs = {}
    for s in summaries:
        runs.setdefault((s["task"], s["model"]), []).append(s)
    tables = []
    for group in ([t for t in tasks if task_kind(t) != "edit"], [t for t in tasks if task_kind(t) == "edit"]):
        if not group:
            continue
        names = METRICS[task_kind(group[0])]
        rows = [m for m in (EDIT_MODELS if task_kind(group[0]) == "edit" else MODELS)
                if (models is None or m in models) and any((t, m) in runs for t in group)]
        head = "| model | " + " | ".join(f"{t.upper()} {_LABELS[k]}" for t in group for k in names) + " |"
        lines = [head, "|---|" + "---:|" * (len(group) * len(names))]
        for m in rows:
            cells = []
            for t in group:
                got = runs.get((t, m))
                cells += ["–"] * len(names) if not got else [
                    _mean_spread([(s.get("metrics") or s)[k] for s in got]) for k in names]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        tables.append("\n".join(lines) + "\n")
    return "\n".join(tables)


def run_experiment(out, *, steps=EXPERIMENT_STEPS, seed=EXPERIMENT_SEED, seeds=EXPERIMENT_SEEDS, tasks=TASKS,
                   models=None, jobs=2, cache_dir="default", log=print, **overrides):
    """Every model on every task with seeds ``seed, ..., seed + seeds − 1``; write ``table.md`` and ``table.json``.

    ``models`` None trains every model that applies to each task
    (:func:`attnrnn_np.learn.objectives.models_for`); a list trains those of
    its models that apply. The runs go ``jobs`` at a time, one process each
    with one BLAS thread (:func:`run_many`). Returns the runs' summaries.
    """
    if int(seeds) < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    if not tasks:
        raise ValueError("no task to run")
    if models is not None:
        unused = [m for m in models if not any(m in models_for(t) for t in tasks)]
        if unused:
            raise ValueError(f"models {unused} apply to none of the tasks {list(tasks)}")
    out = Path(out)
    seed_list = [seed + i for i in range(int(seeds))]
    recon_weight = overrides.pop("recon_weight", None)  # the editor's λ: recolour's runs only
    configs = [TrainConfig(task=t, model=m, steps=steps, seed=s, **overrides,
                           recon_weight=recon_weight if task_kind(t) == "edit" else None)
               for s in seed_list for t in tasks for m in models_for(t) if models is None or m in models]
    t0 = time.perf_counter()
    summaries = run_many(configs, out, jobs=jobs, cache_dir=cache_dir)
    wall = time.perf_counter() - t0
    table = experiment_table(summaries, tasks=tasks, models=models)
    config = json.loads(configs[0].to_json())
    recipes = {}  # what differs between the tasks' runs (lr, batch size, λ: each task's recipe)
    for c in configs:
        recipes.setdefault(c.task, {"lr": c.lr, "batch_size": c.batch_size, "recon_weight": c.recon_weight})
    for key in ("task", "model", "seed", "lr", "batch_size", "recon_weight"):
        del config[key]
    write_text_atomic(out / "table.json", json.dumps({"config": config, "tasks": recipes, "seeds": seed_list,
                                                      "jobs": jobs, "wall_seconds": wall, "runs": summaries},
                                                     indent=2))
    seed_text = f"seed {seed}" if len(seed_list) == 1 else \
        f"seeds {seed_list[0]}–{seed_list[-1]}; each cell is the mean (min–max) over the {len(seed_list)} seeds"
    write_text_atomic(
        out / "table.md",
        f"Test metrics after {steps} steps ({seed_text}), "
        f"{configs[0].n_train} training / {configs[0].n_test} test images per task, "
        + "; ".join(f"{t}: lr {r['lr']:g}, batch {r['batch_size']}" + (f", λ {r['recon_weight']:g}"
                    if r["recon_weight"] else "") for t, r in recipes.items())
        + f"; wall time {wall:.0f} s with {jobs} jobs.\n\n" + table)
    log(table)
    log(f"wall time {wall:.1f} s with {jobs} jobs; wrote {out / 'table.md'} and {out / 'table.json'}")
    return summaries
