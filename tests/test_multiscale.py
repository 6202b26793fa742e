"""The multi-scale AttentionRNN (docs/model.md §5, §7) and the structure ablation through it.

What is checked:

* every gradient (X, q, every parameter) against central differences in
  float64, over hypothesis-drawn scale sets, non-square maps, Q, k and both
  normalisations, with random non-zero parameters and upstream gradients;
* a single scale of 1 is exactly the single-scale layer (β ≡ 1);
* receptive fields, exactly: a coarse scale's is the block rule that
  pooling and upsampling imply, the ablation's is the k×k neighbourhood;
* the errors for bad scales, shapes and keys; dtype and backend parity.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from attnrnn_np import (
    arnn_backward,
    arnn_forward,
    init_multiscale_params,
    multiscale_arnn_backward,
    multiscale_arnn_forward,
)
from attnrnn_np.backend import to_numpy
from attnrnn_np.combiner import combiner_backward, combiner_forward
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.multiscale import multiscale_param_keys, sequential_steps

from strategies import Dims

SCALE_SETS = [(1,), (2,), (1, 2), (1, 2, 4)]


@dataclass(frozen=True)
class MSDims(Dims):
    scales: tuple


@st.composite
def ms_dims(draw, scale_sets=SCALE_SETS):
    """Sizes whose sides are multiples of the largest scale (non-square allowed)."""
    scales = draw(st.sampled_from(scale_sets))
    m = max(scales)
    side = st.integers(1, max(2, 6 // m)).map(lambda t: m * t)
    return MSDims(N=draw(st.integers(1, 2)), H=draw(side), W=draw(side), C=draw(st.integers(1, 3)),
                  K=draw(st.integers(1, 2)), Q=draw(st.integers(0, 2)), k=draw(st.sampled_from([1, 3])),
                  scales=scales)


@dataclass
class MSProblem:
    dims: MSDims
    params: dict
    X: object
    q: object
    dA: object


def make_ms_problem(d: MSDims, seed, xp=np, dtype="float64", param_scale=0.5):
    """Random non-zero parameters (biases and comb.c included), input, query, upstream gradient."""
    rng = np.random.default_rng(seed)
    params = init_multiscale_params(d.C, d.K, d.scales, query_dim=d.Q, kernel_size=d.k, seed=seed)
    params = {key: v + rng.normal(0.0, param_scale, v.shape) for key, v in params.items()}
    X = rng.normal(size=(d.N, d.H, d.W, d.C))
    q = rng.normal(size=(d.N, d.Q)) if d.Q else None
    dA = rng.normal(size=(d.N, d.H, d.W))
    move = lambda a: None if a is None else xp.asarray(a, dtype=dtype)  # noqa: E731
    return MSProblem(d, {key: move(v) for key, v in params.items()}, move(X), move(q), move(dA))


def pooling_margin(X, scales):
    """Smallest gap between the largest and second-largest entry of any pooling window."""
    gaps = [np.inf]
    N, H, W, C = X.shape
    for g in scales:
        if g > 1:
            win = np.sort(X.reshape(N, H // g, g, W // g, g, C).transpose(0, 1, 3, 5, 2, 4)
                          .reshape(-1, g * g), axis=1)
            gaps.append((win[:, -1] - win[:, -2]).min())
    return min(gaps)


def strip(params, prefix):
    return {key[len(prefix):]: v for key, v in params.items() if key.startswith(prefix)}


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------

@given(ms_dims(), st.sampled_from(["sigmoid", "softmax"]), st.integers(0, 2**31 - 1))
@example(MSDims(N=2, H=8, W=4, C=2, K=2, Q=2, k=3, scales=(1, 2, 4)), "softmax", 1)
@example(MSDims(N=1, H=4, W=6, C=3, K=1, Q=0, k=1, scales=(2,)), "sigmoid", 2)
def test_gradients_match_finite_differences(d, normalize, seed):
    P = make_ms_problem(d, seed)
    # A finite-difference step must not change which element wins a pooling window.
    assume(pooling_margin(P.X, d.scales) > 1e-3)
    A, cache = multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, normalize=normalize)
    dX, dq, grads = multiscale_arnn_backward(P.dA, cache)
    assert list(grads) == list(P.params)
    inputs, analytic = {"X": P.X}, {"X": dX}
    if d.Q:
        inputs["q"], analytic["q"] = P.q, dq
    else:
        assert dq is None

    def f():
        return multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, normalize=normalize)[0]

    # X and q entry by entry (the pooling routes X's gradient); parameters of more
    # than 64 entries along a random direction, to keep the test fast.
    results = check_gradients(f, inputs, analytic, P.dA)
    results += check_gradients(f, P.params, grads, P.dA, directional_above=64, seed=seed)
    assert all(r.passed for r in results), format_report(results)


def test_gradients_with_the_ablation_and_the_raster_schedule():
    d = MSDims(N=2, H=4, W=8, C=2, K=2, Q=1, k=3, scales=(1, 2, 4))
    P = make_ms_problem(d, 17)
    for kwargs in ({"recurrent": False}, {"schedule": "raster"}):
        def f(kwargs=kwargs):
            return multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, **kwargs)[0]

        A, cache = multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, **kwargs)
        dX, dq, grads = multiscale_arnn_backward(P.dA, cache)
        results = check_gradients(f, {"X": P.X, "q": P.q, **P.params}, {"X": dX, "q": dq, **grads},
                                  P.dA, directional_above=64)
        assert all(r.passed for r in results), format_report(results)
        if kwargs.get("recurrent") is False:
            for key in grads:
                if key.endswith(("W_up", "W_left")):
                    assert not grads[key].any(), key


def test_schedules_agree():
    d = MSDims(N=2, H=8, W=4, C=3, K=2, Q=2, k=3, scales=(1, 2, 4))
    P = make_ms_problem(d, 5)
    A_w, c_w = multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, schedule="wavefront")
    A_r, c_r = multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, schedule="raster")
    np.testing.assert_allclose(A_w, A_r, rtol=1e-12, atol=1e-14)
    for a, b in zip(multiscale_arnn_backward(P.dA, c_w), multiscale_arnn_backward(P.dA, c_r), strict=True):
        if isinstance(a, dict):
            for key in a:
                np.testing.assert_allclose(a[key], b[key], rtol=1e-10, atol=1e-13)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_combiner_alone(n_s, C, side, seed):
    rng = np.random.default_rng(seed)
    X, Up = rng.normal(size=(2, side, 3, C)), rng.normal(size=(2, side, 3, n_s))
    V, c, dS = rng.normal(size=(C, n_s)), rng.normal(size=n_s), rng.normal(size=(2, side, 3))
    S, cache = combiner_forward(X, Up, V, c)
    Z = X @ V + c
    beta = np.exp(Z) / np.exp(Z).sum(-1, keepdims=True)
    np.testing.assert_allclose(cache.beta, beta, rtol=1e-12)
    np.testing.assert_allclose(S, (beta * Up).sum(-1), rtol=1e-12, atol=1e-14)
    dX, dUp, dV, dc = combiner_backward(dS, cache)
    results = check_gradients(lambda: combiner_forward(X, Up, V, c)[0], {"X": X, "Up": Up, "V": V, "c": c},
                              {"X": dX, "Up": dUp, "V": dV, "c": dc}, dS)
    assert all(r.passed for r in results), format_report(results)


# ---------------------------------------------------------------------------
# reduction to the single-scale layer
# ---------------------------------------------------------------------------

@given(ms_dims(scale_sets=[(1,)]), st.sampled_from(["sigmoid", "softmax"]), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_single_scale_one_is_exactly_the_single_scale_layer(d, normalize, recurrent, seed):
    P = make_ms_problem(d, seed)
    A, cache = multiscale_arnn_forward(P.X, P.params, P.q, scales=(1,), normalize=normalize,
                                       recurrent=recurrent)
    sub = strip(P.params, "scale1.")
    A_ref, cache_ref = arnn_forward(P.X, sub, P.q, normalize=normalize, recurrent=recurrent)
    np.testing.assert_array_equal(A, A_ref)
    np.testing.assert_array_equal(cache.comb.beta, 1.0)
    dX, dq, grads = multiscale_arnn_backward(P.dA, cache)
    dX_ref, dq_ref, grads_ref = arnn_backward(P.dA, cache_ref)
    np.testing.assert_array_equal(dX, dX_ref)
    if d.Q:
        np.testing.assert_array_equal(dq, dq_ref)
    for key, grad in grads_ref.items():
        np.testing.assert_array_equal(grads["scale1." + key], grad)
    assert not grads["comb.V"].any() and not grads["comb.c"].any()


# ---------------------------------------------------------------------------
# receptive fields
# ---------------------------------------------------------------------------

def winners(X, g):
    """(N, H, W, C) bool: the element of each γ×γ window that max-pooling selects (first maximum)."""
    N, H, W, C = X.shape
    out = np.zeros(X.shape, dtype=bool)
    for I in range(H // g):
        for J in range(W // g):
            win = X[:, g * I:g * I + g, g * J:g * J + g, :].reshape(N, g * g, C)
            first = win.argmax(axis=1)                               # (N, C)
            a, b = np.divmod(first, g)
            n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
            out[n, g * I + a, g * J + b, c] = True
    return out


def block_rule(H, W, i, j, g, p, recurrent=True):
    """(H, W) bool: the positions (a, b) whose features can reach the scale-γ logit at (i, j).

    Position (a, b) lies in pooled cell (⌊a/γ⌋, ⌊b/γ⌋) and (i, j) reads the
    pooled cell (I, J) = (⌊i/γ⌋, ⌊j/γ⌋). docs/model.md §4's rule on the pooled map:
    (a' ≤ I+p and b' ≤ J+p) or (a' ≥ I−p and b' ≥ J−p); the ablation's:
    |a' − I| ≤ p and |b' − J| ≤ p.
    """
    a = np.arange(H)[:, None] // g
    b = np.arange(W)[None, :] // g
    I, J = i // g, j // g
    if not recurrent:
        return (abs(a - I) <= p) & (abs(b - J) <= p)
    return ((a <= I + p) & (b <= J + p)) | ((a >= I - p) & (b >= J - p))


def gradient_support(P, scales, n, i, j, recurrent=True):
    """(N, H, W, C) bool: where ∂A[n,i,j]/∂X is non-zero (sigmoid: no coupling through normalisation)."""
    A, cache = multiscale_arnn_forward(P.X, P.params, P.q, scales=scales, recurrent=recurrent)
    dA = np.zeros(A.shape)
    dA[n, i, j] = 1.0
    dX, _, _ = multiscale_arnn_backward(dA, cache)
    return dX != 0


@pytest.mark.parametrize("g, k, recurrent", [(2, 1, True), (2, 3, True), (4, 3, True),
                                             (2, 1, False), (2, 3, False), (1, 3, False)])
def test_receptive_field_of_one_scale_is_the_block_rule(g, k, recurrent):
    # One scale: β ≡ 1, so the combiner adds no dependence on X[i, j].
    d = MSDims(N=2, H=4 * g, W=3 * g, C=2, K=2, Q=1, k=k, scales=(g,))
    P = make_ms_problem(d, 100 * g + k)
    win = winners(P.X, g)
    p = (k - 1) // 2
    for n in range(d.N):
        for i in range(d.H):
            for j in range(d.W):
                expected = np.zeros(P.X.shape, dtype=bool)
                expected[n] = block_rule(d.H, d.W, i, j, g, p, recurrent)[:, :, None] & win[n]
                got = gradient_support(P, (g,), n, i, j, recurrent)
                np.testing.assert_array_equal(got, expected, err_msg=f"output (n={n}, i={i}, j={j})")


def test_ablation_at_full_resolution_sees_exactly_the_k_by_k_neighbourhood():
    d = MSDims(N=1, H=5, W=6, C=2, K=2, Q=0, k=3, scales=(1,))
    P = make_ms_problem(d, 9)
    for i in range(d.H):
        for j in range(d.W):
            expected = np.zeros((d.H, d.W), dtype=bool)
            expected[max(0, i - 1):i + 2, max(0, j - 1):j + 2] = True
            got = gradient_support(P, (1,), 0, i, j, recurrent=False)
            np.testing.assert_array_equal(got[0], np.broadcast_to(expected[:, :, None], got[0].shape))


def test_receptive_field_of_several_scales_is_the_union_plus_the_combiner_column():
    d = MSDims(N=1, H=8, W=4, C=2, K=2, Q=0, k=1, scales=(2, 4))
    P = make_ms_problem(d, 31)
    for i in range(d.H):
        for j in range(d.W):
            expected = np.zeros(P.X.shape, dtype=bool)
            for g in d.scales:
                expected[0] |= block_rule(d.H, d.W, i, j, g, 0)[:, :, None] & winners(P.X, g)[0]
            expected[0, i, j, :] = True    # β at (i, j) reads X[i, j, :]
            np.testing.assert_array_equal(gradient_support(P, d.scales, 0, i, j), expected)


# ---------------------------------------------------------------------------
# contract: keys, repeatability, dtypes, steps, init
# ---------------------------------------------------------------------------

def test_backward_is_repeatable_and_does_not_mutate():
    d = MSDims(N=2, H=4, W=6, C=2, K=2, Q=2, k=3, scales=(1, 2))
    P = make_ms_problem(d, 3)
    A, cache = multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, normalize="softmax")
    dA0 = P.dA.copy()
    first, second = multiscale_arnn_backward(P.dA, cache), multiscale_arnn_backward(P.dA, cache)
    np.testing.assert_array_equal(P.dA, dA0)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert list(first[2]) == list(P.params)
    for key in P.params:
        np.testing.assert_array_equal(first[2][key], second[2][key])
        assert first[2][key].shape == P.params[key].shape
        assert not np.shares_memory(first[2][key], second[2][key])


def test_init_keys_determinism_and_per_scale_seeds():
    p = init_multiscale_params(3, 4, (1, 2, 4), query_dim=2, kernel_size=3, seed=7)
    assert list(p) == multiscale_param_keys((1, 2, 4), query_dim=2)
    assert p["comb.V"].shape == (3, 3) and p["comb.c"].shape == (3,)
    assert p["scale4.fwd.W_x"].shape == (3, 3, 3, 16) and p["scale2.head.w"].shape == (8,)
    again = init_multiscale_params(3, 4, (1, 2, 4), query_dim=2, kernel_size=3, seed=7)
    for key in p:
        np.testing.assert_array_equal(p[key], again[key])
    alone = init_multiscale_params(3, 4, (2,), query_dim=2, kernel_size=3, seed=7)
    np.testing.assert_array_equal(alone["scale2.fwd.W_x"], p["scale2.fwd.W_x"])
    assert not np.array_equal(p["scale1.fwd.W_x"], p["scale2.fwd.W_x"])
    p32 = init_multiscale_params(3, 4, (1, 2), dtype="float32")
    assert all(v.dtype == np.float32 for v in p32.values())


def test_float32_in_float32_out():
    d = MSDims(N=2, H=4, W=4, C=3, K=2, Q=1, k=3, scales=(1, 2))
    P = make_ms_problem(d, 8, dtype="float32")
    A, cache = multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales)
    dX, dq, grads = multiscale_arnn_backward(P.dA, cache)
    assert A.dtype == dX.dtype == dq.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
    P64 = make_ms_problem(d, 8)
    A64, _ = multiscale_arnn_forward(P64.X, P64.params, P64.q, scales=d.scales)
    np.testing.assert_allclose(A, A64, rtol=1e-4, atol=1e-5)


def test_sequential_steps():
    assert sequential_steps(32, 32, (1,)) == 63
    assert sequential_steps(32, 32, (4,)) == 15
    assert sequential_steps(32, 32, (1, 2, 4)) == 63 + 31 + 15
    assert sequential_steps(8, 4, (2,)) == 4 + 2 - 1
    with pytest.raises(ValueError, match="scale 3 does not divide"):
        sequential_steps(4, 4, (3,))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

@pytest.fixture
def small():
    params = init_multiscale_params(2, 2, (1, 2), query_dim=0, seed=0)
    X = np.random.default_rng(0).normal(size=(1, 4, 4, 2))
    return params, X


def test_scale_that_does_not_divide_is_named_with_the_shape():
    params = init_multiscale_params(2, 2, (1, 3), seed=0)
    X = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match=r"scale 3 does not divide the map: X has shape \(1, 4, 4, 2\)"):
        multiscale_arnn_forward(X, params, scales=(1, 3))
    params = init_multiscale_params(2, 2, (2,), seed=0)
    with pytest.raises(ValueError, match=r"scale 2 does not divide.*\(1, 4, 5, 2\)"):
        multiscale_arnn_forward(np.zeros((1, 4, 5, 2)), params, scales=(2,))


@pytest.mark.parametrize("scales, error, message", [
    ((0,), ValueError, "positive integer, got 0"),
    ((1, -2), ValueError, "positive integer, got -2"),
    ((1, 2, 2), ValueError, r"distinct; \[2\] repeated"),
    ((), ValueError, r"^scales must name at least one scale, e\.g\. \(1,\) or \(1, 2, 4\); got \(\)$"),
    ((1.5,), TypeError, "positive integer, got 1.5"),
    ((True,), TypeError, "positive integer"),
    (2, TypeError, "tuple of positive integers"),
    ("12", TypeError, "tuple of positive integers"),
])
def test_bad_scales(small, scales, error, message):
    params, X = small
    with pytest.raises(error, match=message):
        multiscale_arnn_forward(X, params, scales=scales)
    with pytest.raises(error, match=message):
        init_multiscale_params(2, 2, scales)


def test_scales_are_keyword_only_and_required(small):
    params, X = small
    with pytest.raises(TypeError):
        multiscale_arnn_forward(X, params)
    with pytest.raises(TypeError):
        multiscale_arnn_forward(X, params, None, (1, 2))


def test_key_errors_name_the_keys(small):
    params, X = small
    with pytest.raises(KeyError, match=r"scale2\.fwd\.W_x.*scales \(1,\)"):
        multiscale_arnn_forward(X, params, scales=(1,))            # params of (1, 2), scales (1,)
    with pytest.raises(KeyError, match=r"no parameters for scales \[4\]"):
        multiscale_arnn_forward(X, params, scales=(1, 2, 4))
    for key in ("comb.V", "comb.c", "scale2.bwd.W_up", "scale1.head.b"):
        broken = {k: v for k, v in params.items() if k != key}
        with pytest.raises(KeyError, match=key.replace(".", r"\.")):
            multiscale_arnn_forward(X, broken, scales=(1, 2))
    for key in ("extra", "comb.W", "scale2.fwd.W_extra"):
        with pytest.raises(KeyError, match=key.replace(".", r"\.")):
            multiscale_arnn_forward(X, {**params, key: np.zeros(1)}, scales=(1, 2))


def test_shape_and_dtype_errors(small):
    params, X = small
    with pytest.raises(ValueError, match=r"comb\.V.*shape \(2, 3\), expected \(2, 2\)"):
        multiscale_arnn_forward(X, {**params, "comb.V": np.zeros((2, 3))}, scales=(1, 2))
    with pytest.raises(ValueError, match=r"comb\.c.*expected \(2,\)"):
        multiscale_arnn_forward(X, {**params, "comb.c": np.zeros(1)}, scales=(1, 2))
    other_C = init_multiscale_params(3, 2, (2,), seed=0)
    mixed = {**{k: v for k, v in params.items() if not k.startswith("scale2.")},
             **{k: v for k, v in other_C.items() if k.startswith("scale2.")}}
    with pytest.raises(ValueError, match="scale 2 reads C=3"):
        multiscale_arnn_forward(X, mixed, scales=(1, 2))
    with pytest.raises(ValueError, match="channels"):
        multiscale_arnn_forward(np.zeros((1, 4, 4, 3)), params, scales=(1, 2))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        multiscale_arnn_forward(np.zeros((4, 4, 2)), params, scales=(1, 2))
    with pytest.raises(ValueError, match="query"):
        multiscale_arnn_forward(X, params, np.zeros((1, 2)), scales=(1, 2))
    with pytest.raises(TypeError, match="dtype"):
        multiscale_arnn_forward(X.astype(np.float32), params, scales=(1, 2))
    with pytest.raises(TypeError, match="comb.V"):
        multiscale_arnn_forward(X, {**params, "comb.V": params["comb.V"].astype(np.float32)},
                                scales=(1, 2))
    with pytest.raises(ValueError, match="normalize"):
        multiscale_arnn_forward(X, params, scales=(1, 2), normalize="tanh")
    with pytest.raises(ValueError, match="schedule"):
        multiscale_arnn_forward(X, params, scales=(1, 2), schedule="zigzag")
    A, cache = multiscale_arnn_forward(X, params, scales=(1, 2))
    with pytest.raises(ValueError, match="dA must have"):
        multiscale_arnn_backward(np.zeros((1, 4, 3)), cache)
    with pytest.raises(TypeError, match="dA has dtype float32"):
        multiscale_arnn_backward(np.zeros(A.shape, dtype=np.float32), cache)


def test_query_is_required_exactly_when_params_have_one():
    params = init_multiscale_params(2, 2, (1, 2), query_dim=3, seed=0)
    X = np.zeros((2, 4, 4, 2))
    with pytest.raises(ValueError, match="no query q was given"):
        multiscale_arnn_forward(X, params, scales=(1, 2))
    with pytest.raises(ValueError, match=r"q must have shape \(N, Q\) = \(2, 3\)"):
        multiscale_arnn_forward(X, params, np.zeros((2, 2)), scales=(1, 2))


# ---------------------------------------------------------------------------
# backends
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("normalize", ["sigmoid", "softmax"])
def test_backends_agree(xp, normalize):
    d = MSDims(N=2, H=8, W=4, C=3, K=2, Q=2, k=3, scales=(1, 2, 4))
    P, R = make_ms_problem(d, 13, xp=xp), make_ms_problem(d, 13)
    A, cache = multiscale_arnn_forward(P.X, P.params, P.q, scales=d.scales, normalize=normalize)
    dX, dq, grads = multiscale_arnn_backward(P.dA, cache)
    A_ref, cache_ref = multiscale_arnn_forward(R.X, R.params, R.q, scales=d.scales, normalize=normalize)
    dX_ref, dq_ref, grads_ref = multiscale_arnn_backward(R.dA, cache_ref)
    assert type(A) is type(dX) is type(dq) is xp.ndarray
    np.testing.assert_allclose(to_numpy(A), A_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_numpy(dX), dX_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(to_numpy(dq), dq_ref, rtol=1e-9, atol=1e-12)
    for key in grads_ref:
        assert type(grads[key]) is xp.ndarray
        np.testing.assert_allclose(to_numpy(grads[key]), grads_ref[key], rtol=1e-9, atol=1e-12)


def test_init_on_a_backend(xp):
    p = init_multiscale_params(2, 3, (1, 2), query_dim=1, seed=4, xp=xp)
    ref = init_multiscale_params(2, 3, (1, 2), query_dim=1, seed=4)
    for key in ref:
        assert type(p[key]) is xp.ndarray
        np.testing.assert_array_equal(to_numpy(p[key]), ref[key])
