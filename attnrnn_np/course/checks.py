"""The course's autograder: every check of every exercise, as plain functions.

This file is copied into each student workspace as ``grader/checks.py``,
where ``grader/test_grader.py`` runs one pytest test per check, marked with
its exercise (as minitorch grades its course: ``pytest -m lstm_cell``). The
package's own tests call :func:`grade` on a workspace in-process.

Every check exercises the student's own functions (the ``student`` package
of the workspace) against a property the statement states: a gradient
against central finite differences of the student's own forward pass
(``attnrnn_np.gradcheck``), the recurrence of docs/model.md §3.2 at every
cell, the receptive field of §4, the raster-vs-wavefront identity, the
adjoint identity of im2col and col2im, shapes and dtypes. None compares with
a hidden reference implementation. A failure raises :class:`CheckFailure`
with a message that says which check failed, by how much, the first wrong
entry and a hint, never the solution.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from attnrnn_np.gradcheck import numerical_vjp, rel_error

__all__ = ["CheckFailure", "Exercise", "EXERCISES", "REQUIRED", "run", "grade", "score_table"]

RTOL, ATOL = 1e-5, 1e-8   # a gradient entry passes when within either (float64, central differences)
GATES = "ifgo"


class CheckFailure(AssertionError):
    """A check failed; the message teaches what is wrong."""


@dataclass
class Exercise:
    name: str
    title: str
    statement: str             # file name under exercises/ in the workspace
    functions: tuple           # "module.function" the student writes
    optional: bool = False
    checks: dict = field(default_factory=dict)   # check name -> function(student)


EXERCISES = {}


def _exercise(name, title, statement, functions, optional=False):
    EXERCISES[name] = Exercise(name, title, statement, tuple(functions), optional)


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


def check(exercise):
    """Register a check of ``exercise``, named after the function (``check_`` dropped)."""
    def register(fn):
        EXERCISES[exercise].checks[fn.__name__.removeprefix("check_")] = fn
        return fn
    return register


# --------------------------------------------------------------------------
# running checks
# --------------------------------------------------------------------------

class Student:
    """The student's package: ``student.lstm_cell`` imports ``<package>.lstm_cell``."""

    def __init__(self, package):
        self._package = package

    def __getattr__(self, module):
        return importlib.import_module(f"{self._package.__name__}.{module}")


def run(exercise, check_name, package):
    """Run one check on the student's package; raise :class:`CheckFailure` if it fails."""
    fn = EXERCISES[exercise].checks[check_name]
    try:
        fn(Student(package))
    except CheckFailure:
        raise
    except Exception as err:  # anything else the student's code did, said plainly
        raise CheckFailure(f"[{exercise}: {check_name}] {_describe_error(err)}") from None


def grade(package, names=None):
    """Run every check of the named exercises (default: the required ones), in-process.

    Returns ``{exercise: {check: (passed, message)}}``.
    """
    results = {}
    for name in names or REQUIRED:
        results[name] = {}
        for check_name in EXERCISES[name].checks:
            try:
                run(name, check_name, package)
                results[name][check_name] = (True, "")
            except CheckFailure as err:
                results[name][check_name] = (False, str(err))
    return results


def score_table(results):
    """The score table of :func:`grade`'s results: one line per exercise, checks passed and PASS/FAIL."""
    lines = [f"{'exercise':<18}{'checks':>8}  result", "-" * 36]
    exercises_passed = 0
    for name, outcome in results.items():
        ok = sum(1 for check_passed, _ in outcome.values() if check_passed)
        done = bool(outcome) and ok == len(outcome)
        exercises_passed += done
        tag = " (optional)" if EXERCISES[name].optional else ""
        lines.append(f"{name:<18}{ok:>4}/{len(outcome):<3}  {'PASS' if done else 'FAIL'}{tag}")
    lines.append("-" * 36)
    lines.append(f"{exercises_passed} of {len(results)} exercises pass")
    return "\n".join(lines)


def _describe_error(err):
    """What the student's code raised, and where, as one readable paragraph."""
    frames = traceback.extract_tb(err.__traceback__)
    theirs = [f for f in frames if Path(f.filename).parent.name == "student"]
    where = f" (in {theirs[-1].name}, {theirs[-1].filename.rsplit('/', 1)[-1]} line {theirs[-1].lineno})" if theirs else ""
    if isinstance(err, NotImplementedError):
        return f"not implemented yet{where}: {err}"
    return (f"your code raised {type(err).__name__}: {err}{where}.\n  hint: compare the shapes you "
            "build with the shapes the statement and the docstring give.")


# --------------------------------------------------------------------------
# comparing arrays and gradients
# --------------------------------------------------------------------------

def _fail(where, text, hint):
    raise CheckFailure(f"[{where}] {text}\n  hint: {hint}")


def _expect_array(where, name, got, shape, dtype):
    if not isinstance(got, np.ndarray):
        _fail(where, f"{name} is a {type(got).__name__}, not a NumPy array",
              "return arrays, as the docstring says")
    if got.shape != tuple(shape):
        _fail(where, f"{name} has shape {got.shape}, expected {tuple(shape)}",
              "the statement gives every array's shape in named dimensions (N, H, W, K, …)")
    if got.dtype != np.dtype(dtype):
        _fail(where, f"{name} has dtype {got.dtype} for {np.dtype(dtype)} inputs",
              "keep the inputs' dtype: create new arrays with dtype=… or zeros_like")


