"""Checking a candidate implementation against this one: problem results, coverage and the verdict.

A candidate is a callable ``f(problem) -> dict``. The dict may hold any of

- ``A`` (N, H, W), ``dX`` (N, H, W, C), ``dq`` (N, Q);
- ``grads``: a dict in this package's key names (``from_torch_layout``
  maps a PyTorch module's ``.grad``s), or the flat names ``grads.{key}``;
- any intermediate, by the names of :func:`attnrnn_np.verify.trace`.

Values may be NumPy arrays or tensors (anything with
``.detach().cpu().numpy()``). Returning None skips a problem the candidate
does not handle (it is listed as skipped, and what it would have shown is
listed as never compared).

Every supplied tensor is compared entry by entry (:mod:`.compare`); the
first failing tensor in dependency order is located (:mod:`.locate`) and
its likely causes ranked (:mod:`.diagnose`). A name the kit does not know
fails its problem, with the nearest known name. The report states what was
compared across all problems and what never was (:class:`Coverage`), and
``require`` turns a gap into a failure. The first problem is run again at
the end: a different answer is state carried between calls.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .compare import TOLERANCES, TensorResult, Tolerance, compare, flatten, tolerance
from .coverage import REQUIREMENTS, Coverage, coverage
from .diagnose import hint_for, layout_of, likely_causes
from .golden import INPUT_NAMES, INPUT_PREFIXES, SHIPPED_DIR, load_golden, output_names, reference
from .locate import Divergence, locate, locate_scan
from .names import nearest, parse, stage_of
from .problems import problems as all_problems

__all__ = [
    "Tolerance",
    "TOLERANCES",
    "stage_of",
    "TensorResult",
    "Divergence",
    "ProblemResult",
    "Report",
    "REQUIREMENTS",
    "check_problem",
    "verify",
    "verify_npz",
    "verify_installation",
]

STATUSES = ("pass", "fail", "error", "skipped", "missing")


@dataclass
class ProblemResult:
    """Everything the report says about one problem."""

    name: str
    status: str                     # one of STATUSES
    tensors: list = field(default_factory=list)
    divergence: Divergence | None = None
    message: str = ""               # the exception, why skipped, the unknown names
    unknown: list = field(default_factory=list)   # (supplied name, nearest known name or None)
    ignored: list = field(default_factory=list)   # kit names that do not apply to this problem
    problem: object = None          # the Problem, for the coverage
    evidence: object = field(default=None, repr=False)   # (arrays, dtype) behind the diagnosis

    @property
    def passed(self):
        return self.status in ("pass", "skipped")

    @property
    def compared(self):
        return {t.name for t in self.tensors}


@dataclass
class Report:
    """The result of :func:`verify`; ``str(report)`` renders it as text."""

    source: str
    dtype: str
    results: list
    require: tuple = ()
    extra: list = field(default_factory=list)     # findings across problems (state carried between calls)

    @property
    def checked(self):
        return [r for r in self.results if r.status != "skipped"]

    @property
    def coverage(self) -> Coverage:
        return coverage(self.results)

    @property
    def unmet(self):
        """The required coverage items that were not compared in every problem they apply to."""
        return self.coverage.unmet(self.require)

    @property
    def passed(self):
        """Every problem passed or was skipped, at least one was compared, nothing required is missing."""
        return (bool(self.checked) and all(r.passed for r in self.results + self.extra)
                and any(r.tensors for r in self.results) and not self.unmet)

    def __bool__(self):
        return self.passed

    def __str__(self):
        from .render import render
        return render(self)

    def _repr_pretty_(self, p, cycle):   # IPython and Jupyter show the text
        p.text(str(self))


# --------------------------------------------------------------------------
# one problem
# --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _vocabulary():
    """Every name some fixed problem knows (a name outside it is misspelt, not merely not applicable)."""
    known = set()
    for p in all_problems():
        known.update(output_names(p))
    return frozenset(known)


def _sort_names(supplied, names):
    """Split supplied names into (unknown with suggestions, kit names that do not apply here)."""
    own = set(names)
    unknown, ignored = [], []
    for name in sorted(set(supplied) - own):
        if name in _vocabulary():
            ignored.append(name)
        else:
            unknown.append((name, nearest(name, names)))
    return unknown, ignored


def _unknown_text(unknown):
    parts = [f"`{n}`: did you mean `{s}`?" if s else f"`{n}`: not a name the kit knows" for n, s in unknown]
    return "unknown names fail the problem — " + "; ".join(parts)


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
        ``fail`` when any tensor mismatches or any supplied name is unknown.
    """
    got_all = flatten(supplied)
    names = [n for n in output_names(problem) if n in expected]
    unknown, ignored = _sort_names(got_all, names)
    tensors, checked, arrays = [], {}, {}
    for name in names:
        if name not in got_all:
            continue
        stage = stage_of(name, problem.scales)
        result, bad = compare(name, stage, got_all[name], expected[name], tol)
        tensors.append(result)
        checked[name] = (result, bad)
        if bad is not None:
            arrays[name] = (got_all[name].astype(np.float64), np.asarray(expected[name], dtype=np.float64))
    base = dict(unknown=unknown, ignored=ignored, problem=problem)
    message = _unknown_text(unknown) if unknown else ""
    if not tensors:
        return ProblemResult(problem.name, "fail", message=(
            "the candidate supplied none of the known names (e.g. A, dX, grads, U.fwd)"
            + (f"; {message}" if message else "")), **base)
    failing = [t for t in tensors if not t.passed]
    if not failing:
        return ProblemResult(problem.name, "fail" if unknown else "pass", tensors, message=message, **base)
    first = failing[0]
    K = problem.dims["K"]
    n = parse(first.name)
    if first.stage.startswith("scan."):
        div = locate_scan(n.prefix, n.direction, checked, arrays, K)
    else:
        got, want = arrays.get(first.name, (None, None))
        div = locate(first.name, checked[first.name][1], got, want, K, problem.scales)
        div.stage = first.stage
    earlier = [m for m in names[:names.index(first.name)] if stage_of(m, problem.scales) != first.stage]
    if not any(m in got_all for m in earlier) and first.stage != "U":
        div.hint = ("no earlier stage was supplied, so the bug may sit in any stage up to this one: "
                    "return the intermediates too (names of attnrnn_np.verify.trace) to locate it")
    dtype = "float32" if tol == TOLERANCES["float32"] else "float64"
    result = ProblemResult(problem.name, "fail", tensors, div, message=message, **base)
    result.evidence = (arrays, dtype)
    diagnose(result)
    return result


