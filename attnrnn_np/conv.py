"""The k×k "same" input-to-state convolution, by im2col and one GEMM.

Cross-correlation with stride 1 and zero padding p = (k − 1)/2, channels
last, exactly as docs/model.md §3.1 writes it:

    U[n,i,j,:] = Σ_{a,b=0..k−1} Σ_c X[n, i+a−p, j+b−p, c] · W_x[a,b,c,:]

with X taken as 0 outside the map. The bias and query terms are added by the
caller; this module only convolves.

Trusted maths (the boundary rule, docs/contributing.md): called with ``xp``
by a public function, these functions check nothing; without ``xp`` they
resolve the module from their arrays, for direct use in tests and notebooks.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module

__all__ = ["ConvCache", "im2col", "col2im", "conv_same_forward", "conv_same_backward"]


class ConvCache(NamedTuple):
    cols: object     # (N, H, W, k, k, C) zero-padded patches of X
    W_x: object      # (k, k, C, F) kernel
    x_shape: tuple   # (N, H, W, C)


def _tap_ranges(a, b, p, H, W):
    """For tap (a, b): the output rows/cols that read inside the map, and the
    input rows/cols they read (the rest reads the zero padding)."""
    di, dj = a - p, b - p
    i0, i1, j0, j1 = max(0, -di), min(H, H - di), max(0, -dj), min(W, W - dj)
    return (slice(i0, i1), slice(j0, j1)), (slice(i0 + di, i1 + di), slice(j0 + dj, j1 + dj))


def im2col(X, k, *, xp=None):
    """Patches of a zero-padded map: ``cols[n,i,j,a,b,c] = X[n, i+a−p, j+b−p, c]``.

    ``X``: (N, H, W, C). Returns (N, H, W, k, k, C), a new contiguous array.

    The patches are first a strided view of the padded map ``Xp``: moving
    one output cell right and moving one tap right both step one input
    cell, so ``cols[n,i,j,a,b] = Xp[n, i+a, j+b]`` needs only repeated
    strides; one copy then lays the patches out for the GEMM.
    """
    xp = array_module(X) if xp is None else xp
    N, H, W, C = X.shape
    p = (k - 1) // 2
    Xp = xp.zeros((N, H + 2 * p, W + 2 * p, C), dtype=X.dtype)
    Xp[:, p:p + H, p:p + W] = X
    s_n, s_h, s_w, s_c = Xp.strides
    patches = xp.lib.stride_tricks.as_strided(
        Xp, shape=(N, H, W, k, k, C), strides=(s_n, s_h, s_w, s_h, s_w, s_c))
    return xp.ascontiguousarray(patches)


def col2im(dcols, x_shape, out=None, *, xp=None):
    """Adjoint of :func:`im2col`: scatter-add patch gradients back onto the map.

    ``dcols``: (N, H, W, k, k, C). Returns dX of shape ``x_shape`` (N, H, W, C)
    (added into ``out`` when given).
    """
    xp = array_module(dcols) if xp is None else xp
    N, H, W, C = x_shape
    k = dcols.shape[3]
    p = (k - 1) // 2
    dX = xp.zeros(x_shape, dtype=dcols.dtype) if out is None else out
    for a in range(k):
        for b in range(k):
            (oi, oj), (ii, ij) = _tap_ranges(a, b, p, H, W)
            dX[:, ii, ij, :] += dcols[:, oi, oj, a, b, :]
    return dX


def conv_same_forward(X, W_x, *, xp=None):
    """k×k "same" convolution of a channels-last map.

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
    ``U = im2col(X) @ W_x`` with the patches flattened to (N·H·W, k·k·C) and the
    kernel to (k·k·C, F): one GEMM.
    """
    N, H, W, C = X.shape
    k, F = W_x.shape[0], W_x.shape[3]
    cols = im2col(X, k, xp=xp)                                            # (N, H, W, k, k, C)
    U = cols.reshape(N * H * W, k * k * C) @ W_x.reshape(k * k * C, F)
    return U.reshape(N, H, W, F), ConvCache(cols, W_x, X.shape)


def conv_same_backward(dU, cache: ConvCache, *, need_dX=True, xp=None):
    """Backward of :func:`conv_same_forward`.

    Parameters
    ----------
    dU : array (N, H, W, F)
    need_dX : bool
        False skips the input gradient (its GEMM and col2im), for a first
        layer whose input needs none; dX is then None.

    Returns
    -------
    dX : array (N, H, W, C) or None
    dW_x : array (k, k, C, F)

    Notes
    -----
    With ``P = im2col(X)`` flattened to (N·H·W, k·k·C)::

        dW_x = Pᵀ · dU            dX = col2im(dU · W_xᵀ)
    """
    cols, W_x, x_shape = cache.cols, cache.W_x, cache.x_shape
    xp = array_module(dU) if xp is None else xp
    N, H, W, C = x_shape
    k, F = W_x.shape[0], W_x.shape[3]
    dU2 = dU.reshape(N * H * W, F)
    dW_x = (cols.reshape(N * H * W, k * k * C).T @ dU2).reshape(W_x.shape)
    if not need_dX:
        return None, dW_x
    # dX in blocks of samples: each block's patch gradients (B, H, W, k, k, C),
    # about 4 MiB in float32, are still in the cache when col2im reads them,
    # and are recycled by the allocator instead of mapping fresh pages for
    # the whole batch.
    dX = xp.zeros(x_shape, dtype=dU.dtype)
    B = max(1, (1 << 20) // (H * W * k * k * C))
    W_x_T = W_x.reshape(k * k * C, F).T
    for n0 in range(0, N, B):
        dcols = (dU[n0:n0 + B].reshape(-1, F) @ W_x_T).reshape(-1, H, W, k, k, C)
        col2im(dcols, dcols.shape[:3] + (C,), out=dX[n0:n0 + B], xp=xp)
    return dX, dW_x
