"""Comparing one tensor of a candidate with this package's value, entry by entry.

An entry mismatches when

    |got − want| > atol · max(1, max |want|) + rtol · |want|

with the tolerances of :data:`TOLERANCES` for the dtype the problems were
given in; NaN and infinite entries always mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .layout import host_array

__all__ = ["Tolerance", "TOLERANCES", "TensorResult", "compare", "flatten", "tolerance"]


class Tolerance(NamedTuple):
    rtol: float
    atol: float


# float64: two correct implementations differ by round-off, about 1e-16
# times the size of the values, grown by at most a few hundred operations
# on these small maps; 1e-9 leaves seven orders of margin and no real bug
# hides below it. float32: round-off is 6e-8 per operation, and a float32
# candidate is compared with float64 values, so differences of 1e-6 are
# normal; every bug of the catalogue moves some value by 1e-3 or more.
TOLERANCES = {
    "float64": Tolerance(rtol=1e-9, atol=1e-11),
    "float32": Tolerance(rtol=2e-4, atol=2e-5),
}


def tolerance(dtype):
    """``(dtype name, Tolerance)`` for ``"float64"`` or ``"float32"``; ValueError for anything else."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in TOLERANCES:
        raise ValueError(f"dtype must be one of {sorted(TOLERANCES)}, got {dtype!r}")
    return name, TOLERANCES[name]


@dataclass
class TensorResult:
    """The comparison of one tensor of one problem."""

    name: str
    stage: str
    shape: tuple
    passed: bool
    max_abs: float = float("nan")
    max_rel: float = float("nan")   # max_abs / max |want|; nan when want is zero to tolerance
    mismatched: int = 0
    note: str = ""                  # e.g. "shape (2, 4, 5) instead of (2, 5, 4)"
    got_dtype: str = ""             # the dtype the candidate returned

    @property
    def size(self):
        return int(np.prod(self.shape))


def flatten(out):
    """A candidate's dict with ``grads`` flattened to ``grads.{key}``, values as NumPy arrays (or None)."""
    flat = {}
    for name, value in out.items():
        if name == "grads" and isinstance(value, dict):
            flat.update({f"grads.{key}": v for key, v in value.items()})
        else:
            flat[name] = value
    return {str(name): (None if v is None else host_array(v)) for name, v in flat.items()}


def compare(name, stage, got, want, tol):
    """``(TensorResult, bad)``: ``bad`` marks the mismatching entries, None when shapes or types differ."""
    want = np.asarray(want, dtype=np.float64)
    if got is None:
        return TensorResult(name, stage, want.shape, False, note="None instead of an array"), None
    dtype = str(got.dtype)
    if got.shape != want.shape:
        return TensorResult(name, stage, want.shape, False, got_dtype=dtype,
                            note=f"shape {tuple(got.shape)} instead of {tuple(want.shape)}"), None
    if not np.issubdtype(got.dtype, np.number) or np.iscomplexobj(got):
        return TensorResult(name, stage, want.shape, False, got_dtype=dtype,
                            note=f"dtype {got.dtype} is not a real number"), None
    got = got.astype(np.float64)
    err = np.abs(got - want)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    bad = ~(err <= tol.atol * scale + tol.rtol * np.abs(want))          # NaN counts as a mismatch
    finite = np.isfinite(err)
    max_abs = float(err.max()) if want.size and finite.all() else (0.0 if not want.size else float("inf"))
    top = float(np.abs(want).max()) if want.size else 0.0
    # Relative to the largest entry; undefined for a tensor that is zero to
    # within the absolute tolerance (e.g. the gradient of head.b under softmax).
    max_rel = max_abs / top if top > tol.atol else float("nan")
    result = TensorResult(name, stage, want.shape, not bad.any(), max_abs, max_rel, int(bad.sum()),
                          "" if finite.all() else f"{int((~finite).sum())} entries NaN or infinite", dtype)
    return result, bad