def _expect_close(where, name, got, want, *, hint, describe=None, want_is="finite differences",
                  rtol=RTOL, atol=ATOL, last=False):
    """Fail unless got ≈ want entry by entry; report the first wrong entry in C order
    (and the last one with ``last``: where a backward sweep, which runs in reverse, first went wrong)."""
    _expect_array(where, name, got, want.shape, want.dtype)
    if not np.all(np.isfinite(got)):
        idx = tuple(int(v) for v in np.argwhere(~np.isfinite(got))[0])
        _fail(where, f"{name}{list(idx)} is {got[idx]} (not finite){_at(describe, idx)}", hint)
    rel = rel_error(got, want)
    err = np.abs(got - want)
    bad = (rel > rtol) & (err > atol)
    if bad.any():
        wrong = np.argwhere(bad)
        text = (f"{name} is wrong in {int(bad.sum())} of {bad.size} entries; largest error "
                f"{err.max():.2e} (relative {rel.max():.2e}).")
        for which, row in (("first", wrong[0]), ("last", wrong[-1]))[:2 if last else 1]:
            idx = tuple(int(v) for v in row)
            text += (f"\n  {which} wrong entry: {name}{list(idx)}{_at(describe, idx)} = {got[idx]:+.6e}, "
                     f"{want_is} give {want[idx]:+.6e}")
        _fail(where, text, hint)


def _at(describe, idx):
    return f" ({describe(idx)})" if describe else ""


def _numgrad(f, x, dout):
    """∂⟨f(x), dout⟩/∂x by central differences; ``x`` is perturbed in place and restored."""
    return numerical_vjp(f, x, dout, eps=1e-6)


def _cell_map(idx):
    n, i, j, ch = idx[:4]
    return f"sample {n}, cell ({i}, {j}), channel {ch}"


def _gate_map(K4):
    """Describe an index (n, i, j, col) of a (N, H, W, 4K) array by cell and gate block."""
    K = K4 // 4

    def describe(idx):
        n, i, j, col = idx[:4]
        return f"sample {n}, cell ({i}, {j}), gate block {GATES[col // K]}, unit {col % K}"
    return describe


# --------------------------------------------------------------------------
# small independent pieces the checks reason with (the forward equations of §3.2)
# --------------------------------------------------------------------------

def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _cell(G, c_prev):
    """The cell's forward equations (§3.2), to test a scan's states against."""
    K = G.shape[-1] // 4
    c = _sigmoid(G[..., K:2 * K]) * c_prev + _sigmoid(G[..., :K]) * np.tanh(G[..., 2 * K:3 * K])
    return _sigmoid(G[..., 3 * K:]) * np.tanh(c), c


def _scan_problem(seed, N=2, H=3, W=4, K=2, dtype="float64"):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(N, H, W, 4 * K))
    W_up = rng.normal(0.0, 0.7, size=(K, 4 * K))
    W_left = rng.normal(0.0, 0.7, size=(K, 4 * K))
    return U.astype(dtype), W_up.astype(dtype), W_left.astype(dtype), rng


# The four neighbours a cell could read, in map coordinates, and how to say them.
NEIGHBOURS = {"above": (-1, 0), "below": (1, 0), "left": (0, -1), "right": (0, 1)}
SAY = {"above": "the cell above", "below": "the cell below", "left": "the cell to the left",
       "right": "the cell to the right"}


def _state(a, n, i, j):
    """a[n, i, j], or zeros outside the map."""
    H, W = a.shape[1:3]
    return a[n, i, j] if 0 <= i < H and 0 <= j < W else np.zeros(a.shape[-1])


def _cell_agrees(U, h, c, W_up, W_left, n, i, j, up, left, c_from):
    """Do the states at (i, j) follow the recurrence with these neighbours?"""
    (ui, uj), (li, lj), (ci, cj) = NEIGHBOURS[up], NEIGHBOURS[left], NEIGHBOURS[c_from]
    G = U[n, i, j] + _state(h, n, i + ui, j + uj) @ W_up + _state(h, n, i + li, j + lj) @ W_left
    h_want, c_want = _cell(G, _state(c, n, i + ci, j + cj))
    return np.allclose(h[n, i, j], h_want, rtol=1e-6, atol=1e-9) and \
        np.allclose(c[n, i, j], c_want, rtol=1e-6, atol=1e-9), h_want, c_want


def _check_recurrence(where, U, h, c, W_up, W_left, *, up, left, order, hint):
    """Every cell's states follow §3.2 with the given neighbours; else the first wrong cell in scan order."""
    N, H, W = U.shape[:3]
    for i, j in order(H, W):
        for n in range(N):
            ok, h_want, c_want = _cell_agrees(U, h, c, W_up, W_left, n, i, j, up, left, left)
            if ok:
                continue
            which = "h" if not np.allclose(h[n, i, j], h_want, rtol=1e-6, atol=1e-9) else "c"
            got, want = (h, h_want) if which == "h" else (c, c_want)
            k = int(np.argmax(np.abs(got[n, i, j] - want)))
            text = (f"cell ({i}, {j}) of sample {n} is the first, in scan order, whose states do not follow "
                    f"§3.2 from your own states of its neighbours: {which}[{n}, {i}, {j}, {k}] = "
                    f"{got[n, i, j, k]:+.6e}, the recurrence gives {want[k]:+.6e}")
            diagnosis = _diagnose(U, h, c, W_up, W_left, (up, left))
            raise CheckFailure(f"[{where}] {text}{diagnosis}\n  hint: {hint}")


