"""Finite-difference checks for any forward/backward pair.

A backward pass computes a vector-Jacobian product: given an upstream
gradient ``dout`` it returns ∂⟨f(x), dout⟩/∂x. The checks here estimate the
same quantity with central differences of the scalar ⟨f(x), dout⟩:

* :func:`numerical_vjp` perturbs every entry of x (2 evaluations per entry):
  exact and complete, for small inputs;
* :func:`directional_check` perturbs x along one random direction v and
  compares ⟨∇, v⟩ with (L(x + εv) − L(x − εv)) / 2ε (2 evaluations in all):
  cheap, for large inputs.

Errors are measured as the relative error of CS231n's gradient-check notes,
``|a − n| / max(floor, |a| + |n|)``, which is 0 when both sides are 0. An
entry passes when its relative error is at most ``rtol`` **or** its absolute
error at most ``atol``: a gradient that is 0 analytically (e.g. of a bias under
a shift-invariant softmax) is estimated as round-off noise, whose relative
error is meaningless. NaN or Inf on either side fails, whatever the
tolerances: a check never blesses a number it cannot compare. Use float64:
in float32 round-off swamps the difference quotient; integer arrays are
refused, since a perturbation of 1e-6 would be truncated away.

The functions here are public (the boundary rule, docs/contributing.md):
each checks its arrays once and then computes.

This module depends on the math only through the callables it is handed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from .backend import array_module, host_rng, to_numpy

__all__ = [
    "GradCheckResult",
    "rel_error",
    "numerical_vjp",
    "compare",
    "directional_check",
    "check_gradients",
    "format_report",
]


@dataclass(frozen=True)
class GradCheckResult:
    """Outcome of comparing one analytic gradient with its numerical estimate."""

    name: str
    max_rel_error: float   # worst relative error over the entries
    max_abs_error: float   # worst absolute error over the entries
    worst_index: tuple     # index of the worst entry (by relative error, among failing ones first)
    analytic: float        # analytic value at that entry
    numeric: float         # numerical value at that entry
    passed: bool
    rtol: float
    atol: float

    def __str__(self):
        status = "ok  " if self.passed else "FAIL"
        return (f"{status} {self.name:<14} rel {self.max_rel_error:9.2e}  abs {self.max_abs_error:9.2e}  "
                f"worst at {self.worst_index}: analytic {self.analytic:+.6e} numeric {self.numeric:+.6e}")


def rel_error(a, n, floor=1e-30):
    """Elementwise ``|a − n| / max(floor, |a| + |n|)``; 0 where both are 0."""
    xp = array_module(a, n)
    return xp.abs(a - n) / xp.maximum(floor, xp.abs(a) + xp.abs(n))


def _check_perturbable(x, name, function):
    """``TypeError`` unless ``x`` is a float array: an integer array cannot hold x ± ε."""
    if not (hasattr(x, "dtype") and hasattr(x, "shape")):
        raise TypeError(f"{function} perturbs {name} in place: it must be a float array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{function} perturbs {name} by eps in place: it must be a float array (float64 for "
                        f"accuracy), got dtype {x.dtype}, which would truncate the perturbation")


def numerical_vjp(f, x, dout, eps=1e-6):
    """Central-difference estimate of ∂⟨f(x), dout⟩/∂x.

    Parameters
    ----------
    f : callable
        ``f()`` recomputes the output from the current contents of ``x``.
    x : array
        Perturbed in place, entry by entry, and restored exactly.
    dout : array, f's output shape
    eps : float

    Returns
    -------
    array of x's shape.

    Raises
    ------
    TypeError
        ``x`` is not a float array (an integer array would truncate x ± ε).
    ValueError
        ``x`` is not C-contiguous.
    """
    _check_perturbable(x, "x", "numerical_vjp")
    xp = array_module(x, dout)
    if not x.flags.c_contiguous:
        raise ValueError("numerical_vjp perturbs x in place through a flat view: x must be C-contiguous")
    grad = xp.zeros_like(x)
    flat_x = x.reshape(-1)  # a view of x
    flat_g = grad.reshape(-1)
    for idx in range(x.size):
        old = flat_x[idx].copy()
        flat_x[idx] = old + eps
        plus = float((f() * dout).sum())
        flat_x[idx] = old - eps
        minus = float((f() * dout).sum())
        flat_x[idx] = old
        flat_g[idx] = (plus - minus) / (2 * eps)
    return grad


def compare(name, analytic, numeric, *, rtol=1e-6, atol=1e-8):
    """Compare two gradient arrays entry by entry; return a :class:`GradCheckResult`."""
    a, n = to_numpy(analytic), to_numpy(numeric)
    if a.shape != n.shape:
        raise ValueError(f"{name}: analytic shape {a.shape} != numeric shape {n.shape}")
    if a.size == 0:
        return GradCheckResult(name, 0.0, 0.0, (), 0.0, 0.0, True, rtol, atol)
    xp = array_module(a)
    with warnings.catch_warnings():  # inf − inf warns and gives NaN, which fails below
        warnings.simplefilter("ignore", RuntimeWarning)
        rel = rel_error(a, n)
        ab = abs(a - n)
    non_finite = ~(xp.isfinite(a) & xp.isfinite(n))
    failing = non_finite | ((rel > rtol) & (ab > atol))  # a comparison with NaN is False: test finiteness first
    # non-finite entries rank first, then failing ones, then by relative error
    score = xp.where(non_finite, xp.inf, rel + failing)
    flat = int(score.argmax())
    idx = tuple(int(i) for i in array_module(a).unravel_index(flat, a.shape))
    worst_rel = math.nan if non_finite.any() else float(rel.max())
    worst_abs = math.nan if non_finite.any() else float(ab.max())
    return GradCheckResult(name, worst_rel, worst_abs, idx,
                           float(a[idx]), float(n[idx]), not bool(failing.any()), rtol, atol)


def directional_check(name, f, x, dout, analytic, *, eps=1e-6, seed=0, rtol=1e-6, atol=1e-8):
    """Check a gradient along one random direction (2 evaluations of ``f``).

    Compares ⟨analytic, v⟩ with (L(x + εv) − L(x − εv)) / 2ε for a unit
    direction v drawn from N(0, I), where L(x) = ⟨f(x), dout⟩. ``x`` is
    modified in place and restored. NaN or Inf anywhere fails the check.
    """
    _check_perturbable(x, "x", "directional_check")
    xp = array_module(x, dout)
    v = xp.asarray(host_rng(seed).normal(size=x.shape))  # drawn on the host: a seed means the same v everywhere
    v = (v / max(float(xp.linalg.norm(v)), 1e-300)).astype(x.dtype)
    x0 = x.copy()
    x[...] = x0 + eps * v
    plus = float((f() * dout).sum())
    x[...] = x0 - eps * v
    minus = float((f() * dout).sum())
    x[...] = x0
    numeric = (plus - minus) / (2 * eps)
    projected = float((analytic * v).sum())
    finite = math.isfinite(projected) and math.isfinite(numeric)
    rel = abs(projected - numeric) / max(1e-30, abs(projected) + abs(numeric)) if finite else math.nan
    ab = abs(projected - numeric) if finite else math.nan
    passed = finite and (rel <= rtol or ab <= atol)
    return GradCheckResult(name + " (dir)", rel, ab, (), projected, numeric, passed, rtol, atol)


def check_gradients(f, inputs, analytic, dout, *, eps=1e-6, rtol=1e-6, atol=1e-8,
                    directional_above=None, seed=0):
    """Check every named input's analytic gradient against finite differences.

    Parameters
    ----------
    f : callable
        ``f()`` recomputes the output from the current contents of ``inputs``.
    inputs : dict name -> array
        The arrays to perturb (in place, restored afterwards).
    analytic : dict name -> array
        The backward pass's gradients, same keys as ``inputs``.
    dout : array
        Upstream gradient used both for the analytic gradients and here.
    directional_above : int or None
        Inputs with more entries than this get the cheap random-direction
        check instead of the full one.

    Returns
    -------
    list of GradCheckResult, one per input, in ``inputs`` order.
    """
    results = []
    for name, x in inputs.items():
        if directional_above is not None and x.size > directional_above:
            results.append(directional_check(name, f, x, dout, analytic[name], eps=eps,
                                             seed=seed, rtol=rtol, atol=atol))
        else:
            numeric = numerical_vjp(f, x, dout, eps=eps)
            results.append(compare(name, analytic[name], numeric, rtol=rtol, atol=atol))
    return results


def format_report(results):
    """A readable table of results, worst first, the tolerances used and a verdict line."""
    def worst_first(r):
        return (r.passed, -(math.inf if math.isnan(r.max_rel_error) else r.max_rel_error))

    lines = [str(r) for r in sorted(results, key=worst_first)]
    tolerances = sorted({(r.rtol, r.atol) for r in results})
    lines.append("an entry passes when its relative error is at most rtol or its absolute error at most atol; "
                 "NaN or Inf fails; " + "; ".join(f"rtol={rtol:g}, atol={atol:g}" for rtol, atol in tolerances))
    failed = sum(not r.passed for r in results)
    lines.append(f"{len(results) - failed} of {len(results)} gradients pass")
    return "\n".join(lines)
