"""verify() and its report: what it compares, what it tolerates, and that a bad candidate never crashes it."""

import numpy as np
import pytest

from attnrnn_np import arnn_backward, arnn_forward, multiscale_arnn_backward, multiscale_arnn_forward
from attnrnn_np.verify import STAGES, TOLERANCES, problems, reference, stage_of, trace, trace_names, verify

SMALL = ["k3-q3-sigmoid-4x5", "ms12-q2-sigmoid-4x6"]


def test_this_package_passes_its_own_check():
    report = verify(reference)
    assert report.passed and bool(report)
    assert all(r.status == "pass" for r in report.results)
    assert "AGREES: 12 of 12 problems pass" in str(report)


def test_every_name_has_a_stage_from_the_catalogue():
    names = trace_names() + trace_names((1, 2)) + ["dX", "dq", "grads.fwd.W_x", "grads.comb.V"]
    assert {stage_of(n) for n in names} <= set(STAGES)
    assert stage_of("U.bwd") == "U" and stage_of("scale2.c.bwd") == "scan.bwd"
    assert stage_of("scale4.S") == "head" and stage_of("beta") == "combiner"
    assert stage_of("A") == "normalize" and stage_of("grads.scale1.head.w") == "backward"


def test_a_candidate_that_raises_or_returns_garbage_is_reported_not_a_crash():
    def candidate(p):
        if p.name == "k3-q3-sigmoid-4x5":
            raise RuntimeError("my scan is not finished")
        return 42
    report = verify(candidate, SMALL)
    raised, garbage = report.results
    assert raised.status == "error" and "RuntimeError: my scan is not finished" in raised.message
    assert garbage.status == "error" and "returned int" in garbage.message
    assert not report.passed
    assert "my scan is not finished" in str(report)


def test_wrong_shapes_nan_and_missing_values_are_failures():
    def candidate(p):
        ref = reference(p)
        return {"U.fwd": ref["U.fwd"], "A": ref["A"].transpose(0, 2, 1),
                "dX": np.full_like(ref["dX"], np.nan), "dq": None}
    (r,) = verify(candidate, ["k3-q3-sigmoid-4x5"]).results
    by_name = {t.name: t for t in r.tensors}
    assert by_name["U.fwd"].passed
    assert not by_name["A"].passed and "shape (2, 5, 4) instead of (2, 4, 5)" in by_name["A"].note
    assert not by_name["dX"].passed and by_name["dX"].mismatched == by_name["dX"].size
    assert not by_name["dq"].passed
    assert r.divergence.tensor == "A" and r.divergence.stage == "normalize"


def test_none_skips_a_problem_but_nothing_compared_is_no_pass():
    report = verify(lambda p: None if p.scales else {"A": reference(p)["A"]}, SMALL)
    assert [r.status for r in report.results] == ["pass", "skipped"] and report.passed
    report = verify(lambda p: None, SMALL)
    assert not report.passed and "nothing was compared" in str(report)
    report = verify(lambda p: {"mask": 1}, SMALL[:1])
    assert not report.passed and "none of the known names" in report.results[0].message


def test_grads_nested_or_flat_and_an_unknown_name_fails_with_the_nearest():
    def candidate(p):
        ref = reference(p)
        grads = {n[len("grads."):]: v for n, v in ref.items() if n.startswith("grads.")}
        return {"A": ref["A"], "grads": grads, "dX": ref["dX"], "h_fwd": ref["h.fwd"]}
    (r,) = verify(candidate, SMALL[:1]).results
    assert r.status == "fail" and r.unknown == [("h_fwd", "h.fwd")]
    assert "`h_fwd`: did you mean `h.fwd`?" in r.message
    assert any(t.name == "grads.fwd.W_up" for t in r.tensors) and all(t.passed for t in r.tensors)


def test_float32_candidates_get_the_float32_tolerance():
    def in_float32(p):
        """This package, run in float32."""
        assert p.X.dtype == np.float32 and all(v.dtype == np.float32 for v in p.params.values())
        out = trace(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
        if p.scales is None:
            A, cache = arnn_forward(p.X, p.params, p.q, normalize=p.normalize)
            dX, dq, grads = arnn_backward(p.dA, cache)
        else:
            A, cache = multiscale_arnn_forward(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
            dX, dq, grads = multiscale_arnn_backward(p.dA, cache)
        assert A.dtype == np.float32
        return {**out, "A": A, "dX": dX, "dq": dq, "grads": grads}
    report = verify(in_float32, dtype="float32")
    assert report.passed, str(report)
    assert not verify(in_float32, problems(SMALL[:1]), dtype="float32").results[0].tensors[0].max_abs == 0
    def rounded(p):
        return {name: v.astype(np.float32) for name, v in reference(p).items()}
    assert not verify(rounded, SMALL[:1]).passed              # float64 is tight
    assert TOLERANCES["float64"].rtol < TOLERANCES["float32"].rtol
    with pytest.raises(ValueError, match="dtype"):
        verify(reference, dtype="float16")


def test_a_backward_only_bug_is_located_in_the_backward_stage():
    """accumulate-assign: every forward value agrees; one gradient does not."""
    def candidate(p):
        out = reference(p)
        out["grads.fwd.W_up"] = out["grads.fwd.W_up"] * 0.5
        return out
    (r,) = verify(candidate, SMALL[:1]).results
    assert r.divergence.stage == "backward" and r.divergence.tensor == "grads.fwd.W_up"
    assert "accumulate-assign" in [b.name for b in r.divergence.causes]


def test_only_the_mask_supplied_says_so_and_widens_the_causes():
    def candidate(p):
        return {"A": reference(p)["A"] + 0.1}
    (r,) = verify(candidate, SMALL[:1]).results
    assert r.divergence.stage == "normalize" and "no earlier stage was supplied" in r.divergence.hint
    assert {"gate-order", "head-halves"} <= {b.name for b in r.divergence.causes}


def test_the_text_names_problem_tensor_stage_cell_and_values():
    def candidate(p):
        out = reference(p)
        out["c.bwd"] = out["c.bwd"].copy()
        out["c.bwd"][1, 2, 3, 1] += 0.25
        return out
    text = str(verify(candidate, SMALL[:1]))
    assert "DISAGREES: 0 of 1 problems pass" in text
    assert "first divergence: stage scan.bwd, c.bwd at cell (n=1, i=2, j=3)" in text
    assert "inverse raster order" in text and "channel 1" in text
    assert "likely causes (catalogue):" in text


def test_the_docs_list_every_problem_and_every_catalogue_bug():
    import re
    from pathlib import Path

    from attnrnn_np.verify import BUGS, problem_names

    text = (Path(__file__).resolve().parents[2] / "docs" / "verify.md").read_text()
    assert all(f"| `{name}` |" in text for name in problem_names())
    assert all(f"| `{b.name}` | {b.stage} |" in text for b in BUGS)
    for dtype, (rtol, atol) in TOLERANCES.items():
        row = re.search(rf"\| {dtype} \| (\S+) \| (\S+) \|", text)
        assert row and (float(row.group(1)), float(row.group(2))) == (rtol, atol), dtype
