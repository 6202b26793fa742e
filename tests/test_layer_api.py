"""The layer's inputs, beyond shapes and dtypes: caches, sizes, flags, seeds, keys, overflow, memory.

docs/reliability.md ("The layer's inputs") states each promise tested here:
what is refused, with which error and which words, and what passes through
on purpose (NaN or Inf in the parameters propagates to the mask).
"""

import numpy as np
import pytest

from attnrnn_np import (
    AttentionRNN,
    arnn_backward,
    arnn_forward,
    init_arnn_params,
    init_multiscale_params,
    multiscale_arnn_backward,
    multiscale_arnn_forward,
)
from attnrnn_np import arnn as arnn_module
from attnrnn_np.arnn import arnn_logits_backward, arnn_logits_forward
from attnrnn_np.mask import gate_backward, gate_forward, weighted_pool_backward, weighted_pool_forward
from attnrnn_np.multiscale import trusted_multiscale_arnn_forward

C, K, Q = 3, 2, 2


@pytest.fixture
def single(xp):
    rng = np.random.default_rng(0)
    params = init_arnn_params(C, K, query_dim=Q, seed=0, xp=xp)
    X = xp.asarray(rng.normal(size=(2, 4, 4, C)))
    q = xp.asarray(rng.normal(size=(2, Q)))
    return X, params, q


@pytest.fixture
def multi(xp):
    rng = np.random.default_rng(1)
    params = init_multiscale_params(C, K, (1, 2), query_dim=Q, seed=0, xp=xp)
    X = xp.asarray(rng.normal(size=(2, 4, 4, C)))
    q = xp.asarray(rng.normal(size=(2, Q)))
    return X, params, q


# ------------------------------------------------------------------ the cache a backward is given


def test_arnn_backward_names_the_cache_it_expects(single, multi, xp):
    X, params, q = single
    A, cache = arnn_forward(X, params, q)
    Xm, pm, qm = multi
    _, ms_cache = multiscale_arnn_forward(Xm, pm, qm, scales=(1, 2))
    dA = xp.ones_like(A)
    for wrong, words in ((ms_cache, "got MultiScaleCache"), ((A, cache), "got a plain tuple of 2 items"),
                         (None, "got NoneType")):
        with pytest.raises(TypeError, match=rf"arnn_backward expects the ARNNCache .*{words}"):
            arnn_backward(dA, wrong)
    arnn_backward(dA, cache)  # the right one still works


def test_multiscale_backward_names_the_cache_it_expects(single, multi, xp):
    X, params, q = single
    _, cache = arnn_forward(X, params, q)
    Xm, pm, qm = multi
    A, ms_cache = multiscale_arnn_forward(Xm, pm, qm, scales=(1, 2))
    for wrong, words in ((cache, "got ARNNCache"), ((A, ms_cache), "got a plain tuple"), (None, "got NoneType")):
        with pytest.raises(TypeError, match=rf"multiscale_arnn_backward expects the MultiScaleCache .*{words}"):
            multiscale_arnn_backward(xp.ones_like(A), wrong)


def test_logits_backward_and_mask_backwards_check_their_cache(single, xp):
    X, params, q = single
    S, _ = arnn_logits_forward(X, params, q)
    with pytest.raises(TypeError, match=r"arnn_logits_backward expects the ARNNCache"):
        arnn_logits_backward(xp.ones_like(S), None)
    A = xp.ones((2, 4, 4))
    _, gate_cache = gate_forward(A, X)
    _, pool_cache = weighted_pool_forward(A, X)
    with pytest.raises(TypeError, match=r"gate_backward expects the GateCache .* got WeightedPoolCache"):
        gate_backward(xp.ones_like(X), pool_cache)
    with pytest.raises(TypeError, match=r"weighted_pool_backward expects the WeightedPoolCache .* got GateCache"):
        weighted_pool_backward(xp.ones((2, C)), gate_cache)


# ------------------------------------------------------------------ zero-size dimensions