def diagnose(result, passing=frozenset()):
    """Rank ``result``'s likely causes from its evidence and the names of the problems that passed."""
    div = result.divergence
    if div is None or result.evidence is None:
        return
    arrays, dtype = result.evidence
    div.causes = likely_causes(div, result.problem, arrays, result.tensors, dtype=dtype, passing=passing)
    advice = hint_for(layout_of(*arrays[div.tensor]) if div.tensor in arrays else "", div.causes)
    if advice and advice not in div.hint:
        div.hint = f"{advice}; {div.hint}" if div.hint else advice


def _diagnose_across(results):
    """Rank every failure's causes again, now that it is known which problems passed."""
    passing = {r.name for r in results if r.status == "pass"}
    for r in results:
        if r.status == "fail":
            diagnose(r, passing)


# --------------------------------------------------------------------------
# running a candidate
# --------------------------------------------------------------------------

def call_in_process(candidate, problem):
    """Run ``candidate(problem)`` here: ``(status, payload)`` with status ``ok``, ``skipped`` or ``error``.

    ``ok`` carries the flattened dict of NumPy arrays; the others a message.
    """
    try:
        out = candidate(problem)
    except Exception as err:   # the report names it; one bad problem must not hide the others
        frame = traceback.extract_tb(err.__traceback__)[-1]
        return "error", f"{type(err).__name__}: {err} (at {Path(frame.filename).name}:{frame.lineno})"
    if out is None:
        return "skipped", "the candidate returned None"
    if not hasattr(out, "items"):
        return "error", f"the candidate returned {type(out).__name__}, expected a dict of arrays"
    try:
        return "ok", flatten(out)
    except Exception as err:
        return "error", f"cannot read the candidate's values: {type(err).__name__}: {err}"


def _result(problem, status, payload, tol):
    if status == "ok":
        try:
            return check_problem(problem, payload, reference(problem), tol)
        except Exception as err:
            return ProblemResult(problem.name, "error", message=f"{type(err).__name__}: {err}", problem=problem)
    return ProblemResult(problem.name, status, message=payload, problem=problem)


def _state_check(first, again, problem, tol):
    """A finding when the first problem, run again at the end, gives another answer."""
    name = f"{problem.name} (run again)"
    status, payload = again
    if status != first[0]:
        return ProblemResult(name, "fail", problem=None, message=(
            f"run again at the end, the candidate answered {status!r} where it first answered {first[0]!r}"
            f"{': ' + payload if isinstance(payload, str) else ''} — state carried between calls"))
    if status != "ok":
        return None
    differ = []
    for key in sorted(set(first[1]) | set(payload)):
        a, b = first[1].get(key), payload.get(key)
        if a is None or b is None:
            if (a is None) != (b is None):
                differ.append(f"{key} supplied once only")
            continue
        result, _ = compare(key, "", b, a, tol)
        if not result.passed:
            differ.append(f"{key} (max abs {result.max_abs:.1e})")
    if not differ:
        return None
    return ProblemResult(name, "fail", problem=None, message=(
        "the same problem gave other values the second time: " + ", ".join(differ[:6])
        + (f" and {len(differ) - 6} more" if len(differ) > 6 else "")
        + " — state carried between calls (e.g. gradients accumulating in a reused module, a cache kept)"))


