"""Comparing a candidate implementation with this one, and the report that says where it goes wrong.

A candidate is a callable ``f(problem) -> dict``. The dict may hold any of

- ``A`` (N, H, W), ``dX`` (N, H, W, C), ``dq`` (N, Q);
- ``grads``: a dict in this package's key names (``from_torch_layout``
  maps a PyTorch module's ``.grad``s), or the flat names ``grads.{key}``;
- any intermediate, by the names of :func:`attnrnn_np.verify.trace`.

Values may be NumPy arrays or tensors (anything with
``.detach().cpu().numpy()``). Returning None skips a problem the candidate
does not handle (it is listed as skipped, not failed).

Every supplied tensor is compared entry by entry with this package's value,
computed in float64. An entry mismatches when

    |got − want| > atol · max(1, max |want|) + rtol · |want|

with the tolerances of :data:`TOLERANCES` for the dtype the problems were
given in. The first divergence is the first failing tensor in dependency
order (:func:`stage_of` names its stage); for a scan stage it is located at
the first wrong cell in that direction's own scan order.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .catalogue import BUGS, STAGES
from .golden import INPUT_NAMES, INPUT_PREFIXES, SHIPPED_DIR, load_golden, output_names, reference
from .layout import host_array
from .problems import problems as all_problems

__all__ = [
    "Tolerance",
    "TOLERANCES",
    "stage_of",
    "TensorResult",
    "Divergence",
    "ProblemResult",
    "Report",
    "verify",
    "verify_npz",
    "verify_installation",
]


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

GATE_BLOCKS = "ifgo"


def stage_of(name):
    """The stage (one of the catalogue's ``STAGES``) that computes the value called ``name``.

    ``U.d`` → ``U``; ``gates.d``, ``c.d``, ``h.d`` → ``scan.d``; a scale's
    ``S`` → ``head``; ``beta`` and the combined multi-scale ``S`` →
    ``combiner``; ``A`` → ``normalize``; ``dX``, ``dq``, ``grads.*`` →
    ``backward``. ``S`` without a scale prefix is the single-scale head.
    """
    if name in ("dX", "dq") or name.startswith("grads."):
        return "backward"
    if name == "A":
        return "normalize"
    if name == "beta":
        return "combiner"
    local = name.split(".", 1)[1] if name.startswith("scale") else name
    if local == "S":
        return "head"
    kind, _, d = local.partition(".")
    return "U" if kind == "U" else f"scan.{d}"


def _multiscale_stage(name, scales):
    if scales is not None and name == "S":
        return "combiner"
    return stage_of(name)


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

    @property
    def size(self):
        return int(np.prod(self.shape))


@dataclass
class Divergence:
    """Where a problem's values first go wrong, in dependency order."""

    stage: str
    tensor: str
    where: str                      # human-readable location
    got: float | None = None
    want: float | None = None
    index: tuple | None = None      # index into the tensor, e.g. (n, i, j, channel)
    cell: tuple | None = None       # for a scan stage: (n, i, j), map coordinates
    hint: str = ""                  # e.g. that earlier stages were not supplied
    causes: list = field(default_factory=list)   # catalogue Bugs, most likely first


@dataclass
class ProblemResult:
    """Everything the report says about one problem."""

    name: str
    status: str                     # "pass", "FAIL", "error", "skipped", "missing"
    tensors: list = field(default_factory=list)
    divergence: Divergence | None = None
    message: str = ""               # the exception, or why skipped
    ignored: list = field(default_factory=list)   # supplied names the kit does not know

    @property
    def passed(self):
        return self.status in ("pass", "skipped")


@dataclass
class Report:
    """The result of :func:`verify`; ``str(report)`` renders it as text."""

    source: str
    dtype: str
    results: list

    @property
    def checked(self):
        return [r for r in self.results if r.status != "skipped"]

    @property
    def passed(self):
        """True when every problem passed or was skipped, and at least one was compared."""
        return bool(self.checked) and all(r.passed for r in self.results)

    def __bool__(self):
        return self.passed

    def __str__(self):
        return render(self)

    def _repr_pretty_(self, p, cycle):   # IPython and Jupyter show the text
        p.text(str(self))


# --------------------------------------------------------------------------
# comparing one problem
# --------------------------------------------------------------------------

def _flatten(out):
    """A candidate's dict with ``grads`` flattened to ``grads.{key}``, values as NumPy arrays."""
    flat = {}
    for name, value in out.items():
        if name == "grads" and isinstance(value, dict):
            flat.update({f"grads.{key}": v for key, v in value.items()})
        else:
            flat[name] = value
    return {name: (None if v is None else host_array(v)) for name, v in flat.items()}


def _compare(name, stage, got, want, tol):
    want = np.asarray(want, dtype=np.float64)
    if got is None:
        return TensorResult(name, stage, want.shape, False, note="None instead of an array"), None
    if got.shape != want.shape:
        return TensorResult(name, stage, want.shape, False,
                            note=f"shape {tuple(got.shape)} instead of {tuple(want.shape)}"), None
    if not np.issubdtype(got.dtype, np.number) or np.iscomplexobj(got):
        return TensorResult(name, stage, want.shape, False, note=f"dtype {got.dtype} is not a real number"), None
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
                          "" if finite.all() else f"{int((~finite).sum())} entries NaN or infinite")
    return result, bad