@pytest.mark.parametrize("kwargs, name", [({"in_channels": 0}, "in_channels"), ({"hidden": 0}, "hidden")])
def test_zero_sizes_refused_at_init(xp, kwargs, name):
    args = {"in_channels": C, "hidden": K, **kwargs}
    with pytest.raises(ValueError, match=rf"{name} must be >= 1, got 0"):
        init_arnn_params(args["in_channels"], args["hidden"], xp=xp)
    with pytest.raises(ValueError, match=rf"{name} must be >= 1, got 0"):
        init_multiscale_params(args["in_channels"], args["hidden"], (1, 2), xp=xp)
    with pytest.raises(ValueError, match=rf"{name} must be >= 1, got 0"):
        AttentionRNN(args["in_channels"], args["hidden"], xp=xp)


def _with_shapes(params, C_new, K_new, Q_new, xp):
    """The params' keys with arrays of other (possibly zero) sizes, built directly."""
    shapes = {"W_x": (3, 3, C_new, 4 * K_new), "b": (4 * K_new,), "W_q": (Q_new, 4 * K_new),
              "W_up": (K_new, 4 * K_new), "W_left": (K_new, 4 * K_new)}
    out = {}
    for key in params:
        name = key.split(".")[-1]
        shape = {"w": (2 * K_new,), "b": (1,) if key.startswith("head") else shapes["b"]}.get(name, shapes.get(name))
        out[key] = xp.zeros(shape)
    return out


@pytest.mark.parametrize("sizes, words", [((0, K, Q), "at least one input channel C, one hidden unit K"),
                                          ((C, 0, Q), "at least one input channel C, one hidden unit K"),
                                          ((C, K, 0), "query weights need at least one row")])
def test_zero_size_params_refused_at_forward(single, xp, sizes, words):
    X, params, q = single
    bad = _with_shapes(params, *sizes, xp)
    Xz = xp.zeros((2, 4, 4, sizes[0]))
    with pytest.raises(ValueError, match=words):
        arnn_forward(Xz, bad, q)
    with pytest.raises(ValueError, match=words):
        AttentionRNN(None, None, params=bad)


def test_right_but_different_sizes_pass(single, xp):
    """The sibling that must pass: other non-zero sizes built the same way run."""
    X, params, _ = single
    good = _with_shapes(params, C, 1, 1, xp)
    A, _ = arnn_forward(X, good, xp.zeros((2, 1)))
    assert A.shape == (2, 4, 4)


# ------------------------------------------------------------------ flags, sizes, seeds


@pytest.mark.parametrize("flag", ["False", 0, 1, None])
def test_recurrent_must_be_a_bool(single, multi, xp, flag):
    X, params, q = single
    with pytest.raises(TypeError, match=rf"recurrent must be True or False, got {flag!r}"):
        arnn_forward(X, params, q, recurrent=flag)
    with pytest.raises(TypeError, match=r"recurrent must be True or False"):
        arnn_logits_forward(X, params, q, recurrent=flag)
    Xm, pm, qm = multi
    with pytest.raises(TypeError, match=r"recurrent must be True or False"):
        multiscale_arnn_forward(Xm, pm, qm, scales=(1, 2), recurrent=flag)
    with pytest.raises(TypeError, match=r"recurrent must be True or False"):
        AttentionRNN(C, K, recurrent=flag, xp=xp)


@pytest.mark.parametrize("name", ["in_channels", "hidden", "query_dim", "kernel_size"])
@pytest.mark.parametrize("bad", [2.7, 3.0, True, "3", None])
def test_sizes_must_be_integers(xp, name, bad):
    args = {"in_channels": C, "hidden": K, "query_dim": Q, "kernel_size": 3, name: bad}
    with pytest.raises(TypeError, match=rf"{name} must be an integer, got {bad!r}"):
        init_arnn_params(args.pop("in_channels"), args.pop("hidden"), **args, xp=xp)


def test_numpy_integers_are_integers(xp):
    params = init_arnn_params(np.int64(C), np.int32(K), query_dim=np.int16(Q), kernel_size=np.int64(3), xp=xp)
    assert params["fwd.W_x"].shape == (3, 3, C, 4 * K)


@pytest.mark.parametrize("bad, error", [(None, TypeError), (-1, ValueError), (1.5, TypeError), ("3", TypeError),
                                        (True, TypeError)])
