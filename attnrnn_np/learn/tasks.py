"""Offline MREF, MDIST and MBG tasks built from real handwritten digits.

The tasks follow Progressive Attention Networks (Seo et al.) in spirit:
several coloured digits of distinct classes lie on a canvas, the query names
one digit class, and the answer is that digit's colour. MREF is the plain
version, MDIST adds clutter made of digit fragments, MBG puts the digits on
crops of natural photographs. Everything is made from data that ships inside
installed packages, so nothing is downloaded:

* digits: the 1797 8×8 handwritten digits of scikit-learn's ``load_digits``,
  split 80/20 by instance (stratified by class) so that test images show
  handwriting never seen in training;
* photographs (MBG): scikit-learn's ``load_sample_images`` (china, flower)
  and matplotlib's sample ``grace_hopper.jpg``.

One scene (see ``docs/tasks.md`` for the full definition):

1. draw D distinct digit classes and D distinct colours of :data:`PALETTE`;
2. for each class, a random digit of that class from the split's pool,
   upscaled by s ~ U[scale_min, scale_max] (side round(8·s), bilinear),
   scaled to peak at intensity 1 and cropped to its ink, i.e. its non-zero
   pixels;
3. place the D digits one after another, each uniformly among the
   positions whose ink box stays at least ``min_gap`` pixels from those
   already placed (a dead end redraws the layout, and repeated dead ends
   the sizes);
4. background: black (MREF, MDIST) or a random crop of a photograph (MBG);
   MDIST first scatters ``n_fragments`` coloured fragments of other digits
   outside the digit boxes;
5. composite each digit as ``image = (1 − α)·image + α·colour`` with α its
   intensity in [0, 1];
6. pick one of the D digits as the target: query = its class, label = its
   colour index, box = its ink box.

Images are stored as uint8 (the compositing result rounded to 1/255) and
handed out as floats in [0, 1] by :meth:`TaskSplit.batch`. Generated sets are
cached as ``.npz`` files named by a hash of every parameter that shapes the
data, written atomically and read back with ``allow_pickle=False``.

This module is data, not math: it uses NumPy on the host directly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .safe_npz import load_npz, save_npz_atomic
from ..validate import resolve_xp

__all__ = [
    "TASKS",
    "N_CLASSES",
    "PALETTE",
    "PALETTE_NAMES",
    "FORMAT_VERSION",
    "TaskConfig",
    "DigitPool",
    "Glyphs",
    "Background",
    "Scene",
    "Batch",
    "TaskSplit",
    "TaskData",
    "digit_pools",
    "load_backgrounds",
    "resize_bilinear",
    "draw_scene",
    "generate",
    "load_task",
    "cache_path",
    "default_cache_dir",
    "resolve_cache_dir",
]

TASKS = ("mref", "mdist", "mbg")
N_CLASSES = 10  # digit classes, the size of the one-hot query
PALETTE = np.array([
    [1.0, 0.0, 0.0],  # red
    [0.0, 1.0, 0.0],  # green
    [0.0, 0.0, 1.0],  # blue
    [1.0, 1.0, 0.0],  # yellow
    [1.0, 0.0, 1.0],  # magenta
])
PALETTE_NAMES = ("red", "green", "blue", "yellow", "magenta")
FORMAT_VERSION = 1  # bump whenever a change to the generator changes the data it makes

_DIGIT_SIDE = 8            # load_digits images are 8×8
_LAYOUT_TRIES = 20         # layouts tried for one draw of digit sizes before the sizes are redrawn
_SIZE_DRAWS = 50           # draws of digit sizes before giving up
_FRAGMENT_TRIES = 20
_FRAGMENT_MIN_INK = 0.15   # mean intensity a fragment needs to count as clutter, not a blank patch
_SPLITS = {"train": 0, "test": 1}


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class TaskConfig:
    """Everything that shapes a task's images, except the set sizes and the seed.

    Parameters
    ----------
    task : "mref", "mdist" or "mbg"
    canvas : int
        Side of the square RGB canvas, in pixels.
    n_digits : int
        D, digits per image: distinct classes and distinct colours, so at
        most 5 (the palette's size).
    scale_min, scale_max : float
        Each 8×8 digit is upscaled by s ~ U[scale_min, scale_max] to a side of
        round(8·s) pixels.
    min_gap : int
        Smallest distance in pixels between two digits' ink boxes (0 lets
        boxes touch, never overlap).
    n_fragments : int
        MDIST only: fragments of clutter tried per image (a fragment that
        finds no free place is skipped).
    fragment_min, fragment_max : int
        MDIST only: side range of the square fragments.
    test_fraction : float
        Share of each class's digit instances (and of each photograph's
        columns) held out for the test split.
    split_seed : int
        Seed of that held-out split, fixed apart from the data seed so that
        every run sees the same test handwriting.
    """

    task: str = "mref"
    canvas: int = 32
    n_digits: int = 3
    scale_min: float = 1.5
    scale_max: float = 2.0
    min_gap: int = 1
    n_fragments: int = 6
    fragment_min: int = 4
    fragment_max: int = 7
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")
        for name in ("canvas", "n_digits", "min_gap", "n_fragments", "fragment_min", "fragment_max",
                     "split_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {value!r}")
        if not 1 <= self.n_digits <= len(PALETTE):
            raise ValueError(f"n_digits must lie in 1..{len(PALETTE)} (distinct colours from a palette of "
                             f"{len(PALETTE)}), got {self.n_digits}")
        if not 0 < self.scale_min <= self.scale_max:
            raise ValueError(f"need 0 < scale_min <= scale_max, got {self.scale_min}, {self.scale_max}")
        lo, hi = self.sides
        if lo < 1:
            raise ValueError(f"scale_min {self.scale_min} shrinks a digit to nothing")
        if hi > self.canvas:
            raise ValueError(f"a digit of side {hi} (scale_max {self.scale_max}) does not fit on a "
                             f"{self.canvas}×{self.canvas} canvas")
        if self.min_gap < 0:
            raise ValueError(f"min_gap must be >= 0, got {self.min_gap}")
        fit = (self.canvas + self.min_gap) ** 2 // (lo + self.min_gap) ** 2
        if self.n_digits > fit:
            raise ValueError(f"{self.n_digits} digits of side >= {lo} with gaps of {self.min_gap} cannot fit "
                             f"on a {self.canvas}×{self.canvas} canvas (at most {fit} by area); use a larger "
                             f"canvas, fewer digits or a smaller scale_min")
        if self.n_fragments < 0:
            raise ValueError(f"n_fragments must be >= 0, got {self.n_fragments}")
        if not 1 <= self.fragment_min <= self.fragment_max <= lo:
            raise ValueError(f"need 1 <= fragment_min <= fragment_max <= {lo} (the smallest digit side), "
                             f"got {self.fragment_min}, {self.fragment_max}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {self.test_fraction}")

    @property
    def sides(self):
        """(smallest, largest) side in pixels of an upscaled digit."""
        return int(round(_DIGIT_SIDE * self.scale_min)), int(round(_DIGIT_SIDE * self.scale_max))

    def key(self):
        """The parameters that shape this task's images, as a JSON-ready dict.

        Fragment parameters count only for MDIST, so changing them leaves the
        MREF and MBG caches valid.
        """
        key = asdict(self)
        if self.task != "mdist":
            for name in ("n_fragments", "fragment_min", "fragment_max"):
                del key[name]
        return {name: (int(v) if isinstance(v, np.integer) else v) for name, v in key.items()}


# --------------------------------------------------------------------------- sources

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
        for path, img in zip(bunch.filenames, bunch.images):
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


def _background_names(backgrounds):
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


def _ink_box(glyph):
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
        t, l, b, r = _ink_box(g)
        return g[t:b, l:r]


# --------------------------------------------------------------------------- one scene

class Scene(NamedTuple):
    """One generated image with everything needed to check it."""

    image: np.ndarray      # (H, W, 3) float64 in [0, 1]
    alphas: np.ndarray     # (D, H, W) coverage of each digit, 0 outside its box
    classes: np.ndarray    # (D,) int64 distinct digit classes
    colors: np.ndarray     # (D,) int64 distinct palette indices
    boxes: np.ndarray      # (D, 4) int64 ink boxes (top, left, bottom, right), bottom/right exclusive
    instances: np.ndarray  # (D,) int64 row of each digit in load_digits()
    target: int            # which of the D digits the query names


def _place(rng, shapes, canvas, gap, avoid=()):
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
        t, l = divmod(int(corners[rng.integers(len(corners))]), free.shape[1])
        boxes.append((t, l, t + h, l + w))
        placed.append((t, l, t + h, l + w))
    return placed


def _background(rng, config, backgrounds):
    C = config.canvas
    if config.task != "mbg":
        return np.zeros((C, C, 3))
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    levels = [lv for lv in bg.levels if lv.shape[0] >= C and lv.shape[1] >= C]
    if not levels:
        raise ValueError(f"photograph {bg.name} is too small for a {C}×{C} canvas at every zoom")
    lv = levels[int(rng.integers(len(levels)))]
    t = int(rng.integers(0, lv.shape[0] - C + 1))
    l = int(rng.integers(0, lv.shape[1] - C + 1))
    crop = lv[t:t + C, l:l + C]
    return crop[:, ::-1].copy() if rng.random() < 0.5 else crop.copy()


def _composite(image, alpha, color, top, left):
    h, w = alpha.shape
    region = image[top:top + h, left:left + w]
    region *= (1.0 - alpha)[:, :, None]
    region += alpha[:, :, None] * color


def _scatter_fragments(rng, image, config, glyphs, digit_boxes):
    """MDIST clutter: square crops of random digits, in random colours, outside every digit box."""
    lo, hi = config.sides
    pool = glyphs.pool
    for _ in range(config.n_fragments):
        f = int(rng.integers(config.fragment_min, config.fragment_max + 1))
        source = glyphs.upscaled(int(rng.integers(lo, hi + 1)))[int(rng.integers(len(pool.labels)))]
        for _ in range(_FRAGMENT_TRIES):
            t = int(rng.integers(0, source.shape[0] - f + 1))
            l = int(rng.integers(0, source.shape[1] - f + 1))
            piece = source[t:t + f, l:l + f]
            if piece.mean() >= _FRAGMENT_MIN_INK:
                break
        else:
            continue
        spot = _place(rng, [(f, f)], config.canvas, config.min_gap, avoid=digit_boxes)
        if spot is None:
            continue
        top, left = spot[0][:2]
        _composite(image, piece, PALETTE[int(rng.integers(len(PALETTE)))], top, left)


def draw_scene(rng, config: TaskConfig, glyphs: Glyphs, backgrounds=()):
    """Draw one image of ``config.task`` from a split's digits (and photographs).

    Parameters
    ----------
    rng : numpy.random.Generator
        Consumed in a fixed order, so a seed fixes the scene.
    config : TaskConfig
    glyphs : Glyphs
        The split's digits.
    backgrounds : tuple of Background
        The split's photographs (MBG only).

    Returns
    -------
    Scene
    """
    C, D = config.canvas, config.n_digits
    classes = rng.choice(N_CLASSES, size=D, replace=False)
    colors = rng.choice(len(PALETTE), size=D, replace=False)
    picks = [glyphs.pool.by_class[c][int(rng.integers(len(glyphs.pool.by_class[c])))] for c in classes]
    lo, hi = config.sides
    boxes = None
    for _ in range(_SIZE_DRAWS):
        sides = [int(round(_DIGIT_SIDE * rng.uniform(config.scale_min, config.scale_max))) for _ in range(D)]
        sides = [min(max(s, lo), hi) for s in sides]
        digits = [glyphs.digit(i, s) for i, s in zip(picks, sides)]
        # Layouts are retried before the sizes so that crowded scenes do not drift towards small digits.
        for _ in range(_LAYOUT_TRIES):
            boxes = _place(rng, [d.shape for d in digits], C, config.min_gap)
            if boxes is not None:
                break
        if boxes is not None:
            break
    else:
        raise ValueError(f"could not place {D} digits of sides {lo}..{hi} with gaps of {config.min_gap} on a "
                         f"{C}×{C} canvas in {_SIZE_DRAWS * _LAYOUT_TRIES} attempts; use a larger canvas, "
                         f"fewer digits or smaller scales")
    image = _background(rng, config, backgrounds)
    if config.task == "mdist":
        _scatter_fragments(rng, image, config, glyphs, boxes)
    alphas = np.zeros((D, C, C))
    for d, (digit, (t, l, b, r)) in enumerate(zip(digits, boxes)):
        alphas[d, t:b, l:r] = digit
        _composite(image, digit, PALETTE[colors[d]], t, l)
    return Scene(image, alphas, classes.astype(np.int64), colors.astype(np.int64),
                 np.array(boxes, dtype=np.int64), glyphs.pool.index[picks].astype(np.int64),
                 int(rng.integers(D)))


# --------------------------------------------------------------------------- sets of scenes

class Batch(NamedTuple):
    """Model inputs and targets on one backend."""

    X: object    # (N, H, W, 3) float in [0, 1]
    q: object    # (N, 10) one-hot query class
    y: object    # (N,) int64 colour index of the queried digit (the label)
    box: object  # (N, 4) int64 ink box of the queried digit (top, left, bottom, right), exclusive ends


@dataclass(frozen=True)
class TaskSplit:
    """The images of one split and their annotations (host arrays).

    Attributes
    ----------
    images : uint8 (N, H, W, 3)
        Value v means intensity v / 255.
    classes, colors, instances : int64 (N, D)
        Per digit: class, palette index, row in ``load_digits()``.
    boxes : int64 (N, D, 4)
        Per digit: ink box (top, left, bottom, right), bottom/right exclusive.
    target : int64 (N,)
        Which digit the query names.
    """

    images: np.ndarray
    classes: np.ndarray
    colors: np.ndarray
    boxes: np.ndarray
    instances: np.ndarray
    target: np.ndarray

    def __len__(self):
        return len(self.target)

    @property
    def queries(self):
        """(N,) int64 queried class."""
        return self.classes[np.arange(len(self)), self.target]

    @property
    def labels(self):
        """(N,) int64 colour index of the queried digit."""
        return self.colors[np.arange(len(self)), self.target]

    @property
    def query_boxes(self):
        """(N, 4) int64 box of the queried digit."""
        return self.boxes[np.arange(len(self)), self.target]

    def batch(self, index=None, *, xp=None, dtype="float32"):
        """The samples at ``index`` (all when None) as model inputs on backend ``xp``.

        Returns
        -------
        Batch with X (n, H, W, 3) = images / 255 and the one-hot query q (n, 10)
        in ``dtype``; the label y (n,) and box (n, 4) as int64.
        """
        xp = resolve_xp(xp)
        idx = np.arange(len(self)) if index is None else np.asarray(index)
        X = self.images[idx].astype(dtype) / np.asarray(255, dtype=dtype)
        q = np.eye(N_CLASSES, dtype=dtype)[self.queries[idx]]
        return Batch(xp.asarray(X), xp.asarray(q), xp.asarray(self.labels[idx]),
                     xp.asarray(self.query_boxes[idx]))

    def _arrays(self, prefix):
        return {f"{prefix}_{name}": getattr(self, name) for name in _SPLIT_FIELDS}


_SPLIT_FIELDS = ("images", "classes", "colors", "boxes", "instances", "target")


@dataclass(frozen=True)
class TaskData:
    """A task's train and test splits with the parameters that made them."""

    config: TaskConfig
    train: TaskSplit
    test: TaskSplit
    seed: int
    backgrounds: tuple   # names of the photographs used (MBG), else ()
    path: Path | None    # the cache file, or None when not cached


