"""The output head: one logit per position from both directions' states.

Trusted maths (the boundary rule, docs/contributing.md): called with ``xp``
by a public function, these functions check nothing; without ``xp`` they
resolve the module from their arrays, for direct use in tests and notebooks.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module

__all__ = ["HeadCache", "head_forward", "head_backward"]


class HeadCache(NamedTuple):
    h: object  # (2, N, H, W, K) = [h_fwd, h_bwd]
    w: object  # (2K,)


def head_forward(h, w, b):
    """Attention logits from the two directions' hidden states.

    Parameters
    ----------
    h : array (2, N, H, W, K)
        ``[h_fwd, h_bwd]``: hidden states of the raster and inverse-raster
        scans, in map coordinates (as :func:`directions_forward` returns them).
    w : array (2K,)
        First K entries read ``h_fwd``, last K read ``h_bwd``.
    b : array (1,)

    Returns
    -------
    S : array (N, H, W)
    cache : HeadCache

    Notes
    -----
    ``S[n,i,j] = h_fwd[n,i,j]·w[:K] + h_bwd[n,i,j]·w[K:] + b``
    """
    K = h.shape[-1]
    S = h[0] @ w[:K] + h[1] @ w[K:] + b[0]
    return S, HeadCache(h, w)


def head_backward(dS, cache: HeadCache, *, xp=None):
    """Backward of :func:`head_forward`.

    Returns ``(dh, dw, db)`` with shapes (2, N, H, W, K), (2K,), (1,)::

        dh = [dS ⊗ w[:K], dS ⊗ w[K:]]
        dw = [Σ dS·h_fwd ; Σ dS·h_bwd]      db = Σ dS
    """
    h, w = cache.h, cache.w
    xp = array_module(dS, w) if xp is None else xp
    _, N, H, W, K = h.shape
    dS2 = dS.reshape(N * H * W)
    dh = dS[None, ..., None] * w.reshape(2, 1, 1, 1, K)
    dw = xp.concatenate([dS2 @ h[0].reshape(N * H * W, K), dS2 @ h[1].reshape(N * H * W, K)])
    db = dS.sum().reshape(1)
    return dh, dw, db
