"""The report for machines: the JSON summary and a JUnit XML file, one test case per problem."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

from ..atomic import write_text_atomic
from .render import brief_line

__all__ = ["as_dict", "write_json", "write_junit"]


def _num(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def _divergence(r):
    div = r.divergence
    if div is None:
        return None
    return {"stage": div.stage, "tensor": div.tensor,
            "cell": None if div.cell is None else list(div.cell),
            "index": None if div.index is None else list(div.index), "where": div.where}


def as_dict(report):
    """The report as plain data (the ``--json`` schema of docs/verify.md)."""
    problems = []
    for r in report.results + report.extra:
        problems.append({
            "name": r.name, "status": r.status, "message": r.message,
            "first_divergence": _divergence(r),
            "causes": [] if r.divergence is None else [b.name for b in r.divergence.causes],
            "unknown_names": [{"name": n, "did_you_mean": s} for n, s in r.unknown],
            "tensors": [{"name": t.name, "stage": t.stage, "max_abs": _num(t.max_abs), "max_rel": _num(t.max_rel),
                         "mismatched": t.mismatched, "total": t.size, "note": t.note} for t in r.tensors],
        })
    cov = report.coverage
    return {"passed": report.passed, "source": report.source, "dtype": report.dtype,
            "required": list(report.require), "required_but_not_compared": report.unmet,
            "coverage": {"compared": [i.key for i in cov.compared()], "never_compared": [i.key for i in cov.never()],
                         "items": cov.as_dict()},
            "problems": problems}


def write_json(report, path):
    return write_text_atomic(path, json.dumps(as_dict(report), indent=1, allow_nan=False) + "\n")


def write_junit(report, path):
    """One ``<testcase>`` per problem (and per finding across problems); the first divergence as the failure."""
    cases = report.results + report.extra
    suite = ET.Element("testsuite", name="attnrnn-np verify", tests=str(len(cases)),
                       failures=str(sum(r.status in ("fail", "missing") for r in cases)),
                       errors=str(sum(r.status == "error" for r in cases)),
                       skipped=str(sum(r.status == "skipped" for r in cases)))
    for r in cases:
        case = ET.SubElement(suite, "testcase", classname="attnrnn_np.verify", name=r.name)
        text = brief_line(r)
        if r.status in ("fail", "missing"):
            ET.SubElement(case, "failure", message=text).text = text
        elif r.status == "error":
            ET.SubElement(case, "error", message=text).text = text
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=r.message or "skipped")
    if report.unmet:
        case = ET.SubElement(suite, "testcase", classname="attnrnn_np.verify", name="coverage")
        text = f"required but not compared everywhere: {', '.join(report.unmet)}"
        ET.SubElement(case, "failure", message=text).text = text
        suite.set("tests", str(len(cases) + 1))
        suite.set("failures", str(int(suite.get("failures")) + 1))
    root = ET.Element("testsuites")
    root.append(suite)
    xml = ET.tostring(root, encoding="unicode")
    return write_text_atomic(path, '<?xml version="1.0" encoding="utf-8"?>\n' + xml + "\n")
