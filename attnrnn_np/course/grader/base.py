"""The grader's registry of exercises and checks, and the comparisons every check uses.

Every comparison runs in the grading process on numbers the student's
process sent back (``remote.py``); a failure raises :class:`CheckFailure`
with a message that says which check failed, by how much, the first wrong
entry and a hint, never the solution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from attnrnn_np.gradcheck import numerical_vjp, rel_error

from .remote import Remote

__all__ = ["CheckFailure", "Exercise", "EXERCISES", "REQUIRED", "check", "fail", "expect_array", "expect_close",
           "expect_exact", "numgrad", "sequence", "RTOL", "ATOL", "GATES"]

RTOL, ATOL = 1e-5, 1e-8   # a gradient entry passes when within either (float64, central differences)
EXACT_RTOL = {np.dtype("float64"): 1e-11, np.dtype("float32"): 2e-4}   # against the exact gradient
GATES = "ifgo"


class CheckFailure(AssertionError):
    """A check failed; the message teaches what is wrong."""


@dataclass
class Exercise:
    name: str
    title: str
    statement: str             # file name under exercises/ in the workspace
    functions: tuple           # "module.function" the student writes
    modules: tuple             # the student modules the exercise imports
    optional: bool = False
    checks: dict = field(default_factory=dict)   # check name -> (function, hidden)


EXERCISES = {}


def _exercise(name, title, statement, functions, optional=False):
    modules = tuple(dict.fromkeys(f.split(".")[0] for f in functions))
    EXERCISES[name] = Exercise(name, title, statement, tuple(functions), modules, optional)


_exercise("lstm_cell", "LSTM cell backward", "01_lstm_cell.md", ["lstm_cell.lstm_cell_backward"])
_exercise("conv", "convolution backward (col2im)", "02_conv.md", ["conv.col2im", "conv.conv_backward"])
_exercise("raster_forward", "raster scan forward, as a loop", "03_raster_forward.md",
          ["scan.raster_scan_forward"])
_exercise("raster_backward", "raster scan backward", "04_raster_backward.md", ["scan.raster_scan_backward"])
_exercise("inverse_raster", "inverse-raster direction through the 180° rotation", "05_inverse_raster.md",
          ["directions.rot180", "directions.inverse_raster_forward", "directions.inverse_raster_backward"])
_exercise("softmax", "spatial softmax forward and backward", "06_softmax.md",
          ["softmax.spatial_softmax_forward", "softmax.spatial_softmax_backward"])
_exercise("combiner", "multi-scale combiner backward", "07_combiner.md", ["combiner.combiner_backward"])
_exercise("wavefront", "wavefront schedule (optional challenge)", "08_wavefront.md",
          ["scan.wavefront_scan_forward"], optional=True)

REQUIRED = tuple(name for name, ex in EXERCISES.items() if not ex.optional)


def check(exercise, hidden=False):
    """Register a check of ``exercise``, named after the function (``check_`` dropped).

    A public check is called as ``fn(s)``; a hidden one (``hidden=True``, run
    by ``course grade --hidden``) as ``fn(s, rng)``, its cases drawn from the
    teacher's seed.
    """
    def register(fn):
        EXERCISES[exercise].checks[fn.__name__.removeprefix("check_")] = (fn, hidden)
        return fn
    return register


def fail(where, text, hint):
    raise CheckFailure(f"[{where}] {text}\n  hint: {hint}")


def sequence(where, out, names, function):
    """``out`` as a list of ``len(names)`` values: any sequence is accepted where a tuple is shown."""
    items = None
    if isinstance(out, Remote) and out.is_sequence():
        items = list(out)
    elif isinstance(out, (tuple, list)):
        items = list(out)
    if items is None or len(items) != len(names):
        got = f"a {out.type_name}" if isinstance(out, Remote) else f"a {type(out).__name__}"
        if items is not None:
            got += f" of {len(items)} values"
        fail(where, f"{function} returned {got}; the docstring asks for ({', '.join(names)})",
             f"return {len(names)} values, in this order: {', '.join(names)}")
    return items


def expect_array(where, name, got, shape, dtype):
    if not isinstance(got, np.ndarray):
        kind = got.type_name if isinstance(got, Remote) else type(got).__name__
        fail(where, f"{name} is a {kind}, not a NumPy array", "return arrays, as the docstring says")
    if got.shape != tuple(shape):
        fail(where, f"{name} has shape {got.shape}, expected {tuple(shape)}",
             "the statement gives every array's shape in named dimensions (N, H, W, K, …)")
    if got.dtype != np.dtype(dtype):
        fail(where, f"{name} has dtype {got.dtype} for {np.dtype(dtype)} inputs",
             "keep the inputs' dtype: create new arrays with dtype=… or zeros_like, and mind float64 constants "
             "such as np.zeros(shape) or np.ones(shape), which default to float64")


def expect_close(where, name, got, want, *, hint, describe=None, want_is="finite differences",
                 rtol=RTOL, atol=ATOL, last=False):
    """Fail unless got ≈ want entry by entry; report the first wrong entry in C order
    (and the last one with ``last``: where a backward sweep, which runs in reverse, first went wrong)."""
    expect_array(where, name, got, want.shape, want.dtype)
    if not np.all(np.isfinite(got)):
        idx = tuple(int(v) for v in np.argwhere(~np.isfinite(got))[0])
        fail(where, f"{name}{list(idx)} is {got[idx]} (not finite){_at(describe, idx)}", hint)
    g, w = got.astype(np.float64), want.astype(np.float64)
    rel = rel_error(g, w)
    err = np.abs(g - w)
    bad = (rel > rtol) & (err > atol)
    if bad.any():
        wrong = np.argwhere(bad)
        text = (f"{name} is wrong in {int(bad.sum())} of {bad.size} entries; largest error "
                f"{err.max():.2e} (relative {rel.max():.2e}).")
        for which, row in (("first", wrong[0]), ("last", wrong[-1]))[:2 if last else 1]:
            idx = tuple(int(v) for v in row)
            text += (f"\n  {which} wrong entry: {name}{list(idx)}{_at(describe, idx)} = {g[idx]:+.6e}, "
                     f"{want_is} give {w[idx]:+.6e}")
        fail(where, text, hint)


def expect_exact(where, name, got, want, *, hint, describe=None, want_is="the exact gradient"):
    """Agreement with the exact value to round-off: 1e-11 relative in float64 (a finite-difference
    estimate, good to ~1e-7, does not pass), ~1e-4 in float32; entries near 0 by an absolute floor."""
    dtype = np.dtype(want.dtype)
    rtol = EXACT_RTOL.get(dtype, 1e-10)
    scale = float(np.abs(want).max()) if want.size else 0.0
    expect_close(where, name, got, want, hint=hint, describe=describe, want_is=want_is, rtol=rtol,
                 atol=rtol * max(scale, 1e-300) * 1e-2)


def _at(describe, idx):
    return f" ({describe(idx)})" if describe else ""


def numgrad(f, x, dout, where="finite differences"):
    """∂⟨f(x), dout⟩/∂x by central differences; ``x`` is perturbed in place and restored."""
    def value():
        out = f()
        expect_array(where, "your forward's output", out, dout.shape, out.dtype if isinstance(out, np.ndarray)
                     else dout.dtype)
        return out.astype(np.float64)
    return numerical_vjp(value, x, dout, eps=1e-6)
