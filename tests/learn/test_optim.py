"""The optimisers (attnrnn_np.learn.optim): exact updates, in-place semantics, state, convergence.

Updates are compared with the equations written out by hand for a few steps
(and, where PyTorch is installed, with ``torch.optim``); both optimisers are
shown to minimise a small ill-conditioned quadratic; the state round-trips
through flat arrays so a resumed run continues bit for bit.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np.learn.optim import SGD, Adam, adam_step, sgd_momentum_step

from strategies import host, seeds


def _problem(xp, seed, dtype="float64"):
    rng = np.random.default_rng(seed)
    params = {"a.W": rng.normal(size=(3, 2)), "a.b": rng.normal(size=(2,)), "z": rng.normal(size=())}
    grads = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(4)]
    move = lambda d: {k: xp.asarray(v, dtype=dtype) for k, v in d.items()}  # noqa: E731
    return params, [move(g) for g in grads], move(params)


@given(seed=seeds, lr=st.floats(1e-3, 1.0), mu=st.floats(0.0, 0.99))
def test_sgd_momentum_matches_hand_computed_steps(xp, seed, lr, mu):
    start, grads, params = _problem(xp, seed)
    opt = SGD(lr=lr, momentum=mu)
    for key in start:
        theta, v = start[key].copy(), np.zeros_like(start[key])
        for g in grads:
            v = mu * v + host(g[key])
            theta = theta - lr * v
        start[key] = theta
    for g in grads:
        opt.step(params, g)
    assert opt.t == len(grads)
    for key in start:
        np.testing.assert_allclose(host(params[key]), start[key], rtol=1e-12, atol=1e-12)


@given(seed=seeds, lr=st.floats(1e-4, 0.1), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999),
       eps=st.sampled_from([1e-8, 1e-3]))
def test_adam_matches_hand_computed_steps(xp, seed, lr, b1, b2, eps):
    start, grads, params = _problem(xp, seed)
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    for key in start:
        theta, m, v = start[key].copy(), 0.0, 0.0
        for t, g in enumerate(grads, start=1):
            g = host(g[key])
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g ** 2
            theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        start[key] = theta
    for g in grads:
        opt.step(params, g)
    for key in start:
        np.testing.assert_allclose(host(params[key]), start[key], rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_entry_by_about_lr():
    """With bias correction, step 1 is lr · g/(|g| + ε): the sign of g times lr (Kingma & Ba §2)."""
    p = {"w": np.array([1.0, -2.0, 3.0])}
    g = {"w": np.array([1e-3, -5.0, 40.0])}
    Adam(lr=0.01).step(p, g)
    np.testing.assert_allclose(p["w"], [1.0 - 0.01, -2.0 + 0.01, 3.0 - 0.01], rtol=0, atol=1e-7)


def test_matches_torch_optimisers():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    w0 = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) for _ in range(5)]
    for ours, make_theirs in (
        (SGD(lr=0.1, momentum=0.8), lambda w: torch.optim.SGD([w], lr=0.1, momentum=0.8)),
        (Adam(lr=0.05, beta1=0.8, beta2=0.95, eps=1e-6),
         lambda w: torch.optim.Adam([w], lr=0.05, betas=(0.8, 0.95), eps=1e-6)),
    ):
        p = {"w": w0.copy()}
        w = torch.tensor(w0.copy(), requires_grad=True)
        theirs = make_theirs(w)
        for g in grads:
            ours.step(p, {"w": g})
            w.grad = torch.tensor(g)
            theirs.step()
        np.testing.assert_allclose(p["w"], w.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make", [lambda: SGD(lr=0.02, momentum=0.9), lambda: Adam(lr=0.05)],
                         ids=["sgd", "adam"])
def test_minimises_an_ill_conditioned_quadratic(xp, make):
    """f(θ) = ½ (θ − c)ᵀ D (θ − c) with curvatures 1 and 25: both reach c."""
    D = xp.asarray([1.0, 25.0])
    c = xp.asarray([3.0, -2.0])
    params = {"theta": xp.asarray([-4.0, 5.0])}
    opt = make()
    f0 = float(0.5 * (D * (params["theta"] - c) ** 2).sum())
    for _ in range(600):
        opt.step(params, {"theta": D * (params["theta"] - c)})
    f = float(0.5 * (D * (params["theta"] - c) ** 2).sum())
    assert f < 1e-6 * f0
    np.testing.assert_allclose(host(params["theta"]), host(c), atol=1e-3)


def test_updates_in_place_and_leaves_grads_alone(xp):
    _, grads, params = _problem(xp, 0)
    alias = params["a.W"]
    g_before = {k: host(v).copy() for k, v in grads[0].items()}
    for opt in (SGD(lr=0.1), Adam(lr=0.1)):
        before = host(alias).copy()
        opt.step(params, grads[0])
        assert params["a.W"] is alias
        assert not np.array_equal(host(alias), before)
    for k, v in grads[0].items():
        np.testing.assert_array_equal(host(v), g_before[k])


def test_float32_parameters_stay_float32(xp):
    _, grads, params = _problem(xp, 1, dtype="float32")
    for opt in (SGD(lr=0.1), Adam(lr=0.1)):
        opt.step(params, grads[0])
        assert all(p.dtype == np.float32 for p in params.values())


def test_state_round_trip_resumes_bit_for_bit(xp):
    for make in (lambda: SGD(lr=0.1, momentum=0.7), lambda: Adam(lr=0.01)):
        _, grads, params = _problem(xp, 2)
        twin = {k: v.copy() for k, v in params.items()}
        straight = make()
        for g in grads:
            straight.step(params, g)
        first = make()
        for g in grads[:2]:
            first.step(twin, g)
        # Through host arrays, as a checkpoint would store them.
        saved = {k: (v if k == "t" else host(v)) for k, v in first.state_dict().items()}
        resumed = make()
        resumed.load_state_dict(saved, xp=xp)
        for g in grads[2:]:
            resumed.step(twin, g)
        assert resumed.t == straight.t == len(grads)
        for k in params:
            np.testing.assert_array_equal(host(twin[k]), host(params[k]))


def test_state_dict_names_and_load_errors():
    opt = Adam(lr=0.1)
    opt.step({"w": np.ones(2)}, {"w": np.ones(2)})
    assert set(opt.state_dict()) == {"t", "m.w", "v.w"}
    with pytest.raises(KeyError, match="no slot"):
        Adam().load_state_dict({"t": 1, "velocity.w": np.ones(2)})
    with pytest.raises(KeyError, match="'t'"):
        SGD(lr=0.1).load_state_dict({"velocity.w": np.ones(2)})


def test_mismatched_grads_are_named():
    params = {"a": np.ones(2), "b": np.ones(3)}
    with pytest.raises(KeyError, match=r"missing \['b'\], unexpected \['c'\]"):
        sgd_momentum_step(params, {"a": np.ones(2), "c": np.ones(3)}, {}, lr=0.1)
    with pytest.raises(ValueError, match="shape"):
        adam_step(params, {"a": np.ones(2), "b": np.ones(4)}, {}, {}, 1, lr=0.1)
    with pytest.raises(ValueError, match="counts from 1"):
        adam_step(params, {"a": np.ones(2), "b": np.ones(3)}, {}, {}, 0, lr=0.1)


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"lr": 0.1, "momentum": 1.0}, {"lr": -1}])
def test_sgd_rejects_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        SGD(**kwargs)


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"beta1": 1.0}, {"beta2": -0.1}, {"eps": 0.0}])
def test_adam_rejects_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        Adam(**kwargs)