def generate(config: TaskConfig, n, *, split="train", seed=0):
    """Generate ``n`` images of one split.

    Parameters
    ----------
    config : TaskConfig
    n : int
    split : "train" or "test"
        Which digit instances (and photograph shares) to draw from.
    seed : int
        With ``split``, fixes the images: the stream is
        ``default_rng([seed, 0 or 1])``. Images are drawn one after another,
        so the first m images of a set of n > m are the set of m.

    Returns
    -------
    TaskSplit
    """
    if split not in _SPLITS:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    n = int(n)
    if n < 0:
        raise ValueError(f"the number of images must be >= 0, got {n}")
    glyphs = Glyphs(digit_pools(config.test_fraction, config.split_seed)[split])
    backgrounds = load_backgrounds(config.test_fraction)[split] if config.task == "mbg" else ()
    rng = np.random.default_rng([int(seed), _SPLITS[split]])
    C, D = config.canvas, config.n_digits
    out = {
        "images": np.zeros((n, C, C, 3), dtype=np.uint8),
        "classes": np.zeros((n, D), dtype=np.int64),
        "colors": np.zeros((n, D), dtype=np.int64),
        "boxes": np.zeros((n, D, 4), dtype=np.int64),
        "instances": np.zeros((n, D), dtype=np.int64),
        "target": np.zeros(n, dtype=np.int64),
    }
    for i in range(n):
        s = draw_scene(rng, config, glyphs, backgrounds)
        out["images"][i] = np.rint(s.image * 255.0)
        out["classes"][i], out["colors"][i] = s.classes, s.colors
        out["boxes"][i], out["instances"][i], out["target"][i] = s.boxes, s.instances, s.target
    return TaskSplit(**out)


