"""Causes that follow the evidence: each rule seeds its bug and checks where the true cause ranks.

The seeded candidates are the plain-loop implementation of ``loop_arnn.py``
with one switch on, or this package's own values with one realistic
change. "First" means the true cause tops the list; where the evidence
cannot separate two causes the test says so and asks for a place in the
first two.
"""

import numpy as np
import pytest

from attnrnn_np.verify import reference, verify

from loop_arnn import loop_candidate


def _causes(candidate, names):
    report = verify(candidate, names)
    out = {}
    for r in report.results:
        out[r.name] = (r.status, None if r.divergence is None else [b.name for b in r.divergence.causes],
                       r.divergence)
    return out


@pytest.mark.parametrize("bug, names, stage", [
    ("bias-after-skew", ["k3-q3-sigmoid-4x5", "k1-q0-softmax-4x3", "column-6x1"], "scan.fwd"),
    ("skew-readout-offset", ["k3-q3-sigmoid-4x5", "k3-q0-softmax-5x4"], "scan.fwd"),
    ("kernel-flip", ["k3-q3-sigmoid-4x5", "row-1x6"], "U"),
    ("diagonal-bounds", ["k3-q3-sigmoid-4x5", "k3-q0-softmax-5x4"], "scan.fwd"),
    ("float32-cast", ["k3-q3-sigmoid-4x5", "ms12-q2-sigmoid-4x6"], "U"),
    ("skew-offset", ["k3-q3-sigmoid-4x5", "k1-q0-softmax-4x3"], "scan.fwd"),
])
def test_the_true_cause_comes_first(bug, names, stage):
    for name, (status, causes, div) in _causes(loop_candidate(bug), names).items():
        assert status == "fail" and div.stage.endswith(stage.split(".")[-1]), (bug, name, div)
        assert causes[0] == bug, (bug, name, causes)


def test_a_skew_offset_is_not_ruled_out_by_a_wrong_first_cell():
    """The read-out offset's first cell holds a padding cell's values; skew-offset stays listed too."""
    _, causes, div = _causes(loop_candidate("skew-readout-offset"), ["k3-q3-sigmoid-4x5"])["k3-q3-sigmoid-4x5"]
    assert div.cell == (0, 0, 0) and "skew-offset" in causes


def test_a_negative_g_block_rules_out_the_sigmoid_candidate():
    _, causes, _ = _causes(loop_candidate("gate-order"), ["k3-q3-sigmoid-4x5"])["k3-q3-sigmoid-4x5"]
    assert causes[0] == "gate-order" and "sigmoid-candidate" not in causes
    _, causes, _ = _causes(loop_candidate("sigmoid-candidate"), ["k3-q0-sigmoid-3x3"])["k3-q0-sigmoid-3x3"]
    assert causes[0] == "sigmoid-candidate"


def test_a_passing_one_column_map_points_at_a_one_axis_flip():
    out = _causes(loop_candidate("flip-axis"), ["k3-q3-sigmoid-4x5", "column-6x1"])
    assert out["column-6x1"][0] == "pass"
    causes = out["k3-q3-sigmoid-4x5"][1]
    assert causes[0] == "flip-axis" and "reverse-flag" not in causes
    out = _causes(loop_candidate("reverse-flag"), ["k3-q0-sigmoid-3x3", "column-6x1"])
    assert all(c[0] == "reverse-flag" for _, c, _ in out.values())


def test_kernel_causes_follow_k():
    out = _causes(loop_candidate("reverse-kernel"), ["k3-q3-sigmoid-4x5", "k1-q2-sigmoid-3x4"])
    assert out["k1-q2-sigmoid-3x4"][0] == "pass" and out["k3-q3-sigmoid-4x5"][1][0] == "reverse-kernel"
    # U.fwd differing rules out reverse-kernel, which changes the inverse direction only
    causes = _causes(loop_candidate("kernel-flip"), ["k3-q3-sigmoid-4x5"])["k3-q3-sigmoid-4x5"][1]
    assert causes[0] == "kernel-flip" and "reverse-kernel" not in causes


