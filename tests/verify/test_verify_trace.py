"""The problem set covers what it promises; trace() names every intermediate and equals the layer."""

import numpy as np
import pytest

from attnrnn_np import arnn_forward, multiscale_arnn_forward
from attnrnn_np.verify import problems, trace, trace_names

from loop_arnn import loop_arnn

PROBLEMS = problems()


def test_the_problem_set_covers_the_cases_a_narrow_test_misses():
    dims = [p.dims for p in PROBLEMS]
    assert {d["k"] for d in dims} == {1, 3}
    assert any(d["Q"] == 0 for d in dims) and any(d["Q"] > 0 for d in dims)
    assert {p.normalize for p in PROBLEMS} == {"sigmoid", "softmax"}
    shapes = {(d["H"], d["W"]) for d in dims}
    assert any(H == W > 1 for H, W in shapes) and any(H != W and min(H, W) > 1 for H, W in shapes)
    assert any(H == 1 < W for H, W in shapes) and any(W == 1 < H for H, W in shapes) and (1, 1) in shapes
    assert {p.scales for p in PROBLEMS if p.scales} == {(1, 2), (1, 2, 4)}
    for p in PROBLEMS:
        biases = [v for key, v in p.params.items() if key.endswith((".b", "comb.c"))]
        assert all(np.all(b != 0) for b in biases), p.name
        assert len(np.unique(p.dA)) == p.dA.size and p.X.dtype == np.float64, p.name   # not all ones
        assert p.q is None or p.q.shape == (p.dims["N"], p.dims["Q"])


def test_the_problem_set_is_fixed():
    again = problems()
    assert [p.name for p in again] == [p.name for p in PROBLEMS]
    for a, b in zip(PROBLEMS, again, strict=True):
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.dA, b.dA)
        for key in a.params:
            np.testing.assert_array_equal(a.params[key], b.params[key])
    assert [p.name for p in problems(["pixel-1x1", "row-1x6"])] == ["row-1x6", "pixel-1x1"]
    with pytest.raises(KeyError, match="no problem named 'nope'"):
        problems(["nope"])


def test_astype_casts_every_array():
    p = PROBLEMS[0].astype("float32")
    assert p.X.dtype == p.dA.dtype == p.q.dtype == np.float32
    assert all(v.dtype == np.float32 for v in p.params.values())
    assert all(v.dtype == np.float32 for v in p.torch_params.values())


@pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: p.name)
def test_trace_names_shapes_and_mask(p):
    t = trace(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
    assert list(t) == trace_names(p.scales)
    N, H, W, _ = p.X.shape
    assert t["A"].shape == t["S"].shape == (N, H, W)
    if p.scales is None:
        A, _ = arnn_forward(p.X, p.params, p.q, normalize=p.normalize)
        prefixes = {"": 1}
    else:
        A, _ = multiscale_arnn_forward(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
        prefixes = {f"scale{g}.": g for g in p.scales}
        assert t["beta"].shape == (N, H, W, len(p.scales))
        np.testing.assert_allclose(t["beta"].sum(axis=-1), 1.0, atol=1e-15)
    np.testing.assert_array_equal(t["A"], A)            # bit for bit
    K = p.dims["K"]
    for prefix, g in prefixes.items():
        for d in ("fwd", "bwd"):
            assert t[f"{prefix}U.{d}"].shape == t[f"{prefix}gates.{d}"].shape == (N, H // g, W // g, 4 * K)
            assert t[f"{prefix}c.{d}"].shape == t[f"{prefix}h.{d}"].shape == (N, H // g, W // g, K)
            o = t[f"{prefix}gates.{d}"][..., 3 * K:]
            np.testing.assert_allclose(o * np.tanh(t[f"{prefix}c.{d}"]), t[f"{prefix}h.{d}"], rtol=0, atol=1e-15)


@pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: p.name)
def test_trace_equals_an_independent_loop_implementation(p):
    """Every intermediate, in map coordinates, as a plain loop over pixels computes it."""
    t = trace(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
    ref = loop_arnn(p.X, p.params, p.q, normalize=p.normalize, scales=p.scales)
    assert set(ref) == set(t)
    for name in t:
        np.testing.assert_allclose(t[name], ref[name], rtol=0, atol=1e-13, err_msg=name)


def test_trace_refuses_what_the_layer_refuses():
    p = PROBLEMS[0]
    with pytest.raises(ValueError, match="normalize"):
        trace(p.X, p.params, p.q, normalize="tanh")
    with pytest.raises(ValueError, match="query"):
        trace(p.X, p.params, None, normalize="sigmoid")
    ms = next(p for p in PROBLEMS if p.scales == (1, 2, 4))
    with pytest.raises(KeyError):
        trace(ms.X, ms.params, ms.q, normalize="sigmoid", scales=(1, 2))


def test_custom_problem_fits_the_given_parameters():
    from attnrnn_np import init_multiscale_params
    from attnrnn_np.verify import custom_problem, from_torch_layout, reference

    p = PROBLEMS[0]
    mine = custom_problem(from_torch_layout(p.torch_params), N=1, H=2, W=7, normalize="softmax")
    assert mine.X.shape == (1, 2, 7, 3) and mine.q.shape == (1, 3) and mine.dA.shape == (1, 2, 7)
    assert mine.dims["K"] == p.dims["K"] and reference(mine)["A"].sum() == pytest.approx(1.0)
    ms = custom_problem(init_multiscale_params(2, 2, (1, 2)), H=4, W=2, scales=(1, 2))
    assert ms.scales == (1, 2) and ms.q is None
    with pytest.raises(KeyError):
        custom_problem(init_multiscale_params(2, 2, (1, 2)))
