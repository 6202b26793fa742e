"""The handwritten digits and photographs the tasks draw on, and the resampling that sizes them.

* digits: the 1797 8×8 handwritten digits of scikit-learn's ``load_digits``,
  split 80/20 by instance (stratified by class) so that test images show
  handwriting never seen in training (:func:`digit_pools`), upscaled on
  demand by :class:`Glyphs`;
* photographs (MBG): scikit-learn's ``load_sample_images`` (china, flower)
  and matplotlib's sample ``grace_hopper.jpg``, each split by columns
  (:func:`load_backgrounds`).

Everything ships inside installed packages, so nothing is downloaded. This
module is data, not math: it uses NumPy on the host directly.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["N_CLASSES", "DIGIT_SIDE", "DigitPool", "Background", "Glyphs", "digit_pools", "load_backgrounds",
           "background_names", "resize_bilinear", "ink_box"]

N_CLASSES = 10  # digit classes, the size of the one-hot query
DIGIT_SIDE = 8  # load_digits images are 8×8


class DigitPool(NamedTuple):
    """The digit instances of one split."""

    images: np.ndarray    # (M, 8, 8) float64 intensities in [0, 1]
    labels: np.ndarray    # (M,) int64 class of each instance
    index: np.ndarray     # (M,) int64 row of each instance in load_digits()
    by_class: tuple       # 10 int64 arrays: positions in this pool of each class's instances


@functools.lru_cache(maxsize=1)
def _load_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError("the MREF/MDIST/MBG tasks need scikit-learn for its bundled handwritten digits "
                          "(pip install scikit-learn)") from err
    digits = load_digits()
    images = np.asarray(digits.images, dtype=np.float64) / 16.0   # (1797, 8, 8), 0..16 -> [0, 1]
    images.setflags(write=False)
    labels = np.asarray(digits.target, dtype=np.int64)
    labels.setflags(write=False)
    return images, labels


def digit_pools(test_fraction=0.2, split_seed=0):
    """Split scikit-learn's handwritten digits into train and test pools.

    Each class's instances are shuffled with ``split_seed`` and the first
    round(test_fraction · count) go to the test pool, so both pools hold
    every class in the same proportions and no instance is in both.

    Returns
    -------
    dict "train" / "test" -> DigitPool
    """
    images, labels = _load_digits()
    rng = np.random.default_rng(split_seed)
    test_rows, train_rows = [], []
    for c in range(N_CLASSES):
        rows = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(test_fraction * len(rows)))
        if n_test == 0 or n_test == len(rows):
            raise ValueError(f"test_fraction {test_fraction} leaves class {c} without train or test instances")
        test_rows.append(rows[:n_test])
        train_rows.append(rows[n_test:])
    pools = {}
    for split, rows in (("train", train_rows), ("test", test_rows)):
        index = np.sort(np.concatenate(rows))
        lab = labels[index]
        pools[split] = DigitPool(images[index], lab, index,
                                 tuple(np.flatnonzero(lab == c) for c in range(N_CLASSES)))
    return pools


class Background(NamedTuple):
    """One photograph's share of a split, at several resolutions."""

    name: str
    levels: tuple   # float64 (h_l, w_l, 3) arrays in [0, 1]: the share block-averaged by 1, 2, 4, 8


def _photographs():
    """(name, uint8 RGB array) of every bundled photograph found; warns about a missing source."""
    photos, missing = [], []
    try:
        from sklearn.datasets import load_sample_images

        bunch = load_sample_images()
        for path, img in zip(bunch.filenames, bunch.images, strict=True):
            photos.append((f"sklearn:{Path(path).name}", np.asarray(img)))
    except Exception as err:  # ImportError, or pillow missing inside scikit-learn
        missing.append(f"scikit-learn's load_sample_images ({type(err).__name__}: {err})")
    try:
        from matplotlib import cbook, image

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        photos.append(("matplotlib:grace_hopper.jpg", np.asarray(image.imread(path))))
    except Exception as err:
        missing.append(f"matplotlib's sample data ({type(err).__name__}: {err})")
    if not photos:
        raise ImportError("MBG needs natural photographs from scikit-learn's load_sample_images or "
                          "matplotlib's sample data, and neither could be read: " + "; ".join(missing))
    if missing:
        warnings.warn("MBG backgrounds: falling back to " + ", ".join(n for n, _ in photos)
                      + " because these sources are missing: " + "; ".join(missing), stacklevel=3)
    return photos