# --------------------------------------------------------------------------- cache

def default_cache_dir():
    """``$XDG_CACHE_HOME/attnrnn_np/tasks``, or ``~/.cache/attnrnn_np/tasks``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "attnrnn_np" / "tasks"


def resolve_cache_dir(cache_dir):
    """``"default"`` -> :func:`default_cache_dir`; ``None`` (no cache) and paths pass through."""
    return default_cache_dir() if cache_dir == "default" else cache_dir


def _cache_key(config, n_train, n_test, seed, backgrounds):
    key = {"format_version": FORMAT_VERSION, **config.key(), "n_train": int(n_train),
           "n_test": int(n_test), "seed": int(seed)}
    if config.task == "mbg":
        key["backgrounds"] = list(backgrounds)
    return key


def cache_path(cache_dir, key):
    """``{cache_dir}/{task}-{first 16 hex digits of sha256(key as sorted JSON)}.npz``."""
    text = json.dumps(key, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{key['task']}-{digest}.npz"


def _read_cache(path, key):
    """The two splits stored at ``path`` if it holds exactly ``key``'s data, else None (with a warning)."""
    try:
        f = load_npz(path)
        stored = json.loads(str(f["key"]))
        if stored != key:
            warnings.warn(f"task cache {path} holds other parameters; regenerating it", stacklevel=3)
            return None
        return tuple(TaskSplit(**{name: f[f"{split}_{name}"] for name in _SPLIT_FIELDS})
                     for split in ("train", "test"))
    except (OSError, ValueError, KeyError) as err:  # NpzError is a ValueError
        warnings.warn(f"task cache {path} is unreadable ({type(err).__name__}: {err}); regenerating it",
                      stacklevel=3)
        return None


