"""The multi-scale combiner (docs/model.md §5): a per-position mix of the scales' logits.

    Z[n,i,j,s] = X[n,i,j,:] · V[:,s] + c[s]
    β[n,i,j,:] = softmax over s of Z[n,i,j,:]
    S[n,i,j]   = Σ_s β[n,i,j,s] · Up[n,i,j,s]

Given: ``combiner_forward``. Exercise ``combiner``: ``combiner_backward``.
"""

from typing import NamedTuple

import numpy as np


class CombinerCache(NamedTuple):
    X: np.ndarray     # (N, H, W, C)
    V: np.ndarray     # (C, n_s)
    beta: np.ndarray  # (N, H, W, n_s) the weights
    Up: np.ndarray    # (N, H, W, n_s) the scales' upsampled logits


def combiner_forward(X, Up, V, c):
    """Mix the scales' logits with weights predicted from X.

    Parameters
    ----------
    X : array (N, H, W, C)
    Up : array (N, H, W, n_s)
    V : array (C, n_s)
    c : array (n_s,)

    Returns
    -------
    S : array (N, H, W)
    cache : CombinerCache
    """
    Z = X @ V + c                                            # (N, H, W, n_s)
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    beta = E / E.sum(axis=-1, keepdims=True)
    S = (beta * Up).sum(axis=-1)
    return S, CombinerCache(X, V, beta, Up)


def combiner_backward(dS, cache):
    """Backward of :func:`combiner_forward`.

    Parameters
    ----------
    dS : array (N, H, W)

    Returns
    -------
    dX : array (N, H, W, C)
    dUp : array (N, H, W, n_s)
    dV : array (C, n_s)
    dc : array (n_s,)
    """
    # BEGIN SOLUTION combiner: go back through S = Σ_s β_s Up_s, then through the softmax over the scales at each position (its sum runs over the last axis only), then through Z = X·V + c
    X, V, beta, Up = cache.X, cache.V, cache.beta, cache.Up
    C, n_s = V.shape
    dUp = dS[..., None] * beta
    dbeta = dS[..., None] * Up
    dZ = beta * (dbeta - (beta * dbeta).sum(axis=-1, keepdims=True))   # (N, H, W, n_s)
    dX = dZ @ V.T
    dV = X.reshape(-1, C).T @ dZ.reshape(-1, n_s)
    dc = dZ.reshape(-1, n_s).sum(axis=0)
    return dX, dUp, dV, dc
    # END SOLUTION
