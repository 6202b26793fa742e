"""The output head: one logit per position from both directions' states."""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module

__all__ = ["HeadCache", "head_forward", "head_backward"]


class HeadCache(NamedTuple):
    h_fwd: object  # (N, H, W, K)
    h_bwd: object  # (N, H, W, K)
    w: object      # (2K,)


def head_forward(h_fwd, h_bwd, w, b):
    """Attention logits from the two directions' hidden states.

    Parameters
    ----------
    h_fwd, h_bwd : array (N, H, W, K)
        Hidden states of the raster and inverse-raster scans, in map coordinates.
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
    K = h_fwd.shape[-1]
    S = h_fwd @ w[:K] + h_bwd @ w[K:] + b[0]
    return S, HeadCache(h_fwd, h_bwd, w)


def head_backward(dS, cache: HeadCache):
    """Backward of :func:`head_forward`.

    Returns ``(dh_fwd, dh_bwd, dw, db)`` with shapes (N, H, W, K) ×2, (2K,), (1,)::

        dh_fwd = dS ⊗ w[:K]     dh_bwd = dS ⊗ w[K:]
        dw = [Σ dS·h_fwd ; Σ dS·h_bwd]      db = Σ dS
    """
    h_fwd, h_bwd, w = cache
    xp = array_module(dS, w)
    N, H, W, K = h_fwd.shape
    dS2 = dS.reshape(N * H * W)
    dh_fwd = dS[..., None] * w[:K]
    dh_bwd = dS[..., None] * w[K:]
    dw = xp.concatenate([dS2 @ h_fwd.reshape(N * H * W, K), dS2 @ h_bwd.reshape(N * H * W, K)])
    db = dS.sum().reshape(1)
    return dh_fwd, dh_bwd, dw, db