def _diagnose(U, h, c, W_up, W_left, expected):
    """If the states follow the recurrence with other neighbours everywhere, say which."""
    N, H, W = U.shape[:3]
    names = list(NEIGHBOURS)
    for up in names:
        for left in names:
            for c_from in names:
                if (up, left, c_from) == (expected[0], expected[1], expected[1]) or up == left:
                    continue
                if all(_cell_agrees(U, h, c, W_up, W_left, n, i, j, up, left, c_from)[0]
                       for n in range(N) for i in range(H) for j in range(W)):
                    return (f".\n  your states do follow the recurrence everywhere if each cell reads "
                            f"h · W_up from {SAY[up]}, h · W_left from {SAY[left]} and c from "
                            f"{SAY[c_from]}; the statement asks for h · W_up from {SAY[expected[0]]}, "
                            f"h · W_left and c from {SAY[expected[1]]}")
    return ""


def _raster_order(H, W):
    return [(i, j) for i in range(H) for j in range(W)]


def _inverse_order(H, W):
    return [(i, j) for i in reversed(range(H)) for j in reversed(range(W))]


def _check_field(where, forward, U, W_up, W_left, *, reaches, hint):
    """Changing U at one cell changes h exactly where docs/model.md §4 says, and in no other sample."""
    N, H, W = U.shape[:3]
    h0 = forward(U, W_up, W_left)[0]
    rng = np.random.default_rng(7)
    for a, b in [(1, 1), (0, W - 2), (H - 1, 0), (H - 2, W - 1)]:
        U2 = U.copy()
        U2[0, a, b] += rng.normal(size=U.shape[-1])
        moved = np.abs(forward(U2, W_up, W_left)[0] - h0).max(axis=-1) > 1e-12   # (N, H, W)
        if moved[1:].any():
            _fail(where, f"changing U[0, {a}, {b}] changed the states of sample 1: samples must "
                         "never influence each other", "every array op should keep the sample axis N apart")
        for i in range(H):
            for j in range(W):
                must = reaches(a, b, i, j)
                if moved[0, i, j] != must:
                    verb = "changed" if moved[0, i, j] else "did not change"
                    _fail(where, f"changing U[0, {a}, {b}] {verb} h at cell ({i}, {j}); §4 says it "
                                 f"{'must' if must else 'cannot'} reach that cell", hint)


# --------------------------------------------------------------------------
# exercise lstm_cell
# --------------------------------------------------------------------------

def _cell_problem(seed, lead=(2, 3), K=3, dtype="float64"):
    rng = np.random.default_rng(seed)
    G = rng.normal(0.0, 1.5, size=lead + (4 * K,)).astype(dtype)
    c_prev = rng.normal(size=lead + (K,)).astype(dtype)
    dh = rng.normal(size=lead + (K,)).astype(dtype)
    dc = rng.normal(size=lead + (K,)).astype(dtype)
    return G, c_prev, dh, dc


CELL_HINTS = {
    "i": "c depends on G_i through i ⊙ g, and i = σ(G_i)",
    "f": "c depends on G_f through f ⊙ c_prev, and f = σ(G_f)",
    "g": "c depends on G_g through i ⊙ g, and g = tanh(G_g): its derivative is that of a tanh",
    "o": "h depends on G_o through o ⊙ tanh(c), and o = σ(G_o); c does not depend on o",
}


@check("lstm_cell")
def check_shapes(s):
    for dtype in ("float64", "float32"):
        G, c_prev, dh, dc = _cell_problem(0, dtype=dtype)
        _, _, cache = s.lstm_cell.lstm_cell_forward(G, c_prev)
        dG, dc_prev = s.lstm_cell.lstm_cell_backward(dh, dc, cache)
        _expect_array("lstm_cell: shapes", "dG", dG, G.shape, dtype)
        _expect_array("lstm_cell: shapes", "dc_prev", dc_prev, c_prev.shape, dtype)


def _cell_gradients(s, seed):
    G, c_prev, dh, dc = _cell_problem(seed)
    fwd = s.lstm_cell.lstm_cell_forward

    def f():
        h, c, _ = fwd(G, c_prev)
        return np.concatenate([h, c], axis=-1)

    dout = np.concatenate([dh, dc], axis=-1)   # the loss ⟨h, dh⟩ + ⟨c, dc⟩
    _, _, cache = fwd(G, c_prev)
    dG, dc_prev = s.lstm_cell.lstm_cell_backward(dh, dc, cache)
    return (G, c_prev, dG, dc_prev, _numgrad(f, G, dout), _numgrad(f, c_prev, dout))