def test_seed_must_be_a_non_negative_integer(xp, bad, error):
    for make in (lambda: init_arnn_params(C, K, seed=bad, xp=xp),
                 lambda: init_multiscale_params(C, K, (1, 2), seed=bad, xp=xp),
                 lambda: AttentionRNN(C, K, seed=bad, xp=xp)):
        with pytest.raises(error, match=r"seed must be a non-negative integer"):
            make()


def test_seed_generators_and_large_integers_pass(xp):
    a = init_arnn_params(C, K, seed=np.random.default_rng(5), xp=xp)
    b = init_arnn_params(C, K, seed=2 ** 40, xp=xp)
    assert set(a) == set(b)


# ------------------------------------------------------------------ keys, q, contradictions, normalize


def test_non_string_keys_are_named(single, multi):
    X, params, q = single
    with pytest.raises(TypeError, match=r"parameter keys must be strings such as 'fwd.W_x', got \[0, \('a',\)\]"):
        arnn_forward(X, {**params, 0: params["head.b"], ("a",): params["head.b"]}, q)
    Xm, pm, qm = multi
    with pytest.raises(TypeError, match=r"parameter keys must be strings"):
        multiscale_arnn_forward(Xm, {**pm, 1: pm["comb.c"]}, qm, scales=(1, 2))


@pytest.mark.parametrize("bad", [[[0.0, 1.0], [1.0, 0.0]], (0.0, 1.0), 1.0, "q"])
def test_q_that_is_not_an_array_is_named(single, multi, bad):
    X, params, _ = single
    with pytest.raises(TypeError, match=r"q must be a float32 or float64 array"):
        arnn_forward(X, params, bad)
    Xm, pm, _ = multi
    with pytest.raises(TypeError, match=r"q must be a float32 or float64 array"):
        multiscale_arnn_forward(Xm, pm, bad, scales=(1, 2))


def test_layer_refuses_sizes_that_contradict_its_params(single, xp):
    _, params, _ = single
    with pytest.raises(ValueError, match=r"in_channels=4 contradicts the params, whose shapes give in_channels=3"):
        AttentionRNN(4, K, query_dim=Q, params=params)
    with pytest.raises(ValueError, match=r"hidden=5 contradicts"):
        AttentionRNN(C, 5, query_dim=Q, params=params)
    with pytest.raises(ValueError, match=r"query_dim=0 contradicts"):
        AttentionRNN(C, K, query_dim=0, params=params)
    with pytest.raises(ValueError, match=r"kernel_size=1 contradicts"):
        AttentionRNN(C, K, query_dim=Q, kernel_size=1, params=params)
    # agreeing sizes, sizes left to the params (None) and the defaults of the unnamed ones all pass
    AttentionRNN(C, K, query_dim=Q, kernel_size=3, params=params)
    AttentionRNN(None, None, params=params)
    one = init_arnn_params(C, K, kernel_size=1, xp=xp)
    AttentionRNN(C, K, params=one)


@pytest.mark.parametrize("bad", ["relu", None, "Sigmoid"])
def test_layer_refuses_a_bad_normalize_at_construction(xp, bad):
    with pytest.raises(ValueError, match=r"unknown normalize"):
        AttentionRNN(C, K, normalize=bad, xp=xp)


# ------------------------------------------------------------------ the mask functions


@pytest.mark.parametrize("fn", [gate_forward, weighted_pool_forward])
@pytest.mark.parametrize("which", ["A", "X"])
@pytest.mark.parametrize("bad, kind", [(None, "NoneType"), ([[1.0]], "list")])
def test_mask_functions_name_the_argument(single, xp, fn, which, bad, kind):
    X, _, _ = single
    A = xp.ones((2, 4, 4))
    args = {"A": A, "X": X, which: bad}
    with pytest.raises(TypeError, match=rf"{which} must be a float32 or float64 array, got {kind}"):
        fn(args["A"], args["X"])


def test_mask_backwards_name_the_gradient(single, xp):
    X, _, _ = single
    A = xp.ones((2, 4, 4))
    _, gate_cache = gate_forward(A, X)
    _, pool_cache = weighted_pool_forward(A, X)
    with pytest.raises(TypeError, match=r"dY must be a float32 or float64 array, got list"):
        gate_backward([1.0], gate_cache)
    with pytest.raises(TypeError, match=r"dz must be a float32 or float64 array, got NoneType"):
        weighted_pool_backward(None, pool_cache)


