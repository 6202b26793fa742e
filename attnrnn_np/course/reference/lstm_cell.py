"""The LSTM cell of the diagonal LSTM (docs/model.md §3.2), in plain NumPy.

The cell owns no weights: its caller has already summed every contribution
into the gate pre-activations G. The 4K axis holds four blocks of K in the
order i, f, g, o (input gate, forget gate, cell candidate, output gate).

Given: ``sigmoid``, ``lstm_cell_forward``. Exercise ``lstm_cell``:
``lstm_cell_backward``.
"""

from typing import NamedTuple

import numpy as np


class CellCache(NamedTuple):
    gates: np.ndarray   # (..., 4K) activated gates [i, f, g, o]
    c_prev: np.ndarray  # (..., K) cell state carried in (from the cell to the left)
    tanh_c: np.ndarray  # (..., K) tanh of the new cell state


def sigmoid(x):
    """σ(x) = ½(1 + tanh(x/2)): stable for any finite x."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def lstm_cell_forward(G, c_prev):
    """One LSTM step from gate pre-activations.

    Parameters
    ----------
    G : array (..., 4K)
        Gate pre-activations, blocks i, f, g, o.
    c_prev : array (..., K)
        Incoming cell state (zeros where there is none).

    Returns
    -------
    h, c : arrays (..., K)
    cache : CellCache

    Notes
    -----
    ::

        i, f, o = σ(G_i), σ(G_f), σ(G_o);   g = tanh(G_g)
        c = f ⊙ c_prev + i ⊙ g
        h = o ⊙ tanh(c)
    """
    K = G.shape[-1] // 4
    i = sigmoid(G[..., :K])
    f = sigmoid(G[..., K:2 * K])
    g = np.tanh(G[..., 2 * K:3 * K])
    o = sigmoid(G[..., 3 * K:])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, CellCache(np.concatenate([i, f, g, o], axis=-1), c_prev, tanh_c)


def lstm_cell_backward(dh, dc, cache):
    """Backward of :func:`lstm_cell_forward`.

    Parameters
    ----------
    dh : array (..., K) or None
        Gradient of the loss with respect to h; None means zero.
    dc : array (..., K) or None
        Gradient with respect to c arriving from later cells; None means
        zero (the last cell of a scan gets none).
    cache : CellCache

    Returns
    -------
    dG : array (..., 4K)
        Blocks i, f, g, o, like G.
    dc_prev : array (..., K)

    Must not modify dh, dc or the cache.
    """
    # BEGIN SOLUTION lstm_cell: follow c = f*c_prev + i*g and h = o*tanh(c) backwards; σ' = σ(1 − σ) and tanh' = 1 − tanh² come from the stored gates
    a, c_prev, tanh_c = cache.gates, cache.c_prev, cache.tanh_c
    K = a.shape[-1] // 4
    i, f, g, o = a[..., :K], a[..., K:2 * K], a[..., 2 * K:3 * K], a[..., 3 * K:]
    if dh is None:
        dh = np.zeros_like(tanh_c)
    if dc is None:
        dc = np.zeros_like(tanh_c)
    dc_tot = dc + dh * o * (1.0 - tanh_c ** 2)     # both paths into c
    dG_i = dc_tot * g * i * (1.0 - i)
    dG_f = dc_tot * c_prev * f * (1.0 - f)
    dG_g = dc_tot * i * (1.0 - g ** 2)
    dG_o = dh * tanh_c * o * (1.0 - o)
    dc_prev = dc_tot * f
    return np.concatenate([dG_i, dG_f, dG_g, dG_o], axis=-1), dc_prev
    # END SOLUTION
