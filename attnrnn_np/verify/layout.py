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

Other layouts
-------------
:class:`Layout` maps any module's tensors both ways from a table of
:class:`Field` rows, each naming their tensor, the keys of ours it holds and
the transform (a transpose, a 180° kernel rotation, pieces of a fused
tensor, Conv1d taps). The plain PyTorch layout above is one such table
(:func:`torch_layout`); :func:`pixelrnn_layout` is the table of a
PixelRNN-style module: one fused ``Conv2d(C, 8K, k)`` for both directions'
input-to-state term, a ``Conv1d(K, 4K, 2)`` per direction for the
state-to-state term on the skewed map, and a ``Conv2d(2K, 1, 1)`` head.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..arnn import DIRECTIONS
from ..backend import to_numpy

__all__ = ["to_torch_layout", "from_torch_layout", "host_array", "Field", "Layout", "torch_layout",
           "pixelrnn_layout", "same", "transposed", "kernel", "fused", "conv1d_taps"]


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


# --------------------------------------------------------------------------
# the table: one row per tensor of the other layout
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One tensor of the other layout: its name, the keys of ours it holds, and the transform both ways.

    ``to_theirs(*ours) -> theirs`` and ``to_ours(theirs) -> tuple of ours``,
    in the order of ``ours``. ``optional`` rows (a query absent when Q = 0)
    are left out when their keys are absent on either side.
    """

    theirs: str
    ours: tuple
    to_theirs: Callable
    to_ours: Callable
    optional: bool = False


def same(ours, theirs, *, optional=False):
    """The same array under another name."""
    return Field(theirs, (ours,), lambda a: a, lambda t: (t,), optional)


def transposed(ours, theirs, *, optional=False):
    """Their array is ours transposed (a Linear's weight (out, in) for our (in, out))."""
    return Field(theirs, (ours,), lambda a: a.T, lambda t: (t.T,), optional)


def kernel(ours, theirs, *, rotate=False):
    """A Conv2d weight (4K, C, k, k) from ours (k, k, C, 4K); ``rotate`` flips both spatial axes too."""
    def to_theirs(w):
        t = w.transpose(3, 2, 0, 1)
        return _rot180_kernel(t) if rotate else t

    def to_ours(t):
        return ((_rot180_kernel(t) if rotate else t).transpose(2, 3, 1, 0),)
    return Field(theirs, (ours,), to_theirs, to_ours)


def fused(theirs, parts, *, axis=0, optional=False):
    """One tensor holding several of ours side by side along ``axis``: ``parts`` are Fields of the pieces.

    Each part is a Field whose ``theirs`` is ignored; its pieces are
    concatenated in order (e.g. ``[fwd 4K; bwd 4K]`` output channels of one
    fused convolution).
    """
    def to_theirs(*arrays):
        pieces, at = [], 0
        for part in parts:
            n = len(part.ours)
            pieces.append(part.to_theirs(*arrays[at:at + n]))
            at += n
        return np.concatenate(pieces, axis=axis)

    def to_ours(t):
        pieces = np.split(t, len(parts), axis=axis)        # equal pieces: every direction has 4K channels
        out = ()
        for part, piece in zip(parts, pieces, strict=True):
            out += tuple(part.to_ours(piece))
        return out
    ours = tuple(key for part in parts for key in part.ours)
    return Field(theirs, ours, to_theirs, to_ours, optional)


def conv1d_taps(up, left, theirs, *, up_tap=0):
    """A ``Conv1d(K, 4K, 2)`` weight (4K, K, 2) holding W_up and W_left (each (K, 4K)) as its two taps.

    ``up_tap`` is the tap that multiplies the previous skewed column's row
    i − 1 (the cell above); the other multiplies row i (the cell to the
    left). With the rows padded at the start (``F.pad(x, (1, 0))``, or
    ``padding=1`` and the last output dropped) that is tap 0.
    """
    order = (0, 1) if up_tap == 0 else (1, 0)

    def to_theirs(w_up, w_left):
        taps = (w_up.T, w_left.T)
        return np.stack([taps[order[0]], taps[order[1]]], axis=-1)

    def to_ours(t):
        taps = {order[0]: t[..., 0].T, order[1]: t[..., 1].T}
        return taps[0], taps[1]
    return Field(theirs, (up, left), to_theirs, to_ours)


class Layout:
    """A module's tensors and this package's parameters, both ways, from a table of :class:`Field` rows.

    ``scaled`` rows repeat for every scale of a multi-scale layer (keys
    prefixed ``scale{γ}.`` on both sides); ``shared`` rows (the combiner)
    appear once.
    """

    def __init__(self, scaled, shared=(), name="layout"):
        self.scaled, self.shared, self.name = tuple(scaled), tuple(shared), name

    def _rows(self, keys, combiner_keys):
        rows = []
        for prefix in _prefixes(keys, combiner_keys):
            for f in self.scaled:
                rows.append((prefix, f))
        if any(k.startswith("scale") for k in keys):
            rows += [("", f) for f in self.shared]
        return rows

    def to_theirs(self, params):
        """This package's parameters (or gradients) as the module's tensors, in the table's order."""
        params = {key: host_array(v) for key, v in params.items()}
        out, used = {}, set()
        for prefix, f in self._rows(params, [k for row in self.shared for k in row.ours]):
            keys = [prefix + k for k in f.ours]
            if any(k not in params for k in keys):
                if f.optional:
                    continue
                raise KeyError(f"params has no {next(k for k in keys if k not in params)!r}")
            out[prefix + f.theirs] = np.ascontiguousarray(f.to_theirs(*(params[k] for k in keys)))
            used.update(keys)
        _check_keys(params, used, "params in this package's layout")
        return out

    def to_ours(self, tensors):
        """The module's tensors (a state_dict, or its gradients) as this package's parameters."""
        sd = {key: host_array(v) for key, v in dict(tensors).items()}
        out, used = {}, set()
        for prefix, f in self._rows(sd, [row.theirs for row in self.shared]):
            key = prefix + f.theirs
            if key not in sd:
                if f.optional:
                    continue
                raise KeyError(f"state_dict has no {key!r}")
            used.add(key)
            if f.optional and sd[key].size == 0:
                continue                                               # e.g. nn.Linear(0, 4K): no query
            for ours, v in zip(f.ours, f.to_ours(sd[key]), strict=True):
                out[prefix + ours] = np.ascontiguousarray(v)
        _check_keys(sd, used, f"state_dict in the {self.name}")
        return _canonical(out)


def _canonical(params):
    """``params`` in this package's key order (docs/model.md §2, §5)."""
    order = ("W_x", "b", "W_q", "W_up", "W_left")

    def rank(key):
        m = re.match(r"(scale(\d+)\.)?(fwd|bwd|head|comb)\.(\w+)$", key)
        if m is None:
            return (1, 0, 0, 0, key)
        scale = int(m.group(2)) if m.group(2) else 0
        part = {"fwd": 0, "bwd": 1, "head": 2, "comb": 3}[m.group(3)]
        name = m.group(4)
        within = order.index(name) if name in order else ("w", "b", "V", "c").index(name)
        return (0, part == 3, scale, part, within)
    return {key: params[key] for key in sorted(params, key=rank)}


def torch_layout(*, bwd_flips_input=False):
    """The table of the plain PyTorch module of this module's docstring."""
    rows = []
    for d in DIRECTIONS:
        rows += [kernel(f"{d}.W_x", f"{d}.conv.weight", rotate=d == "bwd" and bwd_flips_input),
                 same(f"{d}.b", f"{d}.conv.bias"),
                 transposed(f"{d}.W_q", f"{d}.query.weight", optional=True),
                 transposed(f"{d}.W_up", f"{d}.up.weight"),
                 transposed(f"{d}.W_left", f"{d}.left.weight")]
    rows += [Field("head.weight", ("head.w",), lambda w: w.reshape(1, -1), lambda t: (t.reshape(-1),)),
             Field("head.bias", ("head.b",), lambda b: b.reshape(1), lambda t: (t.reshape(1),))]
    shared = [transposed("comb.V", "comb.weight"), same("comb.c", "comb.bias")]
    return Layout(rows, shared, name="PyTorch layout")


def pixelrnn_layout(*, up_tap=0, bwd_flips_input=False):
    """The table of a PixelRNN-style module (names as in docs/verify.md, "Skewed implementations").

    ====================  ===============  =====================================
    tensor                shape            ours
    ====================  ===============  =====================================
    ``i2s.weight``        (8K, C, k, k)    [fwd.W_x; bwd.W_x], one fused Conv2d
    ``i2s.bias``          (8K,)            [fwd.b; bwd.b]
    ``query.weight``      (8K, Q)          [fwd.W_q; bwd.W_q] transposed (Q > 0)
    ``{d}.s2s.weight``    (4K, K, 2)       W_up and W_left as the two taps of a Conv1d
    ``head.weight``       (1, 2K, 1, 1)    head.w, a 1×1 Conv2d over [h_fwd; h_bwd]
    ``head.bias``         (1,)             head.b
    ====================  ===============  =====================================

    A fused convolution on the map as it is needs no kernel rotation
    (``bwd_flips_input=False``); a module that convolves the rotated map
    for its inverse direction passes True.
    """
    rot = bwd_flips_input
    rows = [fused("i2s.weight", [kernel("fwd.W_x", ""), kernel("bwd.W_x", "", rotate=rot)]),
            fused("i2s.bias", [same("fwd.b", ""), same("bwd.b", "")]),
            fused("query.weight", [transposed("fwd.W_q", ""), transposed("bwd.W_q", "")], optional=True)]
    rows += [conv1d_taps(f"{d}.W_up", f"{d}.W_left", f"{d}.s2s.weight", up_tap=up_tap) for d in DIRECTIONS]
    rows += [Field("head.weight", ("head.w",), lambda w: w.reshape(1, -1, 1, 1), lambda t: (t.reshape(-1),)),
             Field("head.bias", ("head.b",), lambda b: b.reshape(1), lambda t: (t.reshape(1),))]
    shared = [transposed("comb.V", "comb.weight"), same("comb.c", "comb.bias")]
    return Layout(rows, shared, name="PixelRNN-style layout")


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
    return torch_layout(bwd_flips_input=bwd_flips_input).to_theirs(params)


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
    return torch_layout(bwd_flips_input=bwd_flips_input).to_ours(state_dict)