@check("lstm_cell")
def check_gradient_G(s):
    G, _, dG, _, num, _ = _cell_gradients(s, 1)
    _expect_array("lstm_cell: gradient of G", "dG", dG, G.shape, G.dtype)
    K = G.shape[-1] // 4
    bad = (rel_error(dG, num) > RTOL) & (np.abs(dG - num) > ATOL)
    block = GATES[int(np.argwhere(bad)[0][-1]) // K] if bad.any() else "i"
    _expect_close("lstm_cell: gradient of G", "dG", dG, num,
                  describe=lambda idx: f"gate block {GATES[idx[-1] // K]}, unit {idx[-1] % K}",
                  hint=CELL_HINTS[block] + "; the loss reaches c both directly (dc) and through h (dh)")


@check("lstm_cell")
def check_gradient_c_prev(s):
    _, c_prev, _, dc_prev, _, num = _cell_gradients(s, 2)
    _expect_close("lstm_cell: gradient of c_prev", "dc_prev", dc_prev, num,
                  hint="c_prev reaches the loss only through c = f ⊙ c_prev + i ⊙ g, and c reaches it "
                       "along two paths: the carried gradient dc and h = o ⊙ tanh(c)")


@check("lstm_cell")
def check_missing_upstream(s):
    G, c_prev, dh, dc = _cell_problem(3)
    _, _, cache = s.lstm_cell.lstm_cell_forward(G, c_prev)
    zero = np.zeros_like(dh)
    for args, name in (((None, dc), "dh=None"), ((dh, None), "dc=None")):
        dG, dc_prev = s.lstm_cell.lstm_cell_backward(*args, cache)
        want_args = tuple(zero if a is None else a for a in args)
        dG0, dc_prev0 = s.lstm_cell.lstm_cell_backward(*want_args, cache)
        _expect_close(f"lstm_cell: {name}", "dG", dG, dG0, want_is="zeros in its place",
                      hint="None means a zero gradient: the last cell of a scan gets no carried dc")
        _expect_close(f"lstm_cell: {name}", "dc_prev", dc_prev, dc_prev0, want_is="zeros in its place",
                      hint="None means a zero gradient: the last cell of a scan gets no carried dc")


@check("lstm_cell")
def check_pure(s):
    G, c_prev, dh, dc = _cell_problem(4)
    _, _, cache = s.lstm_cell.lstm_cell_forward(G, c_prev)
    saved = [a.copy() for a in (dh, dc, *cache)]
    first = s.lstm_cell.lstm_cell_backward(dh, dc, cache)
    first = [a.copy() for a in first]
    for a, b, name in zip((dh, dc, *cache), saved, ("dh", "dc", "cache.gates", "cache.c_prev", "cache.tanh_c")):
        if not np.array_equal(a, b):
            _fail("lstm_cell: inputs untouched", f"lstm_cell_backward modified {name}",
                  "work on new arrays (x = x + y, not x += y, on an input)")
    second = s.lstm_cell.lstm_cell_backward(dh, dc, cache)
    for a, b in zip(first, second):
        if not np.array_equal(a, b):
            _fail("lstm_cell: repeatable", "a second call on the same cache gave other gradients",
                  "backward must not change anything it reads")


# --------------------------------------------------------------------------
# exercise conv
# --------------------------------------------------------------------------

def _conv_problem(seed, k, N=2, H=4, W=5, C=2, F=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, H, W, C)), rng.normal(size=(k, k, C, F)), rng.normal(size=(N, H, W, F))


def _pixel(idx, H=4, W=5):
    n, i, j, ch = idx
    edge = " (a border pixel)" if i in (0, H - 1) or j in (0, W - 1) else " (an inner pixel)"
    return f"sample {n}, row {i}, column {j}, channel {ch}{edge}"


@check("conv")
def check_col2im_is_the_adjoint_of_im2col(s):
    for k in (3, 1, 5):
        X, _, _ = _conv_problem(10 + k, k)
        rng = np.random.default_rng(k)
        dcols = rng.normal(size=X.shape[:3] + (k, k, X.shape[3]))
        dX = s.conv.col2im(dcols, X.shape)
        num = _numgrad(lambda: s.conv.im2col(X, k), X, dcols)
        _expect_close(f"conv: col2im is the adjoint of im2col (k={k})", "col2im(dcols)", dX, num,
                      describe=_pixel, want_is="finite differences of im2col",
                      hint="tap (a, b) of output cell (i, j) was copied from X[n, i+a−p, j+b−p]: add it back "
                           "exactly there, and drop the taps that read the zero padding; wrong entries "
                           "only on the border point at the padding offset")


@check("conv")
def check_shapes(s):
    for dtype in ("float64", "float32"):
        X, W_x, dU = (a.astype(dtype) for a in _conv_problem(20, 3))
        _, cache = s.conv.conv_forward(X, W_x)
        dX, dW_x = s.conv.conv_backward(dU, cache)
        _expect_array("conv: shapes", "dX", dX, X.shape, dtype)
        _expect_array("conv: shapes", "dW_x", dW_x, W_x.shape, dtype)


@check("conv")
def check_gradients(s):
    for k in (3, 1):
        X, W_x, dU = _conv_problem(30 + k, k)
        _, cache = s.conv.conv_forward(X, W_x)
        dX, dW_x = s.conv.conv_backward(dU, cache)

        def f():
            return s.conv.conv_forward(X, W_x)[0]

        _expect_close(f"conv: gradient of X (k={k})", "dX", dX, _numgrad(f, X, dU), describe=_pixel,
                      hint="dX = col2im(dU · W_xᵀ), with dU and W_x flattened as the forward flattens them")
        _expect_close(f"conv: gradient of W_x (k={k})", "dW_x", dW_x, _numgrad(f, W_x, dU),
                      describe=lambda idx: f"tap ({idx[0]}, {idx[1]}), in channel {idx[2]}, out channel {idx[3]}",
                      hint="U = P · W_x, so dW_x = Pᵀ · dU with the patches P = im2col(X) flattened to "
                           "(N·H·W, k·k·C)")