def _local(name):
    """``name`` without its ``scale{γ}.`` prefix."""
    return name.split(".", 1)[1] if name.startswith("scale") else name


def _kind(name):
    """``U``, ``gates``, ``c``, ``h``, ``S``, ``A``, ``beta``, ``dX``, ``dq`` or ``grads``."""
    return _local(name).split(".")[0]


def _direction(name):
    last = _local(name).rsplit(".", 1)[-1]
    return last if last in ("fwd", "bwd") and _kind(name) != "grads" else None


def _first_index(bad, reverse):
    """The first True entry of ``bad`` in C order, rows and columns walked backwards when ``reverse``."""
    view = bad[:, ::-1, ::-1] if reverse and bad.ndim >= 3 else bad
    index = tuple(int(v) for v in np.argwhere(view)[0])
    if reverse and bad.ndim >= 3:
        index = (index[0], bad.shape[1] - 1 - index[1], bad.shape[2] - 1 - index[2]) + index[3:]
    return index


def _channel_text(name, channel, K):
    if _kind(name) in ("gates", "U"):
        return f"channel {channel} (gate {GATE_BLOCKS[channel // K]}, unit {channel % K})"
    return f"channel {channel}"


def _locate(name, bad, got, want, problem_K):
    """A Divergence for a tensor that is not part of a scan stage."""
    stage = stage_of(name)
    if bad is None:
        return Divergence(stage, name, "the whole tensor (see its note)")
    d = _direction(name)
    index = _first_index(bad, d == "bwd")
    where = f"index {index}"
    if len(index) == 4 and _kind(name) == "U":
        n, i, j, ch = index
        where = f"cell (n={n}, i={i}, j={j}), {_channel_text(name, ch, problem_K)}"
        if d == "bwd":
            where += ", the first wrong in inverse raster order"
    elif len(index) >= 3 and _kind(name) not in ("dq", "grads"):
        where = f"cell (n={index[0]}, i={index[1]}, j={index[2]})" + (
            f", channel {index[3]}" if len(index) == 4 else "")
    return Divergence(stage, name, where, float(got[index]), float(want[index]), index)


def _locate_scan(prefix, d, checked, arrays, K):
    """The first wrong cell of direction ``d`` in its own scan order, across gates, c and h."""
    names = [f"{prefix}{kind}.{d}" for kind in ("gates", "c", "h")]
    bads = {n: checked[n][1] for n in names if n in checked}
    shape = next(iter(bads.values())).shape[:3] if bads and all(b is not None for b in bads.values()) else None
    if shape is None:
        name = next(n for n in names if n in checked and not checked[n][0].passed)
        return Divergence(f"scan.{d}", name, "the whole tensor (see its note)")
    any_bad = np.zeros(shape, dtype=bool)
    for bad in bads.values():
        any_bad |= bad.reshape(shape + (-1,)).any(axis=-1)
    cell = _first_index(any_bad, d == "bwd")
    for name, bad in bads.items():
        if bad[cell].any():
            ch = int(np.argwhere(bad[cell])[0][0])
            got, want = arrays[name]
            order = "inverse raster order" if d == "bwd" else "raster order"
            n, i, j = cell
            return Divergence(f"scan.{d}", name,
                              f"cell (n={n}, i={i}, j={j}), first wrong in {order}; {name} "
                              f"{_channel_text(name, ch, K)}",
                              float(got[cell + (ch,)]), float(want[cell + (ch,)]), cell + (ch,), cell)
    raise AssertionError("a failing scan tensor has no wrong cell")