def run_candidate(call, problems, dtype, *, source, require=(), again=True):
    """Run ``call(problem) -> (status, payload)`` on each problem and build the :class:`Report`.

    ``call`` runs the candidate in-process or in a child process; with
    ``again`` the first problem is run once more at the end.
    """
    name, tol = tolerance(dtype)
    results, first = [], None
    for p in problems:
        outcome = call(p.astype(name))
        if first is None:
            first = (p, outcome)
        results.append(_result(p, *outcome, tol))
    _diagnose_across(results)
    extra = []
    if again and first is not None and first[1][0] == "ok":
        finding = _state_check(first[1], call(first[0].astype(name)), first[0], tol)
        if finding is not None:
            extra.append(finding)
    return Report(source, name, results, tuple(require), extra)


def _problem_list(problems):
    if problems is None:
        return all_problems()
    problems = list(problems)
    if problems and all(isinstance(p, str) for p in problems):
        return all_problems(problems)
    return problems


def verify(candidate, problems=None, *, dtype="float64", require=()):
    """Check a candidate implementation on the fixed problems, in this process.

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
    require : iterable of str
        Coverage that must be complete for a pass (:data:`REQUIREMENTS`:
        ``grads``, ``intermediates``, ``softmax``, ``multiscale``, …).

    Returns
    -------
    Report
        ``report.passed``, and ``str(report)`` for the text.
    """
    tolerance(dtype)
    require = check_requirements(require)
    source = getattr(candidate, "__qualname__", None) or type(candidate).__name__
    module = getattr(candidate, "__module__", None)
    return run_candidate(lambda p: call_in_process(candidate, p), _problem_list(problems), dtype,
                         source=f"{module}:{source}" if module else source, require=require)


def check_requirements(require):
    """``require`` as a tuple of known requirement names; ValueError naming an unknown one."""
    require = tuple(require or ())
    unknown = [r for r in require if r not in REQUIREMENTS]
    if unknown:
        raise ValueError(f"unknown requirement {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(REQUIREMENTS)}")
    return require


def _is_input(name):
    """True for the golden files' inputs (``X``, ``params.*``, …), which a dump may copy along."""
    return name in INPUT_NAMES or name.startswith(INPUT_PREFIXES)


def read_result_file(path):
    """``(status, payload)`` for one result file of the npz path.

    A file holding ``meta.skip`` (any value; a string says why) marks the
    problem skipped. A file that is not an ``.npz`` archive is an error that
    says what it is (a ``.npy`` array, a pickle, text).
    """
    path = Path(path)
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\x93NUMPY"):
        return "error", f"{path.name} is a single .npy array, not an .npz archive of named arrays (np.savez)"
    if magic[:1] == b"\x80":
        return "error", f"{path.name} is a Python pickle; write the arrays with np.savez (pickles are never read)"
    if not magic.startswith(b"PK"):
        return "error", f"{path.name} is not an .npz archive (np.savez writes one)"
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
    except Exception as err:
        return "error", f"cannot read {path.name}: {type(err).__name__}: {err}"
    if "meta.skip" in arrays:
        why = arrays["meta.skip"]
        reason = str(why.reshape(-1)[0]) if why.dtype.kind in "US" and why.size else ""
        return "skipped", "the result file says skip" + (f": {reason}" if reason else "")
    return "ok", {key: v for key, v in arrays.items() if not _is_input(key)}


def verify_npz(directory, problems=None, *, dtype="float64", require=()):
    """Check results dumped by another program, one ``{problem name}.npz`` per problem.

    Parameters
    ----------
    directory : str or Path
        Holds ``{name}.npz`` for each problem, with the names of the golden
        files (``A``, ``dX``, ``dq``, ``grads.{key}``, intermediates); the
        inputs copied along (``X``, ``params.*``, ``meta.*``) are not
        compared. A file holding ``meta.skip`` marks its problem skipped.
        Read with ``allow_pickle=False``.
    problems : list of Problem or of str, optional
        Default: every problem of the set; a missing file is a failure.
    dtype : {"float64", "float32"}
        Picks the tolerance.
    require : iterable of str
        As for :func:`verify`.

    Returns
    -------
    Report
    """
    name, tol = tolerance(dtype)
    require = check_requirements(require)
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no folder {str(directory)!r}")
    results = []
    for p in _problem_list(problems):
        path = directory / f"{p.name}.npz"
        if not path.exists():
            results.append(ProblemResult(p.name, "missing", message=f"no file {path.name} in {directory}",
                                         problem=p))
            continue
        results.append(_result(p, *read_result_file(path), tol))
    _diagnose_across(results)
    return Report(f"the files in {directory}", name, results, require)


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
    _, tol = tolerance("float64")
    results = []
    for path in paths:
        problem, expected = load_golden(path)
        status, payload = call_in_process(reference, problem)
        if status == "ok":
            results.append(check_problem(problem, payload, expected, tol))
        else:
            results.append(ProblemResult(problem.name, status, message=payload, problem=problem))
    return Report(f"this installation against the golden files in {directory}", "float64", results)
