"""Offline MREF, MDIST and MBG tasks built from real handwritten digits.

The tasks follow Progressive Attention Networks (Seo et al.) in spirit:
several coloured digits of distinct classes lie on a canvas, the query names
one digit class, and the answer is that digit's colour. MREF is the plain
version, MDIST adds clutter made of digit fragments, MBG puts the digits on
crops of natural photographs. Everything is made from data that ships inside
installed packages (scikit-learn's handwritten digits, bundled photographs),
so nothing is downloaded.

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
handed out as floats in [0, 1] by :meth:`TaskSplit.batch`.

The pieces live by idea: :mod:`~attnrnn_np.learn.digits` (the digits, the
photographs, resampling), :mod:`~attnrnn_np.learn.canvas` (palette,
placement, compositing, clutter) and :mod:`~attnrnn_np.learn.cache` (the
``.npz`` cache named by a hash of every parameter that shapes the data).
This module defines the tasks and their sets of scenes; its names re-export
the pieces' public names. It is data, not math: NumPy on the host directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..validate import resolve_xp
from .cache import cache_path, default_cache_dir, read_cache, resolve_cache_dir, write_cache
from .canvas import PALETTE, PALETTE_NAMES, composite, photo_crop, place, scatter_fragments
from .digits import (
    DIGIT_SIDE,
    N_CLASSES,
    Background,
    DigitPool,
    Glyphs,
    background_names,
    digit_pools,
    load_backgrounds,
    resize_bilinear,
)

__all__ = [
    "TASKS",
    "TASK_SPECS",
    "QUERY_TASKS",
    "TaskSpec",
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

class TaskSpec(NamedTuple):
    """What a task asks of a model."""

    kind: str        # "answer": the queried digit's colour; "classify": the digit's class; "edit": recolour
    query_dim: int   # Q, size of the query (0: none)
    n_classes: int   # M, labels to choose from (0: the output is an image)


TASK_SPECS = {
    "mref": TaskSpec("answer", N_CLASSES, len(PALETTE)),
    "mdist": TaskSpec("answer", N_CLASSES, len(PALETTE)),
    "mbg": TaskSpec("answer", N_CLASSES, len(PALETTE)),
    "clutter": TaskSpec("classify", 0, N_CLASSES),
    "recolour": TaskSpec("edit", N_CLASSES + len(PALETTE), 0),
}
TASKS = tuple(TASK_SPECS)
QUERY_TASKS = ("mref", "mdist", "mbg")   # the query-answering tasks of PAN
_CLUTTERED = ("mdist", "clutter")        # tasks that scatter digit fragments
# Fields whose default depends on the task (None in TaskConfig means "this task's default").
_DEFAULTS = {"n_digits": 3, "min_gap": 1, "n_fragments": 6}
_TASK_DEFAULTS = {"clutter": {"n_digits": 1, "n_fragments": 8}}
FORMAT_VERSION = 1  # bump whenever a change to the generator changes the data it makes

_LAYOUT_TRIES = 20         # layouts tried for one draw of digit sizes before the sizes are redrawn
_SIZE_DRAWS = 50           # draws of digit sizes before giving up
_SPLITS = {"train": 0, "test": 1}



# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class TaskConfig:
    """Everything that shapes a task's images, except the set sizes and the seed.

    Parameters
    ----------
    task : one of :data:`TASKS`
    canvas : int
        Side of the square RGB canvas, in pixels.
    n_digits : int or None
        D, digits per image: distinct classes and distinct colours, so at
        most 5 (the palette's size). None: 3, or 1 for ``clutter`` (which
        needs exactly 1).
    scale_min, scale_max : float
        Each 8×8 digit is upscaled by s ~ U[scale_min, scale_max] to a side of
        round(8·s) pixels.
    min_gap : int or None
        Smallest distance in pixels between two digits' ink boxes (0 lets
        boxes touch, never overlap). None: 1.
    n_fragments : int or None
        MDIST and clutter only: fragments of clutter tried per image (a
        fragment that finds no free place is skipped). None: 6, or 8 for
        ``clutter``.
    fragment_min, fragment_max : int
        MDIST and clutter only: side range of the square fragments.
    test_fraction : float
        Share of each class's digit instances (and of each photograph's
        columns) held out for the test split.
    split_seed : int
        Seed of that held-out split, fixed apart from the data seed so that
        every run sees the same test handwriting.
    """

    task: str = "mref"
    canvas: int = 32
    n_digits: int | None = None
    scale_min: float = 1.5
    scale_max: float = 2.0
    min_gap: int | None = None
    n_fragments: int | None = None
    fragment_min: int = 4
    fragment_max: int = 7
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")
        for name, value in {**_DEFAULTS, **_TASK_DEFAULTS.get(self.task, {})}.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.task == "clutter" and self.n_digits != 1:
            raise ValueError(f"the clutter task shows exactly one digit, got n_digits={self.n_digits}")
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
        return int(round(DIGIT_SIDE * self.scale_min)), int(round(DIGIT_SIDE * self.scale_max))

    def key(self):
        """The parameters that shape this task's images, as a JSON-ready dict.

        Fragment parameters count only for MDIST and clutter, so changing
        them leaves the other tasks' caches valid.
        """
        key = asdict(self)
        if self.task not in _CLUTTERED:
            for name in ("n_fragments", "fragment_min", "fragment_max"):
                del key[name]
        return {name: (int(v) if isinstance(v, np.integer) else v) for name, v in key.items()}



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
    new_color: int = -1    # recolour: the palette index the queried digit is to take (else -1)



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
        sides = [int(round(DIGIT_SIDE * rng.uniform(config.scale_min, config.scale_max))) for _ in range(D)]
        sides = [min(max(s, lo), hi) for s in sides]
        digits = [glyphs.digit(i, s) for i, s in zip(picks, sides, strict=True)]
        # Layouts are retried before the sizes so that crowded scenes do not drift towards small digits.
        for _ in range(_LAYOUT_TRIES):
            boxes = place(rng, [d.shape for d in digits], C, config.min_gap)
            if boxes is not None:
                break
        if boxes is not None:
            break
    else:
        raise ValueError(f"could not place {D} digits of sides {lo}..{hi} with gaps of {config.min_gap} on a "
                         f"{C}×{C} canvas in {_SIZE_DRAWS * _LAYOUT_TRIES} attempts; use a larger canvas, "
                         f"fewer digits or smaller scales")
    image = photo_crop(rng, C, backgrounds) if config.task == "mbg" else np.zeros((C, C, 3))
    if config.task in _CLUTTERED:
        scatter_fragments(rng, image, config, glyphs, boxes)
    alphas = np.zeros((D, C, C))
    for d, (digit, (top, left, bottom, right)) in enumerate(zip(digits, boxes, strict=True)):
        alphas[d, top:bottom, left:right] = digit
        composite(image, digit, PALETTE[colors[d]], top, left)
    return Scene(image, alphas, classes.astype(np.int64), colors.astype(np.int64),
                 np.array(boxes, dtype=np.int64), glyphs.pool.index[picks].astype(np.int64),
                 *_target_and_edit(rng, config, colors))


def _target_and_edit(rng, config, colors):
    """The queried digit and, for recolour, its new colour: uniform among the palette's other colours."""
    target = int(rng.integers(len(colors)))
    if config.task != "recolour":
        return target, -1
    others = [c for c in range(len(PALETTE)) if c != colors[target]]
    return target, int(others[int(rng.integers(len(others)))])



