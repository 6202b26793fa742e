"""The k×k "same" input-to-state convolution, by im2col and one GEMM.

Cross-correlation with stride 1 and zero padding p = (k − 1)/2, channels
last, exactly as SPEC §3 writes it:

    U[n,i,j,:] = Σ_{a,b=0..k−1} Σ_c X[n, i+a−p, j+b−p, c] · W[a,b,c,:]

with X taken as 0 outside the map. The bias and query terms are added by the
caller; this module only convolves.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module

__all__ = ["ConvCache", "im2col", "col2im", "conv_same_forward", "conv_same_backward"]


class ConvCache(NamedTuple):
    cols: object     # (N, H, W, k, k, C) zero-padded patches of X
    W: object        # (k, k, C, F) kernel
    x_shape: tuple   # (N, H, W, C)


def im2col(X, k):
    """Patches of a zero-padded map: ``cols[n,i,j,a,b,c] = X[n, i+a−p, j+b−p, c]``.

    ``X``: (N, H, W, C). Returns (N, H, W, k, k, C).
    """
    xp = array_module(X)
    N, H, W, C = X.shape
    p = (k - 1) // 2
    Xp = xp.pad(X, ((0, 0), (p, p), (p, p), (0, 0)))  # (N, H+2p, W+2p, C)
    cols = xp.empty((N, H, W, k, k, C), dtype=X.dtype)
    for a in range(k):
        for b in range(k):
            cols[:, :, :, a, b, :] = Xp[:, a:a + H, b:b + W, :]
    return cols


def col2im(dcols, x_shape):
    """Adjoint of :func:`im2col`: scatter-add patch gradients back onto the map.

    ``dcols``: (N, H, W, k, k, C). Returns dX of shape ``x_shape`` (N, H, W, C).
    """
    xp = array_module(dcols)
    N, H, W, C = x_shape
    k = dcols.shape[3]
    p = (k - 1) // 2
    dXp = xp.zeros((N, H + 2 * p, W + 2 * p, C), dtype=dcols.dtype)
    for a in range(k):
        for b in range(k):
            dXp[:, a:a + H, b:b + W, :] += dcols[:, :, :, a, b, :]
    return dXp[:, p:p + H, p:p + W, :]


def conv_same_forward(X, W):
    """k×k "same" convolution of a channels-last map.

    Parameters
    ----------
    X : array (N, H, W, C)
    W : array (k, k, C, F), k odd

    Returns
    -------
    U : array (N, H, W, F)
    cache : ConvCache

    Notes
    -----
    ``U = im2col(X) @ W`` with the patches flattened to (N·H·W, k·k·C) and the
    kernel to (k·k·C, F): one GEMM.
    """
    N, H, Wd, C = X.shape
    k, F = W.shape[0], W.shape[3]
    cols = im2col(X, k)                                            # (N, H, W, k, k, C)
    U = cols.reshape(N * H * Wd, k * k * C) @ W.reshape(k * k * C, F)
    return U.reshape(N, H, Wd, F), ConvCache(cols, W, X.shape)


def conv_same_backward(dU, cache: ConvCache):
    """Backward of :func:`conv_same_forward`.

    Parameters
    ----------
    dU : array (N, H, W, F)

    Returns
    -------
    dX : array (N, H, W, C)
    dW : array (k, k, C, F)

    Notes
    -----
    With ``P = im2col(X)`` flattened to (N·H·W, k·k·C)::

        dW = Pᵀ · dU            dX = col2im(dU · Wᵀ)
    """
    cols, W, x_shape = cache
    N, H, Wd, C = x_shape
    k, F = W.shape[0], W.shape[3]
    dU2 = dU.reshape(N * H * Wd, F)
    dW = (cols.reshape(N * H * Wd, k * k * C).T @ dU2).reshape(W.shape)
    dcols = (dU2 @ W.reshape(k * k * C, F).T).reshape(N, H, Wd, k, k, C)
    return col2im(dcols, x_shape), dW