def test_never_a_cause_the_problem_cannot_show():
    kernel = {"reverse-kernel", "kernel-flip", "col2im-offset"}
    multiscale_only = {"combiner-axis", "upsample-block", "pool-tie"}
    softmax_only = {"softmax-axis", "softmax-shift"}

    def every_cause(p):
        out = reference(p)
        out["dX"] = out["dX"] + 1.0                        # a backward bug, no earlier stage supplied
        return {"dX": out["dX"]}
    out = _causes(every_cause, ["k1-q0-softmax-4x3", "k3-q3-sigmoid-4x5", "pixel-1x1"])
    k1 = set(out["k1-q0-softmax-4x3"][1])
    assert not k1 & kernel and not k1 & multiscale_only and "query-placement" not in k1
    sig = set(out["k3-q3-sigmoid-4x5"][1])
    assert not sig & softmax_only and not sig & multiscale_only
    pixel = set(out["pixel-1x1"][1])
    assert not pixel & {"wrong-neighbour-h", "wrong-neighbour-c", "flip-axis", "reverse-flag"}


def test_a_float32_candidate_is_told_to_use_dtype_float32():
    forward = loop_candidate("float32-cast")

    def returns_float32(p):
        return {k: v.astype(np.float32) for k, v in forward(p).items()}
    for candidate in (forward, returns_float32):
        (r,) = verify(candidate, ["k3-q0-softmax-5x4"]).results
        assert r.divergence.causes[0].name == "float32-cast"
        assert "--dtype float32" in r.divergence.hint
    assert verify(returns_float32, ["k3-q0-softmax-5x4"], dtype="float32").passed


def test_gradients_of_the_inverse_direction_not_rotated_back():
    def candidate(p):
        out = reference(p)
        out["grads.bwd.W_x"] = out["grads.bwd.W_x"][::-1, ::-1].copy()
        return out
    (r,) = verify(candidate, ["k3-q3-sigmoid-4x5"]).results
    assert r.divergence.stage == "backward" and r.divergence.causes[0].name == "inverse-gradient-not-rotated"

    def fwd_wrong_too(p):
        out = candidate(p)
        out["grads.fwd.W_up"] = out["grads.fwd.W_up"] * 1.5
        return out
    (r,) = verify(fwd_wrong_too, ["k3-q3-sigmoid-4x5"]).results
    assert "inverse-gradient-not-rotated" not in [b.name for b in r.divergence.causes]


@pytest.mark.parametrize("change, name, advice", [
    (lambda a: a.transpose(0, 3, 1, 2).reshape(a.shape), "U.fwd", "channels-first"),
    (lambda a: a[:, ::-1, ::-1].copy(), "h.bwd", "rotated by 180"),
    (lambda a: np.swapaxes(a, 1, 2).copy(), "A", "transposed"),
])
def test_a_tensor_in_another_layout_is_named_not_blamed_on_the_scan(change, name, advice):
    def candidate(p):
        out = reference(p)
        out[name] = change(out[name])
        return out
    problem = "k3-q2-softmax-4x4"                       # square: a transpose keeps the shape
    (r,) = verify(candidate, [problem]).results
    assert r.divergence.tensor == name
    assert r.divergence.causes[0].name == "tensor-layout" and advice in r.divergence.hint


def test_swapped_direction_halves_of_U():
    def candidate(p):
        out = reference(p)
        out["U.fwd"], out["U.bwd"] = out["U.bwd"], out["U.fwd"]
        return out
    (r,) = verify(candidate, ["k3-q3-sigmoid-4x5"]).results
    assert r.divergence.causes[0].name == "direction-halves"


def test_a_last_cell_of_exactly_zero_points_at_the_diagonal_bounds():
    def candidate(p):
        out = reference(p)
        for kind in ("gates", "c", "h"):
            out[f"{kind}.fwd"] = out[f"{kind}.fwd"].copy()
            out[f"{kind}.fwd"][:, -1, -1] = 0.0
        return out
    (r,) = verify(candidate, ["k3-q3-sigmoid-4x5"]).results
    assert r.divergence.cell == (0, 3, 4) and r.divergence.causes[0].name == "diagonal-bounds"
