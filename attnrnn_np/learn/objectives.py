"""Per task: which network, what a training step minimises, what an evaluation measures.

The tasks come in three kinds (:data:`attnrnn_np.learn.tasks.TASK_SPECS`):

* ``answer`` (MREF, MDIST, MBG): the colour of the queried digit; the six
  classification networks of :mod:`~attnrnn_np.learn.models` with Q = 10;
  softmax cross-entropy; metrics ``accuracy`` and ``attention_correctness``
  (attention mass on the cells the queried digit's box touches);
* ``classify`` (clutter): the class of the one digit, no query; the same six
  networks with Q = 0 and M = 10; softmax cross-entropy; metrics
  ``accuracy`` and ``attention_correctness`` (mass on the cells holding the
  digit's ink);
* ``edit`` (recolour): the canvas with the queried digit recoloured; the
  networks of :mod:`~attnrnn_np.learn.editing`; mean squared error to the
  target plus λ times that of the decoded original to the input; metrics
  ``edit_error`` (mean absolute error inside the queried digit's ink),
  ``preservation_error`` (outside it), ``mask_iou`` and
  ``attention_correctness`` (mask mass on the ink pixels).

Each kind also has its training recipe (:data:`RECIPES`: steps, Adam's
step size, batch size, λ), the defaults of a
:class:`~attnrnn_np.learn.train.TrainConfig`. The training loop
(:mod:`~attnrnn_np.learn.train`) asks this module and nothing else about
the task.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .canvas import PALETTE
from .editing import (
    EDIT_MODELS,
    EditConfig,
    edit_backward,
    edit_forward,
    image_loss_backward,
    image_loss_forward,
    init_editor,
)
from .layers import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from .metrics import accuracy, attention_correctness, edit_error_sums, ink_attention_correctness, mask_iou
from .models import MODELS, ModelConfig, init_model, model_backward, model_forward
from .tasks import TASK_SPECS, TASKS

__all__ = ["METRICS", "Recipe", "RECIPES", "recipe", "task_kind", "models_for", "network_config", "init_network",
           "step_loss", "evaluate_split", "headline"]

METRICS = {
    "answer": ("accuracy", "attention_correctness"),
    "classify": ("accuracy", "attention_correctness"),
    "edit": ("edit_error", "preservation_error", "mask_iou", "attention_correctness"),
}


class Recipe(NamedTuple):
    """The defaults of a training run on a task of one kind (docs/learning.md §6, §9)."""

    steps: int
    lr: float           # Adam's step size
    batch_size: int
    recon_weight: float  # λ of the recolour loss's reconstruction term (0 where there is none)


RECIPES = {
    "answer": Recipe(steps=2000, lr=3e-3, batch_size=64, recon_weight=0.0),
    "classify": Recipe(steps=2000, lr=3e-3, batch_size=64, recon_weight=0.0),
    "edit": Recipe(steps=1500, lr=1e-2, batch_size=64, recon_weight=1.0),
}


def recipe(task):
    """The :class:`Recipe` of ``task``; ``ValueError`` for an unknown task."""
    return RECIPES[task_kind(task)]


def task_kind(task):
    """``"answer"``, ``"classify"`` or ``"edit"``; ``ValueError`` for an unknown task."""
    if task not in TASK_SPECS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return TASK_SPECS[task].kind


def models_for(task):
    """The models a task can train."""
    return EDIT_MODELS if task_kind(task) == "edit" else MODELS


def network_config(task, model, *, hidden=16, kernel_size=1, scales=(1, 2), recon_weight=None):
    """The network of ``model`` on ``task``: a :class:`ModelConfig` or an :class:`EditConfig`.

    ``recon_weight`` (recolour only; None: the task's :func:`recipe`) is the
    λ of the editor's loss.
    """
    task_kind(task)
    spec = TASK_SPECS[task]
    if model not in models_for(task):
        raise ValueError(f"model {model!r} does not apply to the {task} task; expected one of "
                         f"{', '.join(models_for(task))}")
    if spec.kind == "edit":
        return EditConfig(model=model, hidden=hidden, kernel_size=kernel_size, query_dim=spec.query_dim,
                          n_colors=len(PALETTE),
                          recon_weight=recipe(task).recon_weight if recon_weight is None else recon_weight)
    return ModelConfig(model=model, hidden=hidden, kernel_size=kernel_size, scales=scales,
                       query_dim=spec.query_dim, n_classes=spec.n_classes)


def init_network(mconfig, *, seed=0, dtype="float32", xp=None):
    """Random parameters of ``mconfig``'s network."""
    if isinstance(mconfig, EditConfig):
        return init_editor(mconfig, seed=seed, dtype=dtype, xp=xp)
    return init_model(mconfig, seed=seed, dtype=dtype, xp=xp)


def step_loss(params, batch, mconfig):
    """The loss of one batch and a function that returns its gradients.

    Returns
    -------
    loss : 0-d array on the batch's backend
    grads : callable
        ``grads()`` -> dict with the keys of ``params`` (one backward pass).
    """
    if isinstance(mconfig, EditConfig):
        lam = mconfig.recon_weight
        Y, _, cache = edit_forward(params, batch.X, batch.q, mconfig, ink=batch.ink, reconstruct=lam > 0)
        loss, loss_cache = image_loss_forward(Y, batch.target, mconfig.loss)
        if lam == 0:
            return loss, lambda: edit_backward(image_loss_backward(1.0, loss_cache), cache)
        rec_loss, rec_cache = image_loss_forward(cache.R, batch.X, mconfig.loss)
        return loss + lam * rec_loss, lambda: edit_backward(image_loss_backward(1.0, loss_cache), cache,
                                                            dR=image_loss_backward(lam, rec_cache))
    logits, _, cache = model_forward(params, batch.X, batch.q, mconfig)
    loss, ce_cache = softmax_cross_entropy_forward(logits, batch.y)
    return loss, lambda: model_backward(softmax_cross_entropy_backward(1.0, ce_cache), cache)


def evaluate_split(params, mconfig, split, *, dtype="float32", batch_size=500, xp=None):
    """The task's metrics (:data:`METRICS`) of a network on a split, and ``n``.

    Per-sample metrics are averaged over samples; the edit and preservation
    errors pool every ink (non-ink) channel value of the split.
    """
    xp = np if xp is None else xp
    kind = task_kind(split.task)
    n = len(split)
    if n == 0:
        raise ValueError("cannot evaluate on an empty split")
    totals = dict.fromkeys(("accuracy", "attention_correctness", "mask_iou"), 0.0)
    sums = np.zeros(4)
    canvas = split.images.shape[1]
    for start in range(0, n, batch_size):
        b = split.batch(np.arange(start, min(n, start + batch_size)), xp=xp, dtype=dtype, ink=kind != "answer")
        m = len(b.y)
        if kind == "edit":
            Y, A, _ = edit_forward(params, b.X, b.q, mconfig, ink=b.ink)
            sums += edit_error_sums(Y, b.target, b.ink)
            totals["mask_iou"] += mask_iou(A, b.ink) * m
            totals["attention_correctness"] += ink_attention_correctness(A, b.ink) * m
            continue
        logits, A, _ = model_forward(params, b.X, b.q, mconfig)
        totals["accuracy"] += accuracy(logits, b.y) * m
        inside = ink_attention_correctness(A, b.ink) if kind == "classify" else \
            attention_correctness(A, b.box, canvas)
        totals["attention_correctness"] += inside * m
    record = {name: totals[name] / n for name in METRICS[kind] if name in totals}
    if kind == "edit":
        record["edit_error"] = sums[0] / max(sums[1], 1)
        record["preservation_error"] = sums[2] / max(sums[3], 1)
    return {**{name: float(record[name]) for name in METRICS[kind]}, "n": n}


def headline(record):
    """One line of an evaluation record's metrics, for logs and progress bars."""
    names = [k for k in ("accuracy", "edit_error", "preservation_error", "mask_iou", "attention_correctness")
             if k in record]
    return ", ".join(f"{k.replace('_', ' ')} {record[k]:.4f}" for k in names)
