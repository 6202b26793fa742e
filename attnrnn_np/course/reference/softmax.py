"""The spatial softmax of the mask (docs/model.md §3.5, ``normalize="softmax"``).

    A[n,i,j] = exp(S[n,i,j]) / Σ_{i',j'} exp(S[n,i',j'])

over all H·W positions of each sample, shifted by each sample's own maximum
so it never overflows.

Exercise ``softmax``: ``spatial_softmax_forward``, ``spatial_softmax_backward``.
"""

from typing import NamedTuple

import numpy as np


class SoftmaxCache(NamedTuple):
    A: np.ndarray  # (N, H, W) the mask, a copy of the one returned


def spatial_softmax_forward(S):
    """Mask from logits.

    Parameters
    ----------
    S : array (N, H, W)

    Returns
    -------
    A : array (N, H, W)
        Positive, each sample's H·W entries sum to 1.
    cache : SoftmaxCache
    """
    # BEGIN SOLUTION softmax: flatten each sample's H×W logits to one axis, subtract that sample's maximum, exponentiate, divide by the sample's sum, reshape back
    N = S.shape[0]
    S2 = S.reshape(N, -1)                                     # (N, H·W)
    E = np.exp(S2 - S2.max(axis=1, keepdims=True))
    A = (E / E.sum(axis=1, keepdims=True)).reshape(S.shape)
    return A, SoftmaxCache(A.copy())
    # END SOLUTION


def spatial_softmax_backward(dA, cache):
    """Backward of :func:`spatial_softmax_forward`: dS (N, H, W) from dA (N, H, W)."""
    # BEGIN SOLUTION softmax: the Jacobian of a softmax is diag(A) − A Aᵀ over the positions it normalises; apply it to dA without forming it
    A = cache.A
    N = A.shape[0]
    inner = (dA * A).reshape(N, -1).sum(axis=1)               # (N,) Σ_{i,j} dA·A per sample
    return A * (dA - inner[:, None, None])
    # END SOLUTION
