"""Bad input: each case raises the documented error, with a message naming the problem.

The documented contract (``arnn_forward``'s Raises section): ``TypeError``
for non-float or mixed dtypes and for NumPy/CuPy mixing, ``KeyError`` for
missing or unexpected parameter keys, ``ValueError`` for bad shapes, an even
kernel, unknown options, a query given without ``W_q`` or missing with it,
and NaN or Inf in X or q (non-finite inputs are refused, not propagated).
"""

import numpy as np
import pytest

from attnrnn_np import (
    AttentionRNN,
    arnn_backward,
    arnn_forward,
    init_arnn_params,
    init_multiscale_params,
    multiscale_arnn_forward,
)
from attnrnn_np.arnn import arnn_logits_forward
from attnrnn_np.backend import array_module

from strategies import Dims, needs_gpu

C, K, Q = 3, 2, 2


@pytest.fixture
def problem(xp):
    """A valid float64 problem with a query: (X, params, q)."""
    rng = np.random.default_rng(0)
    params = init_arnn_params(C, K, query_dim=Q, kernel_size=3, seed=0, xp=xp)
    X = xp.asarray(rng.normal(size=(2, 4, 3, C)))
    q = xp.asarray(rng.normal(size=(2, Q)))
    return X, params, q


def test_the_valid_problem_runs(problem):
    X, params, q = problem
    A, _ = arnn_forward(X, params, q)
    assert A.shape == (2, 4, 3)


# ------------------------------------------------------------------ X


@pytest.mark.parametrize("shape", [(4, 3, C), (1, 2, 4, 3, C), (C,)])
def test_wrong_rank_of_X(problem, xp, shape):
    _, params, _ = problem
    with pytest.raises(ValueError, match=r"X must have shape \(N, H, W, C\), got shape"):
        arnn_forward(xp.zeros(shape), params, xp.zeros((1, Q)))


@pytest.mark.parametrize("shape", [(0, 4, 3, C), (2, 0, 3, C), (2, 4, 0, C)])
def test_empty_X(problem, xp, shape):
    _, params, _ = problem
    with pytest.raises(ValueError, match=r"X must be non-empty, got shape"):
        arnn_forward(xp.zeros(shape), params, xp.zeros((shape[0], Q)))


def test_channel_count_not_matching_params(problem, xp):
    _, params, q = problem
    with pytest.raises(ValueError, match=rf"X has {C + 1} channels but the parameters expect C={C}"):
        arnn_forward(xp.zeros((2, 4, 3, C + 1)), params, q)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "complex128", "float16"])
def test_non_float_X(problem, xp, dtype):
    X, params, q = problem
    with pytest.raises(TypeError, match=rf"X must be a float32 or float64 array, got dtype {dtype}"):
        arnn_forward(X.astype(dtype), params, q)


def test_X_not_an_array(problem):
    _, params, q = problem
    with pytest.raises(TypeError, match=r"expected a numpy.ndarray or cupy.ndarray, got builtins.list"):
        arnn_forward([[[[0.0] * C]]], params, q)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_is_refused(problem, bad):
    X, params, q = problem
    X = X.copy()
    X[1, 2, 0, 1] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or Inf"):
        arnn_forward(X, params, q)


def test_mixed_float32_and_float64(problem, xp):
    X, params, q = problem
    with pytest.raises(TypeError, match=r"X has dtype float32 but the parameters are float64"):
        arnn_forward(X.astype(xp.float32), params, q)
    with pytest.raises(TypeError, match=r"q has dtype float32 but the parameters are float64"):
        arnn_forward(X, params, q.astype(xp.float32))
    mixed = dict(params, **{"bwd.W_up": params["bwd.W_up"].astype(xp.float32)})
    with pytest.raises(TypeError, match=r"ARNN params mix dtypes \['float32', 'float64'\]"):
        arnn_forward(X, mixed, q)


# ------------------------------------------------------------------ params


def test_missing_param_key(problem):
    X, params, q = problem
    del params["fwd.b"]
    with pytest.raises(KeyError, match=r"missing \['fwd.b'\]"):
        arnn_forward(X, params, q)


def test_extra_param_key(problem, xp):
    X, params, q = problem
    params["fwd.W_right"] = xp.zeros((K, 4 * K))
    with pytest.raises(KeyError, match=r"unexpected \['fwd.W_right'\]"):
        arnn_forward(X, params, q)