def load_task(task="mref", *, n_train=20000, n_test=2000, seed=0, cache_dir=None, **params):
    """The train and test splits of a task, from the cache when possible.

    Parameters
    ----------
    task : "mref", "mdist" or "mbg"
    n_train, n_test : int
        Images per split.
    seed : int
        Data seed (see :func:`generate`).
    cache_dir : path or None
        Folder of the ``.npz`` cache; None generates without caching (see
        :func:`default_cache_dir` for the conventional place).
    **params
        Any other field of :class:`TaskConfig` (canvas, n_digits, ...).

    Returns
    -------
    TaskData

    Notes
    -----
    The cache file is named by a hash of every parameter that shapes the
    data (:meth:`TaskConfig.key`, the set sizes, the seed, the generator's
    :data:`FORMAT_VERSION` and, for MBG, the photographs found), stores that
    key, and is only used when the stored key matches exactly. A stale or
    unreadable file is regenerated with a warning.
    """
    config = TaskConfig(task=task, **params)
    backgrounds = tuple(_background_names(load_backgrounds(config.test_fraction))) if task == "mbg" else ()
    key = _cache_key(config, n_train, n_test, seed, backgrounds)
    path = cache_path(cache_dir, key) if cache_dir is not None else None
    splits = _read_cache(path, key) if path is not None and path.exists() else None
    if splits is None:
        splits = (generate(config, n_train, split="train", seed=seed),
                  generate(config, n_test, split="test", seed=seed))
        if path is not None:
            save_npz_atomic(path, compress=True, arrays={"key": np.array(json.dumps(key, sort_keys=True)),
                                **splits[0]._arrays("train"), **splits[1]._arrays("test")})
    return TaskData(config, splits[0], splits[1], int(seed), backgrounds, path)
