"""The fixed problem set every implementation is checked on.

Each problem is a complete, small input to the layer in float64: a feature
map, a query or none, parameters in both layouts, an upstream gradient, the
normalisation and, for the multi-scale layer, the scales. Together the
problems cover the cases that a test written around one convenient example
misses (docs/verify.md, "What a narrow test misses"):

- kernel sizes k = 1 and k = 3 (k = 1 hides a kernel that is not rotated);
- Q = 0 and Q > 0 (without a query, a misplaced query term is invisible);
- both normalisations (a softmax over the wrong axis is invisible to sigmoid);
- square and non-square maps, 1×W, H×1 and 1×1 (a transposed map or a
  swapped flip axis agrees on a square map);
- the multi-scale sets (1, 2) and (1, 2, 4);
- non-zero biases and random upstream gradients (a dropped bias term or a
  gradient summed the wrong way agrees when biases are zero or dA is all ones).

The numbers are drawn once from fixed seeds, so every call returns the same
arrays; they are small so that a plain loop over pixels checks all of them
in seconds.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

import numpy as np

from ..arnn import arnn_dims, init_arnn_params
from ..backend import host_rng
from ..multiscale import check_scales, init_multiscale_params, multiscale_dims
from .layout import host_array, to_torch_layout

__all__ = ["Problem", "PROBLEM_SIZES", "GROUPS", "problems", "problem_names", "select_names", "custom_problem"]


@dataclass(frozen=True, eq=False)
class Problem:
    """One fixed input to the layer.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"k3-q3-sigmoid-4x5"``; the golden file is ``{name}.npz``.
    X : ndarray (N, H, W, C)
        Feature map, channels last.
    q : ndarray (N, Q) or None
        Query; None when Q = 0.
    params : dict of ndarray
        Parameters in this package's layout (docs/model.md §2; for the
        multi-scale layer every scale's keys prefixed ``scale{γ}.`` plus
        ``comb.V`` and ``comb.c``, §5).
    torch_params : dict of ndarray
        The same parameters in the PyTorch layout (:func:`to_torch_layout`).
    dA : ndarray (N, H, W)
        Upstream gradient of the mask, drawn at random.
    normalize : {"sigmoid", "softmax"}
    scales : tuple of int or None
        None for the single-scale layer.
    """

    name: str
    X: np.ndarray
    q: np.ndarray | None
    params: dict
    torch_params: dict
    dA: np.ndarray
    normalize: str
    scales: tuple | None = None

    @property
    def dims(self):
        """``dict(N, H, W, C, K, Q, k)``; K and k are read from the first scale's kernel."""
        N, H, W, C = self.X.shape
        prefix = "" if self.scales is None else f"scale{self.scales[0]}."
        k, K = self.params[prefix + "fwd.W_x"].shape[0], self.params[prefix + "fwd.W_x"].shape[3] // 4
        Q = 0 if self.q is None else self.q.shape[1]
        return dict(N=N, H=H, W=W, C=C, K=K, Q=Q, k=k)

    def astype(self, dtype):
        """The same problem with every array copied in ``dtype`` (e.g. ``"float32"``)."""
        cast = lambda a: None if a is None else np.array(a, dtype=dtype)  # noqa: E731
        return replace(self, X=cast(self.X), q=cast(self.q), dA=cast(self.dA),
                       params={key: cast(v) for key, v in self.params.items()},
                       torch_params={key: cast(v) for key, v in self.torch_params.items()})

    def __repr__(self):
        d = self.dims
        scales = "" if self.scales is None else f", scales={self.scales}"
        return (f"Problem({self.name!r}: N={d['N']}, H={d['H']}, W={d['W']}, C={d['C']}, K={d['K']}, "
                f"Q={d['Q']}, k={d['k']}, normalize={self.normalize!r}{scales})")


# name: (N, H, W, C, K, Q, k, normalize, scales). The order is the order of
# the report and of the manifest; seeds are derived from the position.
PROBLEM_SIZES = {
    "k3-q3-sigmoid-4x5": (2, 4, 5, 3, 2, 3, 3, "sigmoid", None),
    "k3-q0-softmax-5x4": (2, 5, 4, 2, 3, 0, 3, "softmax", None),
    "k3-q2-softmax-4x4": (1, 4, 4, 3, 2, 2, 3, "softmax", None),
    "k1-q2-sigmoid-3x4": (2, 3, 4, 3, 2, 2, 1, "sigmoid", None),
    "k1-q0-softmax-4x3": (2, 4, 3, 2, 2, 0, 1, "softmax", None),
    "k3-q0-sigmoid-3x3": (2, 3, 3, 2, 3, 0, 3, "sigmoid", None),
    "row-1x6": (2, 1, 6, 2, 2, 2, 3, "sigmoid", None),
    "column-6x1": (2, 6, 1, 2, 2, 0, 3, "softmax", None),
    "pixel-1x1": (3, 1, 1, 2, 2, 2, 3, "sigmoid", None),
    "ms12-q2-sigmoid-4x6": (2, 4, 6, 3, 2, 2, 3, "sigmoid", (1, 2)),
    "ms124-q0-softmax-8x4": (1, 8, 4, 2, 2, 0, 3, "softmax", (1, 2, 4)),
    "ms124-k1-q2-sigmoid-4x8": (1, 4, 8, 2, 2, 2, 1, "sigmoid", (1, 2, 4)),
}

