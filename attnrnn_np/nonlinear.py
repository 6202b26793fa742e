"""The numerically stable logistic sigmoid.

The sigmoid is evaluated with the exponential ``exp(−|x|)`` only,

    σ(x) = 1 / (1 + e^{−x})        for x ≥ 0
    σ(x) = e^{x} / (1 + e^{x})     for x < 0,

so it never overflows and keeps full relative precision in both tails
(σ(−40) = 4.2e−18, not 0). The mask (``normalize.py``) uses it. The LSTM
gates use the cheaper identity σ(x) = ½ (1 + tanh(x/2)) instead (see
``lstm_cell.gate_activations``), whose tails round to exactly 0 or 1 beyond
``|x| ≈ 37``; the gates are only ever used in sums with O(1) terms, where
that is below round-off.

The backward passes take the derivatives from the stored outputs where the
functions are used (``normalize_backward``, ``lstm_cell_backward``):

    σ'(x) = σ(x) (1 − σ(x)),        tanh'(x) = 1 − tanh(x)².
"""

from __future__ import annotations

from .backend import array_module

__all__ = ["sigmoid"]


def sigmoid(x, *, xp=None):
    """σ(x) elementwise, stable and relatively accurate for any finite x."""
    xp = array_module(x) if xp is None else xp
    e = xp.exp(-xp.abs(x))              # in (0, 1]: never overflows
    return xp.where(x >= 0, 1.0, e) / (1.0 + e)
