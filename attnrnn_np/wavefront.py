"""The wavefront schedule of the diagonal LSTM scan: one step per anti-diagonal.

A cell (i, j) reads only the cell above and the cell to its left, so the
cells of one anti-diagonal i + j = t are independent and the scan needs
H + W − 1 sequential steps instead of H·W. This module computes the same
numbers as the raster reference loop in :mod:`attnrnn_np.scan` (the tests
compare them to 1e−12), which is also where the public entry points
``diagonal_lstm_forward`` / ``diagonal_lstm_backward`` (``schedule="wavefront"``,
the default) live.

The index arithmetic is derived in docs/backward.md §5 ("The wavefront
schedule": a diagonal as a slice with step W − 1, the row-indexed state
buffers, the recurrent weight gradient) and §6 (a reversed scan walks the
same slices from the other corner); notebook 02 (notebooks/02_scans.py)
draws the diagonals, the buffers and what each step reads. Read those first:
the recurrence itself reads more plainly in the raster loop.

Only the valid cells of each diagonal are computed, stored packed and
contiguous (no masked skew), and one GEMM of [h_up, h_left] against the
stacked (2K, 4K) weight serves each step for all D scans. The recurrent
weight gradients are accumulated with one GEMM per step.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module
from .lstm_cell import lstm_cell_backward, lstm_cell_forward

__all__ = ["diagonals", "WavefrontScanCache", "wavefront_forward", "wavefront_backward"]


def diagonals(H, W):
    """The anti-diagonals of an H×W map, in scan order.

    Returns a list of ``(lo, hi)``, one per t = 0 … H+W−2: the cells of
    diagonal t are (i, t − i) for rows i = lo … hi.
    """
    return [(max(0, t - W + 1), min(t, H - 1)) for t in range(H + W - 1)]


class WavefrontScanCache(NamedTuple):
    shape: tuple    # (D, N, H, W, K)
    reverse: tuple  # per scan: runs in inverse raster order
    W_rec: object   # (D, 2K, 4K) = [W_up; W_left]
    h: object       # (D, N, H, W, K) hidden states, map coordinates (the forward's output)
    cells: list     # per diagonal t: LSTMCellCache, arrays (D, L_t, N, ·)


# Only the valid cells of a diagonal are computed, as a contiguous
# (D, L, N, ·) block. Arrays in map coordinates (U, h, dh, dU)
# are never gathered or scattered as a whole: each step reads and writes its
# diagonal through a view, a slice of the map's cells (``_diagonal``).
#
# State buffers are indexed by row with an offset of one: buf[:, r + 1] holds
# the latest state of row r, and buf[:, 0] is the zero state above the map.
# While diagonal t is computed, rows lo..hi of the buffer still hold diagonal
# t − 1, so for the cells (i, t − i), i = lo..hi:
#     h_up   = h(i − 1, t − i)  -> buf[:, lo     : hi + 1]
#     h_left = h(i, t − i − 1)  -> buf[:, lo + 1 : hi + 2]
# A row that has not started yet (i = t, left of column 0) is still zero.

def _diagonal(a, W, t, lo, hi, reverse):
    """The cells of anti-diagonal t, rows lo … hi, as an (L, N, F) view of ``a``.

    ``a`` (N, H·W, F) holds maps with their cells in raster order (index
    i·W + j). Cell (i, t − i) has index t + i·(W − 1), so a diagonal is a
    slice with step W − 1: no copy, and writing into it writes the map. For a
    ``reverse`` scan, row i' of diagonal t of the rotated map is map cell
    (H − 1 − i', W − 1 − t + i'), index H·W − 1 − t − i'·(W − 1): the same
    slice walked backwards from the other end.
    """
    HW = a.shape[1]
    step = max(W - 1, 1)                  # W = 1: one cell per diagonal, any step will do
    if reverse:
        first = HW - 1 - t - lo * (W - 1)
        last = first - (hi - lo) * (W - 1)
        cells = slice(first, last - 1 if last > 0 else None, -step)
    else:
        first = t + lo * (W - 1)
        cells = slice(first, first + (hi - lo) * (W - 1) + 1, step)
    return a[:, cells].transpose(1, 0, 2)


def _neighbour_states(h_pairs, h_cells, W, t, diags, reverse):
    """[h_up, h_left] (D, L, N, 2K) read by the cells of diagonal t, a view of ``h_pairs``.

    Rebuilds, from the hidden states of diagonal t − 1 in ``h_cells``
    (D, N, H·W, K), the pairs buffer (D, H + 1, N, 2K) the forward step read
    from (see :func:`wavefront_forward`). The backward sweep passes the same
    buffer for t = H + W − 2, …, 0: slot 0's h_up (above the map) is never
    written, and the h_left of a row that starts on diagonal t is cleared.
    """
    D, K = h_cells.shape[0], h_cells.shape[-1]
    lo, hi = diags[t]
    p_lo, p_hi = diags[t - 1] if t > 0 else (0, -1)   # diagonal −1 is empty
    if t > 0:
        for d in range(D):
            h = _diagonal(h_cells[d], W, t - 1, p_lo, p_hi, reverse[d])
            h_pairs[d, p_lo + 1:p_hi + 2, :, :K] = h      # as h_up of the rows below
            h_pairs[d, p_lo:p_hi + 1, :, K:] = h          # as h_left of the same rows
    if hi > p_hi:
        h_pairs[:, hi, :, K:] = 0.0                       # row hi starts here: no cell on its left
    return h_pairs[:, lo:hi + 1]


def wavefront_forward(U, W_up, W_left, reverse, *, xp=None):
    """The scans of :func:`attnrnn_np.scan.diagonal_lstm_forward`, one step per anti-diagonal.

    Parameters
    ----------
    U : array (D, N, H, W, 4K)
        Input-to-state pre-activations in map coordinates (only read).
    W_up, W_left : array (D, K, 4K)
    reverse : tuple of D bools
        Scan d walks the diagonals from the bottom-right corner when ``reverse[d]``.

    Returns
    -------
    h : array (D, N, H, W, K)
        Hidden states in map coordinates, a view of an (N, H, W, D, K) array.
    cache : WavefrontScanCache
    """
    xp = array_module(U, W_up, W_left) if xp is None else xp
    D, N, H, W, K4 = U.shape
    K = K4 // 4
    W_rec = xp.concatenate([W_up, W_left], axis=1)        # (D, 2K, 4K)
    # h in map coordinates, stored (N, H, W, D, K) so the scans' states sit side by side.
    h_map = xp.empty((N, H, W, D, K), dtype=U.dtype).transpose(3, 0, 1, 2, 4)
    h_cells = h_map.reshape(D, N, H * W, K)               # the same memory, cells in raster order
    U_cells = U.reshape(D, N, H * W, 4 * K)               # a view (a copy if U's rows and columns do not merge)
    # The h buffer (buf above) holds each slot twice, as pairs: h_pairs[:, r] =
    # [buf[r], buf[r + 1]] = [h_up, h_left] of a cell in row r, so the input
    # of the cells lo … hi is the block h_pairs[:, lo : hi + 1].
    h_pairs = xp.zeros((D, H + 1, N, 2 * K), dtype=U.dtype)
    c_buf = xp.zeros((D, H + 1, N, K), dtype=U.dtype)
    cells = []
    for t, (lo, hi) in enumerate(diagonals(H, W)):
        L = hi - lo + 1
        h_in = h_pairs[:, lo:hi + 1]                      # (D, L, N, 2K), a view
        c_left = c_buf[:, lo + 1:hi + 2].copy()           # copied: the buffer is overwritten below
        G = (h_in.reshape(D, L * N, 2 * K) @ W_rec).reshape(D, L, N, 4 * K)
        for d in range(D):
            G[d] += _diagonal(U_cells[d], W, t, lo, hi, reverse[d])
        h, c, cell = lstm_cell_forward(G, c_left, overwrite_G=True, xp=xp)  # (D, L, N, K)
        h_pairs[:, lo + 1:hi + 2, :, :K] = h              # slots lo + 1 … hi + 1: as h_up of the rows below
        h_pairs[:, lo:hi + 1, :, K:] = h                  # and as h_left of the same rows
        c_buf[:, lo + 1:hi + 2] = c
        for d in range(D):
            _diagonal(h_cells[d], W, t, lo, hi, reverse[d])[...] = h[d]
        cells.append(cell)
    return h_map, WavefrontScanCache((D, N, H, W, K), reverse, W_rec, h_map, cells)


def wavefront_backward(dh, cache: WavefrontScanCache, *, xp=None):
    """Backward of :func:`wavefront_forward`, diagonals t = H + W − 2, …, 0.

    Parameters
    ----------
    dh : array (D, N, H, W, K)
        Gradient with respect to every hidden state from outside the scan, in
        map coordinates (only read).
    cache : WavefrontScanCache

    Returns
    -------
    dU : array (D, N, H, W, 4K)
        A view of an (N, H, W, D, 4K) array.
    dW_up, dW_left : array (D, K, 4K)
        Views of one freshly allocated (D, 2K, 4K) array.
    """
    xp = array_module(dh) if xp is None else xp
    D, N, H, W, K = cache.shape
    reverse = cache.reverse
    diags = diagonals(H, W)
    W_rec_T = cache.W_rec.transpose(0, 2, 1)              # (D, 4K, 2K)
    dW_rec = xp.zeros_like(cache.W_rec)                   # (D, 2K, 4K)
    dU = xp.empty((N, H, W, D, 4 * K), dtype=dh.dtype).transpose(3, 0, 1, 2, 4)  # (D, N, H, W, 4K) view
    dU_cells = dU.reshape(D, N, H * W, 4 * K)             # the same memory, cells in raster order
    dh_cells = dh.reshape(D, N, H * W, K)
    h_cells = cache.h.reshape(D, N, H * W, K)
    h_pairs = xp.zeros((D, H + 1, N, 2 * K), dtype=dh.dtype)   # for _neighbour_states
    # Gradients sent back from diagonal t + 1 to diagonal t, by buffer row.
    dh_buf = xp.zeros((D, H + 1, N, K), dtype=dh.dtype)
    dc_buf = xp.zeros((D, H + 1, N, K), dtype=dh.dtype)
    for t in reversed(range(len(diags))):
        lo, hi = diags[t]
        L = hi - lo + 1
        dh_t = dh_buf[:, lo + 1:hi + 2]                   # (D, L, N, K): what diagonal t + 1 sent back
        for d in range(D):
            dh_t[d] += _diagonal(dh_cells[d], W, t, lo, hi, reverse[d])     # plus the head's gradient
        dG, dc_prev = lstm_cell_backward(dh_t, dc_buf[:, lo + 1:hi + 2], cache.cells[t], xp=xp)
        for d in range(D):
            _diagonal(dU_cells[d], W, t, lo, hi, reverse[d])[...] = dG[d]   # U enters G with weight 1
        dG = dG.reshape(D, L * N, 4 * K)
        h_in = _neighbour_states(h_pairs, h_cells, W, t, diags, reverse).reshape(D, L * N, 2 * K)
        dW_rec += h_in.transpose(0, 2, 1) @ dG
        d_in = (dG @ W_rec_T).reshape(D, L, N, 2 * K)
        # Diagonal t − 1 reads rows lo − 1 … hi of the buffers: clear what diagonal t + 1 left there.
        dh_buf[:, lo:hi + 2] = 0.0
        dh_buf[:, lo:hi + 1] += d_in[..., :K]             # to the cells above
        dh_buf[:, lo + 1:hi + 2] += d_in[..., K:]         # to the cells on the left
        # Diagonal t − 1 reads dc from rows lo − 1 … hi. Rows lo … hi get dc_prev
        # here; no clear is needed for row lo − 1 (slot lo): only the diagonals
        # t' > t ran before, and they write slots lo(t') + 1 … with lo(t') ≥ lo,
        # so slot lo still holds its initial zero, the dc of a cell in the last
        # column, which has no cell on its right.
        dc_buf[:, lo + 1:hi + 2] = dc_prev
    return dU, dW_rec[:, :K], dW_rec[:, K:]
