"""Golden values: what a correct implementation returns on each problem, and the files that hold them.

One ``.npz`` per problem, flat names, readable with
``np.load(path, allow_pickle=False)`` and by any language's npz reader:

======================  ====================================================
name                    what
======================  ====================================================
``X``, ``q``, ``dA``    inputs (``q`` absent when Q = 0)
``params.{key}``        parameters in this package's layout (docs/model.md §2, §5)
``torch_params.{key}``  the same parameters in the PyTorch layout (``layout.py``)
``meta.normalize``      "sigmoid" or "softmax" (a 0-d string array)
``meta.scales``         the scales, int64 (absent for the single-scale layer)
``A``                   the mask (N, H, W)
``dX``, ``dq``          gradients of the inputs for upstream gradient ``dA``
``grads.{key}``         gradient of each parameter, this package's key names
intermediates           by the names of :func:`attnrnn_np.verify.trace`
======================  ====================================================

``manifest.json`` lists every file with its problem's sizes and every
array's shape and dtype, and states the layout conventions. Writing the
same problems twice gives byte-identical files (no time stamps; the
``.npz`` members are stored, not compressed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..arnn import arnn_backward, arnn_forward
from ..atomic import write_text_atomic
from ..learn.safe_npz import save_npz_atomic
from ..multiscale import multiscale_arnn_backward, multiscale_arnn_forward
from .problems import Problem
from .problems import problems as all_problems
from .trace import trace, trace_names

__all__ = [
    "SHIPPED_DIR",
    "SHIPPED_PROBLEMS",
    "output_names",
    "reference",
    "golden_arrays",
    "write_golden",
    "load_golden",
]

SHIPPED_DIR = Path(__file__).resolve().parent / "golden"
# The small set inside the package, checked by ``attnrnn-np verify --self``:
# both kernel sizes, both normalisations, a query, a non-square map and a
# multi-scale layer.
SHIPPED_PROBLEMS = ("k3-q3-sigmoid-4x5", "k1-q0-softmax-4x3", "ms12-q2-sigmoid-4x6")

FORMAT_VERSION = 1
INPUT_PREFIXES = ("params.", "torch_params.", "meta.")
INPUT_NAMES = ("X", "q", "dA")

CONVENTIONS = {
    "arrays": "float64, C order; feature maps channels last (N, H, W, C); every intermediate in map coordinates",
    "gate order": "i, f, g, o inside every 4K axis, in both layouts (as torch.nn.LSTM)",
    "params": "this package's layout, docs/model.md §2 (multi-scale: §5, keys prefixed scale{gamma}.)",
    "torch_params": ("{d}.conv.weight (4K, C, k, k), {d}.conv.bias (4K,), {d}.query.weight (4K, Q), "
                     "{d}.up.weight (4K, K), {d}.left.weight (4K, K), head.weight (1, 2K), head.bias (1,); "
                     "multi-scale: scale{gamma}. prefixes and comb.weight (S, C), comb.bias (S,)"),
    "bwd convolution": ("on the map as it is; a module computing rot180(LSTM(rot180(X))) needs bwd.conv.weight "
                        "rotated by 180 degrees (from_torch_layout(..., bwd_flips_input=True))"),
    "grads": "gradient of sum(A * dA) with respect to each input and parameter, names grads.{params key}",
    "intermediates": "U.{d}, gates.{d}, c.{d}, h.{d}, S, A; multi-scale: scale{gamma}. prefixes, beta, S, A",
}


def output_names(problem: Problem):
    """Every name a candidate may supply for ``problem``, in dependency order.

    The intermediates of :func:`~attnrnn_np.verify.trace` first, then ``dX``,
    ``dq`` (only with a query) and ``grads.{key}`` for every parameter.
    """
    names = trace_names(problem.scales)
    names += ["dX"] + (["dq"] if problem.q is not None else [])
    return names + [f"grads.{key}" for key in problem.params]


def reference(problem: Problem):
    """The correct value of every name of :func:`output_names`, computed in float64 by this package."""
    p = problem.astype("float64")
    out = trace(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
    if p.scales is None:
        A, cache = arnn_forward(p.X, p.params, p.q, normalize=p.normalize)
        dX, dq, grads = arnn_backward(p.dA, cache)
    else:
        A, cache = multiscale_arnn_forward(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
        dX, dq, grads = multiscale_arnn_backward(p.dA, cache)
    out["A"] = A
    out["dX"] = dX
    if dq is not None:
        out["dq"] = dq
    out.update({f"grads.{key}": v for key, v in grads.items()})
    return out


def golden_arrays(problem: Problem):
    """The arrays of ``problem``'s golden file: inputs, both layouts, meta, every output."""
    arrays = {"X": problem.X}
    if problem.q is not None:
        arrays["q"] = problem.q
    arrays["dA"] = problem.dA
    arrays["meta.normalize"] = np.array(problem.normalize)
    if problem.scales is not None:
        arrays["meta.scales"] = np.array(problem.scales, dtype=np.int64)
    arrays.update({f"params.{key}": v for key, v in problem.params.items()})
    arrays.update({f"torch_params.{key}": v for key, v in problem.torch_params.items()})
    arrays.update(reference(problem))
    # ascontiguousarray would turn the 0-d string into a 1-d array
    return {name: v if v.ndim == 0 else np.ascontiguousarray(v) for name, v in arrays.items()}


def _manifest_entry(problem, arrays):
    return {
        "name": problem.name,
        "file": f"{problem.name}.npz",
        "sizes": problem.dims,
        "normalize": problem.normalize,
        "scales": None if problem.scales is None else list(problem.scales),
        "arrays": {name: {"shape": list(v.shape), "dtype": str(v.dtype)} for name, v in arrays.items()},
    }


def write_golden(out, problems=None):
    """Write one golden ``.npz`` per problem and ``manifest.json`` into the folder ``out``.

    Parameters
    ----------
    out : str or Path
        Created if missing; files already there with the same names are
        replaced, each atomically.
    problems : list of Problem, optional
        Default: the whole fixed set.

    Returns
    -------
    list of Path
        The files written, manifest last.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problems = all_problems() if problems is None else list(problems)
    written, entries = [], []
    for problem in problems:
        arrays = golden_arrays(problem)
        written.append(save_npz_atomic(out / f"{problem.name}.npz", arrays))
        entries.append(_manifest_entry(problem, arrays))
    manifest = {"format": FORMAT_VERSION, "conventions": CONVENTIONS, "problems": entries}
    path = out / "manifest.json"
    write_text_atomic(path, json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return written + [path]


def load_golden(path):
    """Read one golden file back.

    Returns
    -------
    problem : Problem
        Its inputs, parameters and name (from the file name).
    expected : dict of ndarray
        Every output name of :func:`output_names` found in the file.
    """
    path = Path(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    params = {name[len("params."):]: v for name, v in arrays.items() if name.startswith("params.")}
    torch_params = {name[len("torch_params."):]: v for name, v in arrays.items()
                    if name.startswith("torch_params.")}
    scales = tuple(int(g) for g in arrays["meta.scales"]) if "meta.scales" in arrays else None
    problem = Problem(path.stem, arrays["X"], arrays.get("q"), params, torch_params, arrays["dA"],
                      str(arrays["meta.normalize"].reshape(-1)[0]), scales)
    expected = {name: v for name, v in arrays.items()
                if name not in INPUT_NAMES and not name.startswith(INPUT_PREFIXES)}
    return problem, expected
