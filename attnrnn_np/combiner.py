"""The multi-scale combiner: a per-position, content-dependent mix of the scales' logits.

docs/model.md §5: with n_s scales (docs/model.md writes this count n_s in the shape of
``comb.V``; here S is kept for the logits), every position reads its own
feature column to decide how much each scale counts there::

    Z[n,i,j,s] = X[n,i,j,:] · V[:,s] + c[s]
    β[n,i,j,:] = softmax over s of Z[n,i,j,:]
    S[n,i,j]   = Σ_s β[n,i,j,s] · Up[n,i,j,s]

Trusted maths (the boundary rule, docs/contributing.md): called with ``xp``
by a public function, these functions check nothing; without ``xp`` they
resolve the module from their arrays, for direct use in tests and notebooks.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module

__all__ = ["CombinerCache", "combiner_forward", "combiner_backward"]


class CombinerCache(NamedTuple):
    X: object     # (N, H, W, C)
    V: object     # (C, n_s)
    beta: object  # (N, H, W, n_s) the weights
    Up: object    # (N, H, W, n_s) the scales' upsampled logits


def combiner_forward(X, Up, V, c, *, xp=None):
    """Mix the scales' logits with weights predicted from X.

    Parameters
    ----------
    X : array (N, H, W, C)
        Feature map at full resolution.
    Up : array (N, H, W, n_s)
        Each scale's logits, upsampled to H×W, scales on the last axis.
    V : array (C, n_s)
        ``comb.V``.
    c : array (n_s,)
        ``comb.c``.

    Returns
    -------
    S : array (N, H, W)
        Combined logits.
    cache : CombinerCache

    Notes
    -----
    ::

        Z = X · V + c                       (N, H, W, n_s)
        β = exp(Z − max_s Z) / Σ_s exp(Z − max_s Z)
        S = Σ_s β_s · Up_s

    With one scale β ≡ 1 exactly, so S = Up[..., 0] bit for bit.
    """
    xp = array_module(X, Up, V, c) if xp is None else xp
    Z = X @ V + c                                                   # (N, H, W, n_s)
    E = xp.exp(Z - Z.max(axis=-1, keepdims=True))
    beta = E / E.sum(axis=-1, keepdims=True)
    S = (beta * Up).sum(axis=-1)
    return S, CombinerCache(X, V, beta, Up)


def combiner_backward(dS, cache: CombinerCache):
    """Backward of :func:`combiner_forward`.

    Parameters
    ----------
    dS : array (N, H, W)

    Returns
    -------
    dX : array (N, H, W, C)
        The combiner's share of the gradient of X only (the scales' ARNNs add theirs).
    dUp : array (N, H, W, n_s)
    dV : array (C, n_s)
    dc : array (n_s,)
        All newly allocated.

    Notes
    -----
    ::

        dUp_s = dS · β_s
        dβ_s  = dS · Up_s
        dZ_s  = β_s (dβ_s − Σ_r β_r dβ_r)          softmax backward
        dX    = dZ · Vᵀ     dV = Σ_{n,i,j} X ⊗ dZ     dc = Σ_{n,i,j} dZ

    The softmax backward is shift-free: with one scale dZ = 1·(dβ − dβ) = 0
    exactly, so V and c get zero gradients and X none through the combiner.
    """
    X, V, beta, Up = cache.X, cache.V, cache.beta, cache.Up
    C, n_s = V.shape
    dUp = dS[..., None] * beta
    dbeta = dS[..., None] * Up
    dZ = beta * (dbeta - (beta * dbeta).sum(axis=-1, keepdims=True))   # (N, H, W, n_s)
    dX = dZ @ V.T
    dZ2 = dZ.reshape(-1, n_s)
    dV = X.reshape(-1, C).T @ dZ2
    dc = dZ2.sum(axis=0)
    return dX, dUp, dV, dc