# --------------------------------------------------------------------------
# the likely causes
# --------------------------------------------------------------------------

def _causes(div, problem, arrays):
    """Catalogue entries that fit the divergence, most likely first."""
    d = problem.dims
    stages = [div.stage]
    if div.hint:   # earlier stages were not compared: any of them may be wrong
        stages = list(STAGES[:STAGES.index(div.stage) + 1])
    ruled_out = set()
    if d["k"] == 1:
        ruled_out.add("reverse-kernel")            # a 1×1 kernel is its own rotation
    if d["Q"] == 0:
        ruled_out.add("query-placement")
    if problem.normalize != "softmax":
        ruled_out |= {"softmax-axis", "softmax-shift"}
    if problem.scales is None:
        ruled_out.add("combiner-axis")
    first = []
    if div.stage.startswith("scan.") and div.cell is not None:
        n, i, j = div.cell
        if div.stage == "scan.bwd":        # the cell in the scan's own (rotated) coordinates
            H, W = arrays[div.tensor][1].shape[1:3]
            i, j = H - 1 - i, W - 1 - j
        if (n, i, j) == (0, 0, 0):        # the scan's very first cell reads no neighbour
            first = ["gate-order", "sigmoid-candidate", "reverse-flag", "flip-axis"]
            if _kind(div.tensor) == "gates" and div.index[-1] // d["K"] == GATE_BLOCKS.index("g"):
                first = ["sigmoid-candidate"] + first
            ruled_out |= {"wrong-neighbour-h", "wrong-neighbour-c", "skew-offset"}
        else:
            ruled_out |= {"gate-order", "sigmoid-candidate"}
            first = (["wrong-neighbour-h", "skew-offset", "wrong-neighbour-c"] if i == 0
                     else ["skew-offset", "wrong-neighbour-c", "wrong-neighbour-h"]) + ["flip-axis"]
        # The gates read only h; c also reads the carried cell state. Right
        # gates with a wrong c at the first wrong cell point at the carry.
        c_name = div.tensor.replace("gates.", "c.")
        if _kind(div.tensor) == "c":
            first = ["wrong-neighbour-c"] + first
        elif _kind(div.tensor) == "gates" and c_name in arrays:
            ruled_out.add("wrong-neighbour-c")
    if div.stage == "U" and div.tensor in arrays:
        got, want = arrays[div.tensor]
        diff = got - want
        K = d["K"]
        small = 1e-6 * max(1.0, float(np.abs(want).max()))      # far above round-off, far below any bug
        blocks = {GATE_BLOCKS[b] for b in range(4) if np.abs(diff[..., b * K:(b + 1) * K]).max() > small}
        same_everywhere = np.abs(diff - diff[:1, :1, :1]).max() <= small
        same_per_sample = np.abs(diff - diff[:, :1, :1]).max() <= small
        if same_everywhere and blocks <= {"i", "f"}:
            first = ["forget-bias"]
        elif same_per_sample:
            first = ["query-placement", "forget-bias"]
        elif div.tensor.endswith("bwd"):
            first = ["reverse-kernel"]
    fitting = [b for b in BUGS if b.stage in stages and b.name not in ruled_out]
    rank = {}
    for r, name in enumerate(first):
        rank.setdefault(name, r)
    return sorted(fitting, key=lambda b: rank.get(b.name, len(first)))


# --------------------------------------------------------------------------
# one problem
# --------------------------------------------------------------------------

