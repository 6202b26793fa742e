"""The two scan directions of AttentionRNN.

``fwd`` scans in raster order from the top-left corner. ``bwd`` scans in
inverse-raster order from the bottom-right corner, implemented exactly as
SPEC §3 states it: the same raster scan, with its own weights, on the map
rotated by 180°, and the result rotated back::

    h_fwd = D_fwd(U_fwd)
    h_bwd = rot180( D_bwd( rot180(U_bwd) ) )

In map coordinates a ``bwd`` cell therefore reads the hidden states of the
cells below and to its right, and the cell state of the cell to its right.
Both scans are run as one batch of D = 2 scans, so each wavefront step is a
single batched GEMM.

With ``recurrent=False`` (the "independent" ablation) the state-to-state
terms are dropped: every cell sees zero states, so h[i,j] depends on U[i,j]
alone.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module
from .lstm_cell import lstm_cell_backward, lstm_cell_forward
from .scan import diagonal_lstm_backward, diagonal_lstm_forward

__all__ = ["DirectionsCache", "rot180", "directions_forward", "directions_backward"]


class DirectionsCache(NamedTuple):
    recurrent: bool
    inner: object   # scan cache (recurrent) or LSTMCellCache (independent)
    W_shape: tuple  # (2, K, 4K)


def rot180(a):
    """Rotate a map by 180°: flip rows and columns. ``a``: (N, H, W, ...)."""
    return a[:, ::-1, ::-1]


def directions_forward(U_fwd, U_bwd, W_up, W_left, *, schedule="wavefront", recurrent=True):
    """Hidden states of both directions.

    Parameters
    ----------
    U_fwd, U_bwd : array (N, H, W, 4K)
        Input-to-state pre-activations of each direction, in map coordinates.
    W_up, W_left : array (2, K, 4K)
        State-to-state weights, ``[fwd, bwd]`` stacked on the first axis.
    schedule : {"wavefront", "raster"}
    recurrent : bool
        False drops the state-to-state recurrence (the ablation).

    Returns
    -------
    h_fwd, h_bwd : array (N, H, W, K)
        In map coordinates.
    cache : DirectionsCache
    """
    xp = array_module(U_fwd, U_bwd, W_up, W_left)
    U = xp.stack([U_fwd, rot180(U_bwd)])                      # (2, N, H, W, 4K), bwd rotated
    if recurrent:
        h, inner = diagonal_lstm_forward(U, W_up, W_left, schedule=schedule)
    else:
        K = W_up.shape[1]
        h, _, inner = lstm_cell_forward(U, xp.zeros(U.shape[:-1] + (K,), dtype=U.dtype))
    return h[0], rot180(h[1]), DirectionsCache(recurrent, inner, W_up.shape)


def directions_backward(dh_fwd, dh_bwd, cache: DirectionsCache):
    """Backward of :func:`directions_forward`.

    Returns
    -------
    dU_fwd, dU_bwd : array (N, H, W, 4K)
    dW_up, dW_left : array (2, K, 4K)
        Zero when ``recurrent`` is False.
    """
    xp = array_module(dh_fwd, dh_bwd)
    dh = xp.stack([dh_fwd, rot180(dh_bwd)])                   # (2, N, H, W, K)
    if cache.recurrent:
        dU, dW_up, dW_left = diagonal_lstm_backward(dh, cache.inner)
    else:
        dU, _ = lstm_cell_backward(dh, None, cache.inner)
        dW_up = xp.zeros(cache.W_shape, dtype=dh.dtype)
        dW_left = xp.zeros(cache.W_shape, dtype=dh.dtype)
    return dU[0], rot180(dU[1]), dW_up, dW_left
