"""Every intermediate of the layer, by documented names.

:func:`trace` runs the layer's own forward pass once more
(``arnn_logits_forward``, or ``multiscale_arnn_forward`` with its loop over
the scales) and reads what a comparison needs from the layer's caches:
``h``, ``S``, ``beta`` and ``A`` are the layer's arrays; ``U`` is the layer's
convolution applied again to the input it cached; ``gates`` and ``c`` are
recomputed from ``U`` and the neighbours' ``h``. The training path's caches
stay lean; a user who wants to look inside asks for it with this explicit call.

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

from ..arnn import DIRECTIONS, arnn_logits_forward
from ..backend import to_numpy
from ..conv import conv_same_forward
from ..lstm_cell import gate_activations
from ..multiscale import check_scales, multiscale_arnn_forward, scale_prefix
from ..normalize import check_normalize, normalize_forward
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


def _arnn_trace(params, cache):
    """Intermediates of one ARNN (names without prefix), read from the layer's own forward.

    ``cache`` is the ``ARNNCache`` of ``arnn_logits_forward`` (alone, or one
    scale of ``multiscale_arnn_forward``): ``h`` and ``S`` are the layer's;
    ``U`` is the layer's convolution applied again to the input it cached
    (the centre tap of its patches) with the kernel and query weights it
    concatenated, plus the biases.
    """
    prefix, K = cache.prefix, cache.dims.K
    p = (cache.conv.W_x.shape[0] - 1) // 2
    X = cache.conv.cols[:, :, :, p, p, :]                                 # the ARNN's input (N, H, W, C)
    U, _ = conv_same_forward(X, cache.conv.W_x)                           # (N, H, W, 8K), §3.1
    U += np.concatenate([params[f"{prefix}fwd.b"], params[f"{prefix}bwd.b"]])
    if cache.W_q is not None:
        U += (cache.q @ cache.W_q)[:, None, None, :]
    N, H, W = X.shape[:3]
    U_dirs = U.reshape(N, H, W, 2, 4 * K).transpose(3, 0, 1, 2, 4)      # (2, N, H, W, 4K)
    h = cache.directions.inner.h                                          # (2, N, H, W, K), map coordinates
    out = {}
    for n, d in enumerate(DIRECTIONS):
        out[f"U.{d}"] = np.ascontiguousarray(U_dirs[n])
    for n, d in enumerate(DIRECTIONS):
        # The scan's cache is internal; gates and cell states are recomputed
        # from U and the neighbours' h, in the direction's own coordinates.
        turn = rot180 if d == "bwd" else (lambda a: a)
        gates, c = _gates_and_cells(turn(U_dirs[n]), turn(h[n]), params[f"{prefix}{d}.W_up"],
                                    params[f"{prefix}{d}.W_left"])
        out[f"gates.{d}"] = np.ascontiguousarray(turn(gates))
        out[f"c.{d}"] = np.ascontiguousarray(turn(c))
        out[f"h.{d}"] = np.ascontiguousarray(h[n])
    out["S"] = cache.S
    return out


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
    ``h``, ``S`` (and for the multi-scale layer ``beta`` and each scale's
    ``S``) come from the layer's own forward; ``gates`` and ``c`` are
    recomputed from ``U`` and the neighbours' ``h`` (the scan keeps them in
    an internal cache), so they agree with the scan to round-off, while
    ``h``, ``S`` and ``A`` are exactly the layer's.
    """
    check_normalize(normalize)
    X, q = to_numpy(X), to_numpy(q)
    params = {key: to_numpy(v) for key, v in params.items()}
    if scales is None:
        S, cache = arnn_logits_forward(X, params, q)
        out = _arnn_trace(params, cache)
        out["A"], _ = normalize_forward(S, normalize)
        return out
    # The layer's own multi-scale loop (docs/model.md §5); each scale's intermediates from its cache.
    A, cache = multiscale_arnn_forward(X, params, q, scales=check_scales(scales), normalize=normalize)
    out = {}
    for g, sub in zip(cache.scales, cache.arnn, strict=True):
        out.update({scale_prefix(g) + name: v for name, v in _arnn_trace(params, sub).items()})
    out["beta"] = cache.comb.beta                                       # (N, H, W, number of scales)
    out["S"] = cache.S
    out["A"] = A
    return out
