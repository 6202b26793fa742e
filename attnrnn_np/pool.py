"""Changing the resolution of a map: non-overlapping max-pooling and nearest upsampling.

The multi-scale layer (docs/model.md §5) runs an ARNN on a copy of X pooled by γ and
brings its logits back to full size by repeating each one over its γ×γ
block::

    X_γ[n,I,J,c] = max_{0≤a,b<γ} X[n, γI+a, γJ+b, c]     (N, H/γ, W/γ, C)
    Up[n,i,j]    = S_γ[n, ⌊i/γ⌋, ⌊j/γ⌋]                   (N, H, W)

Both are linear maps (max-pooling piecewise so) whose adjoints are short:
max-pooling sends each window's gradient to the one element that won, and
nearest upsampling sums the gradient over each block.

Trusted maths (the boundary rule, docs/contributing.md): called with ``xp``
by a public function, these functions check nothing; without ``xp`` they
resolve the module from their arrays, for direct use in tests and notebooks.
"""

from __future__ import annotations

import operator
from typing import NamedTuple

from .backend import array_module

__all__ = [
    "MaxPoolCache",
    "UpsampleCache",
    "check_gamma",
    "maxpool_forward",
    "maxpool_backward",
    "upsample_forward",
    "upsample_backward",
]


class MaxPoolCache(NamedTuple):
    gamma: int
    x_shape: tuple  # (N, H, W, C)
    idx: object     # (N, H/γ, W/γ, C) row-major index a·γ + b of each window's winner; None when γ = 1


class UpsampleCache(NamedTuple):
    gamma: int
    s_shape: tuple  # (N, H/γ, W/γ)


def check_gamma(gamma):
    """Return γ as a Python int; ``TypeError`` unless an integer, ``ValueError`` unless ≥ 1."""
    if isinstance(gamma, bool):
        raise TypeError(f"a scale must be a positive integer, got {gamma!r}")
    try:
        gamma = operator.index(gamma)
    except TypeError:
        raise TypeError(f"a scale must be a positive integer, got {gamma!r}") from None
    if gamma < 1:
        raise ValueError(f"a scale must be a positive integer, got {gamma}")
    return gamma


def maxpool_forward(X, gamma, *, xp=None):
    """Max over non-overlapping γ×γ windows of a channels-last map.

    Parameters
    ----------
    X : array (N, H, W, C)
        γ must divide H and W.
    gamma : int
        Window size and stride, ≥ 1 (γ = 1 returns a copy of X).

    Returns
    -------
    X_g : array (N, H/γ, W/γ, C)
    cache : MaxPoolCache

    Raises
    ------
    ValueError
        γ does not divide H or W, or X is not 4-D.

    Notes
    -----
    ``X_g[n,I,J,c] = max_{0≤a,b<γ} X[n, γI+a, γJ+b, c]``, each channel on its
    own. The winner of each window is recorded as its row-major index a·γ + b;
    among equal maxima the first in row-major order wins (the element nearest
    the window's top row, then its left column).
    """
    if xp is None:  # a direct call; the multi-scale layer passes xp and has checked γ and X
        gamma = check_gamma(gamma)
        if X.ndim != 4:
            raise ValueError(f"X must have shape (N, H, W, C), got shape {X.shape}")
        if X.shape[1] % gamma or X.shape[2] % gamma:
            raise ValueError(f"scale {gamma} does not divide the map: X has shape {tuple(X.shape)} "
                             f"(H={X.shape[1]}, W={X.shape[2]})")
    N, H, W, C = X.shape
    if gamma == 1:
        return X.copy(), MaxPoolCache(1, X.shape, None)
    Hg, Wg = H // gamma, W // gamma
    windows = (X.reshape(N, Hg, gamma, Wg, gamma, C).transpose(0, 1, 3, 2, 4, 5)
               .reshape(N, Hg, Wg, gamma * gamma, C))
    # argmax returns the first maximal entry, and the flattened window is in row-major order.
    idx = windows.argmax(axis=3)                                   # (N, Hg, Wg, C)
    X_g = windows.max(axis=3)
    return X_g, MaxPoolCache(gamma, X.shape, idx)


def maxpool_backward(dX_g, cache: MaxPoolCache, *, xp=None):
    """Backward of :func:`maxpool_forward`: dX (N, H, W, C) from dX_g (N, H/γ, W/γ, C).

    Notes
    -----
    ``dX[n, γI+a, γJ+b, c] = dX_g[n,I,J,c]`` if (a, b) is the recorded winner
    of window (I, J) in channel c, else 0. Ties were broken in the forward
    pass, so exactly one element per window and channel receives the
    gradient: the first maximum in row-major order. Returns a new array.
    """
    gamma = cache.gamma
    if dX_g.shape != _pooled_shape(cache):
        raise ValueError(f"dX_g must have shape {_pooled_shape(cache)}, got {dX_g.shape}")
    if gamma == 1:
        return dX_g.copy()
    xp = array_module(dX_g, cache.idx) if xp is None else xp
    N, H, W, C = cache.x_shape
    Hg, Wg = H // gamma, W // gamma
    winner = xp.arange(gamma * gamma)[:, None] == cache.idx[:, :, :, None, :]        # (N, Hg, Wg, γ², C)
    dwin = xp.where(winner, dX_g[:, :, :, None, :], xp.zeros((), dtype=dX_g.dtype))
    return dwin.reshape(N, Hg, Wg, gamma, gamma, C).transpose(0, 1, 3, 2, 4, 5).reshape(N, H, W, C)


def _pooled_shape(cache):
    N, H, W, C = cache.x_shape
    return (N, H // cache.gamma, W // cache.gamma, C)


def upsample_forward(S, gamma, *, xp=None):
    """Nearest upsampling of a map of logits by an integer factor.

    Parameters
    ----------
    S : array (N, h, w)
    gamma : int
        ≥ 1 (γ = 1 returns a copy of S).

    Returns
    -------
    Up : array (N, γh, γw)
    cache : UpsampleCache

    Notes
    -----
    ``Up[n,i,j] = S[n, ⌊i/γ⌋, ⌊j/γ⌋]``: every coarse value is repeated over
    its γ×γ block.
    """
    if xp is None:  # a direct call; the multi-scale layer passes xp and has checked γ
        gamma = check_gamma(gamma)
        if S.ndim != 3:
            raise ValueError(f"S must have shape (N, h, w), got shape {S.shape}")
        xp = array_module(S)
    N, h, w = S.shape
    if gamma == 1:
        return S.copy(), UpsampleCache(1, S.shape)
    Up = xp.broadcast_to(S[:, :, None, :, None], (N, h, gamma, w, gamma)).reshape(N, h * gamma, w * gamma)
    return Up, UpsampleCache(gamma, S.shape)


def upsample_backward(dUp, cache: UpsampleCache):
    """Backward of :func:`upsample_forward`: dS (N, h, w) from dUp (N, γh, γw).

    Notes
    -----
    Each coarse value was copied to the γ² cells of its block, so its
    gradient is the block sum: ``dS[n,I,J] = Σ_{0≤a,b<γ} dUp[n, γI+a, γJ+b]``.
    Returns a new array.
    """
    gamma = cache.gamma
    N, h, w = cache.s_shape
    if dUp.shape != (N, h * gamma, w * gamma):
        raise ValueError(f"dUp must have shape {(N, h * gamma, w * gamma)}, got {dUp.shape}")
    if gamma == 1:
        return dUp.copy()
    return dUp.reshape(N, h, gamma, w, gamma).sum(axis=(2, 4))