@check("conv")
def check_pure(s):
    X, W_x, dU = _conv_problem(40, 3)
    _, cache = s.conv.conv_forward(X, W_x)
    saved = [a.copy() for a in (dU, *cache)]
    first = [a.copy() for a in s.conv.conv_backward(dU, cache)]
    if any(not np.array_equal(a, b) for a, b in zip((dU, *cache), saved)):
        _fail("conv: inputs untouched", "conv_backward modified dU or the cache",
              "compute into new arrays")
    if any(not np.array_equal(a, b) for a, b in zip(first, s.conv.conv_backward(dU, cache))):
        _fail("conv: repeatable", "a second call on the same cache gave other gradients",
              "backward must not change anything it reads")


# --------------------------------------------------------------------------
# exercise raster_forward
# --------------------------------------------------------------------------

RECURRENCE_HINT = ("G = U[n,i,j] + h[n,i−1,j] · W_up + h[n,i,j−1] · W_left, then the cell with c[n,i,j−1] "
                   "carried in; states outside the map are 0")


@check("raster_forward")
def check_shapes(s):
    for dtype in ("float64", "float32"):
        U, W_up, W_left, _ = _scan_problem(0, dtype=dtype)
        h, c, _ = s.scan.raster_scan_forward(U, W_up, W_left)
        _expect_array("raster_forward: shapes", "h", h, U.shape[:3] + (W_up.shape[0],), dtype)
        _expect_array("raster_forward: shapes", "c", c, U.shape[:3] + (W_up.shape[0],), dtype)


@check("raster_forward")
def check_first_cell(s):
    U, W_up, W_left, _ = _scan_problem(1)
    h, c, _ = s.scan.raster_scan_forward(U, W_up, W_left)
    h_want, c_want = _cell(U[:, 0, 0], np.zeros_like(c[:, 0, 0]))
    hint = "the top-left cell has no neighbour: its G is U[n,0,0] alone and its carried c is 0"
    _expect_close("raster_forward: the first cell", "h[:, 0, 0]", h[:, 0, 0], h_want,
                  want_is="the cell equations", hint=hint)
    _expect_close("raster_forward: the first cell", "c[:, 0, 0]", c[:, 0, 0], c_want,
                  want_is="the cell equations", hint=hint)


@check("raster_forward")
def check_every_cell_follows_the_recurrence(s):
    for shape in ((2, 3, 4), (1, 4, 3), (2, 1, 5), (1, 5, 1)):
        N, H, W = shape
        U, W_up, W_left, _ = _scan_problem(2, N=N, H=H, W=W)
        h, c, _ = s.scan.raster_scan_forward(U, W_up, W_left)
        _check_recurrence(f"raster_forward: every cell follows §3.2 (H={H}, W={W})", U, h, c, W_up, W_left,
                          up="above", left="left", order=_raster_order, hint=RECURRENCE_HINT)


@check("raster_forward")
def check_receptive_field(s):
    U, W_up, W_left, _ = _scan_problem(3, H=4, W=5)
    _check_field("raster_forward: receptive field (§4)", s.scan.raster_scan_forward, U, W_up, W_left,
                 reaches=lambda a, b, i, j: a <= i and b <= j,
                 hint="a raster cell sees only cells above and to its left (a ≤ i and b ≤ j), through "
                      "chains of neighbours; read the neighbours' states after they are computed")


# --------------------------------------------------------------------------
# exercise raster_backward
# --------------------------------------------------------------------------

SCAN_BACKWARD_HINT = ("visit the cells in exactly the reverse order. A cell's dh is the head's gradient plus what "
                      "the cell below (through W_up) and the cell to the right (through W_left) send back; its "
                      "dc is what the cell to the right sends back. Add these messages (+=): two cells send "
                      "to each cell. The wrong entry with the largest (i, j) is where to start looking")


def _scan_gradients(s, forward, backward, seed, **shape):
    U, W_up, W_left, rng = _scan_problem(seed, **shape)
    h, _, cache = forward(U, W_up, W_left)
    dh = rng.normal(size=h.shape)
    dU, dW_up, dW_left = backward(dh, cache)

    def f():
        return forward(U, W_up, W_left)[0]

    return dict(U=(U, dU), W_up=(W_up, dW_up), W_left=(W_left, dW_left)), f, dh


def _check_scan_gradients(where, s, forward, backward, hint):
    for seed, shape in ((5, dict(H=3, W=4)), (6, dict(N=1, H=1, W=4)), (7, dict(N=1, H=4, W=1))):
        pairs, f, dh = _scan_gradients(s, forward, backward, seed, **shape)
        U = pairs["U"][0]
        for name, (x, dx) in pairs.items():
            _expect_array(f"{where}: shapes", f"d{name}", dx, x.shape, x.dtype)
        for name, (x, dx) in pairs.items():
            _expect_close(f"{where}: gradient of {name} (H={U.shape[1]}, W={U.shape[2]})", f"d{name}", dx,
                          _numgrad(f, x, dh), describe=_gate_map(U.shape[-1]) if name == "U" else None, hint=hint,
                          last=name == "U")


@check("raster_backward")
def check_gradients(s):
    _check_scan_gradients("raster_backward", s, s.scan.raster_scan_forward, s.scan.raster_scan_backward,
                          SCAN_BACKWARD_HINT)


