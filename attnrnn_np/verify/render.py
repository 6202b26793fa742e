"""The report as text: the verdict, the coverage, each problem, and where the first failure goes wrong.

By default every problem gets one line, and the first failing problem its
full table, first divergence and likely causes (``detail="first"``);
``detail="all"`` gives every failing problem in full, ``detail="brief"`` one
line per problem only (status, stage, cell, top cause).
"""

from __future__ import annotations

from .compare import TOLERANCES

__all__ = ["render", "brief_line"]


def _fmt(x):
    return "-" if x != x else f"{x:.1e}"


def _verdict(report):
    n_pass = sum(r.status == "pass" for r in report.results)
    n_skip = sum(r.status == "skipped" for r in report.results)
    verdict = "AGREES" if report.passed else "DISAGREES"
    if report.passed and report.coverage.never():
        verdict = "AGREES on what was compared (see 'never compared')"
    line = (f"{verdict}: {n_pass} of {len(report.results)} problems pass"
            + (f", {n_skip} skipped" if n_skip else "")
            + ("" if any(r.tensors for r in report.results) else "; nothing was compared"))
    if report.extra:
        line += f"; {len(report.extra)} finding(s) across problems"
    if report.unmet:
        line += f"; required but not compared everywhere: {', '.join(report.unmet)}"
    return line


def coverage_lines(report):
    cov = report.coverage
    compared = [i.text() for i in cov.compared()]
    never = [i.label for i in cov.never()]
    lines = ["compared: " + (", ".join(compared) if compared else "nothing")]
    lines.append("never compared: " + (", ".join(never) if never else "nothing (every kind of value was compared)"))
    return lines


def brief_line(r):
    """One line: name, status, and for a failure its stage, tensor, cell and top cause."""
    text = f"{r.name}: {r.status}"
    div = r.divergence
    if div is not None:
        where = f" cell {div.cell}" if div.cell is not None else ""
        text += f" — stage {div.stage}, {div.tensor}{where}"
        if div.causes:
            text += f"; likely {div.causes[0].name}"
    elif r.message:
        text += f" — {r.message}"
    elif r.status == "pass":
        worst = max((t.max_rel for t in r.tensors if t.max_rel == t.max_rel), default=0.0)
        text += f" ({len(r.tensors)} tensors, worst error {_fmt(worst)} of the tensor's largest entry)"
    return text


def _full(r):
    lines = [f"{r.name}: {r.status}" + (f" — {r.message}" if r.message else "")]
    if r.tensors:
        width = max(len(t.name) for t in r.tensors)
        lines.append(f"  {'tensor':<{width}}  {'stage':<9} {'max abs':>8} {'max rel':>8} {'mismatched':>12}")
        for t in r.tensors:
            mism = f"{t.mismatched}/{t.size}"
            tail = "ok" if t.passed else "FAIL" + (f" ({t.note})" if t.note else "")
            lines.append(f"  {t.name:<{width}}  {t.stage:<9} {_fmt(t.max_abs):>8} {_fmt(t.max_rel):>8} "
                         f"{mism:>12}  {tail}")
    if r.ignored:
        lines.append(f"  not compared (kit names that do not apply to this problem): {', '.join(r.ignored)}")
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
    return lines


def render(report, detail="first"):
    """The report as text; ``detail`` is ``"first"`` (default), ``"all"`` or ``"brief"``."""
    tol = TOLERANCES[report.dtype]
    lines = [f"Verifying {report.source}",
             f"dtype {report.dtype}: an entry mismatches when |got − want| > {tol.atol:g}·max(1, max|want|) "
             f"+ {tol.rtol:g}·|want|",
             _verdict(report)]
    lines += coverage_lines(report)
    lines.append("")
    shown_full = False
    for r in report.results + report.extra:
        failing = r.status not in ("pass", "skipped")
        if failing and (detail == "all" or detail == "first" and not shown_full):
            if lines[-1] != "":
                lines.append("")
            lines += _full(r) + [""]
            shown_full = shown_full or bool(r.tensors)
        else:
            lines.append(brief_line(r))
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines)
