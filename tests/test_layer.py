"""The stateful ``AttentionRNN`` class: a thin store over the pure functions.

Its contract: forward/backward give exactly what ``arnn_forward`` /
``arnn_backward`` give on the same parameters; parameter gradients
**accumulate** over backward calls until ``zero_grad``.
"""

import numpy as np
import pytest

from attnrnn_np import AttentionRNN, arnn_backward, arnn_forward, init_arnn_params

from strategies import Dims, assert_close, host, make_problem

D = Dims(N=2, H=3, W=4, C=3, K=2, Q=2, k=3)


@pytest.mark.parametrize("normalize", ["sigmoid", "softmax"])
@pytest.mark.parametrize("recurrent", [True, False])
def test_forward_and_backward_agree_with_the_pure_functions(xp, normalize, recurrent):
    p = make_problem(D, 7, xp)
    layer = AttentionRNN(D.C, D.K, query_dim=D.Q, params=p.params, normalize=normalize, recurrent=recurrent)
    A = layer(p.X, p.q)
    dX, dq = layer.backward(p.dA)
    A_ref, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize, recurrent=recurrent)
    dX_ref, dq_ref, grads_ref = arnn_backward(p.dA, cache)
    assert np.array_equal(host(A), host(A_ref))
    assert np.array_equal(host(dX), host(dX_ref)) and np.array_equal(host(dq), host(dq_ref))
    assert layer.grads.keys() == p.params.keys()
    for key in p.params:
        assert np.array_equal(host(layer.grads[key]), host(grads_ref[key])), key


def test_gradients_accumulate_and_zero_grad_resets(xp):
    p = make_problem(D, 8, xp)
    rng = np.random.default_rng(9)
    X2 = xp.asarray(rng.normal(size=p.X.shape))
    q2 = xp.asarray(rng.normal(size=p.q.shape))
    dA2 = xp.asarray(rng.normal(size=p.dA.shape))
    layer = AttentionRNN(D.C, D.K, query_dim=D.Q, params=p.params)
    layer(p.X, p.q)
    layer.backward(p.dA)
    layer(X2, q2)
    layer.backward(dA2)
    _, cache1 = arnn_forward(p.X, p.params, p.q)
    _, cache2 = arnn_forward(X2, p.params, q2)
    g1, g2 = arnn_backward(p.dA, cache1)[2], arnn_backward(dA2, cache2)[2]
    for key in p.params:
        assert_close(layer.grads[key], g1[key] + g2[key], rtol=1e-14, atol=1e-15, name=key)
    layer.zero_grad()
    for key, v in p.params.items():
        g = layer.grads[key]
        assert g.shape == v.shape and g.dtype == v.dtype and not host(g).any(), key


def test_the_layer_keeps_its_params_unchanged(xp):
    """The class stores; it never updates parameters itself (that is an optimiser's job)."""
    layer = AttentionRNN(D.C, D.K, query_dim=D.Q, seed=3, xp=xp)
    before = {key: host(v).copy() for key, v in layer.params.items()}
    p = make_problem(D, 10, xp)
    layer(p.X, p.q)
    layer.backward(p.dA)
    for key, v in layer.params.items():
        assert np.array_equal(host(v), before[key]), key


def test_constructor_draws_init_arnn_params(xp):
    layer = AttentionRNN(D.C, D.K, query_dim=D.Q, kernel_size=1, seed=5, dtype="float32", xp=xp)
    ref = init_arnn_params(D.C, D.K, query_dim=D.Q, kernel_size=1, seed=5, dtype="float32", xp=xp)
    assert layer.params.keys() == ref.keys()
    for key in ref:
        assert layer.params[key].dtype == xp.float32
        assert np.array_equal(host(layer.params[key]), host(ref[key])), key
    A = layer(xp.zeros((1, 2, 2, D.C), dtype=xp.float32), xp.zeros((1, D.Q), dtype=xp.float32))
    assert A.dtype == xp.float32
