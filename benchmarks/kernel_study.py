"""The input-to-state kernel study: ``arnn`` on MREF with k = 1 and k = 3.

Trains ``arnn`` with each kernel size and seed (the demo's recipe otherwise),
and every ``--every`` steps records the test accuracy and how much the mask
responds to the query (:func:`query_response`). Writes
``OUT/kernel_study.json`` and prints the curves. docs/learning.md reads them.

    python benchmarks/kernel_study.py --out kstudy --seeds 0 1 --steps 2000 --every 250

Runs go ``--jobs`` at a time, one process each with one BLAS thread.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from attnrnn_np.backend import to_numpy
from attnrnn_np.learn.metrics import attention_inside_mass
from attnrnn_np.learn.models import model_forward
from attnrnn_np.learn.tasks import N_CLASSES, default_cache_dir, load_task
from attnrnn_np.learn.train import TrainConfig, blas_threads, model_config, train


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for kernel_study.json")
    parser.add_argument("--kernel-sizes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    run_kernel_study(args.out, kernel_sizes=tuple(args.kernel_sizes), seeds=tuple(args.seeds), steps=args.steps,
                     every=args.every, jobs=args.jobs)


if __name__ == "__main__":
    main()
