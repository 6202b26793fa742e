"""The demo (``arnn`` against ``local`` on MREF) and the full experiment table.

Both run several independent training runs (:func:`attnrnn_np.train.train`),
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

:func:`run_kernel_study` is the input-to-state kernel study of
docs/learning.md: ``arnn`` with k = 1 and k = 3, tracking how much the mask
responds to the query (:func:`query_response`) as training goes.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .models import MODELS
from .tasks import TASKS, default_cache_dir, load_task
from .train import TrainConfig, blas_threads, load_checkpoint, model_config, train

__all__ = ["DEMO_MODELS", "DEMO_STEPS", "EXPERIMENT_STEPS", "EXPERIMENT_SEED", "run_many", "run_demo",
           "run_experiment", "experiment_table"]

DEMO_MODELS = ("arnn", "local")
DEMO_STEPS = 2000
EXPERIMENT_STEPS = 3000
EXPERIMENT_SEED = 0


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
            "seconds": result.seconds, "history": result.state.history,
            "checkpoint": str(result.checkpoint)}


def run_many(configs, out, *, jobs=2, cache_dir="default"):
    """Train every configuration, ``jobs`` at a time; return their summaries in order.

    The task data are generated (or read from the cache) once in this process
    before the workers start, so workers only read the cache.
    """
    cache_dir = str(default_cache_dir()) if cache_dir == "default" else cache_dir
    for key in sorted({(c.task, c.n_train, c.n_test, c.data_seed) for c in configs}):
        load_task(key[0], n_train=key[1], n_test=key[2], seed=key[3], cache_dir=cache_dir)
    Path(out).mkdir(parents=True, exist_ok=True)
    if jobs <= 1:
        return [_worker(c.to_json(), str(out), cache_dir) for c in configs]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_worker, c.to_json(), str(out), cache_dir) for c in configs]
        return [f.result() for f in futures]


def _masks_png(path, summaries, configs, *, n=8, cache_dir="default"):
    from .figures import save_masks_png
    from .models import model_forward

    first = configs[0]
    data = load_task(first.task, n_train=first.n_train, n_test=first.n_test, seed=first.data_seed,
                     cache_dir=str(default_cache_dir()) if cache_dir == "default" else cache_dir)
    b = data.test.batch(np.arange(n), dtype=first.dtype)
    rows = {}
    for summary, config in zip(summaries, configs):
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
        "config": {m: json.loads(c.to_json()) for m, c in zip(models, configs)},
        "wall_seconds": wall,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _masks_png(out / "masks.png", summaries, configs, cache_dir=cache_dir)
    log(f"\nMREF, {steps} steps each, seed {seed} (test set of {configs[0].n_test} images):")
    log(f"{'model':<8} {'accuracy':>9} {'attention correctness':>22} {'seconds':>8}")
    for name, m in metrics["models"].items():
        log(f"{name:<8} {m['accuracy']:>9.3f} {m['attention_correctness']:>22.3f} {m['seconds']:>8.1f}")
    log(f"wall time {wall:.1f} s; wrote {out / 'metrics.json'} and {out / 'masks.png'}")
    return metrics


def experiment_table(summaries, *, tasks=TASKS, models=MODELS):
    """The paper-style table as Markdown: one row per model, accuracy / attention correctness per task."""
    by = {(s["task"], s["model"]): s for s in summaries}
    head = "| model | " + " | ".join(f"{t.upper()} accuracy | {t.upper()} att. corr." for t in tasks) + " |"
    rule = "|---|" + "---:|---:|" * len(tasks)
    lines = [head, rule]
    for m in models:
        cells = []
        for t in tasks:
            s = by.get((t, m))
            cells += ["–", "–"] if s is None else [f"{s['accuracy']:.3f}", f"{s['attention_correctness']:.3f}"]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_experiment(out, *, steps=EXPERIMENT_STEPS, seed=EXPERIMENT_SEED, tasks=TASKS, models=MODELS, jobs=2,
                   cache_dir="default", log=print, **overrides):
    """Every model on every task with one fixed seed; write ``table.md`` and ``table.json`` to ``out``."""
    out = Path(out)
    configs = [TrainConfig(task=t, model=m, steps=steps, seed=seed, **overrides) for t in tasks for m in models]
    t0 = time.perf_counter()
    summaries = run_many(configs, out, jobs=jobs, cache_dir=cache_dir)
    wall = time.perf_counter() - t0
    table = experiment_table(summaries, tasks=tasks, models=models)
    config = json.loads(configs[0].to_json())
    del config["task"], config["model"]
    (out / "table.json").write_text(json.dumps({"config": config, "wall_seconds": wall, "runs": summaries},
                                               indent=2))
    (out / "table.md").write_text(
        f"Test accuracy and attention correctness after {steps} steps (seed {seed}), "
        f"{configs[0].n_train} training / {configs[0].n_test} test images per task.\n\n" + table)
    log(table)
    log(f"wall time {wall:.1f} s; wrote {out / 'table.md'} and {out / 'table.json'}")
    return summaries


def query_response(params, config, split, *, n=500):
    """How much the mask depends on the query, on the first ``n`` images of a split.

    For each image the mask is computed twice: for the queried digit and for
    another digit present in the image (the next one in the image's list).

    Returns
    -------
    dict with ``shift`` (mean total-variation distance ½·Σ|A₁ − A₂| between the
    two masks, 0 = the query is ignored, 1 = disjoint masks), ``inside`` (mean
    mask mass inside the queried digit's cells) and ``entropy`` (mean entropy
    of the mask over log(H·W): 1 = uniform, 0 = one cell).
    """
    from .backend import to_numpy
    from .metrics import attention_inside_mass
    from .models import model_forward
    from .tasks import N_CLASSES

    idx = np.arange(min(n, len(split)))
    b = split.batch(idx, dtype=config.dtype)
    other = split.classes[idx, (split.target[idx] + 1) % split.classes.shape[1]]
    q2 = np.eye(N_CLASSES, dtype=config.dtype)[other]
    mconfig = model_config(config)
    _, A1, _ = model_forward(params, b.X, b.q, mconfig)
    _, A2, _ = model_forward(params, b.X, q2, mconfig)
    A1, A2 = to_numpy(A1).astype(float), to_numpy(A2).astype(float)
    ent = -(A1 * np.log(np.maximum(A1, 1e-30))).sum(axis=(1, 2)) / np.log(A1[0].size)
    return {"shift": float(0.5 * np.abs(A1 - A2).sum(axis=(1, 2)).mean()),
            "inside": float(to_numpy(attention_inside_mass(A1, b.box, split.images.shape[1])).mean()),
            "entropy": float(ent.mean())}


def run_kernel_study(out, *, kernel_sizes=(1, 3), seeds=(0,), steps=1500, every=250, jobs=2, log=print):
    """Train ``arnn`` on MREF with each input-to-state kernel size; track accuracy and query response.

    Writes ``out/kernel_study.json``: per (k, seed), every ``every`` steps, the
    test accuracy (full test set) and :func:`query_response` on 500 test images.
    """
    configs = [TrainConfig(task="mref", model="arnn", steps=steps, seed=s, kernel_size=k, eval_every=every)
               for k in kernel_sizes for s in seeds]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = str(default_cache_dir())
    load_task("mref", n_train=configs[0].n_train, n_test=configs[0].n_test, seed=0, cache_dir=cache_dir)
    if jobs <= 1:
        records = [_kernel_worker(c.to_json(), cache_dir) for c in configs]
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            records = list(pool.map(_kernel_worker, [c.to_json() for c in configs], [cache_dir] * len(configs)))
    (out / "kernel_study.json").write_text(json.dumps(records, indent=2))
    for r in records:
        log(f"k={r['kernel_size']} seed {r['seed']}")
        for row in r["curve"]:
            log("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    return records


def _kernel_worker(config_json, cache_dir):
    config = TrainConfig.from_json(config_json)
    data = load_task(config.task, n_train=config.n_train, n_test=config.n_test, seed=config.data_seed,
                     cache_dir=cache_dir)
    curve = []

    def probe(state):
        if state.step % config.eval_every == 0:
            record = state.history[-1]
            curve.append({"step": state.step, "accuracy": record["accuracy"],
                          **query_response(state.params, config, data.test)})

    with blas_threads(1):
        train(config, data=data, progress=False, callback=probe, log=lambda m: None)
    return {"kernel_size": config.kernel_size, "seed": config.seed, "curve": curve}
