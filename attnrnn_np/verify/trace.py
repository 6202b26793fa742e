"""Every intermediate of the layer, by documented names.

:func:`trace` runs the forward pass once more, composed from the package's
public pieces in the order of docs/model.md §3 and §5, and keeps what a
comparison needs. The training path's caches stay lean; a user who wants to
look inside asks for it with this explicit call.

Names (d ∈ {fwd, bwd}; every array in map coordinates, channels last):

==============  ==============  ===============================================
name            shape           what
==============  ==============  ===============================================
``U.d``         (N, H, W, 4K)   input-to-state pre-activations, bias and query added
``gates.d``     (N, H, W, 4K)   after activation, blocks i, f, g, o
``c.d``         (N, H, W, K)    cell states
``h.d``         (N, H, W, K)    hidden states
``S``           (N, H, W)       logits
``A``           (N, H, W)       the mask
==============  ==============  ===============================================

For the multi-scale layer, scale γ's names take the prefix ``scale{γ}.``
(e.g. ``scale2.h.bwd``, shape (N, H/γ, W/γ, K); ``scale2.S`` is that scale's
logits before upsampling), ``beta`` (N, H, W, number of scales) holds the
combiner's weights, and ``S`` and ``A`` are the combined logits and the mask.
"""

from __future__ import annotations

import numpy as np

from ..arnn import DIRECTIONS, arnn_dims, check_inputs
from ..backend import to_numpy
from ..combiner import combiner_forward
from ..conv import conv_same_forward
from ..directions import directions_forward
from ..head import head_forward
from ..lstm_cell import gate_activations
from ..multiscale import check_scales, multiscale_dims, scale_prefix
from ..normalize import check_normalize, normalize_forward
from ..pool import maxpool_forward, upsample_forward
from ..scan import rot180

__all__ = ["trace", "trace_names"]


def trace_names(scales=None):
    """The names :func:`trace` returns, in dependency order (the order of the report)."""
    per_arnn = ["U.fwd", "U.bwd", "gates.fwd", "c.fwd", "h.fwd", "gates.bwd", "c.bwd", "h.bwd", "S"]
    if scales is None:
        return per_arnn + ["A"]
    names = []
    for g in check_scales(scales):
        names += [scale_prefix(g) + name for name in per_arnn]
    return names + ["beta", "S", "A"]


def _gates_and_cells(U, h, W_up, W_left):
    """Activated gates (N, H, W, 4K) and cell states (N, H, W, K) of one raster scan.

    Given the scan's pre-activations ``U`` and hidden states ``h`` (both in
    the scan's own raster coordinates), every cell's gate input is
    ``G = U + h[i−1, j]·W_up + h[i, j−1]·W_left`` at once; the cell states
    follow along each row, ``c[:, :, j] = f ⊙ c[:, :, j−1] + i ⊙ g``.
    """
    K = h.shape[-1]
    h_up = np.zeros_like(h)
    h_up[:, 1:] = h[:, :-1]
    h_left = np.zeros_like(h)
    h_left[:, :, 1:] = h[:, :, :-1]
    gates = gate_activations(U + h_up @ W_up + h_left @ W_left)
    i, f, g = gates[..., :K], gates[..., K:2 * K], gates[..., 2 * K:3 * K]
    c = np.zeros_like(h)
    c_left = np.zeros_like(h[:, :, 0])
    for j in range(h.shape[2]):
        c[:, :, j] = f[:, :, j] * c_left + i[:, :, j] * g[:, :, j]
        c_left = c[:, :, j]
    return gates, c


