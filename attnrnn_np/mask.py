"""Applying an attention mask to a feature map (docs/model.md §6): gating and pooling.

::

    gate:  Y[n,i,j,:] = A[n,i,j] · X[n,i,j,:]            (N, H, W, C)
    pool:  z[n,:]     = Σ_{i,j} A[n,i,j] · X[n,i,j,:]    (N, C)

Gating keeps the map (a sigmoid mask dims what is not attended); pooling
reduces it to one vector per sample (with a spatial-softmax mask, z is an
expectation of the feature column under A).

The four functions are public (the boundary rule, docs/contributing.md):
each checks its arrays once (type, backend, shapes) and reads nothing back
to the host; NaN or Inf in A or X propagate to the result.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module
from .validate import check_float_arrays

__all__ = [
    "GateCache",
    "WeightedPoolCache",
    "gate_forward",
    "gate_backward",
    "weighted_pool_forward",
    "weighted_pool_backward",
]


class GateCache(NamedTuple):
    A: object  # (N, H, W)
    X: object  # (N, H, W, C)


class WeightedPoolCache(NamedTuple):
    A: object  # (N, H, W)
    X: object  # (N, H, W, C)


def _check_mask_and_map(A, X):
    check_float_arrays((("A", A), ("X", X)))
    array_module(A, X)
    if X.ndim != 4 or A.shape != X.shape[:3]:
        raise ValueError(f"A must have shape (N, H, W) and X (N, H, W, C) with the same N, H, W; "
                         f"got A {A.shape} and X {X.shape}")


def _check_cache(cache, expected, function):
    # GateCache and WeightedPoolCache have the same fields, so the type itself is checked
    if type(cache) is not expected:
        raise TypeError(f"{function} expects the {expected.__name__} of its forward function, "
                        f"got {type(cache).__name__}")


def gate_forward(A, X):
    """Gate every feature column by its attention value.

    Parameters
    ----------
    A : array (N, H, W)
    X : array (N, H, W, C)

    Returns
    -------
    Y : array (N, H, W, C)
    cache : GateCache

    Notes
    -----
    ``Y[n,i,j,c] = A[n,i,j] · X[n,i,j,c]``
    """
    _check_mask_and_map(A, X)
    return A[..., None] * X, GateCache(A, X)


def gate_backward(dY, cache: GateCache):
    """Backward of :func:`gate_forward`: ``(dA, dX)``, shapes (N, H, W) and (N, H, W, C).

    Notes
    -----
    ``dA[n,i,j] = Σ_c dY[n,i,j,c] · X[n,i,j,c]``,   ``dX = A ⊗ dY`` (A broadcast over c).
    """
    _check_cache(cache, GateCache, "gate_backward")
    A, X = cache.A, cache.X
    check_float_arrays((("dY", dY),))
    array_module(dY, X)
    if dY.shape != X.shape:
        raise ValueError(f"dY must have X's shape {X.shape}, got {dY.shape}")
    return (dY * X).sum(axis=-1), A[..., None] * dY


def weighted_pool_forward(A, X):
    """Attention-weighted sum of the feature columns of each sample.

    Parameters
    ----------
    A : array (N, H, W)
    X : array (N, H, W, C)

    Returns
    -------
    z : array (N, C)
    cache : WeightedPoolCache

    Notes
    -----
    ``z[n,:] = Σ_{i,j} A[n,i,j] · X[n,i,j,:]``, one batched GEMM:
    (N, 1, H·W) @ (N, H·W, C).
    """
    _check_mask_and_map(A, X)
    N, H, W, C = X.shape
    z = (A.reshape(N, 1, H * W) @ X.reshape(N, H * W, C)).reshape(N, C)
    return z, WeightedPoolCache(A, X)


def weighted_pool_backward(dz, cache: WeightedPoolCache):
    """Backward of :func:`weighted_pool_forward`: ``(dA, dX)``, shapes (N, H, W) and (N, H, W, C).

    Notes
    -----
    ``dA[n,i,j] = X[n,i,j,:] · dz[n,:]``,   ``dX[n,i,j,:] = A[n,i,j] · dz[n,:]``.
    """
    _check_cache(cache, WeightedPoolCache, "weighted_pool_backward")
    A, X = cache.A, cache.X
    N, H, W, C = X.shape
    check_float_arrays((("dz", dz),))
    array_module(dz, X)
    if dz.shape != (N, C):
        raise ValueError(f"dz must have shape (N, C) = {(N, C)}, got {dz.shape}")
    dA = (X.reshape(N, H * W, C) @ dz[:, :, None]).reshape(N, H, W)
    dX = A[..., None] * dz[:, None, None, :]
    return dA, dX
