"""Parameters in the PyTorch layout, and back.

A PyTorch AttentionRNN written the plain way has two submodules ``fwd`` and
``bwd``, one per direction, each holding an ``nn.Conv2d`` (``conv``), an
optional bias-free ``nn.Linear`` for the query (``query``) and two bias-free
``nn.Linear`` for the recurrent states (``up``, ``left``), plus an
``nn.Linear(2K, 1)`` head. Its ``state_dict()`` has exactly these keys:

==========================  ===============  ==================================
key                         shape            this package's parameter
==========================  ===============  ==================================
``{d}.conv.weight``         (4K, C, k, k)    ``{d}.W_x`` (k, k, C, 4K), axes (3, 2, 0, 1)
``{d}.conv.bias``           (4K,)            ``{d}.b``
``{d}.query.weight``        (4K, Q)          ``{d}.W_q`` (Q, 4K), transposed; only when Q > 0
``{d}.up.weight``           (4K, K)          ``{d}.W_up`` (K, 4K), transposed
``{d}.left.weight``         (4K, K)          ``{d}.W_left`` (K, 4K), transposed
``head.weight``             (1, 2K)          ``head.w`` (2K,)
``head.bias``               (1,)             ``head.b``
==========================  ===============  ==================================

The gate order inside every 4K axis is i, f, g, o in both layouts, as in
``torch.nn.LSTM``, so no block is moved. ``nn.Conv2d`` computes a
cross-correlation, as docs/model.md §3.1 does, so the kernel is only
transposed, never flipped. For the multi-scale layer every scale's keys take
the prefix ``scale{γ}.`` in both layouts, and the combiner is an
``nn.Linear(C, number of scales)``: ``comb.weight`` = ``comb.V`` transposed,
``comb.bias`` = ``comb.c``.

The inverse-raster convention
-----------------------------
This package computes the ``bwd`` direction's input-to-state term on the
map as it is, and runs the recurrence on that term rotated by 180°
(docs/model.md §3.3). Many PyTorch implementations instead write the natural
``rot180(LSTM(rot180(X)))``: their convolution runs on the rotated map. The
two agree only if the kernel is rotated too, because

    conv(rot180(X), W)  =  rot180(conv(X, rot180_kernel(W)))

where ``rot180_kernel`` flips both spatial axes of the kernel. Pass
``bwd_flips_input=True`` for such a module: ``bwd.conv.weight`` is then
rotated by 180° in both directions of the map. **With k = 1 the rotation
changes nothing**, so a wrong convention passes every k = 1 check and shows
only at k = 3: always verify with k > 1 (the problem set does).

Both functions are pure NumPy. Values may be NumPy arrays, CuPy arrays or
anything with ``.detach().cpu().numpy()`` (a torch tensor or parameter,
duck-typed: torch is never imported here). Every returned array is a new
NumPy array.
"""

from __future__ import annotations

import re

import numpy as np

from ..arnn import DIRECTIONS
from ..backend import to_numpy

__all__ = ["to_torch_layout", "from_torch_layout", "host_array"]

# (our name, torch name) within one direction
_DIRECTION_KEYS = (("W_x", "conv.weight"), ("b", "conv.bias"), ("W_q", "query.weight"),
                   ("W_up", "up.weight"), ("W_left", "left.weight"))


