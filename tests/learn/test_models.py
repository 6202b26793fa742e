"""The six networks (attnrnn_np.learn.models): gradients, keys, the fused trunk block, query use.

Gradients of every model are checked in float64 against central differences
of ⟨logits, dout⟩ on tiny inputs (8×8 images → a 2×2 map, small channel
counts), with random non-zero biases everywhere and a random upstream
gradient. The trunk's ReLU inputs and max-pool windows are asserted to stay
far (> 1e-4) from kinks and ties compared with the finite-difference step
(1e-6), so no perturbation crosses one.
"""

import numpy as np
import pytest

from attnrnn_np.backend import to_numpy
from attnrnn_np.conv import conv_same_forward
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.learn.layers import conv2d_backward, conv2d_forward, relu_backward, relu_forward
from attnrnn_np.learn.models import (
    MODELS,
    ModelConfig,
    _block_backward,
    _block_forward,
    init_model,
    model_backward,
    model_forward,
)
from attnrnn_np.pool import maxpool_backward, maxpool_forward

TINY = dict(trunk=(3, 4), hidden=3, query_dim=4, n_classes=3, scales=(1, 2))


def _problem(xp, model, seed, *, N=2, side=8, dtype="float64", **overrides):
    rng = np.random.default_rng(seed)
    config = ModelConfig(model=model, **{**TINY, **overrides})
    params = init_model(config, seed=seed, dtype=dtype, xp=xp)
    for key, v in params.items():  # biases start at 0: draw them so a bias bug cannot hide
        if v.ndim == 1:
            params[key] = xp.asarray(rng.normal(0.0, 0.3, v.shape), dtype=dtype)
    X = xp.asarray(rng.random((N, side, side, config.in_channels)), dtype=dtype)
    q = None
    if config.query_dim:
        q = xp.asarray(np.eye(config.query_dim)[rng.integers(0, config.query_dim, N)], dtype=dtype)
    return config, params, X, q


