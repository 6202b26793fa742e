"""The boundary rule, measured: a public call checks once and synchronises with the host at most once.

docs/contributing.md states the rule. These tests count, while the layer
runs, (1) the calls into backend resolution and the validation helpers
(every function of ``attnrnn_np.backend`` that resolves a module, every
public function of ``attnrnn_np.validate`` and the layer's own check
functions), by wrapping each of them wherever the package imports it, and
(2) the host synchronisations of the strict device double
(``attnrnn_np.testing.strict.host_syncs``). The budgets: ≤ 20 calls for a
single-scale forward+backward, ≤ 40 for three scales, ≤ 1 host
synchronisation per public forward+backward pair, none in a training step's
calls into the layer.
"""

import collections
import functools
import importlib
import sys

import numpy as np
import pytest

import attnrnn_np
import attnrnn_np.testing.strict as strict
from attnrnn_np import (
    arnn_backward,
    arnn_forward,
    init_arnn_params,
    init_multiscale_params,
    multiscale_arnn_backward,
    multiscale_arnn_forward,
)
from attnrnn_np import validate as validate_module
from attnrnn_np.learn.models import MODELS, ModelConfig, init_model, model_backward, model_forward

# ``backend.kind_of``, the plain type test of one array that array_module and check_float_arrays run
# once per input array, is not a resolution of the module and is left out.
HELPERS = [("backend", "array_module"), ("backend", "get_xp")]
HELPERS += [("validate", name) for name in validate_module.__all__]
HELPERS += [("scan", "check_schedule"), ("normalize", "check_normalize"), ("pool", "check_gamma"),
            ("multiscale", "check_scales"), ("multiscale", "multiscale_dims"), ("arnn", "arnn_dims"),
            ("arnn", "check_inputs"), ("arnn", "check_keys"), ("arnn", "check_values"), ("arnn", "check_fits")]