def test_missing_and_extra_keys_are_both_named(problem, xp):
    X, params, q = problem
    params["head.W"] = params.pop("head.w")
    with pytest.raises(KeyError, match=r"missing \['head.w'\]; unexpected \['head.W'\]"):
        arnn_forward(X, params, q)


def test_query_weights_in_one_direction_only(problem):
    X, params, q = problem
    del params["bwd.W_q"]
    with pytest.raises(KeyError, match=r"missing \['bwd.W_q'\]"):
        arnn_forward(X, params, q)


@pytest.mark.parametrize("key, shape", [
    ("bwd.W_up", (K, 4 * K + 1)),
    ("fwd.W_left", (K + 1, 4 * K)),
    ("bwd.W_x", (3, 3, C + 1, 4 * K)),
    ("fwd.b", (4 * K, 1)),
    ("bwd.W_q", (Q + 1, 4 * K)),
    ("head.w", (K,)),
    ("head.b", ()),
])
def test_wrong_param_shape(problem, xp, key, shape):
    X, params, q = problem
    params[key] = xp.zeros(shape)
    with pytest.raises(ValueError, match=rf"params\['{key}'\] has shape {shape_re(shape)}, expected"):
        arnn_forward(X, params, q)


def shape_re(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_bad_fwd_W_x_is_named(problem, xp):
    X, params, q = problem
    params["fwd.W_x"] = xp.zeros((3, 1, C, 4 * K))
    with pytest.raises(ValueError, match=r"params\['fwd.W_x'\] must have shape \(k, k, C, 4K\)"):
        arnn_forward(X, params, q)


def test_even_kernel_in_params(problem, xp):
    X, params, q = problem
    for d in ("fwd", "bwd"):
        params[f"{d}.W_x"] = xp.zeros((2, 2, C, 4 * K))
    with pytest.raises(ValueError, match=r"kernel size must be odd, got k=2"):
        arnn_forward(X, params, q)


def test_params_not_a_dict(problem):
    X, params, q = problem
    with pytest.raises(TypeError, match=r"params must be a dict of arrays, got list"):
        arnn_forward(X, list(params.values()), q)


def test_integer_param(problem):
    X, params, q = problem
    params["head.b"] = params["head.b"].astype("int64")
    with pytest.raises(TypeError, match=r"params\['head.b'\] must be a float32 or float64 array"):
        arnn_forward(X, params, q)


@pytest.mark.parametrize("bad, kind", [("0.5", "str"), ([0.5], "list"), (0.5, "float"), (None, "NoneType")])
def test_param_that_is_not_an_array_is_named(problem, bad, kind):
    """A string or a list where an array belongs: a TypeError naming the key, not an AttributeError."""
    X, params, q = problem
    message = rf"params\['head.b'\] must be a float32 or float64 array, got {kind}"
    with pytest.raises(TypeError, match=message):
        arnn_forward(X, {**params, "head.b": bad}, q)
    with pytest.raises(TypeError, match=message):
        AttentionRNN(C, K, query_dim=Q, params={**params, "head.b": bad})
    ms = init_multiscale_params(C, K, (1,), query_dim=Q, xp=array_module(X))
    with pytest.raises(TypeError, match=rf"params\['comb.V'\] must be a float32 or float64 array, got {kind}"):
        multiscale_arnn_forward(X, {**ms, "comb.V": bad}, q, scales=(1,))


# ------------------------------------------------------------------ query


def test_query_given_when_params_have_none(xp):
    params = init_arnn_params(C, K, query_dim=0, xp=xp)
    with pytest.raises(ValueError, match=r"a query q was given but the parameters have no query weights"):
        arnn_forward(xp.zeros((2, 4, 3, C)), params, xp.zeros((2, 1)))


def test_query_missing_when_needed(problem):
    X, params, _ = problem
    with pytest.raises(ValueError, match=rf"query weights \(Q={Q}\) but no query q was given"):
        arnn_forward(X, params)


@pytest.mark.parametrize("shape", [(2, Q + 1), (1, Q), (2,), (2, Q, 1)])
def test_wrong_q_shape(problem, xp, shape):
    X, params, _ = problem
    with pytest.raises(ValueError, match=rf"q must have shape \(N, Q\) = \(2, {Q}\), got"):
        arnn_forward(X, params, xp.zeros(shape))


def test_integer_q(problem):
    X, params, q = problem
    with pytest.raises(TypeError, match=r"q must be a float32 or float64 array, got dtype int64"):
        arnn_forward(X, params, q.astype("int64"))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_q_is_refused(problem, bad):
    X, params, q = problem
    q = q.copy()
    q[1, 0] = bad
    with pytest.raises(ValueError, match=r"q contains NaN or Inf"):
        arnn_forward(X, params, q)


# ------------------------------------------------------------------ options


def test_even_kernel_in_init(xp):
    with pytest.raises(ValueError, match=r"kernel_size must be odd for a 'same' convolution, got 4"):
        init_arnn_params(C, K, kernel_size=4, xp=xp)
    with pytest.raises(ValueError, match=r"kernel_size must be odd"):
        AttentionRNN(C, K, kernel_size=2, xp=xp)


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_channels=0), r"in_channels must be >= 1, got 0"),
    (dict(hidden=0), r"hidden must be >= 1, got 0"),
    (dict(query_dim=-1), r"query_dim must be >= 0, got -1"),
    (dict(kernel_size=0), r"kernel_size must be >= 1, got 0"),
])
def test_bad_sizes_in_init(xp, kwargs, message):
    args = dict(in_channels=C, hidden=K) | kwargs
    with pytest.raises(ValueError, match=message):
        init_arnn_params(args.pop("in_channels"), args.pop("hidden"), xp=xp, **args)