def check_problem(problem, supplied, expected, tol):
    """Compare a candidate's values for one problem with the expected ones.

    Parameters
    ----------
    problem : Problem
    supplied : dict
        The candidate's output (see the module docstring).
    expected : dict of ndarray
        Every name of :func:`~attnrnn_np.verify.golden.output_names`.
    tol : Tolerance

    Returns
    -------
    ProblemResult
    """
    got_all = _flatten(supplied)
    names = [n for n in output_names(problem) if n in expected]
    ignored = sorted(set(got_all) - set(names))
    tensors, checked, arrays = [], {}, {}
    for name in names:
        if name not in got_all:
            continue
        stage = _multiscale_stage(name, problem.scales)
        result, bad = _compare(name, stage, got_all[name], expected[name], tol)
        tensors.append(result)
        checked[name] = (result, bad)
        if bad is not None:
            arrays[name] = (got_all[name].astype(np.float64), np.asarray(expected[name], dtype=np.float64))
    if not tensors:
        return ProblemResult(problem.name, "FAIL", message=(
            "the candidate supplied none of the known names (e.g. A, dX, grads, U.fwd)"
            + (f"; it supplied {ignored}" if ignored else "")), ignored=ignored)
    failing = [t for t in tensors if not t.passed]
    if not failing:
        return ProblemResult(problem.name, "pass", tensors, ignored=ignored)
    first = failing[0]
    K = problem.dims["K"]
    d = _direction(first.name)
    if first.stage.startswith("scan."):
        prefix = first.name[:first.name.index(".") + 1] if first.name.startswith("scale") else ""
        div = _locate_scan(prefix, d, checked, arrays, K)
    else:
        got, want = arrays.get(first.name, (None, None))
        div = _locate(first.name, checked[first.name][1], got, want, K)
        div.stage = first.stage
    earlier = [n for n in names[:names.index(first.name)] if _multiscale_stage(n, problem.scales) != first.stage]
    if not any(n in got_all for n in earlier) and first.stage != "U":
        div.hint = ("no earlier stage was supplied, so the bug may sit in any stage up to this one: "
                    "return the intermediates too (names of attnrnn_np.verify.trace) to locate it")
    div.causes = _causes(div, problem, arrays)
    return ProblemResult(problem.name, "FAIL", tensors, div, ignored=ignored)


def _run_candidate(candidate, problem, expected, tol):
    try:
        out = candidate(problem)
    except Exception as err:   # the report names it; one bad problem must not hide the others
        frame = traceback.extract_tb(err.__traceback__)[-1]
        where = f" (at {Path(frame.filename).name}:{frame.lineno})"
        return ProblemResult(problem.name, "error", message=f"{type(err).__name__}: {err}{where}")
    if out is None:
        return ProblemResult(problem.name, "skipped", message="the candidate returned None")
    if not hasattr(out, "items"):
        return ProblemResult(problem.name, "error",
                             message=f"the candidate returned {type(out).__name__}, expected a dict of arrays")
    try:
        return check_problem(problem, out, expected, tol)
    except Exception as err:
        return ProblemResult(problem.name, "error", message=f"{type(err).__name__}: {err}")


def _tolerance(dtype):
    name = np.dtype(dtype).name
    if name not in TOLERANCES:
        raise ValueError(f"dtype must be one of {sorted(TOLERANCES)}, got {dtype!r}")
    return name, TOLERANCES[name]


def verify(candidate, problems=None, *, dtype="float64"):
    """Check a candidate implementation on the fixed problems.

    Parameters
    ----------
    candidate : callable
        ``candidate(problem) -> dict`` (see the module docstring); it is
        given each :class:`~attnrnn_np.verify.Problem` with every array in
        ``dtype``.
    problems : list of Problem or of str, optional
        Problems, or their names; default the whole set.
    dtype : {"float64", "float32"}
        The dtype the candidate gets its inputs in; it picks the tolerance.

    Returns
    -------
    Report
        ``report.passed``, and ``str(report)`` for the text.
    """
    name, tol = _tolerance(dtype)
    if problems is None:
        problems = all_problems()
    elif all(isinstance(p, str) for p in problems):
        problems = all_problems(problems)
    results = [_run_candidate(candidate, p.astype(name), reference(p), tol) for p in problems]
    source = getattr(candidate, "__qualname__", None) or type(candidate).__name__
    module = getattr(candidate, "__module__", None)
    return Report(f"{module}:{source}" if module else source, name, results)


def _is_input(name):
    """True for the golden files' inputs (``X``, ``params.*``, …), which a dump may copy along."""
    return name in INPUT_NAMES or name.startswith(INPUT_PREFIXES)


