"""Seeded bugs: each classic mistake fails, and the report names its stage and, in a scan, its first cell.

Every wrong candidate is the plain-loop implementation of ``loop_arnn.py``
with one catalogue bug switched on (plus one backward-only bug built from
this package's gradients). The first wrong cell of a scan bug follows from
where the mistake first reads something different:

- the gate order or the activation of g: the scan's very first cell;
- the taps of h swapped: the second cell of row 0, (0, 1);
- a skew off by one (h_up read one column too far left): the first cell of row 1, (1, 0);
- the cell state carried from the cell above instead of the left: the
  second cell of row 0, which loses its carry, (0, 1) (on one column, (1, 0));
- a reverse direction flipped on one axis, or not at all: the bwd scan's
  first cell, the bottom-right corner, which then reads a neighbour.
"""

import numpy as np
import pytest

from attnrnn_np.verify import bug, problems, reference, verify

from loop_arnn import loop_candidate

BY_NAME = {p.name: p for p in problems()}


def _corner_bwd(p):
    return (0, p.dims["H"] - 1, p.dims["W"] - 1)


# catalogue bug -> (problems where it shows, stage, expected first cell or None)
SEEDED = {
    "gate-order": (["k3-q3-sigmoid-4x5", "k1-q0-softmax-4x3"], "scan.fwd", lambda p: (0, 0, 0)),
    "sigmoid-candidate": (["k3-q0-sigmoid-3x3"], "scan.fwd", lambda p: (0, 0, 0)),
    "wrong-neighbour-h": (["k3-q3-sigmoid-4x5", "row-1x6"], "scan.fwd", lambda p: (0, 0, 1)),
    "skew-offset": (["k3-q3-sigmoid-4x5", "k1-q0-softmax-4x3"], "scan.fwd", lambda p: (0, 1, 0)),
    "wrong-neighbour-c": (["k3-q0-softmax-5x4", "column-6x1"], "scan.fwd",
                          lambda p: (0, 0, 1) if p.dims["W"] > 1 else (0, 1, 0)),
    "flip-axis": (["k3-q3-sigmoid-4x5", "k3-q0-softmax-5x4"], "scan.bwd", _corner_bwd),
    "reverse-flag": (["k3-q0-sigmoid-3x3"], "scan.bwd", _corner_bwd),
    "head-halves": (["k3-q3-sigmoid-4x5", "pixel-1x1"], "head", None),
    "softmax-axis": (["k3-q0-softmax-5x4", "column-6x1"], "normalize", None),
    "reverse-kernel": (["k3-q3-sigmoid-4x5", "row-1x6"], "U", None),
    "forget-bias": (["k3-q0-sigmoid-3x3", "k1-q2-sigmoid-3x4"], "U", None),
    "query-placement": (["k3-q3-sigmoid-4x5", "k1-q2-sigmoid-3x4"], "U", None),
    "combiner-axis": (["ms12-q2-sigmoid-4x6", "ms124-q0-softmax-8x4"], "combiner", None),
}

# where a bug cannot show, every number agrees: the checklist of docs/verify.md
INVISIBLE = {
    "reverse-kernel": ["k1-q2-sigmoid-3x4", "k1-q0-softmax-4x3"],     # k = 1
    "query-placement": ["k3-q0-sigmoid-3x3", "k1-q0-softmax-4x3"],    # Q = 0
    "softmax-axis": ["k3-q3-sigmoid-4x5", "row-1x6"],                 # sigmoid
    "combiner-axis": ["k3-q3-sigmoid-4x5"],                           # one scale
    "flip-axis": ["pixel-1x1", "column-6x1"],                         # one column: the row flip is the rotation
    "wrong-neighbour-c": ["pixel-1x1"],                               # no neighbour at all
}


def test_the_loop_implementation_without_bugs_passes_everything():
    report = verify(loop_candidate())
    assert report.passed, str(report)


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_each_seeded_bug_is_caught_and_located(name):
    names, stage, cell = SEEDED[name]
    assert bug(name).stage == stage            # the catalogue agrees on the stage
    report = verify(loop_candidate(name), names)
    assert not report.passed
    for r in report.results:
        assert r.status == "fail", (name, r.name, r.message)
        div = r.divergence
        assert div.stage == stage, (name, r.name, div)
        if cell is not None:
            assert div.cell == cell(BY_NAME[r.name]), (name, r.name, div.where)
        causes = [b.name for b in div.causes]
        assert name in causes[:4], (name, r.name, causes)
    text = str(report)
    assert f"first divergence: stage {stage}" in text and name in text


@pytest.mark.parametrize("name", sorted(INVISIBLE))
def test_a_bug_is_invisible_where_the_checklist_says(name):
    report = verify(loop_candidate(name), INVISIBLE[name])
    assert report.passed, str(report)


def test_the_top_cause_is_the_bug_where_the_evidence_is_specific():
    for name in ("gate-order", "sigmoid-candidate", "wrong-neighbour-h", "wrong-neighbour-c", "skew-offset",
                 "reverse-kernel",
                 "forget-bias", "query-placement", "head-halves", "softmax-axis", "combiner-axis"):
        names = SEEDED[name][0][:1]
        (r,) = verify(loop_candidate(name), names).results
        assert r.divergence.causes[0].name == name, (name, [b.name for b in r.divergence.causes])


def test_a_gradient_assigned_instead_of_accumulated_is_located_in_backward():
    """accumulate-assign: the loop forward is right; d head.b keeps only the last position's share."""
    forward = loop_candidate()

    def candidate(p):
        out = forward(p)
        ref = reference(p)
        A = out["A"]
        dS = p.dA * A * (1.0 - A)                            # sigmoid problems only
        out["grads"] = {n[len("grads."):]: v for n, v in ref.items() if n.startswith("grads.")}
        out["grads"]["head.b"] = np.array([dS[-1, -1, -1]])  # `db = dS[n, i, j]` in the loop, not `+=`
        return out
    (r,) = verify(candidate, ["k3-q3-sigmoid-4x5"]).results
    assert r.divergence.stage == "backward" and r.divergence.tensor == "grads.head.b"
    assert all(t.passed for t in r.tensors if t.stage != "backward")
    assert r.divergence.causes[0].name == "accumulate-assign"
