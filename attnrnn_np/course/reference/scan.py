"""The diagonal LSTM scan in raster order (docs/model.md §3.2), as a loop.

For one direction and every cell (i, j), with states outside the map 0::

    G         = U[n,i,j] + h[n,i−1,j] · W_up + h[n,i,j−1] · W_left
    h, c[n,i,j] = LSTMCell(G, c[n,i,j−1])

Exercise ``raster_forward``: ``raster_scan_forward``. Exercise
``raster_backward``: ``raster_scan_backward``. Optional challenge
``wavefront``: ``wavefront_scan_forward``, the same numbers in H + W − 1
sequential steps.
"""

from typing import NamedTuple

import numpy as np

from .lstm_cell import lstm_cell_backward, lstm_cell_forward


class RasterCache(NamedTuple):
    W_up: np.ndarray    # (K, 4K)
    W_left: np.ndarray  # (K, 4K)
    h: np.ndarray       # (N, H, W, K) the hidden states
    cells: list         # cells[i][j]: the CellCache of cell (i, j), arrays (N, ·)


def raster_scan_forward(U, W_up, W_left):
    """Run the scan cell by cell in raster order (row by row, left to right).

    Parameters
    ----------
    U : array (N, H, W, 4K)
        Input-to-state pre-activations (bias and query already added).
    W_up, W_left : array (K, 4K)
        State-to-state weights from the cell above and from the cell to the left.

    Returns
    -------
    h, c : arrays (N, H, W, K)
        Hidden and cell states of every cell.
    cache : RasterCache
    """
    # BEGIN SOLUTION raster_forward: two nested loops over i then j; read h from the cell above and the cell to the left, c from the cell to the left, zeros outside the map; call lstm_cell_forward once per cell
    N, H, W, K4 = U.shape
    K = K4 // 4
    h = np.zeros((N, H, W, K), dtype=U.dtype)
    c = np.zeros((N, H, W, K), dtype=U.dtype)
    zero = np.zeros((N, K), dtype=U.dtype)
    cells = [[None] * W for _ in range(H)]
    for i in range(H):
        for j in range(W):
            h_up = h[:, i - 1, j] if i > 0 else zero
            h_left = h[:, i, j - 1] if j > 0 else zero
            c_left = c[:, i, j - 1] if j > 0 else zero
            G = U[:, i, j] + h_up @ W_up + h_left @ W_left          # (N, 4K)
            h[:, i, j], c[:, i, j], cells[i][j] = lstm_cell_forward(G, c_left)
    return h, c, RasterCache(W_up, W_left, h, cells)
    # END SOLUTION


def raster_scan_backward(dh, cache):
    """Backward of :func:`raster_scan_forward`.

    Parameters
    ----------
    dh : array (N, H, W, K)
        Gradient of the loss with respect to every hidden state, from outside
        the scan (the head). The gradients the cells pass to each other are
        yours to add.
    cache : RasterCache

    Returns
    -------
    dU : array (N, H, W, 4K)
    dW_up, dW_left : array (K, 4K)

    Must not modify dh or the cache.
    """
    # BEGIN SOLUTION raster_backward: visit the cells in exactly the reverse order; each cell's dG sends gradient up (through W_up) and left (through W_left, and dc_prev to the left cell's c); add, never assign
    W_up, W_left, h, cells = cache.W_up, cache.W_left, cache.h, cache.cells
    N, H, W, K = h.shape
    dh_acc = dh.copy()                          # the head's gradient + what later cells send back
    dc_acc = np.zeros_like(h)
    dU = np.zeros((N, H, W, 4 * K), dtype=dh.dtype)
    dW_up = np.zeros_like(W_up)
    dW_left = np.zeros_like(W_left)
    for i in reversed(range(H)):
        for j in reversed(range(W)):
            dG, dc_prev = lstm_cell_backward(dh_acc[:, i, j], dc_acc[:, i, j], cells[i][j])
            dU[:, i, j] = dG                    # U enters G with weight 1
            if i > 0:
                dW_up += h[:, i - 1, j].T @ dG
                dh_acc[:, i - 1, j] += dG @ W_up.T
            if j > 0:
                dW_left += h[:, i, j - 1].T @ dG
                dh_acc[:, i, j - 1] += dG @ W_left.T
                dc_acc[:, i, j - 1] += dc_prev
    return dU, dW_up, dW_left
    # END SOLUTION


def wavefront_scan_forward(U, W_up, W_left):
    """The same scan, one anti-diagonal i + j = t at a time (optional challenge).

    Same parameters as :func:`raster_scan_forward`; returns ``(h, c)``, equal
    to the raster loop's. Call ``lstm_cell_forward`` exactly once per
    diagonal, on all the diagonal's cells at once: H + W − 1 sequential steps.
    """
    # BEGIN SOLUTION wavefront: the cells of diagonal t are (i, t − i) for i from max(0, t − W + 1) to min(t, H − 1); keep h and c in buffers padded with one zero row on top and one zero column on the left, so no cell needs a special case
    N, H, W, K4 = U.shape
    K = K4 // 4
    hp = np.zeros((N, H + 1, W + 1, K), dtype=U.dtype)   # hp[:, i + 1, j + 1] is cell (i, j)
    cp = np.zeros((N, H + 1, W + 1, K), dtype=U.dtype)
    for t in range(H + W - 1):
        i = np.arange(max(0, t - W + 1), min(t, H - 1) + 1)   # rows of the cells on diagonal t
        j = t - i
        G = U[:, i, j] + hp[:, i, j + 1] @ W_up + hp[:, i + 1, j] @ W_left   # (N, L, 4K)
        h_t, c_t, _ = lstm_cell_forward(G, cp[:, i + 1, j])
        hp[:, i + 1, j + 1] = h_t
        cp[:, i + 1, j + 1] = c_t
    return hp[:, 1:, 1:], cp[:, 1:, 1:]
    # END SOLUTION