def _trunk_margin(params, X, config):
    """Smallest distance of a trunk pre-activation from 0, and of a window's top two values."""
    margin = np.inf
    F = X
    for n in range(1, len(config.trunk) + 1):
        U, _ = conv_same_forward(F, params[f"conv{n}.W"])
        U = to_numpy(U + params[f"conv{n}.b"])
        N, H, W, C = U.shape
        win = np.sort(U.reshape(N, H // 2, 2, W // 2, 2, C).transpose(0, 1, 3, 5, 2, 4).reshape(-1, 4), axis=1)
        top = win[:, -1] > 0  # a window whose max is ≤ 0 passes nothing, ties there are harmless
        margin = min(margin, np.abs(U).min(), (win[top, -1] - win[top, -2]).min(initial=np.inf))
        F, _ = _block_forward(F, params[f"conv{n}.W"], params[f"conv{n}.b"])
    return margin


@pytest.mark.parametrize("model", MODELS)
def test_model_gradients_match_finite_differences(xp, model):
    config, params, X, q = _problem(xp, model, seed=3)
    assert _trunk_margin(params, X, config) > 1e-4
    logits, A, cache = model_forward(params, X, q, config)
    dout = xp.asarray(np.random.default_rng(9).normal(size=logits.shape))
    grads = model_backward(dout, cache)
    assert list(grads) == list(params)

    def f():
        return model_forward(params, X, q, config)[0]

    results = check_gradients(f, params, grads, dout, eps=1e-6, rtol=1e-5, atol=1e-8)
    assert all(r.passed for r in results), f"{model}\n" + format_report(results)


@pytest.mark.parametrize("model", MODELS)
def test_mask_is_a_distribution_and_dtype_and_shapes_hold(xp, model):
    config, params, X, q = _problem(xp, model, seed=5, dtype="float32", side=16)
    logits, A, cache = model_forward(params, X, q, config)
    assert logits.shape == (2, config.n_classes) and A.shape == (2, 4, 4)
    assert logits.dtype == np.float32 and A.dtype == np.float32
    np.testing.assert_allclose(to_numpy(A.sum(axis=(1, 2))), 1.0, rtol=1e-5)
    grads = model_backward(xp.ones_like(logits), cache)
    assert {k: g.shape for k, g in grads.items()} == {k: p.shape for k, p in params.items()}
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("model", MODELS)
def test_backward_is_repeatable_and_leaves_inputs_alone(xp, model):
    config, params, X, q = _problem(xp, model, seed=7)
    logits, _, cache = model_forward(params, X, q, config)
    dout = xp.asarray(np.random.default_rng(1).normal(size=logits.shape))
    before = to_numpy(dout).copy()
    g1 = model_backward(dout, cache)
    g2 = model_backward(dout, cache)
    np.testing.assert_array_equal(to_numpy(dout), before)
    for key in g1:
        np.testing.assert_array_equal(to_numpy(g1[key]), to_numpy(g2[key]))


@pytest.mark.parametrize("model", [m for m in MODELS if m != "none"])
def test_attention_uses_the_query(xp, model):
    """Two queries on the same image give two masks (a linear 1×1 attention would not)."""
    config, params, X, q = _problem(xp, model, seed=11)
    q1 = xp.asarray(np.eye(4)[[0, 0]])
    q2 = xp.asarray(np.eye(4)[[2, 2]])
    _, A1, _ = model_forward(params, X, q1, config)
    _, A2, _ = model_forward(params, X, q2, config)
    assert float(abs(to_numpy(A1) - to_numpy(A2)).max()) > 1e-6


def test_none_is_global_average_pooling(xp):
    config, params, X, q = _problem(xp, "none", seed=2)
    _, A, _ = model_forward(params, X, q, config)
    np.testing.assert_allclose(to_numpy(A), 1.0 / 4)
    _, _, cache = model_forward(params, X, q, config)
    logits2, _, _ = model_forward(params, X, xp.zeros_like(q), config)
    np.testing.assert_array_equal(to_numpy(model_forward(params, X, q, config)[0]), to_numpy(logits2))


def test_fused_block_matches_conv_relu_maxpool(xp):
    """Pool-then-ReLU equals ReLU-then-pool, forward and backward, ties at 0 included."""
    rng = np.random.default_rng(4)
    X = xp.asarray(rng.normal(size=(2, 6, 4, 3)))
    W = xp.asarray(rng.normal(size=(3, 3, 3, 5)))
    b = xp.asarray(rng.normal(size=5) - 1.0)  # many windows entirely ≤ 0
    U, c1 = conv2d_forward(X, W, b)
    R, c2 = relu_forward(U)
    P_ref, c3 = maxpool_forward(R, 2)
    P, cache = _block_forward(X, W, b)
    np.testing.assert_allclose(to_numpy(P), to_numpy(P_ref), rtol=1e-12, atol=1e-12)
    dP = xp.asarray(rng.normal(size=P.shape))
    dX_ref, dW_ref, db_ref = conv2d_backward(relu_backward(maxpool_backward(dP, c3), c2), c1)
    dX, dW, db = _block_backward(dP, cache)
    for got, want in ((dX, dX_ref), (dW, dW_ref), (db, db_ref)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-12, atol=1e-12)
    none_dX, dW2, db2 = _block_backward(dP, cache, need_dX=False)
    assert none_dX is None
    np.testing.assert_allclose(to_numpy(dW2), to_numpy(dW_ref), rtol=1e-12, atol=1e-12)


def test_init_is_seeded_and_config_is_validated():
    a = init_model(ModelConfig(model="arnn-ms"), seed=1)
    b = init_model(ModelConfig(model="arnn-ms"), seed=1)
    c = init_model(ModelConfig(model="arnn-ms"), seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["conv1.W"], c["conv1.W"])
    with pytest.raises(ValueError, match="unknown model"):
        ModelConfig(model="transformer")
    config, params, X, q = _problem(np, "arnn", seed=0)
    with pytest.raises(ValueError, match="q must be given"):
        model_forward(params, X, None, config)
