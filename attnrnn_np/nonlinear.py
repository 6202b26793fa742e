"""Numerically stable elementwise nonlinearities, as forward/backward pairs.

The sigmoid is written through the hyperbolic tangent,

    σ(x) = ½ (1 + tanh(x / 2)),

which never overflows (tanh saturates at ±1 for large |x|) and needs no
branch on the sign of x. Derivatives are taken from the stored outputs:

    σ'(x) = σ(x) (1 − σ(x)),        tanh'(x) = 1 − tanh(x)².
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module

__all__ = [
    "SigmoidCache",
    "TanhCache",
    "sigmoid",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
]


class SigmoidCache(NamedTuple):
    y: object  # σ(x), same shape as x


class TanhCache(NamedTuple):
    y: object  # tanh(x), same shape as x


def sigmoid(x):
    """σ(x) = ½ (1 + tanh(x/2)) elementwise; stable for any finite x."""
    xp = array_module(x)
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


def sigmoid_forward(x):
    """Logistic sigmoid. ``x``: any shape. Returns ``(y, SigmoidCache)``."""
    y = sigmoid(x)
    return y, SigmoidCache(y)


def sigmoid_backward(dy, cache: SigmoidCache):
    """Return dL/dx = dy · σ(x)(1 − σ(x))."""
    y = cache.y
    return dy * y * (1.0 - y)


def tanh_forward(x):
    """Hyperbolic tangent. ``x``: any shape. Returns ``(y, TanhCache)``."""
    xp = array_module(x)
    y = xp.tanh(x)
    return y, TanhCache(y)


def tanh_backward(dy, cache: TanhCache):
    """Return dL/dx = dy · (1 − tanh(x)²)."""
    y = cache.y
    return dy * (1.0 - y * y)