def host_array(value):
    """``value`` as a new NumPy array: from NumPy, CuPy, or a tensor's ``.detach().cpu().numpy()``."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.array(to_numpy(value), copy=True)


def _prefixes(keys, combiner_keys):
    """The key prefixes of the ARNNs in a dict: ``[""]`` or ``["scale1.", "scale2.", …]``."""
    found = sorted({int(m.group(1)) for key in keys if (m := re.match(r"scale(\d+)\.", key))})
    if not found:
        return [""]
    if not all(key in keys for key in combiner_keys):
        raise KeyError(f"multi-scale parameters (keys 'scale{{γ}}.*') need the combiner keys "
                       f"{list(combiner_keys)}; got {sorted(k for k in keys if not k.startswith('scale'))}")
    return [f"scale{g}." for g in found]


def _rot180_kernel(w):
    """Flip both spatial axes of a (4K, C, k, k) kernel."""
    return w[:, :, ::-1, ::-1]


def _check_keys(got, expected, what):
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        raise KeyError(f"{what}: " + "; ".join(parts))


def to_torch_layout(params, *, bwd_flips_input=False):
    """This package's parameters in the PyTorch layout.

    Parameters
    ----------
    params : dict of arrays
        Keys of docs/model.md §2 (``fwd.W_x`` (k, k, C, 4K), …), or of the
        multi-scale layer (§5: ``scale{γ}.`` prefixes, ``comb.V`` (C, S),
        ``comb.c`` (S,)).
    bwd_flips_input : bool
        For a module whose ``bwd`` direction convolves the rotated map
        (``rot180(LSTM(rot180(X)))``): rotate ``bwd.conv.weight`` by 180°.

    Returns
    -------
    dict of ndarray
        The keys of the table in this module's docstring, in the order a
        module's ``state_dict()`` lists them (``fwd``, ``bwd``, ``head``,
        each scale in turn, then ``comb``).

    Raises
    ------
    KeyError
        Missing or unexpected keys, named.
    """
    params = {key: host_array(v) for key, v in params.items()}
    out, known = {}, set()
    for prefix in _prefixes(params, ("comb.V", "comb.c")):
        for d in DIRECTIONS:
            for ours, theirs in _DIRECTION_KEYS:
                key = f"{prefix}{d}.{ours}"
                if key not in params:
                    if ours == "W_q":
                        continue
                    raise KeyError(f"params has no {key!r}")
                v = params[key]
                if ours == "W_x":
                    v = v.transpose(3, 2, 0, 1)                       # (4K, C, k, k)
                    if d == "bwd" and bwd_flips_input:
                        v = _rot180_kernel(v)
                elif ours != "b":
                    v = v.T                                           # (4K, Q) or (4K, K)
                out[f"{prefix}{d}.{theirs}"] = np.ascontiguousarray(v)
                known.add(key)
        for key in ("head.w", "head.b"):
            if prefix + key not in params:
                raise KeyError(f"params has no {prefix + key!r}")
        out[f"{prefix}head.weight"] = params[prefix + "head.w"].reshape(1, -1)   # (1, 2K)
        out[f"{prefix}head.bias"] = params[prefix + "head.b"].reshape(1)
        known |= {prefix + "head.w", prefix + "head.b"}
    if "comb.V" in params:
        out["comb.weight"] = np.ascontiguousarray(params["comb.V"].T)            # (S, C)
        out["comb.bias"] = params["comb.c"]
        known |= {"comb.V", "comb.c"}
    _check_keys(params, known, "params in this package's layout")
    return out


def from_torch_layout(state_dict, *, bwd_flips_input=False):
    """Parameters (or gradients) in the PyTorch layout, in this package's layout.

    Parameters
    ----------
    state_dict : mapping of arrays or tensors
        A module's ``state_dict()``, or ``{name: p.grad for name, p in
        module.named_parameters()}`` to map its gradients the same way. The
        keys are those of this module's table; ``query.weight`` is absent
        (or has Q = 0 columns) for a layer without a query.
    bwd_flips_input : bool
        True when the module's ``bwd`` direction convolves the rotated map
        (``rot180(LSTM(rot180(X)))``): ``bwd.conv.weight`` is rotated by 180°.
        A gradient maps with the same flag as its parameter.

    Returns
    -------
    dict of ndarray
        Keys and shapes of docs/model.md §2 (or §5 for the multi-scale
        layer), in this package's canonical order.

    Raises
    ------
    KeyError
        Missing or unexpected keys, named.
    """
    sd = {key: host_array(v) for key, v in dict(state_dict).items()}
    out, known = {}, set()
    for prefix in _prefixes(sd, ("comb.weight", "comb.bias")):
        for d in DIRECTIONS:
            for ours, theirs in _DIRECTION_KEYS:
                key = f"{prefix}{d}.{theirs}"
                if key not in sd:
                    if ours == "W_q":
                        continue
                    raise KeyError(f"state_dict has no {key!r}")
                known.add(key)
                v = sd[key]
                if ours == "W_q" and v.size == 0:
                    continue                                           # nn.Linear(0, 4K): no query
                if ours == "W_x":
                    if d == "bwd" and bwd_flips_input:
                        v = _rot180_kernel(v)
                    v = v.transpose(2, 3, 1, 0)                       # (k, k, C, 4K)
                elif ours != "b":
                    v = v.T                                           # (Q, 4K) or (K, 4K)
                out[f"{prefix}{d}.{ours}"] = np.ascontiguousarray(v)
        for key in ("head.weight", "head.bias"):
            if prefix + key not in sd:
                raise KeyError(f"state_dict has no {prefix + key!r}")
        out[f"{prefix}head.w"] = sd[prefix + "head.weight"].reshape(-1)          # (2K,)
        out[f"{prefix}head.b"] = sd[prefix + "head.bias"].reshape(1)
        known |= {prefix + "head.weight", prefix + "head.bias"}
    if "comb.weight" in sd:
        out["comb.V"] = np.ascontiguousarray(sd["comb.weight"].T)                 # (C, S)
        out["comb.c"] = sd["comb.bias"]
        known |= {"comb.weight", "comb.bias"}
    _check_keys(sd, known, "state_dict in the PyTorch layout")
    return out