# --------------------------------------------------------------------------- sets of scenes

class Batch(NamedTuple):
    """Model inputs and targets on one backend."""

    X: object    # (N, H, W, 3) float in [0, 1]
    q: object    # (N, Q) the query: one-hot class (Q = 10), none for clutter, class ‖ new colour for recolour
    y: object    # (N,) int64 label: the queried digit's colour, the digit's class (clutter), the new colour
    box: object  # (N, 4) int64 ink box of the queried digit (top, left, bottom, right), exclusive ends
    ink: object = None     # (N, H, W) bool pixels of the queried digit's ink, when asked for (black canvases)
    target: object = None  # recolour: (N, H, W, 3) float, the canvas with only the queried digit recoloured


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
        Which digit the query names (0 for clutter's one digit).
    new_colors : int64 (N,) or None
        Recolour only: the palette index the queried digit is to take.
    task : str
        The task the split belongs to (decides the label and the query).
    """

    images: np.ndarray
    classes: np.ndarray
    colors: np.ndarray
    boxes: np.ndarray
    instances: np.ndarray
    target: np.ndarray
    new_colors: np.ndarray | None = None
    task: str = "mref"

    def __len__(self):
        return len(self.target)

    @property
    def queries(self):
        """(N,) int64 queried class."""
        return self.classes[np.arange(len(self)), self.target]

    @property
    def labels(self):
        """(N,) int64 label: the queried digit's colour index, its class (clutter), the new colour (recolour)."""
        if self.task == "clutter":
            return self.queries
        if self.task == "recolour":
            return self.new_colors
        return self.colors[np.arange(len(self)), self.target]

    @property
    def query_boxes(self):
        """(N, 4) int64 box of the queried digit."""
        return self.boxes[np.arange(len(self)), self.target]

    def query_ink(self, index=None):
        """(n, H, W) bool: the pixels of the queried digit's ink (all samples when ``index`` is None).

        On a black canvas the queried digit's ink is exactly the non-zero
        pixels inside its ink box: digits keep ``min_gap`` pixels apart and
        clutter stays outside every digit box. MBG's photographs break that,
        so MBG has no ink mask.
        """
        if self.task == "mbg":
            raise ValueError("MBG draws digits on photographs: the ink of a digit is not recoverable from the image")
        idx = np.arange(len(self)) if index is None else np.asarray(index)
        images, box = self.images[idx], self.query_boxes[idx]
        P = images.shape[1]
        rows, cols = np.arange(P)[None, :, None], np.arange(P)[None, None, :]
        inside = ((rows >= box[:, 0, None, None]) & (rows < box[:, 2, None, None])
                  & (cols >= box[:, 1, None, None]) & (cols < box[:, 3, None, None]))
        return inside & (images.max(axis=3) > 0)

    def edit_targets(self, index=None):
        """Recolour: uint8 (n, H, W, 3), each canvas with only the queried digit recoloured, exact.

        A digit's pixel of intensity α in a palette colour c ∈ {0, 1}³ holds
        round(255·α) in the channels where c is 1 and 0 elsewhere, so the same
        pixel in the new colour c′ holds that value where c′ is 1: the target
        is the image composited with c′ instead of c, to the last bit.
        """
        if self.task != "recolour":
            raise ValueError(f"only the recolour task has edit targets, not {self.task!r}")
        idx = np.arange(len(self)) if index is None else np.asarray(index)
        images = self.images[idx]
        ink = self.query_ink(idx)
        value = images.max(axis=3)                                                   # (n, H, W)
        new = PALETTE[self.new_colors[idx]].astype(np.uint8)                         # (n, 3)
        out = images.copy()
        out[ink] = (value[..., None] * new[:, None, None, :])[ink]
        return out

    def batch(self, index=None, *, xp=None, dtype="float32", ink=False):
        """The samples at ``index`` (all when None) as model inputs on backend ``xp``.

        Returns
        -------
        Batch with X (n, H, W, 3) = images / 255 and the query q in ``dtype``
        (one-hot class (n, 10); None for clutter; for recolour the one-hot
        class followed by the one-hot new colour, (n, 15)); the label y (n,)
        and box (n, 4) as int64; the ink mask (n, H, W) when ``ink`` (always
        for recolour) and, for recolour, the target canvas (n, H, W, 3).
        """
        xp = resolve_xp(xp)
        idx = np.arange(len(self)) if index is None else np.asarray(index)
        scale = np.asarray(255, dtype=dtype)
        X = self.images[idx].astype(dtype) / scale
        q = target = None
        if self.task in QUERY_TASKS or self.task == "recolour":
            q = np.eye(N_CLASSES, dtype=dtype)[self.queries[idx]]
        if self.task == "recolour":
            q = np.concatenate([q, np.eye(len(PALETTE), dtype=dtype)[self.new_colors[idx]]], axis=1)
            target = xp.asarray(self.edit_targets(idx).astype(dtype) / scale)
            ink = True
        mask = xp.asarray(self.query_ink(idx)) if ink else None
        return Batch(xp.asarray(X), None if q is None else xp.asarray(q), xp.asarray(self.labels[idx]),
                     xp.asarray(self.query_boxes[idx]), mask, target)

    def _arrays(self, prefix):
        return {f"{prefix}_{name}": getattr(self, name) for name in _split_fields(self.task)}


_SPLIT_FIELDS = ("images", "classes", "colors", "boxes", "instances", "target")


def _split_fields(task):
    """The arrays a split of ``task`` stores."""
    return _SPLIT_FIELDS + (("new_colors",) if task == "recolour" else ())


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
    new_colors = np.zeros(n, dtype=np.int64)
    for i in range(n):
        s = draw_scene(rng, config, glyphs, backgrounds)
        out["images"][i] = np.rint(s.image * 255.0)
        out["classes"][i], out["colors"][i] = s.classes, s.colors
        out["boxes"][i], out["instances"][i], out["target"][i] = s.boxes, s.instances, s.target
        new_colors[i] = s.new_color
    if config.task == "recolour":
        out["new_colors"] = new_colors
    return TaskSplit(**out, task=config.task)


# --------------------------------------------------------------------------- cache

def _cache_key(config, n_train, n_test, seed, backgrounds):
    key = {"format_version": FORMAT_VERSION, **config.key(), "n_train": int(n_train),
           "n_test": int(n_test), "seed": int(seed)}
    if config.task == "mbg":
        key["backgrounds"] = list(backgrounds)
    return key


def load_task(task="mref", *, n_train=20000, n_test=2000, seed=0, cache_dir=None, **params):
    """The train and test splits of a task, from the cache when possible.

    Parameters
    ----------
    task : one of :data:`TASKS`
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
    backgrounds = tuple(background_names(load_backgrounds(config.test_fraction))) if task == "mbg" else ()
    key = _cache_key(config, n_train, n_test, seed, backgrounds)
    path = cache_path(cache_dir, key) if cache_dir is not None else None
    fields = _split_fields(task)
    names = [f"{split}_{name}" for split in ("train", "test") for name in fields]
    stored = read_cache(path, key, names) if path is not None and path.exists() else None
    splits = None if stored is None else tuple(
        TaskSplit(**{name: stored[f"{split}_{name}"] for name in fields}, task=task) for split in ("train", "test"))
    if splits is None:
        splits = (generate(config, n_train, split="train", seed=seed),
                  generate(config, n_test, split="test", seed=seed))
        if path is not None:
            write_cache(path, key, {**splits[0]._arrays("train"), **splits[1]._arrays("test")})
    return TaskData(config, splits[0], splits[1], int(seed), backgrounds, path)
