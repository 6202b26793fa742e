"""The shared check of every backward (and forward): it changes none of its inputs, and it can be called twice.

The function is called on the inputs, then on other inputs (every float
array argument redrawn, a cache kept), then on the first inputs again. The
first call's result is kept in the student's process as it was returned,
**not copied**, and read again after the second call: a function that hands
back a buffer it reuses is caught; the third call must give the first
result again: a function that destroys its cache is caught. Whether an input changed is read back
from the student's process too: its code could forge that answer, but only
to hide a change of its own inputs, never to make a wrong value right (the
values are checked by the other checks).
"""

from __future__ import annotations

import numpy as np

from .base import expect_array, fail, sequence
from .remote import Remote

__all__ = ["check_pure"]


def _same(a, b):
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype \
        and np.array_equal(a, b, equal_nan=True)


def check_pure(s, where, fn, args, names, outputs):
    """``fn`` ("module.function") on ``args`` (named ``names``) returns ``outputs`` (their names; an output
    named ``cache`` is not compared)."""
    child = s.child
    function = fn.rpartition(".")[2]
    remotes = {n: a for n, a in zip(names, args, strict=True) if isinstance(a, Remote)}
    before = {n: child.snapshot(r) for n, r in remotes.items()}
    sent = {n: a.copy() for n, a in zip(names, args, strict=True) if isinstance(a, np.ndarray)}
    result, h_result, h_args = child.call_kept(fn, args)
    first = sequence(where, result, outputs, function) if len(outputs) > 1 else [result]
    for name, got in zip(outputs, first, strict=True):
        if name != "cache" and not isinstance(got, np.ndarray):
            expect_array(where, name, got, (), "float64")      # says what it is instead

    hint = "work on new arrays: x = x + y, not x += y, on anything you were given; copy before writing into it"
    now = sequence(where, child.fetch(h_args), names, "the grader's record of the inputs")
    for name, value in zip(names, now, strict=True):
        if name in sent and not _same(value, sent[name]):
            fail(where, f"your function {function} changed its input {name}", hint)
    for name, remote in remotes.items():
        after = child.snapshot(remote)
        changed = [k for k in before[name] if k not in after or not _same(after[k], before[name][k])]
        if changed or set(after) != set(before[name]):
            part = f" ({name}{changed[0]})" if changed else ""
            fail(where, f"your function {function} changed its input {name}{part}",
                 "a backward must leave its cache as the forward wrote it: it may be used again")

    # a second call on other inputs (each array argument redrawn), then the first result read back
    rng = np.random.default_rng(1)
    other = [rng.normal(size=a.shape).astype(a.dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
             for a in args]
    child.call(fn, other)
    kept = child.fetch(h_result)
    kept = sequence(where, kept, outputs, function) if len(outputs) > 1 else [kept]
    third = child.call(fn, args)
    third = sequence(where, third, outputs, function) if len(outputs) > 1 else [third]
    for name, a, b, c in zip(outputs, first, kept, third, strict=True):
        if name == "cache":         # what a cache holds is the backward's business, checked through it
            continue
        if not _same(a, b):
            fail(where, f"the {name} your first call of {function} returned changed when you called it again",
                 "return a new array on every call, not a buffer you keep and overwrite")
        if not _same(a, c):
            fail(where, f"a second call of {function} on the same inputs gave another {name}",
                 "a function must not change anything it reads (its cache, module-level state)")
