"""Every gradient of the AttentionRNN layer against central differences, in float64.

Each example draws a problem (N, H, W in 1..5 and non-square, C, K in 1..3,
Q in 0..3, k in {1, 3}), random weights on top of the initialisation so that
every bias is non-zero, a random input, query and upstream gradient, and
checks the vector-Jacobian product ⟨∂A/∂x, dA⟩ of **every** entry of every
input and parameter with :func:`attnrnn_np.gradcheck.numerical_vjp`.

Tolerances: an entry passes when its relative error is at most 1e-6 or its
absolute error at most 1e-8. The step eps = 1e-5 balances the truncation error
of central differences (O(eps²) ≈ 1e-10 relative) against round-off in the
loss, ~1e-16·Σ|A·dA| / eps ≲ 1e-10 absolute on these sizes; the measured worst
absolute error was 2e-10, so the 1e-8 floor only absorbs round-off and a
wrong gradient (errors of order the gradient itself) cannot pass. The floor
also covers gradients that are 0 analytically, such as ``head.b`` under the
spatial softmax, which is invariant to a shift of all logits.
"""

from hypothesis import example, given

from attnrnn_np import arnn_backward, arnn_forward
from attnrnn_np.gradcheck import check_gradients, format_report

from strategies import Dims, analytic_grads, dims, make_problem, mask_of, normalizations, problem_inputs, scaled, seeds

EPS, RTOL, ATOL = 1e-5, 1e-6, 1e-8
# Hypothesis favours small draws; these pin the largest sizes of the range, non-square both ways.
LARGEST = Dims(N=3, H=5, W=4, C=3, K=3, Q=3, k=3)
LARGEST_T = Dims(N=2, H=3, W=5, C=2, K=3, Q=0, k=3)


def _check_all(p, **kwargs):
    A, cache = arnn_forward(p.X, p.params, p.q, **kwargs)
    analytic = analytic_grads(*arnn_backward(p.dA, cache))
    inputs = problem_inputs(p)
    assert set(analytic) == set(inputs)
    results = check_gradients(mask_of(p, **kwargs), inputs, analytic, p.dA, eps=EPS, rtol=RTOL, atol=ATOL)
    assert [r.name for r in results] == list(inputs)
    assert all(r.passed for r in results), f"{p.dims} {kwargs}\n" + format_report(results)


@scaled(40)
@given(d=dims(), normalize=normalizations, seed=seeds)
@example(d=LARGEST, normalize="sigmoid", seed=1)
@example(d=LARGEST, normalize="softmax", seed=2)
@example(d=LARGEST_T, normalize="softmax", seed=3)
def test_every_gradient_matches_finite_differences(xp, d, normalize, seed):
    _check_all(make_problem(d, seed, xp), normalize=normalize)


@scaled(10)
@given(d=dims(), normalize=normalizations, seed=seeds)
@example(d=LARGEST, normalize="sigmoid", seed=4)
def test_raster_schedule_gradients_match_finite_differences(xp, d, normalize, seed):
    _check_all(make_problem(d, seed, xp), normalize=normalize, schedule="raster")


@scaled(12)
@given(d=dims(), normalize=normalizations, seed=seeds)
@example(d=LARGEST_T, normalize="sigmoid", seed=5)
def test_ablation_gradients_match_finite_differences(xp, d, normalize, seed):
    """recurrent=False: W_up and W_left do not enter the mask, so their exact
    gradient is 0 and finite differences must agree (up to the atol floor)."""
    p = make_problem(d, seed, xp)
    _check_all(p, normalize=normalize, recurrent=False)
    _, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize, recurrent=False)
    _, _, grads = arnn_backward(p.dA, cache)
    for key in ("fwd.W_up", "fwd.W_left", "bwd.W_up", "bwd.W_left"):
        assert not grads[key].any(), key
