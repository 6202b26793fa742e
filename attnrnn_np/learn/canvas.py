"""Composing a canvas: the palette, non-overlapping placement, alpha compositing, clutter, photo crops.

The pieces :func:`attnrnn_np.learn.tasks.draw_scene` assembles a scene from.
Each consumes the generator it is given in a fixed order, so a seed fixes
the canvas. Host NumPy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PALETTE", "PALETTE_NAMES", "place", "composite", "photo_crop", "scatter_fragments"]

PALETTE = np.array([
    [1.0, 0.0, 0.0],  # red
    [0.0, 1.0, 0.0],  # green
    [0.0, 0.0, 1.0],  # blue
    [1.0, 1.0, 0.0],  # yellow
    [1.0, 0.0, 1.0],  # magenta
])
PALETTE_NAMES = ("red", "green", "blue", "yellow", "magenta")

_FRAGMENT_TRIES = 20
_FRAGMENT_MIN_INK = 0.15   # mean intensity a fragment needs to count as clutter, not a blank patch


def place(rng, shapes, canvas, gap, avoid=()):
    """Non-overlapping boxes of the given (h, w), placed one after another, or None at a dead end.

    Each box's top-left corner is drawn uniformly among the corners that keep
    it inside the canvas and at least ``gap`` pixels from the boxes placed so
    far (and from ``avoid``): the distribution rejection sampling would give,
    without its retries.
    """
    boxes = list(avoid)
    placed = []
    for h, w in shapes:
        free = np.ones((canvas - h + 1, canvas - w + 1), dtype=bool)   # free[t, l]: corner (t, l) allowed
        for (t2, l2, b2, r2) in boxes:
            # [t, t+h) and [t2, b2) come closer than gap exactly when t2 − h − gap < t < b2 + gap.
            free[max(0, t2 - h - gap + 1):b2 + gap, max(0, l2 - w - gap + 1):r2 + gap] = False
        corners = np.flatnonzero(free)
        if len(corners) == 0:
            return None
        t, left = divmod(int(corners[rng.integers(len(corners))]), free.shape[1])
        boxes.append((t, left, t + h, left + w))
        placed.append((t, left, t + h, left + w))
    return placed


def photo_crop(rng, canvas, backgrounds):
    """A random canvas×canvas crop of one photograph at one zoom, mirrored with probability ½."""
    C = canvas
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    levels = [lv for lv in bg.levels if lv.shape[0] >= C and lv.shape[1] >= C]
    if not levels:
        raise ValueError(f"photograph {bg.name} is too small for a {C}×{C} canvas at every zoom")
    lv = levels[int(rng.integers(len(levels)))]
    t = int(rng.integers(0, lv.shape[0] - C + 1))
    left = int(rng.integers(0, lv.shape[1] - C + 1))
    crop = lv[t:t + C, left:left + C]
    return crop[:, ::-1].copy() if rng.random() < 0.5 else crop.copy()


def composite(image, alpha, color, top, left):
    """Blend ``colour`` into ``image`` in place with coverage ``alpha`` at (top, left): (1 − α)·image + α·colour."""
    h, w = alpha.shape
    region = image[top:top + h, left:left + w]
    region *= (1.0 - alpha)[:, :, None]
    region += alpha[:, :, None] * color


def scatter_fragments(rng, image, config, glyphs, digit_boxes):
    """MDIST clutter: square crops of random digits, in random colours, outside every digit box."""
    lo, hi = config.sides
    pool = glyphs.pool
    for _ in range(config.n_fragments):
        f = int(rng.integers(config.fragment_min, config.fragment_max + 1))
        source = glyphs.upscaled(int(rng.integers(lo, hi + 1)))[int(rng.integers(len(pool.labels)))]
        for _ in range(_FRAGMENT_TRIES):
            t = int(rng.integers(0, source.shape[0] - f + 1))
            left = int(rng.integers(0, source.shape[1] - f + 1))
            piece = source[t:t + f, left:left + f]
            if piece.mean() >= _FRAGMENT_MIN_INK:
                break
        else:
            continue
        spot = place(rng, [(f, f)], config.canvas, config.min_gap, avoid=digit_boxes)
        if spot is None:
            continue
        top, left = spot[0][:2]
        composite(image, piece, PALETTE[int(rng.integers(len(PALETTE)))], top, left)