@check("raster_backward")
def check_gradient_flows_only_backwards(s):
    U, W_up, W_left, _ = _scan_problem(8, N=1, H=4, W=5)
    h, _, cache = s.scan.raster_scan_forward(U, W_up, W_left)
    dh = np.zeros_like(h)
    dh[0, 2, 3] = 1.0
    dU = s.scan.raster_scan_backward(dh, cache)[0]
    moved = np.abs(dU[0]).max(axis=-1) > 0
    for i in range(4):
        for j in range(5):
            must = i <= 2 and j <= 3
            if moved[i, j] != must:
                _fail("raster_backward: gradient reaches exactly the cells that feed h[2, 3]",
                      f"with dh nonzero only at cell (2, 3), dU at cell ({i}, {j}) is "
                      f"{'nonzero' if moved[i, j] else 'zero'}; only cells above-left of (2, 3) feed it (§4)",
                      "messages go up and left only, and only from cells that received gradient")


@check("raster_backward")
def check_pure(s):
    U, W_up, W_left, rng = _scan_problem(9)
    h, _, cache = s.scan.raster_scan_forward(U, W_up, W_left)
    dh = rng.normal(size=h.shape)
    dh0, h0 = dh.copy(), cache.h.copy()
    first = [a.copy() for a in s.scan.raster_scan_backward(dh, cache)]
    if not np.array_equal(dh, dh0) or not np.array_equal(cache.h, h0):
        _fail("raster_backward: inputs untouched", "raster_scan_backward modified dh or the cache",
              "accumulate the cells' messages in a copy of dh, not in dh itself")
    if any(not np.array_equal(a, b) for a, b in zip(first, s.scan.raster_scan_backward(dh, cache))):
        _fail("raster_backward: repeatable", "a second call on the same cache gave other gradients",
              "backward must not change anything it reads")


# --------------------------------------------------------------------------
# exercise inverse_raster
# --------------------------------------------------------------------------

ROTATION_HINT = ("the inverse-raster scan is rot180(D(rot180(U))): rot180 reverses both spatial axes, "
                 "rows and columns, so the scan starts at the bottom-right corner")


@check("inverse_raster")
def check_rot180(s):
    a = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    r = np.asarray(s.directions.rot180(a))
    _expect_array("inverse_raster: rot180", "rot180(a)", r, a.shape, a.dtype)
    N, H, W = a.shape[:3]
    for n in range(N):
        for i in range(H):
            for j in range(W):
                if not np.array_equal(r[n, i, j], a[n, H - 1 - i, W - 1 - j]):
                    _fail("inverse_raster: rot180", f"rot180(a)[{n}, {i}, {j}] = {r[n, i, j].tolist()}, but "
                          f"the definition gives a[{n}, {H - 1 - i}, {W - 1 - j}] = "
                          f"{a[n, H - 1 - i, W - 1 - j].tolist()}", ROTATION_HINT)


@check("inverse_raster")
def check_first_cell_is_the_bottom_right_corner(s):
    U, W_up, W_left, _ = _scan_problem(11)
    h, c, _ = s.directions.inverse_raster_forward(U, W_up, W_left)
    h_want, _ = _cell(U[:, -1, -1], np.zeros_like(c[:, 0, 0]))
    hint = ROTATION_HINT
    if np.allclose(h[:, 0, 0], _cell(U[:, 0, 0], np.zeros_like(c[:, 0, 0]))[0]):
        hint = "your scan starts at the top-left corner, in raster order; " + ROTATION_HINT
    _expect_close("inverse_raster: the first cell is the bottom-right corner", "h[:, H−1, W−1]",
                  h[:, -1, -1], h_want, want_is="the cell equations with no neighbour", hint=hint)


@check("inverse_raster")
def check_every_cell_follows_the_recurrence(s):
    for shape in ((2, 3, 4), (1, 4, 3)):
        N, H, W = shape
        U, W_up, W_left, _ = _scan_problem(12, N=N, H=H, W=W)
        h, c, _ = s.directions.inverse_raster_forward(U, W_up, W_left)
        _check_recurrence(f"inverse_raster: every cell follows §3.3 (H={H}, W={W})", U, h, c, W_up, W_left,
                          up="below", left="right", order=_inverse_order,
                          hint="in map coordinates a cell reads h · W_up from the cell below, h · W_left and c "
                               "from the cell to its right; " + ROTATION_HINT)


@check("inverse_raster")
def check_receptive_field(s):
    U, W_up, W_left, _ = _scan_problem(13, H=4, W=5)
    _check_field("inverse_raster: receptive field (§4)", s.directions.inverse_raster_forward, U, W_up, W_left,
                 reaches=lambda a, b, i, j: a >= i and b >= j,
                 hint="an inverse-raster cell sees only cells below and to its right (a ≥ i and b ≥ j); "
                      + ROTATION_HINT)


@check("inverse_raster")
def check_gradients(s):
    _check_scan_gradients("inverse_raster", s, s.directions.inverse_raster_forward,
                          s.directions.inverse_raster_backward,
                          "the rotation only permutes cells, so its backward is the same permutation: "
                          "rotate dh, run your raster_scan_backward, rotate dU back")


# --------------------------------------------------------------------------
# exercise softmax
# --------------------------------------------------------------------------

def _logits(seed, N=3, H=4, W=5, scale=2.0):
    return np.random.default_rng(seed).normal(0.0, scale, size=(N, H, W))


SOFTMAX_HINT = "normalise over all H·W positions of each sample at once, not over rows or columns"


