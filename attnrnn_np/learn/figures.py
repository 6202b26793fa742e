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

__all__ = ["mask_overlay", "plot_masks", "save_masks_png"]


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
        t, l, b, r = boxes[n]
        ax.add_patch(Rectangle((l - 0.5, t - 0.5), r - l, b - t, fill=False, ec="white", lw=1))
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
