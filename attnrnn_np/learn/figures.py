"""PNG figures of images with their query, answer, prediction and attention mask.

Matplotlib is imported inside the functions only, with the non-interactive
Agg backend when this module picks one, so ``import attnrnn_np`` never
imports it.
"""

from __future__ import annotations

import numpy as np

from ..atomic import write_atomic
from ..backend import to_numpy
from .tasks import PALETTE_NAMES

__all__ = ["mask_overlay", "plot_masks", "save_masks_png", "plot_edits", "save_edits_png"]


def mask_overlay(A, canvas):
    """Nearest-upsample masks (N, h, w) to the canvas (N, P, P), scaled to peak at 1 per sample."""
    A = to_numpy(A).astype(float)
    N, h, w = A.shape
    up = A.repeat(canvas // h, axis=1).repeat(canvas // w, axis=2)
    return up / np.maximum(up.reshape(N, -1).max(axis=1), 1e-12)[:, None, None]


def plot_masks(images, rows, queries, labels, boxes, *, axes_size=1.8):
    """A figure: one column per image, one row for the image and one per model's mask.

    Parameters
    ----------
    images : array (N, P, P, 3) in [0, 1]
    rows : dict name -> (A (N, h, w), predictions (N,))
        Each model's masks and predicted colour indices.
    queries, labels : int arrays (N,)
    boxes : int array (N, 4)
        The queried digit's box (top, left, bottom, right), drawn in white.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    images = to_numpy(images)
    queries, labels, boxes = (to_numpy(a) for a in (queries, labels, boxes))
    N, P = images.shape[0], images.shape[1]
    fig = Figure(figsize=(axes_size * N, axes_size * (1 + len(rows)) + 0.3), dpi=100)
    axes = fig.subplots(1 + len(rows), N, squeeze=False)
    for n in range(N):
        ax = axes[0, n]
        ax.imshow(images[n], interpolation="nearest")
        top, left, bottom, right = boxes[n]
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, ec="white", lw=1))
        ax.set_title(f"query {queries[n]}\nanswer {PALETTE_NAMES[labels[n]]}", fontsize=8)
    for row, (name, (A, pred)) in enumerate(rows.items(), start=1):
        over = mask_overlay(A, P)
        pred = to_numpy(pred)
        for n in range(N):
            ax = axes[row, n]
            ax.imshow(images[n] * 0.45, interpolation="nearest")
            ax.imshow(over[n], cmap="magma", alpha=0.6, vmin=0, vmax=1, interpolation="nearest")
            ok = "✓" if pred[n] == labels[n] else "✗"
            ax.set_title(f"{name}: {PALETTE_NAMES[pred[n]]} {ok}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def save_masks_png(path, images, rows, queries, labels, boxes):
    """Write :func:`plot_masks`'s figure to ``path`` as PNG (Agg canvas, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_masks(images, rows, queries, labels, boxes)
    FigureCanvasAgg(fig)
    write_atomic(path, lambda f: fig.savefig(f, format="png"))
    return path


def plot_edits(images, targets, rows, captions=None, *, axes_size=1.6):
    """A figure of image edits: input and target, then each model's output and mask, one column per image.

    Parameters
    ----------
    images, targets : arrays (N, P, P, 3) in [0, 1]
    rows : dict name -> (Y (N, P, P, 3), A (N, P, P))
        Each model's output (clipped to [0, 1] for display) and mask in [0, 1].
    captions : list of str or None
        One title per column (e.g. the query).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    images, targets = to_numpy(images), to_numpy(targets)
    N = images.shape[0]
    n_rows = 2 + 2 * len(rows)
    fig = Figure(figsize=(axes_size * N + 0.6, axes_size * n_rows + 0.3), dpi=100)
    axes = fig.subplots(n_rows, N, squeeze=False)
    for n in range(N):
        axes[0, n].imshow(images[n], interpolation="nearest")
        axes[1, n].imshow(targets[n], interpolation="nearest")
        if captions is not None:
            axes[0, n].set_title(captions[n], fontsize=8)
        for r, (Y, A) in enumerate(rows.values()):
            axes[2 + 2 * r, n].imshow(np.clip(to_numpy(Y)[n], 0, 1), interpolation="nearest")
            axes[3 + 2 * r, n].imshow(to_numpy(A)[n], cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    labels = ["input", "target"] + [f"{name}\n{kind}" for name in rows for kind in ("output", "mask")]
    for ax, label in zip(axes[:, 0], labels, strict=True):
        ax.set_ylabel(label, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def save_edits_png(path, images, targets, rows, captions=None):
    """Write :func:`plot_edits`'s figure to ``path`` as PNG (Agg canvas, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_edits(images, targets, rows, captions)
    FigureCanvasAgg(fig)
    write_atomic(path, lambda f: fig.savefig(f, format="png"))
    return path
