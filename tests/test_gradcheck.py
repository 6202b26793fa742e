"""The gradient checker itself, on functions whose gradients are known in closed form.

A checker that always passes would make every gradient test in this suite
worthless, so it is tested to pass right gradients *and* to flag wrong ones,
pointing at the worst entry.
"""

import numpy as np
import pytest

from attnrnn_np.gradcheck import (
    GradCheckResult,
    check_gradients,
    compare,
    directional_check,
    format_report,
    numerical_vjp,
    rel_error,
)

from strategies import assert_close, host


def test_rel_error_is_zero_when_both_sides_are_zero(xp):
    zeros = xp.zeros(4)
    assert host(rel_error(zeros, zeros)).tolist() == [0.0] * 4
    assert float(rel_error(xp.asarray(0.0), xp.asarray(0.0))) == 0.0


def test_rel_error_values(xp):
    a, n = xp.asarray([1.0, -2.0, 0.0, 3.0]), xp.asarray([1.0, 2.0, 1e-3, 3.3])
    np.testing.assert_allclose(host(rel_error(a, n)), [0.0, 1.0, 1.0, 0.3 / 6.3], rtol=1e-15)


def test_numerical_vjp_of_a_cube(xp):
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.normal(size=(3, 4)))
    dout = xp.asarray(rng.normal(size=(3, 4)))
    x_before = host(x).copy()
    grad = numerical_vjp(lambda: x ** 3, x, dout, eps=1e-5)
    assert_close(grad, 3 * x ** 2 * dout, rtol=1e-8, atol=1e-10, name="d(x³)")
    assert np.array_equal(host(x), x_before)  # restored exactly


def test_numerical_vjp_of_a_matrix_product(xp):
    rng = np.random.default_rng(1)
    M = xp.asarray(rng.normal(size=(5, 3)))
    x = xp.asarray(rng.normal(size=(3, 2)))
    dout = xp.asarray(rng.normal(size=(5, 2)))
    grad = numerical_vjp(lambda: M @ x, x, dout)
    assert_close(grad, M.T @ dout, rtol=1e-8, atol=1e-10, name="d(Mx)")


def test_numerical_vjp_needs_a_contiguous_x(xp):
    x = xp.zeros((4, 4))[:, ::2]
    with pytest.raises(ValueError, match="must be C-contiguous"):
        numerical_vjp(lambda: x, x, xp.ones((4, 2)))


def test_compare_passes_a_right_gradient(xp):
    g = xp.asarray(np.random.default_rng(2).normal(size=(3, 4)))
    result = compare("g", g, g * (1 + 1e-9))
    assert isinstance(result, GradCheckResult) and result.passed
    assert result.max_rel_error < 1e-8


def test_compare_flags_a_wrong_gradient_and_reports_the_worst_index(xp):
    rng = np.random.default_rng(3)
    numeric = rng.normal(size=(3, 4, 2))
    analytic = numeric.copy()
    analytic[1, 2, 0] += 0.5          # badly wrong
    analytic[0, 3, 1] *= 1 + 1e-3     # slightly wrong
    result = compare("W", xp.asarray(analytic), xp.asarray(numeric))
    assert not result.passed
    assert result.worst_index == (1, 2, 0)
    assert result.analytic == analytic[1, 2, 0] and result.numeric == numeric[1, 2, 0]
    assert "FAIL" in str(result) and "(1, 2, 0)" in str(result)


def test_compare_atol_floor_passes_round_off_around_zero(xp):
    """A gradient that is 0 analytically is estimated as round-off noise."""
    result = compare("head.b", xp.zeros(1), xp.asarray([3e-11]))
    assert result.passed and result.max_rel_error == 1.0
    assert not compare("head.b", xp.zeros(1), xp.asarray([3e-11]), atol=1e-12).passed


def test_compare_refuses_mismatched_shapes(xp):
    with pytest.raises(ValueError, match=r"g: analytic shape \(3,\) != numeric shape \(4,\)"):
        compare("g", xp.zeros(3), xp.zeros(4))


def test_directional_check_passes_right_and_fails_wrong(xp):
    rng = np.random.default_rng(4)
    M = xp.asarray(rng.normal(size=(6, 5)))
    x = xp.asarray(rng.normal(size=(5, 3)))
    dout = xp.asarray(rng.normal(size=(6, 3)))
    x_before = host(x).copy()
    f = lambda: xp.tanh(M @ x)  # noqa: E731
    right = M.T @ (dout * (1 - xp.tanh(M @ x) ** 2))
    assert directional_check("x", f, x, dout, right).passed
    wrong = right.copy()
    wrong[2, 1] += 0.3
    result = directional_check("x", f, x, dout, wrong)
    assert not result.passed and result.name == "x (dir)"
    assert np.array_equal(host(x), x_before)