def verify_npz(directory, problems=None, *, dtype="float64"):
    """Check results dumped by another program, one ``{problem name}.npz`` per problem.

    Parameters
    ----------
    directory : str or Path
        Holds ``{name}.npz`` for each problem, with the names of the golden
        files (``A``, ``dX``, ``dq``, ``grads.{key}``, intermediates); other
        entries (such as copied inputs) are ignored. Read with
        ``allow_pickle=False``.
    problems : list of Problem or of str, optional
        Default: every problem of the set; a missing file is a failure.
    dtype : {"float64", "float32"}
        Picks the tolerance.

    Returns
    -------
    Report
    """
    name, tol = _tolerance(dtype)
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no folder {str(directory)!r}")
    if problems is None:
        problems = all_problems()
    elif all(isinstance(p, str) for p in problems):
        problems = all_problems(problems)
    results = []
    for p in problems:
        path = directory / f"{p.name}.npz"
        if not path.exists():
            results.append(ProblemResult(p.name, "missing", message=f"no file {path.name} in {directory}"))
            continue
        try:
            with np.load(path, allow_pickle=False) as f:
                supplied = {key: f[key] for key in f.files if not _is_input(key)}
        except Exception as err:
            results.append(ProblemResult(p.name, "error", message=f"cannot read {path.name}: {err}"))
            continue
        results.append(check_problem(p, supplied, reference(p), tol))
    return Report(f"the files in {directory}", name, results)


def verify_installation(directory=SHIPPED_DIR):
    """Check this installation against the golden files shipped inside the package.

    Runs the installed layer on the inputs stored in each golden file of
    ``directory`` (default: the small set in ``attnrnn_np/verify/golden``)
    and compares every output and intermediate with the stored values, at
    the float64 tolerance. A failure means the installed code, NumPy or BLAS
    computes something other than what the files were made with.
    """
    directory = Path(directory)
    paths = sorted(directory.glob("*.npz"))
    if not paths:
        raise FileNotFoundError(f"no golden .npz files in {directory}")
    _, tol = _tolerance("float64")
    results = []
    for path in paths:
        problem, expected = load_golden(path)
        results.append(_run_candidate(reference, problem, expected, tol))
    return Report(f"this installation against the golden files in {directory}", "float64", results)


# --------------------------------------------------------------------------
# the text
# --------------------------------------------------------------------------

def _fmt(x):
    return "-" if x != x else f"{x:.1e}"


def render(report: Report):
    """The report as text: a summary line, then each problem, then the first divergences."""
    tol = TOLERANCES[report.dtype]
    lines = [f"Verifying {report.source}",
             f"dtype {report.dtype}: an entry mismatches when |got − want| > {tol.atol:g}·max(1, max|want|) "
             f"+ {tol.rtol:g}·|want|"]
    n_pass = sum(r.status == "pass" for r in report.results)
    n_skip = sum(r.status == "skipped" for r in report.results)
    verdict = "AGREES" if report.passed else "DISAGREES"
    lines.append(f"{verdict}: {n_pass} of {len(report.results)} problems pass"
                 + (f", {n_skip} skipped" if n_skip else "")
                 + ("" if report.checked else "; nothing was compared"))
    for r in report.results:
        lines.append("")
        lines.append(f"{r.name}: {r.status}" + (f" — {r.message}" if r.message else ""))
        if r.status == "pass":
            worst = max((t.max_rel for t in r.tensors if t.max_rel == t.max_rel), default=0.0)
            lines[-1] += (f" ({len(r.tensors)} tensors, worst error {_fmt(worst)} of the tensor's "
                          f"largest entry)")
        elif r.tensors:
            width = max(len(t.name) for t in r.tensors)
            lines.append(f"  {'tensor':<{width}}  {'stage':<9} {'max abs':>8} {'max rel':>8} {'mismatched':>12}")
            for t in r.tensors:
                mism = f"{t.mismatched}/{t.size}"
                tail = "ok" if t.passed else "FAIL" + (f" ({t.note})" if t.note else "")
                lines.append(f"  {t.name:<{width}}  {t.stage:<9} {_fmt(t.max_abs):>8} {_fmt(t.max_rel):>8} "
                             f"{mism:>12}  {tail}")
        if r.ignored:
            lines.append(f"  ignored (not names the kit knows): {', '.join(r.ignored)}")
        div = r.divergence
        if div is not None:
            lines.append(f"  first divergence: stage {div.stage}, {div.tensor} at {div.where}")
            if div.got is not None:
                lines.append(f"    got {div.got:.10g}, expected {div.want:.10g}")
            if div.hint:
                lines.append(f"    note: {div.hint}")
            if div.causes:
                lines.append("  likely causes (catalogue):")
                for b in div.causes:
                    lines.append(f"    {b.name:<18} looks like: {b.looks_like}")
                    lines.append(f"    {'':<18} symptom:    {b.symptom}")
    return "\n".join(lines)
