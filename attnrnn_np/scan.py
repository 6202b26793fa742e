"""The diagonal LSTM scan, in two schedules.

Every function here runs D independent scans at once, each with its own
recurrent weights (AttentionRNN uses D = 2: the raster direction and the
inverse-raster direction). For one scan d and sample n, with out-of-map
states equal to 0::

    G[i,j]  = U[i,j] + h[i−1,j] · W_up + h[i,j−1] · W_left
    h[i,j], c[i,j] = LSTMCell(G[i,j], c[i,j−1])

A scan marked ``reverse`` runs in inverse raster order instead, from the
bottom-right corner: by definition (docs/model.md §3.3) it is the same recurrence on
the map rotated by 180°, rotated back, so in map coordinates its cells read
the states below and to the right.

A cell needs only the cell above and the cell to its left, so all cells on
one anti-diagonal i + j = t are independent. Two schedules compute the same
numbers:

``raster``
    The plain loop over (i, j) in raster order, H·W sequential steps, with
    reversed scans literally rotated before and after. It reads like the
    equations and is the reference the tests trust. It lives here.
``wavefront`` (default)
    One step per anti-diagonal, H + W − 1 sequential steps, in
    :mod:`attnrnn_np.wavefront`. Each step reads its diagonal of U (and
    writes h, dU) through a view of the map, so nothing is gathered,
    scattered or rotated as a whole; a reversed scan just walks its
    diagonals from the other corner. Its index arithmetic is derived in
    docs/backward.md §5 and drawn in notebook 02.

This module keeps the public entry points, which dispatch to either
schedule (``diagonals`` and ``WavefrontScanCache`` are re-exported from
:mod:`attnrnn_np.wavefront`).
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module
from .lstm_cell import lstm_cell_backward, lstm_cell_forward
from .wavefront import WavefrontScanCache, diagonals, wavefront_backward, wavefront_forward

__all__ = [
    "SCHEDULES",
    "check_schedule",
    "diagonals",
    "diagonal_lstm_forward",
    "diagonal_lstm_backward",
    "rot180",
    "RasterScanCache",
    "WavefrontScanCache",
]

SCHEDULES = ("wavefront", "raster")


def rot180(a):
    """Rotate maps by 180°: flip rows and columns. ``a``: (N, H, W, ...)."""
    return a[:, ::-1, ::-1]


def _check_reverse(reverse, D):
    reverse = (False,) * D if reverse is None else tuple(bool(r) for r in reverse)
    if len(reverse) != D:
        raise ValueError(f"reverse must give one flag per scan (D={D}), got {len(reverse)}")
    return reverse


class RasterScanCache(NamedTuple):
    shape: tuple    # (D, N, H, W, K)
    reverse: tuple  # per scan: runs in inverse raster order
    W_up: object    # (D, K, 4K)
    W_left: object  # (D, K, 4K)
    h: object       # (D, N, H, W, K) hidden states, each scan in its own (rotated) coordinates
    cells: list     # [i][j] -> LSTMCellCache of cell (i, j), arrays (D, N, ·)


def check_schedule(schedule):
    """Raise ``ValueError`` unless ``schedule`` is a known schedule."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")


def diagonal_lstm_forward(U, W_up, W_left, *, schedule="wavefront", reverse=None, xp=None):
    """Run D diagonal LSTM scans.

    Parameters
    ----------
    U : array (D, N, H, W, 4K)
        Input-to-state pre-activations (bias and query already added), in map
        coordinates. May be a strided view (e.g. of a convolution's output);
        it is only read.
    W_up, W_left : array (D, K, 4K)
        State-to-state weights from the cell above and from the cell to the
        left (in the coordinates of the scan's own order).
    schedule : {"wavefront", "raster"}
    reverse : sequence of D bools, optional
        Scan d runs in inverse raster order when ``reverse[d]``: it equals
        ``rot180(raster scan of rot180(U[d]))``. Default: all raster order.

    Returns
    -------
    h : array (D, N, H, W, K)
        Hidden states, in map coordinates.
    cache : WavefrontScanCache or RasterScanCache

    A caller that passes ``xp`` has checked the arguments (the boundary rule,
    module docstring); without it ``schedule`` and ``reverse`` are checked here.
    """
    if xp is None:
        check_schedule(schedule)
        reverse = _check_reverse(reverse, U.shape[0])
        xp = array_module(U, W_up, W_left)
    if schedule == "raster":
        return _raster_forward(U, W_up, W_left, reverse, xp)
    return wavefront_forward(U, W_up, W_left, reverse, xp=xp)