def test_check_gradients_switches_to_directional_above_a_size(xp):
    rng = np.random.default_rng(5)
    small, big = xp.asarray(rng.normal(size=(2,))), xp.asarray(rng.normal(size=(4, 4)))
    dout = xp.asarray(rng.normal(size=(4, 4)))
    f = lambda: small[0] * big ** 2 + small[1]  # noqa: E731
    analytic = {"small": xp.stack([(big ** 2 * dout).sum(), dout.sum()]), "big": 2 * small[0] * big * dout}
    results = check_gradients(f, {"small": small, "big": big}, analytic, dout, directional_above=8)
    assert [r.name for r in results] == ["small", "big (dir)"]
    assert all(r.passed for r in results)
    analytic["small"] = analytic["small"] * xp.asarray([1.0, -1.0])
    results = check_gradients(f, {"small": small, "big": big}, analytic, dout)
    assert [r.passed for r in results] == [False, True]
    report = format_report(results)
    assert report.splitlines()[0].startswith("FAIL small")
    assert report.splitlines()[-1] == "1 of 2 gradients pass"


# ------------------------------------------------------------------ values no check may bless


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("side", ["analytic", "numeric", "both"])
def test_compare_fails_non_finite_values(xp, bad, side):
    """NaN or Inf never passes (a comparison with NaN is False, so it must be tested for first),
    and the report points at the entry."""
    good = np.array([1.0, 2.0, 3.0])
    spoilt = good.copy()
    spoilt[1] = bad
    a, n = {"analytic": (spoilt, good), "numeric": (good, spoilt), "both": (spoilt, spoilt)}[side]
    result = compare("g", xp.asarray(a), xp.asarray(n))
    assert not result.passed and result.worst_index == (1,)
    assert "FAIL" in str(result)
    assert format_report([result]).splitlines()[-1] == "0 of 1 gradients pass"


def test_compare_still_passes_the_finite_sibling(xp):
    """The right-but-different sibling: large finite values that agree pass."""
    g = xp.asarray([1e300, -1e300, 0.0])
    assert compare("g", g, g).passed


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_directional_check_and_check_gradients_fail_non_finite(xp, bad):
    rng = np.random.default_rng(6)
    x = xp.asarray(rng.normal(size=(3,)))
    dout = xp.ones(3)
    f = lambda: 2 * x  # noqa: E731
    spoilt = xp.asarray(np.array([2.0, bad, 2.0]))
    assert not directional_check("x", f, x, dout, spoilt).passed
    assert directional_check("x", f, x, dout, xp.full(3, 2.0)).passed
    for directional_above in (None, 1):
        results = check_gradients(f, {"x": x}, {"x": spoilt}, dout, directional_above=directional_above)
        assert [r.passed for r in results] == [False]
    # a forward that returns NaN fails too, even against a NaN analytic gradient
    nan_f = lambda: x * xp.asarray(np.nan)  # noqa: E731
    results = check_gradients(nan_f, {"x": x}, {"x": xp.full(3, np.nan)}, dout)
    assert [r.passed for r in results] == [False]


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_numerical_differentiation_refuses_non_float_arrays(xp, dtype):
    x = xp.asarray(np.array([1, 2, 3]).astype(dtype))
    dout = xp.ones(3)
    with pytest.raises(TypeError, match=rf"numerical_vjp perturbs x by eps in place: it must be a float array "
                                        rf".*got dtype {dtype}"):
        numerical_vjp(lambda: x * x, x, dout)
    with pytest.raises(TypeError, match=rf"directional_check perturbs x .* got dtype {dtype}"):
        directional_check("x", lambda: x * x, x, dout, 2 * x)
    with pytest.raises(TypeError, match=r"numerical_vjp perturbs x"):
        check_gradients(lambda: x * x, {"x": x}, {"x": 2 * x}, dout)


def test_numerical_vjp_of_a_float32_square_is_not_truncated(xp):
    """The sibling that must pass: a float array (float32 here) is perturbed, not truncated."""
    x = xp.asarray(np.array([1.0, 2.0, 3.0], dtype="float32"))
    grad = numerical_vjp(lambda: x * x, x, xp.ones(3, dtype="float32"), eps=1e-2)
    np.testing.assert_allclose(host(grad), [2.0, 4.0, 6.0], rtol=1e-3)


def test_the_report_states_its_tolerances(xp):
    g = xp.asarray([1.0, 2.0])
    report = format_report([compare("a", g, g, rtol=1e-5, atol=1e-7), compare("b", g, g)])
    line = report.splitlines()[-2]
    assert "relative error is at most rtol or its absolute error at most atol" in line
    assert "rtol=1e-06, atol=1e-08" in line and "rtol=1e-05, atol=1e-07" in line
    assert report.splitlines()[-1] == "2 of 2 gradients pass"
