"""The k×k "same" input-to-state convolution (docs/model.md §3.1), by im2col.

Cross-correlation with stride 1 and zero padding p = (k − 1)/2, channels
last::

    U[n,i,j,:] = Σ_{a,b=0..k−1} Σ_c X[n, i+a−p, j+b−p, c] · W_x[a,b,c,:]

with X taken as 0 outside the map.

Given: ``im2col``, ``conv_forward``. Exercise ``conv``: ``col2im``,
``conv_backward``.
"""

from typing import NamedTuple

import numpy as np


class ConvCache(NamedTuple):
    cols: np.ndarray  # (N, H, W, k, k, C) zero-padded patches of X
    W_x: np.ndarray   # (k, k, C, F) kernel


def im2col(X, k):
    """Patches of the zero-padded map: ``cols[n,i,j,a,b,c] = X[n, i+a−p, j+b−p, c]``.

    X : (N, H, W, C). Returns (N, H, W, k, k, C).
    """
    N, H, W, C = X.shape
    p = (k - 1) // 2
    Xp = np.pad(X, ((0, 0), (p, p), (p, p), (0, 0)))   # (N, H + 2p, W + 2p, C)
    cols = np.empty((N, H, W, k, k, C), dtype=X.dtype)
    for a in range(k):
        for b in range(k):
            cols[:, :, :, a, b, :] = Xp[:, a:a + H, b:b + W, :]
    return cols


def col2im(dcols, x_shape):
    """Adjoint of :func:`im2col`: add every patch gradient back onto the map.

    Parameters
    ----------
    dcols : array (N, H, W, k, k, C)
    x_shape : tuple (N, H, W, C)

    Returns
    -------
    dX : array (N, H, W, C)
        ``dX[n, i+a−p, j+b−p, c]`` collects ``dcols[n,i,j,a,b,c]`` over every
        (i, j, a, b) whose tap lands inside the map.
    """
    # BEGIN SOLUTION conv: im2col copies Xp[:, a:a+H, b:b+W] into tap (a, b); col2im adds tap (a, b) back there, into a zero-padded buffer, then crops the padding
    N, H, W, C = x_shape
    k = dcols.shape[3]
    p = (k - 1) // 2
    dXp = np.zeros((N, H + 2 * p, W + 2 * p, C), dtype=dcols.dtype)
    for a in range(k):
        for b in range(k):
            dXp[:, a:a + H, b:b + W, :] += dcols[:, :, :, a, b, :]
    return dXp[:, p:p + H, p:p + W, :]
    # END SOLUTION


def conv_forward(X, W_x):
    """"Same" convolution of a channels-last map.

    Parameters
    ----------
    X : array (N, H, W, C)
    W_x : array (k, k, C, F), k odd

    Returns
    -------
    U : array (N, H, W, F)
    cache : ConvCache

    Notes
    -----
    ``U = P · W_x`` with the patches P = im2col(X) flattened to (N·H·W, k·k·C)
    and the kernel to (k·k·C, F).
    """
    N, H, W, C = X.shape
    k, F = W_x.shape[0], W_x.shape[3]
    cols = im2col(X, k)                                              # (N, H, W, k, k, C)
    U = cols.reshape(N * H * W, k * k * C) @ W_x.reshape(k * k * C, F)
    return U.reshape(N, H, W, F), ConvCache(cols, W_x)


def conv_backward(dU, cache):
    """Backward of :func:`conv_forward`.

    Parameters
    ----------
    dU : array (N, H, W, F)
    cache : ConvCache

    Returns
    -------
    dX : array (N, H, W, C)
    dW_x : array (k, k, C, F)
    """
    # BEGIN SOLUTION conv: U = P · W_x is a matrix product; its two gradients are matrix products too, and the patch gradients go back onto the map through col2im
    cols, W_x = cache.cols, cache.W_x
    N, H, W, k, _, C = cols.shape
    F = W_x.shape[3]
    dU2 = dU.reshape(N * H * W, F)
    dW_x = (cols.reshape(N * H * W, k * k * C).T @ dU2).reshape(W_x.shape)
    dcols = (dU2 @ W_x.reshape(k * k * C, F).T).reshape(cols.shape)   # (N, H, W, k, k, C)
    return col2im(dcols, (N, H, W, C)), dW_x
    # END SOLUTION