def _block_mean(img, f):
    """Average non-overlapping f×f blocks (the exact area downscale by an integer factor)."""
    h, w = img.shape[0] // f * f, img.shape[1] // f * f
    return img[:h, :w].reshape(h // f, f, w // f, f, 3).mean(axis=(1, 3))


@functools.lru_cache(maxsize=4)
def load_backgrounds(test_fraction=0.2):
    """The bundled photographs, each split by columns into a train and a test share.

    The rightmost ``test_fraction`` of every photograph's columns is kept
    for the test split, so test backgrounds are unseen too. Each share is
    stored at full resolution and block-averaged by 2, 4 and 8, so that a
    canvas-sized crop shows a scene at several zooms.

    Returns
    -------
    dict "train" / "test" -> tuple of Background
    """
    shares = {"train": [], "test": []}
    for name, img in _photographs():
        img = np.asarray(img, dtype=np.float64)[..., :3] / 255.0   # (h, w, 3)
        cut = img.shape[1] - int(round(test_fraction * img.shape[1]))
        for split, part in (("train", img[:, :cut]), ("test", img[:, cut:])):
            levels = tuple(_block_mean(part, f) for f in (1, 2, 4, 8))
            for level in levels:
                level.setflags(write=False)  # shared by every caller through the lru_cache
            shares[split].append(Background(name, levels))
    return {split: tuple(bgs) for split, bgs in shares.items()}


def background_names(backgrounds):
    """The names of the train share's photographs."""
    return [bg.name for bg in backgrounds["train"]]


# --------------------------------------------------------------------------- resampling

def _interp_matrix(n_out, n_in):
    """(n_out, n_in) bilinear weights with half-pixel centres, edges clamped."""
    src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, n_in - 1)
    t = src - i0
    A = np.zeros((n_out, n_in))
    A[np.arange(n_out), i0] += 1.0 - t
    A[np.arange(n_out), i1] += t
    return A


def resize_bilinear(images, height, width):
    """Bilinear resampling of the last two axes.

    Parameters
    ----------
    images : array (..., h, w)
    height, width : int

    Returns
    -------
    array (..., height, width)

    Notes
    -----
    Output pixel i samples the input at x = (i + ½)·h/height − ½ (pixel
    centres aligned, as in OpenCV and ``torch`` with ``align_corners=False``),
    clamped to the edge, and interpolates linearly between ⌊x⌋ and ⌊x⌋ + 1;
    separably, ``out = A_h · image · A_wᵀ``. A zero pixel whose neighbours are
    zero stays exactly zero, so the ink box of a digit is exact.
    """
    A_h = _interp_matrix(int(height), images.shape[-2])
    A_w = _interp_matrix(int(width), images.shape[-1])
    return np.einsum("ij,...jk,lk->...il", A_h, images, A_w)


def ink_box(glyph):
    """(top, left, bottom, right) of the non-zero pixels, bottom/right exclusive."""
    rows = np.flatnonzero(glyph.any(axis=1))
    cols = np.flatnonzero(glyph.any(axis=0))
    return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1


class Glyphs:
    """A split's digits, upscaled on demand to each side a scene asks for (memoised per side).

    ``Glyphs(digit_pools()["train"])`` is what :func:`draw_scene` draws from.
    """

    def __init__(self, pool: DigitPool):
        self.pool = pool
        self._by_side = {}

    def upscaled(self, side):
        if side not in self._by_side:
            g = resize_bilinear(self.pool.images, side, side)                     # (M, side, side)
            # Every digit peaks at full intensity, so its core shows the pure palette colour.
            self._by_side[side] = g / g.max(axis=(1, 2), keepdims=True)
        return self._by_side[side]

    def digit(self, i, side):
        """The ink-cropped digit ``i`` of the pool at ``side``: (h, w) intensities."""
        g = self.upscaled(side)[i]
        top, left, bottom, right = ink_box(g)
        return g[top:bottom, left:right]

