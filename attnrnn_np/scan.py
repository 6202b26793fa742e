"""The diagonal LSTM scan in raster order, in two schedules.

Every function here runs D independent scans at once, each with its own
recurrent weights (AttentionRNN uses D = 2: the raster direction and the
inverse-raster direction, the latter fed a map already rotated by 180°).
For one scan d and sample n, with out-of-map states equal to 0::

    G[i,j]  = U[i,j] + h[i−1,j] · W_up + h[i,j−1] · W_left
    h[i,j], c[i,j] = LSTMCell(G[i,j], c[i,j−1])

A cell needs only the cell above and the cell to its left, so all cells on
one anti-diagonal i + j = t are independent. Two schedules compute the same
numbers:

``raster``
    The plain loop over (i, j) in raster order, H·W sequential steps. It
    reads like the equations and is the reference the tests trust.
``wavefront`` (default)
    One step per anti-diagonal, H + W − 1 sequential steps. Only the valid
    cells of each diagonal are computed, stored packed and contiguous (no
    masked skew), and one GEMM of [h_up, h_left] against the stacked
    (2K, 4K) weight serves each step for all D scans. The recurrent weight
    gradients are a single GEMM after the reverse sweep.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module
from .lstm_cell import lstm_cell_backward, lstm_cell_forward

__all__ = [
    "SCHEDULES",
    "diagonals",
    "diagonal_order",
    "diagonal_lstm_forward",
    "diagonal_lstm_backward",
    "RasterScanCache",
    "WavefrontScanCache",
]

SCHEDULES = ("wavefront", "raster")


def diagonals(H, W):
    """The anti-diagonals of an H×W map, in scan order.

    Returns a list of ``(lo, hi)``, one per t = 0 … H+W−2: the cells of
    diagonal t are (i, t − i) for rows i = lo … hi.
    """
    return [(max(0, t - W + 1), min(t, H - 1)) for t in range(H + W - 1)]


def diagonal_order(H, W):
    """Raster indices ``i·W + j`` of all cells, diagonal by diagonal.

    Returns ``(perm, offsets)``, Python lists: ``perm`` (H·W,) lists the cells of diagonal 0,
    then diagonal 1, …, each in increasing row; cells of diagonal t occupy
    ``perm[offsets[t]:offsets[t+1]]``.
    """
    perm, offsets = [], [0]
    for t, (lo, hi) in enumerate(diagonals(H, W)):
        perm.extend(i * W + (t - i) for i in range(lo, hi + 1))
        offsets.append(len(perm))
    return perm, offsets


class RasterScanCache(NamedTuple):
    shape: tuple    # (D, N, H, W, K)
    W_up: object    # (D, K, 4K)
    W_left: object  # (D, K, 4K)
    h: object       # (D, N, H, W, K) hidden states
    cells: list     # [i][j] -> LSTMCellCache of cell (i, j), arrays (D, N, ·)


class WavefrontScanCache(NamedTuple):
    shape: tuple    # (D, N, H, W, K)
    W_rec: object   # (D, 2K, 4K) = [W_up; W_left]
    perm: object    # (H·W,) diagonal-major cell order (backend array)
    h_in: list      # per diagonal t: (D, L_t, N, 2K) = [h_up, h_left]
    cells: list     # per diagonal t: LSTMCellCache, arrays (D, L_t, N, ·)


def _check_schedule(schedule):
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")


def diagonal_lstm_forward(U, W_up, W_left, *, schedule="wavefront"):
    """Run D raster-order diagonal LSTM scans.

    Parameters
    ----------
    U : array (D, N, H, W, 4K)
        Input-to-state pre-activations (bias and query already added).
    W_up, W_left : array (D, K, 4K)
        State-to-state weights from the cell above and from the cell to the left.
    schedule : {"wavefront", "raster"}

    Returns
    -------
    h : array (D, N, H, W, K)
        Hidden states.
    cache : WavefrontScanCache or RasterScanCache
    """
    _check_schedule(schedule)
    if schedule == "raster":
        return _raster_forward(U, W_up, W_left)
    return _wavefront_forward(U, W_up, W_left)


def diagonal_lstm_backward(dh, cache):
    """Backward of :func:`diagonal_lstm_forward`.

    Parameters
    ----------
    dh : array (D, N, H, W, K)
        Gradient of the loss with respect to every hidden state, from outside
        the scan (the head). The gradients the cells pass to each other are
        added here.
    cache : from the forward call

    Returns
    -------
    dU : array (D, N, H, W, 4K)
    dW_up, dW_left : array (D, K, 4K)
        Freshly allocated (never accumulated into anything).
    """
    if isinstance(cache, RasterScanCache):
        return _raster_backward(dh, cache)
    return _wavefront_backward(dh, cache)


# --------------------------------------------------------------------------
# raster: the reference loop
# --------------------------------------------------------------------------

def _raster_forward(U, W_up, W_left):
    xp = array_module(U, W_up, W_left)
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
            h[:, :, i, j], c[:, :, i, j], cells[i][j] = lstm_cell_forward(G, c_left)
    return h, RasterScanCache((D, N, H, W, K), W_up, W_left, h, cells)


def _raster_backward(dh, cache: RasterScanCache):
    xp = array_module(dh)
    D, N, H, W, K = cache.shape
    W_up, W_left, h = cache.W_up, cache.W_left, cache.h
    dh_acc = dh.copy()                               # upstream + what later cells send back
    dc_acc = xp.zeros_like(dh)
    dU = xp.zeros((D, N, H, W, 4 * K), dtype=dh.dtype)
    dW_up = xp.zeros_like(W_up)
    dW_left = xp.zeros_like(W_left)
    for i in reversed(range(H)):
        for j in reversed(range(W)):
            dG, dc_prev = lstm_cell_backward(dh_acc[:, :, i, j], dc_acc[:, :, i, j], cache.cells[i][j])
            dU[:, :, i, j] = dG
            if i > 0:
                dW_up += h[:, :, i - 1, j].transpose(0, 2, 1) @ dG   # (D, K, N) @ (D, N, 4K)
                dh_acc[:, :, i - 1, j] += dG @ W_up.transpose(0, 2, 1)
            if j > 0:
                dW_left += h[:, :, i, j - 1].transpose(0, 2, 1) @ dG
                dh_acc[:, :, i, j - 1] += dG @ W_left.transpose(0, 2, 1)
                dc_acc[:, :, i, j - 1] += dc_prev
    return dU, dW_up, dW_left


# --------------------------------------------------------------------------
# wavefront: one step per anti-diagonal
# --------------------------------------------------------------------------
#
# State buffers are indexed by row with an offset of one: buf[:, r + 1] holds
# the latest state of row r, and buf[:, 0] is the zero state above the map.
# While diagonal t is computed, rows lo..hi of the buffer still hold diagonal
# t − 1, so for the cells (i, t − i), i = lo..hi:
#     h_up   = h(i − 1, t − i)  -> buf[:, lo     : hi + 1]
#     h_left = h(i, t − i − 1)  -> buf[:, lo + 1 : hi + 2]
# A row that has not started yet (i = t, left of column 0) is still zero.

def _to_packed(a, perm):
    """(D, N, H, W, F) -> (D, H·W, N, F), cells in diagonal-major order."""
    D, N, H, W, F = a.shape
    return a.transpose(0, 2, 3, 1, 4).reshape(D, H * W, N, F)[:, perm]


def _from_packed(p, perm, shape):
    """Inverse of :func:`_to_packed`; ``shape`` = (D, N, H, W, F)."""
    xp = array_module(p)
    D, N, H, W, F = shape
    out = xp.empty((D, H * W, N, F), dtype=p.dtype)
    out[:, perm] = p
    return out.reshape(D, H, W, N, F).transpose(0, 3, 1, 2, 4)


def _wavefront_forward(U, W_up, W_left):
    xp = array_module(U, W_up, W_left)
    D, N, H, W, K4 = U.shape
    K = K4 // 4
    perm_host, offsets = diagonal_order(H, W)
    perm = xp.asarray(perm_host)
    Up = _to_packed(U, perm)                              # (D, HW, N, 4K)
    W_rec = xp.concatenate([W_up, W_left], axis=1)        # (D, 2K, 4K)
    h_buf = xp.zeros((D, H + 1, N, K), dtype=U.dtype)
    c_buf = xp.zeros((D, H + 1, N, K), dtype=U.dtype)
    h_in_list, cells, h_list = [], [], []
    for t, (lo, hi) in enumerate(diagonals(H, W)):
        L = hi - lo + 1
        h_in = xp.concatenate([h_buf[:, lo:hi + 1], h_buf[:, lo + 1:hi + 2]], axis=-1)  # (D, L, N, 2K)
        c_left = c_buf[:, lo + 1:hi + 2].copy()           # copied: the buffer is overwritten below
        G = Up[:, offsets[t]:offsets[t + 1]] + (h_in.reshape(D, L * N, 2 * K) @ W_rec).reshape(D, L, N, 4 * K)
        h, c, cell = lstm_cell_forward(G, c_left)         # (D, L, N, K)
        h_buf[:, lo + 1:hi + 2] = h
        c_buf[:, lo + 1:hi + 2] = c
        h_in_list.append(h_in)
        cells.append(cell)
        h_list.append(h)
    h_all = _from_packed(xp.concatenate(h_list, axis=1), perm, (D, N, H, W, K))
    return h_all, WavefrontScanCache((D, N, H, W, K), W_rec, perm, h_in_list, cells)


def _wavefront_backward(dh, cache: WavefrontScanCache):
    xp = array_module(dh)
    D, N, H, W, K = cache.shape
    W_rec_T = cache.W_rec.transpose(0, 2, 1)              # (D, 4K, 2K)
    _, offsets = diagonal_order(H, W)
    dHp = _to_packed(dh, cache.perm)                      # (D, HW, N, K)
    dG_list = [None] * (H + W - 1)
    # Gradients sent back from diagonal t + 1 to diagonal t, by buffer row.
    dh_buf = xp.zeros((D, H + 1, N, K), dtype=dh.dtype)
    dc_buf = xp.zeros((D, H + 1, N, K), dtype=dh.dtype)
    for t, (lo, hi) in reversed(list(enumerate(diagonals(H, W)))):
        L = hi - lo + 1
        dh_t = dHp[:, offsets[t]:offsets[t + 1]] + dh_buf[:, lo + 1:hi + 2]
        dG, dc_prev = lstm_cell_backward(dh_t, dc_buf[:, lo + 1:hi + 2], cache.cells[t])
        dG_list[t] = dG
        d_in = (dG.reshape(D, L * N, 4 * K) @ W_rec_T).reshape(D, L, N, 2 * K)
        dh_buf = xp.zeros_like(dh_buf)
        dh_buf[:, lo:hi + 1] += d_in[..., :K]             # to the cells above
        dh_buf[:, lo + 1:hi + 2] += d_in[..., K:]         # to the cells on the left
        dc_buf = xp.zeros_like(dc_buf)
        dc_buf[:, lo + 1:hi + 2] = dc_prev
    dG_all = xp.concatenate(dG_list, axis=1)              # (D, HW, N, 4K)
    h_in_all = xp.concatenate(cache.h_in, axis=1)         # (D, HW, N, 2K)
    dW_rec = h_in_all.reshape(D, H * W * N, 2 * K).transpose(0, 2, 1) @ dG_all.reshape(D, H * W * N, 4 * K)
    dU = _from_packed(dG_all, cache.perm, (D, N, H, W, 4 * K))
    return dU, dW_rec[:, :K], dW_rec[:, K:]