def diagonal_lstm_backward(dh, cache, *, xp=None):
    """Backward of :func:`diagonal_lstm_forward`.

    Parameters
    ----------
    dh : array (D, N, H, W, K)
        Gradient of the loss with respect to every hidden state, from outside
        the scan (the head), in map coordinates. The gradients the cells pass
        to each other are added here.
    cache : from the forward call

    Returns
    -------
    dU : array (D, N, H, W, 4K)
        In map coordinates. The wavefront schedule returns a view of an
        (N, H, W, D, 4K) array, so a caller that wants the channels of all
        scans side by side gets them without a copy.
    dW_up, dW_left : array (D, K, 4K)
        Freshly allocated (never accumulated into anything).
    """
    xp = array_module(dh) if xp is None else xp
    if isinstance(cache, RasterScanCache):
        return _raster_backward(dh, cache, xp)
    return wavefront_backward(dh, cache, xp=xp)


# --------------------------------------------------------------------------
# raster: the reference loop
# --------------------------------------------------------------------------

def _turn(a, reverse, xp):
    """Rotate by 180° the maps of the reversed scans; ``a``: (D, N, H, W, F)."""
    return xp.stack([rot180(a[d]) if r else a[d] for d, r in enumerate(reverse)])


def _raster_forward(U, W_up, W_left, reverse, xp):
    U = _turn(U, reverse, xp)                                  # each scan now runs in raster order
    D, N, H, W, K4 = U.shape
    K = K4 // 4
    h = xp.zeros((D, N, H, W, K), dtype=U.dtype)
    c = xp.zeros((D, N, H, W, K), dtype=U.dtype)
    zero = xp.zeros((D, N, K), dtype=U.dtype)
    cells = [[None] * W for _ in range(H)]
    for i in range(H):
        for j in range(W):
            h_up = h[:, :, i - 1, j] if i > 0 else zero       # (D, N, K)
            h_left = h[:, :, i, j - 1] if j > 0 else zero
            c_left = c[:, :, i, j - 1] if j > 0 else zero
            G = U[:, :, i, j] + h_up @ W_up + h_left @ W_left  # (D, N, 4K)
            h[:, :, i, j], c[:, :, i, j], cells[i][j] = lstm_cell_forward(G, c_left, xp=xp)
    cache = RasterScanCache((D, N, H, W, K), reverse, W_up, W_left, h, cells)
    return _turn(h, reverse, xp), cache


def _raster_backward(dh, cache: RasterScanCache, xp):
    D, N, H, W, K = cache.shape
    W_up, W_left, h = cache.W_up, cache.W_left, cache.h
    dh_acc = _turn(dh, cache.reverse, xp)                # upstream + what later cells send back (a copy)
    dc_acc = xp.zeros_like(dh_acc)
    dU = xp.zeros((D, N, H, W, 4 * K), dtype=dh.dtype)
    dW_up = xp.zeros_like(W_up)
    dW_left = xp.zeros_like(W_left)
    for i in reversed(range(H)):
        for j in reversed(range(W)):
            dG, dc_prev = lstm_cell_backward(dh_acc[:, :, i, j], dc_acc[:, :, i, j], cache.cells[i][j], xp=xp)
            dU[:, :, i, j] = dG
            if i > 0:
                dW_up += h[:, :, i - 1, j].transpose(0, 2, 1) @ dG   # (D, K, N) @ (D, N, 4K)
                dh_acc[:, :, i - 1, j] += dG @ W_up.transpose(0, 2, 1)
            if j > 0:
                dW_left += h[:, :, i, j - 1].transpose(0, 2, 1) @ dG
                dh_acc[:, :, i, j - 1] += dG @ W_left.transpose(0, 2, 1)
                dc_acc[:, :, i, j - 1] += dc_prev
    return _turn(dU, cache.reverse, xp), dW_up, dW_left