def test_bad_dtype_and_backend_in_init():
    with pytest.raises(TypeError, match=r"dtype must be float32 or float64, got 'int32'"):
        init_arnn_params(C, K, dtype="int32")
    with pytest.raises(ValueError, match=r"unknown backend 'torch'"):
        init_arnn_params(C, K, xp="torch")


def test_unknown_normalize(problem):
    X, params, q = problem
    with pytest.raises(ValueError, match=r"unknown normalize 'relu'; expected one of \('sigmoid', 'softmax'\)"):
        arnn_forward(X, params, q, normalize="relu")


def test_unknown_schedule(problem):
    X, params, q = problem
    with pytest.raises(ValueError, match=r"unknown schedule 'zigzag'; expected one of \('wavefront', 'raster'\)"):
        arnn_forward(X, params, q, schedule="zigzag")


# ------------------------------------------------------------------ backward


@pytest.mark.parametrize("shape", [(2, 4), (2, 4, 4), (1, 4, 3), (2, 4, 3, 1)])
def test_dA_wrong_shape(problem, xp, shape):
    X, params, q = problem
    _, cache = arnn_forward(X, params, q)
    with pytest.raises(ValueError, match=r"dA must have the mask's shape \(2, 4, 3\), got"):
        arnn_backward(xp.zeros(shape), cache)


def test_dA_integer(problem, xp):
    X, params, q = problem
    A, cache = arnn_forward(X, params, q)
    with pytest.raises(TypeError, match=r"dA must be a float32 or float64 array, got dtype int64"):
        arnn_backward(xp.zeros(A.shape, dtype="int64"), cache)


def test_dA_of_another_float_dtype(problem, xp):
    X, params, q = problem
    A, cache = arnn_forward(X, params, q)
    with pytest.raises(TypeError, match=r"dA has dtype float32 but the forward pass ran in float64"):
        arnn_backward(xp.zeros(A.shape, dtype=xp.float32), cache)


def test_logits_cache_refused_by_arnn_backward(problem, xp):
    X, params, q = problem
    S, cache = arnn_logits_forward(X, params, q)
    with pytest.raises(ValueError, match=r"this cache comes from arnn_logits_forward"):
        arnn_backward(xp.zeros(S.shape), cache)


def test_layer_backward_before_forward(xp):
    with pytest.raises(RuntimeError, match=r"backward called before forward"):
        AttentionRNN(C, K, xp=xp).backward(xp.zeros((1, 2, 2)))


# ------------------------------------------------------------------ backends


@needs_gpu
def test_mixing_numpy_and_cupy_is_refused():
    import cupy

    d = Dims(N=2, H=3, W=4, C=C, K=K, Q=Q, k=3)
    params = init_arnn_params(d.C, d.K, query_dim=d.Q, xp="cupy")
    X = np.zeros((d.N, d.H, d.W, d.C))
    q = cupy.zeros((d.N, d.Q))
    with pytest.raises(TypeError, match=r"arrays from two backends were mixed \(numpy and cupy\)"):
        arnn_forward(X, params, q)
    A, cache = arnn_forward(cupy.asarray(X), params, q)
    with pytest.raises(TypeError, match=r"arrays from two backends were mixed"):
        arnn_backward(np.zeros(A.shape), cache)