@check("softmax")
def check_shapes(s):
    for dtype in ("float64", "float32"):
        S = _logits(0).astype(dtype)
        A, cache = s.softmax.spatial_softmax_forward(S)
        _expect_array("softmax: shapes", "A", A, S.shape, dtype)
        _expect_array("softmax: shapes", "dS", s.softmax.spatial_softmax_backward(np.ones_like(S), cache),
                      S.shape, dtype)


@check("softmax")
def check_a_distribution_per_sample(s):
    S = _logits(1)
    A, _ = s.softmax.spatial_softmax_forward(S)
    if not np.all(A > 0):
        _fail("softmax: a distribution per sample", "some entries of A are not positive", SOFTMAX_HINT)
    sums = A.reshape(len(A), -1).sum(axis=1)
    rows = A.sum(axis=2)
    if not np.allclose(sums, 1.0):
        hint = SOFTMAX_HINT
        if np.allclose(rows, 1.0) or np.allclose(A.sum(axis=1), 1.0):
            hint = "every row (or column) of your mask sums to 1: " + SOFTMAX_HINT
        n = int(np.argmax(np.abs(sums - 1.0)))
        _fail("softmax: a distribution per sample", f"sample {n}'s mask sums to {sums[n]:.6f} over its H·W "
              "positions, not 1", hint)


@check("softmax")
def check_the_definition(s):
    S = _logits(2)
    A, _ = s.softmax.spatial_softmax_forward(S)
    E = np.exp(S)
    want = E / E.sum(axis=(1, 2), keepdims=True)
    _expect_close("softmax: the definition of §3.5", "A", A, want, want_is="exp(S) / Σ_{i,j} exp(S)",
                  describe=lambda idx: f"sample {idx[0]}, cell ({idx[1]}, {idx[2]})", rtol=1e-9, atol=1e-12,
                  hint=SOFTMAX_HINT)


@check("softmax")
def check_large_logits(s):
    S = _logits(3, scale=20.0)
    S[0] += 800.0     # exp overflows without a shift
    S[1] -= 800.0     # and underflows when shifted by another sample's maximum
    A, _ = s.softmax.spatial_softmax_forward(S)
    shifted = S - S.max(axis=(1, 2), keepdims=True)
    want = np.exp(shifted) / np.exp(shifted).sum(axis=(1, 2), keepdims=True)
    _expect_close("softmax: large logits (±800)", "A", A, want, want_is="the exact softmax",
                  describe=lambda idx: f"sample {idx[0]}, cell ({idx[1]}, {idx[2]})", rtol=1e-9, atol=1e-12,
                  hint="exp overflows above about 709: subtract each sample's own maximum first (the "
                       "softmax does not change), not one maximum for the whole batch")


@check("softmax")
def check_gradient(s):
    S = _logits(4)
    A, cache = s.softmax.spatial_softmax_forward(S)
    dA = np.random.default_rng(5).normal(size=S.shape)
    dS = s.softmax.spatial_softmax_backward(dA, cache)
    _expect_close("softmax: gradient of S", "dS", dS,
                  _numgrad(lambda: s.softmax.spatial_softmax_forward(S)[0], S, dA),
                  describe=lambda idx: f"sample {idx[0]}, cell ({idx[1]}, {idx[2]})",
                  hint="each A[n,i,j] depends on every S[n,i',j'] of its sample through the sum; the Jacobian "
                       "is diag(A) − A Aᵀ over the H·W positions")


@check("softmax")
def check_constant_upstream_gives_zero(s):
    S = _logits(6)
    _, cache = s.softmax.spatial_softmax_forward(S)
    dA = np.broadcast_to(np.array([1.0, -2.0, 0.5])[:, None, None], S.shape).copy()
    dS = s.softmax.spatial_softmax_backward(dA, cache)
    _expect_close("softmax: a constant dA per sample gives dS = 0", "dS", dS, np.zeros_like(S),
                  want_is="zero (the mask always sums to 1)", describe=lambda idx: f"sample {idx[0]}",
                  atol=1e-12, hint="adding a constant to dA over a sample cannot change anything, since the "
                                   "sample's mask sums to 1: the sum in the backward runs over all H·W positions")


# --------------------------------------------------------------------------
# exercise combiner
# --------------------------------------------------------------------------

def _combiner_problem(seed, n_s=3, N=2, H=3, W=4, C=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(N, H, W, C)), rng.normal(size=(N, H, W, n_s)), rng.normal(size=(C, n_s)),
            rng.normal(size=(n_s,)), rng.normal(size=(N, H, W)))


COMBINER_HINT = ("S = Σ_s β_s Up_s; β is a softmax over the scales at each position, so in its backward the sum "
                 "runs over the last axis only; then Z = X · V + c")


@check("combiner")
def check_shapes(s):
    X, Up, V, c, dS = _combiner_problem(0)
    _, cache = s.combiner.combiner_forward(X, Up, V, c)
    out = s.combiner.combiner_backward(dS, cache)
    if not isinstance(out, tuple) or len(out) != 4:
        _fail("combiner: shapes", "combiner_backward must return the tuple (dX, dUp, dV, dc)",
              "one gradient per input of combiner_forward, in its order")
    for name, got, want in zip(("dX", "dUp", "dV", "dc"), out, (X, Up, V, c)):
        _expect_array("combiner: shapes", name, got, want.shape, want.dtype)