def _arnn_trace(X, params, q, prefix):
    """Intermediates of one ARNN (names without prefix) and its logits S."""
    dims = arnn_dims(params, prefix)
    check_inputs(X, q, dims, params[f"{prefix}fwd.W_x"].dtype, prefix)
    K = dims.K
    p = {d: {name: params.get(f"{prefix}{d}.{name}") for name in ("W_x", "b", "W_q", "W_up", "W_left")}
         for d in DIRECTIONS}
    # §3.1, both directions in one convolution, as the layer computes it.
    W_x = np.concatenate([p["fwd"]["W_x"], p["bwd"]["W_x"]], axis=3)     # (k, k, C, 8K)
    U, _ = conv_same_forward(X, W_x)                                      # (N, H, W, 8K)
    U += np.concatenate([p["fwd"]["b"], p["bwd"]["b"]])
    if dims.Q:
        U += (q @ np.concatenate([p["fwd"]["W_q"], p["bwd"]["W_q"]], axis=1))[:, None, None, :]
    N, H, W = X.shape[:3]
    U_dirs = U.reshape(N, H, W, 2, 4 * K).transpose(3, 0, 1, 2, 4)      # (2, N, H, W, 4K)
    # §3.2, §3.3: the hidden states from the layer's own scan.
    W_up = np.stack([p["fwd"]["W_up"], p["bwd"]["W_up"]])                # (2, K, 4K)
    W_left = np.stack([p["fwd"]["W_left"], p["bwd"]["W_left"]])
    h, _ = directions_forward(U_dirs, W_up, W_left)                       # (2, N, H, W, K)
    out = {}
    for n, d in enumerate(DIRECTIONS):
        out[f"U.{d}"] = np.ascontiguousarray(U_dirs[n])
    for n, d in enumerate(DIRECTIONS):
        # The scan's cache is internal; gates and cell states are recomputed
        # from U and the neighbours' h, in the direction's own coordinates.
        turn = rot180 if d == "bwd" else (lambda a: a)
        gates, c = _gates_and_cells(turn(U_dirs[n]), turn(h[n]), W_up[n], W_left[n])
        out[f"gates.{d}"] = np.ascontiguousarray(turn(gates))
        out[f"c.{d}"] = np.ascontiguousarray(turn(c))
        out[f"h.{d}"] = np.ascontiguousarray(h[n])
    S, _ = head_forward(h, params[f"{prefix}head.w"], params[f"{prefix}head.b"])   # §3.4
    out["S"] = S
    return out, S


def trace(X, params, q=None, *, normalize, scales=None):
    """The layer's forward pass with every intermediate, by name.

    Parameters
    ----------
    X : array (N, H, W, C)
        float32 or float64 (the parameters' dtype). CuPy arrays are copied
        to the host: this is a tool for looking inside, not for training.
    params : dict
        Single-scale (docs/model.md §2) or multi-scale (§5) parameters.
    q : array (N, Q) or None
    normalize : {"sigmoid", "softmax"}
    scales : sequence of int or None
        None for the single-scale layer.

    Returns
    -------
    dict of ndarray
        NumPy arrays, the names of :func:`trace_names`, in that order (see the module
        docstring for shapes). ``A`` equals ``arnn_forward``'s (or
        ``multiscale_arnn_forward``'s) mask bit for bit.

    Raises
    ------
    The errors of ``arnn_forward`` / ``multiscale_arnn_forward`` for bad
    shapes, keys, dtypes or scales.

    Notes
    -----
    ``h`` comes from the layer's own scan; ``gates`` and ``c`` are
    recomputed from ``U`` and the neighbours' ``h`` (the scan keeps them in
    an internal cache), so they agree with the scan to round-off and ``h``,
    ``S`` and ``A`` are exactly the layer's.
    """
    check_normalize(normalize)
    X, q = to_numpy(X), to_numpy(q)
    params = {key: to_numpy(v) for key, v in params.items()}
    if scales is None:
        out, S = _arnn_trace(X, params, q, "")
    else:
        scales = check_scales(scales)
        multiscale_dims(params, scales)
        out, ups = {}, []
        for g in scales:
            X_g, _ = maxpool_forward(X, g)                                 # (N, H/γ, W/γ, C)
            sub, S_g = _arnn_trace(X_g, params, q, scale_prefix(g))
            out.update({scale_prefix(g) + name: v for name, v in sub.items()})
            ups.append(upsample_forward(S_g, g)[0])                        # (N, H, W)
        S, comb_cache = combiner_forward(X, np.stack(ups, axis=-1), params["comb.V"], params["comb.c"])
        out["beta"] = comb_cache.beta                                       # (N, H, W, number of scales)
        out["S"] = S
    out["A"], _ = normalize_forward(S, normalize)
    return out
