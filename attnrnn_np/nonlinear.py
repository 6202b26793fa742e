"""Numerically stable elementwise nonlinearities, as forward/backward pairs.

The sigmoid is evaluated with the exponential ``exp(−|x|)`` only,

    σ(x) = 1 / (1 + e^{−x})        for x ≥ 0
    σ(x) = e^{x} / (1 + e^{x})     for x < 0,

so it never overflows and keeps full relative precision in both tails
(σ(−40) = 4.2e−18, not 0). The LSTM gates use the cheaper identity
σ(x) = ½ (1 + tanh(x/2)) instead (see ``lstm_cell.gate_activations``), whose
tails round to exactly 0 or 1 beyond ``|x| ≈ 37``; the gates are only ever used
in sums with O(1) terms, where that is below round-off.

Derivatives are taken from the stored outputs:

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
    """σ(x) elementwise, stable and relatively accurate for any finite x."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))              # in (0, 1]: never overflows
    return xp.where(x >= 0, 1.0, e) / (1.0 + e)


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