@check("combiner")
def check_gradients(s):
    X, Up, V, c, dS = _combiner_problem(1)
    _, cache = s.combiner.combiner_forward(X, Up, V, c)
    grads = s.combiner.combiner_backward(dS, cache)

    def f():
        return s.combiner.combiner_forward(X, Up, V, c)[0]

    where = {"X": lambda i: f"sample {i[0]}, cell ({i[1]}, {i[2]}), channel {i[3]}",
             "Up": lambda i: f"sample {i[0]}, cell ({i[1]}, {i[2]}), scale {i[3]}",
             "V": lambda i: f"channel {i[0]}, scale {i[1]}", "c": lambda i: f"scale {i[0]}"}
    for (name, x), g in zip((("X", X), ("Up", Up), ("V", V), ("c", c)), grads):
        _expect_close(f"combiner: gradient of {name}", f"d{name}", g, _numgrad(f, x, dS),
                      describe=where[name], hint=COMBINER_HINT)


@check("combiner")
def check_one_scale(s):
    X, Up, V, c, dS = _combiner_problem(2, n_s=1)
    _, cache = s.combiner.combiner_forward(X, Up, V, c)
    dX, dUp, dV, dc = s.combiner.combiner_backward(dS, cache)
    hint = "with one scale β ≡ 1 whatever Z is, so S = Up and nothing reaches X, V or c through β"
    _expect_close("combiner: one scale", "dUp", dUp, dS[..., None], want_is="dS itself", atol=1e-12, hint=hint)
    for name, g in (("dX", dX), ("dV", dV), ("dc", dc)):
        _expect_close("combiner: one scale", name, g, np.zeros_like(g), want_is="zero", atol=1e-12, hint=hint)


@check("combiner")
def check_pure(s):
    X, Up, V, c, dS = _combiner_problem(3)
    _, cache = s.combiner.combiner_forward(X, Up, V, c)
    saved = [a.copy() for a in (dS, *cache)]
    first = [a.copy() for a in s.combiner.combiner_backward(dS, cache)]
    if any(not np.array_equal(a, b) for a, b in zip((dS, *cache), saved)):
        _fail("combiner: inputs untouched", "combiner_backward modified dS or the cache", "compute into new arrays")
    if any(not np.array_equal(a, b) for a, b in zip(first, s.combiner.combiner_backward(dS, cache))):
        _fail("combiner: repeatable", "a second call on the same cache gave other gradients",
              "backward must not change anything it reads")


# --------------------------------------------------------------------------
# challenge wavefront
# --------------------------------------------------------------------------

WAVEFRONT_SHAPES = ((2, 3, 4), (1, 4, 3), (1, 1, 5), (1, 5, 1), (1, 1, 1), (2, 4, 4))


@check("wavefront")
def check_same_numbers_as_your_raster_loop(s):
    for N, H, W in WAVEFRONT_SHAPES:
        U, W_up, W_left, _ = _scan_problem(20, N=N, H=H, W=W)
        h_r, c_r, _ = s.scan.raster_scan_forward(U, W_up, W_left)
        try:
            _check_recurrence("wavefront", U, h_r, c_r, W_up, W_left, up="above", left="left",
                              order=_raster_order, hint="")
        except CheckFailure:
            _fail("wavefront: same numbers as your raster loop", "this challenge compares with your "
                  "raster_scan_forward, which does not follow §3.2 yet", "pass exercise raster_forward first")
        out = s.scan.wavefront_scan_forward(U, W_up, W_left)
        h_w = out[0]
        _expect_array("wavefront: shapes", "h", h_w, h_r.shape, h_r.dtype)
        bad = ~np.isclose(h_w, h_r, rtol=1e-9, atol=1e-12)
        if bad.any():
            cells = sorted({(int(i), int(j)) for _, i, j, _ in np.argwhere(bad)}, key=lambda ij: (sum(ij), ij[0]))
            i, j = cells[0]
            _fail(f"wavefront: same numbers as your raster loop (H={H}, W={W})",
                  f"h differs from your raster loop in {len(cells)} of {H * W} cells; the first, in wavefront "
                  f"order, is cell ({i}, {j}) on diagonal t = {i + j}; largest error "
                  f"{np.abs(h_w - h_r).max():.2e}",
                  "the cells of diagonal t are (i, t − i); their neighbours above and to the left lie on "
                  "diagonal t − 1. If the first wrong cell is the first that reads a neighbour, the skew "
                  "(which row or column a neighbour sits in) is off by one")


@check("wavefront")
def check_one_step_per_diagonal(s):
    U, W_up, W_left, _ = _scan_problem(21, N=1, H=3, W=5)
    module = s.scan
    original = module.lstm_cell_forward
    calls = []

    def counting(G, c_prev):
        calls.append(G.shape)
        return original(G, c_prev)

    module.lstm_cell_forward = counting
    try:
        module.wavefront_scan_forward(U, W_up, W_left)
    finally:
        module.lstm_cell_forward = original
    if len(calls) != 3 + 5 - 1:
        _fail("wavefront: H + W − 1 sequential steps", f"on a 3×5 map wavefront_scan_forward called "
              f"lstm_cell_forward {len(calls)} times, not 3 + 5 − 1 = 7 (the grader counts the calls to the "
              "name lstm_cell_forward that scan.py imports at its top)",
              "call it once per anti-diagonal, on all the diagonal's cells at once (stack them on an axis)")


def _main(argv):  # pragma: no cover - a convenience for teachers: python checks.py WORKSPACE
    sys.path.insert(0, argv[1])
    package = importlib.import_module("student")
    print(score_table(grade(package, argv[2:])))


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv)