# ------------------------------------------------------------------ values: overflow and NaN in parameters


def _huge(xp, dtype, seed=3):
    rng = np.random.default_rng(seed)
    return xp.asarray(rng.choice([-3.4e38, 3.4e38], size=(2, 4, 4, C)), dtype=dtype)


def test_float32_input_that_overflows_inside_is_refused(xp):
    """Finite float32 inputs near the top of the range: the multi-scale combiner's X·comb.V overflows
    and its softmax over the scales gives NaN (the trusted maths shows it); the public call says so."""
    ms = init_multiscale_params(C, K, (1, 2), seed=0, dtype="float32", xp=xp)
    ms["comb.V"] = xp.ones((C, 2), dtype="float32")  # valid weights: X·comb.V = 3 × 3.4e38 overflows
    X = xp.full((2, 4, 4, C), 3.4e38, dtype="float32")
    with np.errstate(over="ignore", invalid="ignore"):
        A, _ = trusted_multiscale_arnn_forward(X, ms, scales=(1, 2), xp=xp)
        assert not bool(xp.isfinite(A).all())
        with pytest.raises(ValueError, match=r"X and q are finite but the logits overflowed .*rescale the input "
                                             r"or compute in float64"):
            multiscale_arnn_forward(X, ms, scales=(1, 2))


def test_float32_input_near_the_top_of_the_range_gives_a_finite_single_scale_mask(xp):
    """The single-scale layer's gates saturate instead: its mask stays finite, and nothing is refused."""
    params = init_arnn_params(C, K, seed=0, dtype="float32", xp=xp)
    with np.errstate(over="ignore", invalid="ignore"):
        A, _ = arnn_forward(_huge(xp, "float32"), params)
    assert bool(xp.isfinite(A).all())


def test_the_same_input_in_float64_gives_a_finite_mask(xp):
    ms = init_multiscale_params(C, K, (1, 2), seed=0, xp=xp)
    ms["comb.V"] = xp.ones((C, 2))
    A, _ = multiscale_arnn_forward(xp.full((2, 4, 4, C), 3.4e38), ms, scales=(1, 2))
    assert bool(xp.isfinite(A).all())


def test_nan_in_parameters_propagates(single, xp):
    X, params, q = single
    params = dict(params)
    params["head.b"] = xp.asarray(np.array([np.nan]))
    A, cache = arnn_forward(X, params, q)
    assert not bool(xp.isfinite(A).any())
    dX, _, _ = arnn_backward(xp.ones_like(A), cache)
    assert dX.shape == X.shape


# ------------------------------------------------------------------ memory


def test_a_problem_too_large_for_memory_is_refused_before_allocating():
    params = init_arnn_params(C, K, seed=0)
    X = np.broadcast_to(np.zeros((1, 1, 1, C)), (10 ** 6, 512, 512, C))  # a view: no memory behind it
    with pytest.raises(MemoryError, match=r"needs about \d+\.\d GiB .* more than the \d+\.\d GiB of memory here"):
        arnn_forward(X, params)
    ms = init_multiscale_params(C, K, (1, 2), seed=0)
    with pytest.raises(MemoryError, match=r"multi-scale ARNN with scales \(1, 2\)"):
        multiscale_arnn_forward(X, ms, scales=(1, 2))


def test_the_memory_check_uses_the_estimate(monkeypatch):
    """With a device of 1 MiB the same small problem is refused, and a 1 GiB one runs it."""
    params = init_arnn_params(C, K, seed=0)
    X = np.zeros((4, 8, 8, C))
    need = arnn_module.working_set_bytes(4, 8, 8, arnn_module.arnn_dims(params), 8)
    monkeypatch.setattr(arnn_module, "_memory_bytes", lambda xp: need - 1)
    with pytest.raises(MemoryError, match=rf"needs about {need / 2 ** 30:.1f} GiB"):
        arnn_forward(X, params)
    monkeypatch.setattr(arnn_module, "_memory_bytes", lambda xp: need)
    arnn_forward(X, params)
