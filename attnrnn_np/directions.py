"""The two scan directions of AttentionRNN.

``fwd`` scans in raster order from the top-left corner. ``bwd`` scans in
inverse-raster order from the bottom-right corner, exactly as docs/model.md §3.3 states
it: the same raster scan, with its own weights, on the map rotated by 180°,
and the result rotated back::

    h_fwd = D_fwd(U_fwd)
    h_bwd = rot180( D_bwd( rot180(U_bwd) ) )

In map coordinates a ``bwd`` cell therefore reads the hidden states of the
cells below and to its right, and the cell state of the cell to its right.
Both scans are run as one batch of D = 2 scans (the second marked
``reverse``), so each wavefront step is a single batched GEMM.

With ``recurrent=False`` (the "independent" ablation) the state-to-state
terms are dropped: every cell sees zero states, so h[i,j] depends on U[i,j]
alone.

Trusted maths (the boundary rule, docs/contributing.md): called with ``xp``
by a public function, these functions check nothing; without ``xp`` they
resolve the module from their arrays, for direct use in tests and notebooks.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module
from .lstm_cell import lstm_cell_backward, lstm_cell_forward
from .scan import diagonal_lstm_backward, diagonal_lstm_forward

__all__ = ["DirectionsCache", "directions_forward", "directions_backward"]

REVERSE = (False, True)  # fwd: raster order; bwd: inverse raster order


class DirectionsCache(NamedTuple):
    recurrent: bool
    inner: object   # scan cache (recurrent) or LSTMCellCache (independent)
    W_shape: tuple  # (2, K, 4K)


def directions_forward(U, W_up, W_left, *, schedule="wavefront", recurrent=True, xp=None):
    """Hidden states of both directions.

    Parameters
    ----------
    U : array (2, N, H, W, 4K)
        Input-to-state pre-activations ``[U_fwd, U_bwd]``, in map coordinates
        (may be a strided view, e.g. of the convolution's (N, H, W, 8K) output).
    W_up, W_left : array (2, K, 4K)
        State-to-state weights, ``[fwd, bwd]`` stacked on the first axis.
    schedule : {"wavefront", "raster"}
    recurrent : bool
        False drops the state-to-state recurrence (the ablation).

    Returns
    -------
    h : array (2, N, H, W, K)
        ``[h_fwd, h_bwd]``, in map coordinates.
    cache : DirectionsCache
    """
    xp = array_module(U, W_up, W_left) if xp is None else xp
    if recurrent:
        h, inner = diagonal_lstm_forward(U, W_up, W_left, schedule=schedule, reverse=REVERSE, xp=xp)
    else:
        K = W_up.shape[1]
        h, _, inner = lstm_cell_forward(U, xp.zeros(U.shape[:-1] + (K,), dtype=U.dtype), xp=xp)
    return h, DirectionsCache(recurrent, inner, W_up.shape)


def directions_backward(dh, cache: DirectionsCache, *, xp=None):
    """Backward of :func:`directions_forward`.

    Parameters
    ----------
    dh : array (2, N, H, W, K)
        ``[dh_fwd, dh_bwd]`` in map coordinates.

    Returns
    -------
    dU : array (2, N, H, W, 4K)
        ``[dU_fwd, dU_bwd]`` in map coordinates.
    dW_up, dW_left : array (2, K, 4K)
        Zero when ``recurrent`` is False.
    """
    xp = array_module(dh) if xp is None else xp
    if cache.recurrent:
        return diagonal_lstm_backward(dh, cache.inner, xp=xp)
    dU, _ = lstm_cell_backward(dh, None, cache.inner, xp=xp)
    return dU, xp.zeros(cache.W_shape, dtype=dh.dtype), xp.zeros(cache.W_shape, dtype=dh.dtype)
