"""Turning attention logits into a mask: sigmoid or spatial softmax.

Trusted maths (the boundary rule, docs/contributing.md): called with ``xp``
by a public function, these functions check nothing; without ``xp`` they
resolve the module from their arrays, for direct use in tests and notebooks.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module
from .nonlinear import sigmoid

__all__ = ["NORMALIZATIONS", "NormalizeCache", "normalize_forward", "normalize_backward"]

NORMALIZATIONS = ("sigmoid", "softmax")


class NormalizeCache(NamedTuple):
    kind: str  # "sigmoid" or "softmax"
    A: object  # (N, H, W) the mask


def check_normalize(normalize):
    """Raise ``ValueError`` unless ``normalize`` is a known normalisation."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"unknown normalize {normalize!r}; expected one of {NORMALIZATIONS}")


def normalize_forward(S, normalize="sigmoid", *, xp=None):
    """Attention mask from logits.

    Parameters
    ----------
    S : array (N, H, W)
    normalize : {"sigmoid", "softmax"}

    Returns
    -------
    A : array (N, H, W)
    cache : NormalizeCache

    Notes
    -----
    ``sigmoid``: A = σ(S), each position in (0, 1) on its own.
    ``softmax``: A[n] = exp(S[n] − max S[n]) / Σ_{i,j} exp(S[n] − max S[n]),
    a distribution over the H·W positions of each sample (max-shifted, so it
    never overflows).
    """
    if xp is None:  # a direct call; the layer's public functions pass xp and have checked normalize
        check_normalize(normalize)
        xp = array_module(S)
    if normalize == "sigmoid":
        A = sigmoid(S, xp=xp)
    else:
        N = S.shape[0]
        S2 = S.reshape(N, -1)
        E = xp.exp(S2 - S2.max(axis=1, keepdims=True))
        A = (E / E.sum(axis=1, keepdims=True)).reshape(S.shape)
    # The cache keeps its own copy: A is the layer's public output, and a caller
    # who edits it in place (A -= target) must not change the gradients.
    return A, NormalizeCache(normalize, A.copy())


def normalize_backward(dA, cache: NormalizeCache):
    """Backward of :func:`normalize_forward`; returns dS (N, H, W).

    ``sigmoid``: dS = dA ⊙ A(1 − A).
    ``softmax``: dS[n] = A[n] ⊙ (dA[n] − Σ_{i,j} dA[n]·A[n]).
    """
    A = cache.A
    if cache.kind == "sigmoid":
        return dA * A * (1.0 - A)
    N = A.shape[0]
    inner = (dA * A).reshape(N, -1).sum(axis=1)
    return A * (dA - inner[:, None, None])