# A perturbation of the initial parameters: every bias non-zero (the forget
# gate's +1 included), every weight away from its initial draw.
PARAM_NOISE = 0.5


def problem_names():
    """The names of the fixed problems, in order."""
    return list(PROBLEM_SIZES)


GROUPS = {
    "single-scale": lambda sizes: sizes[-1] is None,
    "multi-scale": lambda sizes: sizes[-1] is not None,
}


def select_names(spec):
    """The problem names a ``--problems`` value selects, in the set's order.

    ``spec`` is a comma-separated list of names, shell-style patterns
    (``k3-*``) and the groups ``single-scale`` and ``multi-scale``. Raises
    ValueError for an empty list and for an item that selects nothing.
    """
    items = [item.strip() for item in str(spec).split(",")]
    if not any(items):
        raise ValueError(f"--problems {spec!r} names no problem")
    chosen = set()
    for item in items:
        if not item:
            continue
        if item in GROUPS:
            hits = [n for n, sizes in PROBLEM_SIZES.items() if GROUPS[item](sizes)]
        else:
            hits = fnmatch.filter(PROBLEM_SIZES, item)
        if not hits:
            raise ValueError(f"unknown problem {item!r} (no name, pattern or group matches); "
                             f"known: {', '.join(PROBLEM_SIZES)} and the groups {', '.join(GROUPS)}")
        chosen.update(hits)
    return [n for n in PROBLEM_SIZES if n in chosen]


def _make(index, name, sizes):
    N, H, W, C, K, Q, k, normalize, scales = sizes
    seed = 1000 + index
    rng = host_rng([seed, 1])  # not the stream the initial parameters come from
    if scales is None:
        params = init_arnn_params(C, K, query_dim=Q, kernel_size=k, seed=seed)
    else:
        params = init_multiscale_params(C, K, scales, query_dim=Q, kernel_size=k, seed=seed)
    params = {key: v + rng.normal(0.0, PARAM_NOISE, v.shape) for key, v in params.items()}
    X = rng.normal(size=(N, H, W, C))
    q = rng.normal(size=(N, Q)) if Q else None
    dA = rng.normal(size=(N, H, W))
    return Problem(name, X, q, params, to_torch_layout(params), dA, normalize, scales)


def problems(names=None):
    """The fixed problem set, float64.

    Parameters
    ----------
    names : iterable of str, optional
        Only these problems, in the set's order. Default: all of them.

    Returns
    -------
    list of Problem
        The same arrays on every call (fixed seeds); each call returns new
        arrays, so a candidate that writes into its inputs harms no one.

    Raises
    ------
    KeyError
        An unknown name (the known ones are listed).
    """
    wanted = None if names is None else list(names)
    if wanted is not None:
        unknown = [n for n in wanted if n not in PROBLEM_SIZES]
        if unknown:
            raise KeyError(f"no problem named {', '.join(map(repr, unknown))}; "
                           f"known: {', '.join(PROBLEM_SIZES)}")
    return [_make(index, name, sizes) for index, (name, sizes) in enumerate(PROBLEM_SIZES.items())
            if wanted is None or name in wanted]


def custom_problem(params, *, N=2, H=4, W=5, normalize="sigmoid", scales=None, seed=0, name="custom"):
    """A problem around given parameters, e.g. a PyTorch module's own weights.

    ``verify(candidate, [custom_problem(from_torch_layout(module.state_dict()))])``
    then checks a candidate that runs the module as it is, with no weights
    loaded: X, q and dA are drawn to fit the parameters' sizes.

    Parameters
    ----------
    params : dict of arrays
        This package's layout (docs/model.md §2, or §5 with ``scales``);
        C, K, Q and k are read from the shapes. Cast to float64.
    N, H, W : int
        Sizes of the drawn map (every scale must divide H and W).
    normalize : {"sigmoid", "softmax"}
    scales : sequence of int or None
    seed : int
        For X (N, H, W, C), q (N, Q) and dA (N, H, W), standard normal draws.
    name : str

    Returns
    -------
    Problem
    """
    params = {key: host_array(v).astype(np.float64) for key, v in params.items()}
    if scales is None:
        dims = arnn_dims(params)
    else:
        scales = check_scales(scales)
        dims = multiscale_dims(params, scales)[0]
    rng = host_rng([seed, 2])
    X = rng.normal(size=(N, H, W, dims.C))
    q = rng.normal(size=(N, dims.Q)) if dims.Q else None
    dA = rng.normal(size=(N, H, W))
    return Problem(name, X, q, params, to_torch_layout(params), dA, normalize, scales)