@pytest.fixture
def helper_calls(monkeypatch):
    """A Counter of calls into the helpers, by name, filled while the test runs."""
    counts = collections.Counter()
    modules = [m for name, m in list(sys.modules.items()) if name.startswith("attnrnn_np") and m is not None]
    for module_name, name in HELPERS:
        original = getattr(importlib.import_module(f"attnrnn_np.{module_name}"), name)

        @functools.wraps(original)
        def counted(*args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        for module in modules:
            for attr, value in list(vars(module).items()):
                if value is original:
                    monkeypatch.setattr(module, attr, counted)
    return counts


def _single(xp, query):
    Q = 2 if query else 0
    rng = np.random.default_rng(0)
    params = init_arnn_params(3, 4, query_dim=Q, seed=0, xp=xp)
    X = xp.asarray(rng.normal(size=(2, 8, 8, 3)))
    q = xp.asarray(rng.normal(size=(2, Q))) if query else None
    return lambda: arnn_backward(xp.ones((2, 8, 8)), arnn_forward(X, params, q)[1])


def _three(xp, query):
    Q = 2 if query else 0
    rng = np.random.default_rng(0)
    params = init_multiscale_params(3, 4, (1, 2, 4), query_dim=Q, seed=0, xp=xp)
    X = xp.asarray(rng.normal(size=(2, 8, 8, 3)))
    q = xp.asarray(rng.normal(size=(2, Q))) if query else None
    return lambda: multiscale_arnn_backward(
        xp.ones((2, 8, 8)), multiscale_arnn_forward(X, params, q, scales=(1, 2, 4))[1])


@pytest.mark.parametrize("query", [False, True])
@pytest.mark.parametrize("make, budget", [(_single, 20), (_three, 40)], ids=["single-scale", "three-scales"])
def test_calls_into_resolution_and_validation(helper_calls, make, budget, query):
    run = make(np, query)
    helper_calls.clear()
    run()
    total = sum(helper_calls.values())
    assert 0 < total <= budget, dict(helper_calls)


def test_the_call_counter_sees_every_call(helper_calls):
    """The counter is not blind: a helper called in a loop is counted each time (so a layer that
    validated at every level would exceed the budget)."""
    x = np.zeros(3)
    for _ in range(25):
        attnrnn_np.validate.check_float_array(x, "x")
        attnrnn_np.arnn.array_module(x)  # reached through the importing module, as the layer does
    assert helper_calls["check_float_array"] == 25 and helper_calls["array_module"] == 25


@pytest.mark.parametrize("query", [False, True])
@pytest.mark.parametrize("make", [_single, _three], ids=["single-scale", "three-scales"])
def test_one_host_synchronisation_per_forward_backward(make, query):
    run = make(strict.xp, query)
    strict.host_syncs.reset()
    run()
    assert strict.host_syncs.total == 1, strict.host_syncs.by_kind


def test_the_sync_counter_counts_each_kind():
    """Every way back to the host is counted; computing on the device is not."""
    a = strict.xp.asarray(np.arange(4.0))
    strict.host_syncs.reset()
    b = strict.xp.tanh(a) * 2 + a.sum()
    assert strict.host_syncs.total == 0
    bool(b.all()), float(b.sum()), int(b[0]), b.max().item(), b.get(), b.tolist(), repr(b)
    with pytest.raises(TypeError):
        np.asarray(b)
    assert strict.host_syncs.by_kind == {"bool": 1, "float": 1, "int": 1, "item": 1, "get": 1, "tolist": 1,
                                         "repr": 1, "__array__": 1}


def test_non_finite_inputs_cost_syncs_only_on_the_way_to_the_error():
    run_params = init_arnn_params(3, 2, seed=0, xp=strict.xp)
    X = strict.xp.asarray(np.full((1, 3, 3, 3), np.nan))
    strict.host_syncs.reset()
    with pytest.raises(ValueError, match="X contains NaN or Inf"):
        arnn_forward(X, run_params)
    assert strict.host_syncs.total >= 1


@pytest.mark.parametrize("model", MODELS)
def test_a_training_step_never_synchronises_in_the_layer(model):
    """model_forward + model_backward (what a training step runs before reading the loss): no host sync.

    The same problem through the layer's public functions synchronises (the check for NaN and Inf),
    which is why the learning stack calls the trusted maths.
    """
    xp = strict.xp
    config = ModelConfig(model=model)
    params = init_model(config, seed=0, xp=xp)
    rng = np.random.default_rng(0)
    X = xp.asarray(rng.normal(size=(2, 32, 32, config.in_channels)), dtype="float32")
    q = xp.asarray(rng.normal(size=(2, config.query_dim)), dtype="float32")
    strict.host_syncs.reset()
    logits, _, cache = model_forward(params, X, q, config)
    model_backward(xp.ones_like(logits), cache)
    assert strict.host_syncs.total == 0, strict.host_syncs.by_kind


def test_a_model_forward_still_refuses_another_dtype():
    config = ModelConfig(model="arnn")
    params = init_model(config, seed=0)
    X = np.zeros((2, 32, 32, config.in_channels))
    with pytest.raises(TypeError, match="X has dtype float64 but the parameters are float32"):
        model_forward(params, X, np.zeros((2, config.query_dim), dtype="float32"), config)


def test_the_trusted_maths_gives_the_public_functions_numbers_bit_for_bit(xp):
    """The learning stack calls the trusted entry points: they must compute exactly what the public ones do."""
    from attnrnn_np.arnn import trusted_arnn_backward, trusted_arnn_forward
    from attnrnn_np.backend import to_numpy
    from attnrnn_np.multiscale import trusted_multiscale_arnn_backward, trusted_multiscale_arnn_forward

    rng = np.random.default_rng(7)
    X = xp.asarray(rng.normal(size=(2, 4, 4, 3)))
    q = xp.asarray(rng.normal(size=(2, 2)))
    dA = xp.asarray(rng.normal(size=(2, 4, 4)))
    single = init_arnn_params(3, 2, query_dim=2, seed=1, xp=xp)
    multi = init_multiscale_params(3, 2, (1, 2), query_dim=2, seed=1, xp=xp)
    pairs = [
        (lambda: arnn_forward(X, single, q, normalize="softmax", recurrent=False), arnn_backward,
         lambda: trusted_arnn_forward(X, single, q, normalize="softmax", recurrent=False, xp=xp),
         trusted_arnn_backward),
        (lambda: multiscale_arnn_forward(X, multi, q, scales=(1, 2)), multiscale_arnn_backward,
         lambda: trusted_multiscale_arnn_forward(X, multi, q, scales=(1, 2), xp=xp),
         trusted_multiscale_arnn_backward),
    ]
    for public_fwd, public_bwd, trusted_fwd, trusted_bwd in pairs:
        A, cache = public_fwd()
        A_t, cache_t = trusted_fwd()
        assert np.array_equal(to_numpy(A), to_numpy(A_t))
        dX, dq, grads = public_bwd(dA, cache)
        dX_t, dq_t, grads_t = trusted_bwd(dA, cache_t, xp=xp)
        assert np.array_equal(to_numpy(dX), to_numpy(dX_t)) and np.array_equal(to_numpy(dq), to_numpy(dq_t))
        assert list(grads) == list(grads_t)
        assert all(np.array_equal(to_numpy(grads[k]), to_numpy(grads_t[k])) for k in grads)
