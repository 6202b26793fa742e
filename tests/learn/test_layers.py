"""The layers of the network around the attention (attnrnn_np.learn.layers), in float64.

Every input and parameter gradient is checked entry by entry against central
differences of ⟨f(x), dout⟩ with a random upstream gradient and random
non-zero biases, over hypothesis-drawn small shapes. ReLU inputs are kept at
least 0.1 away from 0 and max-pool inputs have window entries at least 0.05
apart, both far beyond the finite-difference step, so no perturbation crosses
a kink or a tie. Forward passes are compared with direct, loop-by-loop
formulas; softmax cross-entropy with log-sum-exp written out.

Tolerances as in test_gradients.py: relative error ≤ 1e-6 or absolute ≤ 1e-8
with eps = 1e-5.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.learn.layers import (
    conv2d_backward,
    conv2d_forward,
    he_normal,
    init_conv2d,
    init_linear,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from attnrnn_np.pool import maxpool_backward, maxpool_forward

from strategies import conv_direct, host, seeds

EPS, RTOL, ATOL = 1e-5, 1e-6, 1e-8
small = st.integers(1, 4)


def _assert_pass(results, context):
    assert all(r.passed for r in results), f"{context}\n" + format_report(results)


def _frozen(*arrays):
    return [a.copy() for a in arrays]


# --------------------------------------------------------------------------- convolution

@given(N=st.integers(1, 3), H=small, W=small, C=st.integers(1, 3), F=st.integers(1, 3),
       k=st.sampled_from([1, 3, 5]), seed=seeds)
def test_conv2d_forward_matches_direct_sum_and_gradients_match(xp, N, H, W, C, F, k, seed):
    rng = np.random.default_rng(seed)
    Xh, Wh, bh = rng.normal(size=(N, H, W, C)), rng.normal(size=(k, k, C, F)), rng.normal(size=F)
    dYh = rng.normal(size=(N, H, W, F))
    X, Wt, b, dY = (xp.asarray(a) for a in (Xh, Wh, bh, dYh))
    Y, cache = conv2d_forward(X, Wt, b)
    np.testing.assert_allclose(host(Y), conv_direct(Xh, Wh, bh), rtol=1e-12, atol=1e-12)
    before = _frozen(dY, X, Wt, b)
    dX, dW, db = conv2d_backward(dY, cache)
    for a, b0 in zip((dY, X, Wt, b), before, strict=True):
        assert (host(a) == host(b0)).all(), "backward mutated an input"
    again = conv2d_backward(dY, cache)
    for g1, g2 in zip((dX, dW, db), again, strict=True):
        assert (host(g1) == host(g2)).all(), "backward is not repeatable"
    results = check_gradients(lambda: conv2d_forward(X, Wt, b)[0], {"X": X, "W": Wt, "b": b},
                              {"X": dX, "W": dW, "b": db}, dY, eps=EPS, rtol=RTOL, atol=ATOL)
    _assert_pass(results, f"conv N={N} H={H} W={W} C={C} F={F} k={k}")


def test_conv2d_rejects_bad_shapes():
    X = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="odd"):
        conv2d_forward(X, np.zeros((2, 2, 2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="input channels"):
        conv2d_forward(X, np.zeros((3, 3, 5, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="b must have shape"):
        conv2d_forward(X, np.zeros((3, 3, 2, 3)), np.zeros(4))
    with pytest.raises(TypeError):
        conv2d_forward(X.astype(int), np.zeros((3, 3, 2, 3)), np.zeros(3))


# --------------------------------------------------------------------------- ReLU

def _away_from_zero(rng, shape, margin=0.1):
    return rng.choice([-1.0, 1.0], size=shape) * (margin + rng.exponential(size=shape))


@given(shape=st.lists(small, min_size=1, max_size=4).map(tuple), seed=seeds)
def test_relu_forward_and_gradient(xp, shape, seed):
    rng = np.random.default_rng(seed)
    xh = _away_from_zero(rng, shape)
    x, dy = xp.asarray(xh), xp.asarray(rng.normal(size=shape))
    y, cache = relu_forward(x)
    np.testing.assert_array_equal(host(y), np.where(xh > 0, xh, 0.0))
    dx = relu_backward(dy, cache)
    results = check_gradients(lambda: relu_forward(x)[0], {"x": x}, {"x": dx}, dy,
                              eps=EPS, rtol=RTOL, atol=ATOL)
    _assert_pass(results, f"relu shape={shape}")


def test_relu_gradient_at_zero_is_zero_and_dtype_kept(xp):
    x = xp.asarray([-1.0, 0.0, 2.0], dtype="float32")
    y, cache = relu_forward(x)
    assert y.dtype == x.dtype
    dx = relu_backward(xp.asarray([5.0, 5.0, 5.0], dtype="float32"), cache)
    assert dx.dtype == x.dtype
    np.testing.assert_array_equal(host(dx), [0.0, 0.0, 5.0])


# --------------------------------------------------------------------------- max-pooling

def _untied(rng, shape, gap=0.05):
    """Entries of a random permutation times ``gap``: any two differ by at least ``gap``."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * gap - size * gap / 2).reshape(shape)


@given(N=st.integers(1, 2), Ho=st.integers(1, 3), Wo=st.integers(1, 3), C=st.integers(1, 3),
       s=st.sampled_from([1, 2, 3]), seed=seeds)
def test_maxpool_forward_and_gradient(xp, N, Ho, Wo, C, s, seed):
    rng = np.random.default_rng(seed)
    Xh = _untied(rng, (N, Ho * s, Wo * s, C))
    X, dY = xp.asarray(Xh), xp.asarray(rng.normal(size=(N, Ho, Wo, C)))
    Y, cache = maxpool_forward(X, s)
    direct = np.array([[[[Xh[n, I * s:(I + 1) * s, J * s:(J + 1) * s, c].max() for c in range(C)]
                         for J in range(Wo)] for I in range(Ho)] for n in range(N)])
    np.testing.assert_array_equal(host(Y), direct)
    dX = maxpool_backward(dY, cache)
    results = check_gradients(lambda: maxpool_forward(X, s)[0], {"X": X}, {"X": dX}, dY,
                              eps=EPS, rtol=RTOL, atol=ATOL)
    _assert_pass(results, f"maxpool N={N} Ho={Ho} Wo={Wo} C={C} s={s}")


def test_maxpool_tie_sends_gradient_to_first_in_row_major_order(xp):
    X = xp.asarray(np.array([[1.0, 3.0], [3.0, 3.0]]).reshape(1, 2, 2, 1))
    _, cache = maxpool_forward(X, 2)
    dX = maxpool_backward(xp.asarray([[[[7.0]]]]), cache)
    np.testing.assert_array_equal(host(dX)[0, :, :, 0], [[0.0, 7.0], [0.0, 0.0]])


def test_maxpool_rejects_indivisible_map():
    with pytest.raises(ValueError, match="does not divide"):
        maxpool_forward(np.zeros((1, 5, 4, 1)), 2)


# --------------------------------------------------------------------------- linear

@given(lead=st.lists(small, min_size=1, max_size=3).map(tuple), D=small, F=small, seed=seeds)
def test_linear_forward_and_gradients(xp, lead, D, F, seed):
    rng = np.random.default_rng(seed)
    xh, Wh, bh = rng.normal(size=lead + (D,)), rng.normal(size=(D, F)), rng.normal(size=F)
    x, Wt, b = xp.asarray(xh), xp.asarray(Wh), xp.asarray(bh)
    dy = xp.asarray(rng.normal(size=lead + (F,)))
    y, cache = linear_forward(x, Wt, b)
    direct = np.einsum("...d,df->...f", xh, Wh) + bh
    np.testing.assert_allclose(host(y), direct, rtol=1e-12, atol=1e-12)
    dx, dW, db = linear_backward(dy, cache)
    assert dx.shape == x.shape and dW.shape == Wt.shape and db.shape == b.shape
    results = check_gradients(lambda: linear_forward(x, Wt, b)[0], {"x": x, "W": Wt, "b": b},
                              {"x": dx, "W": dW, "b": db}, dy, eps=EPS, rtol=RTOL, atol=ATOL)
    _assert_pass(results, f"linear lead={lead} D={D} F={F}")


def test_linear_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="disagree"):
        linear_forward(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5))
    with pytest.raises(ValueError, match="b must have shape"):
        linear_forward(np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(4))


# --------------------------------------------------------------------------- softmax cross-entropy

def _ce_direct(logits, labels):
    """−(1/N) Σ_n (logits[n, y_n] − log Σ_j exp logits[n, j]), no shift (moderate logits only)."""
    lse = np.log(np.exp(logits).sum(axis=1))
    return -np.mean(logits[np.arange(len(labels)), labels] - lse)


@given(N=small, M=st.integers(2, 6), seed=seeds)
def test_softmax_ce_matches_log_sum_exp_and_gradient(xp, N, M, seed):
    rng = np.random.default_rng(seed)
    zh = rng.normal(0.0, 3.0, size=(N, M))
    yh = rng.integers(0, M, size=N)
    z, y = xp.asarray(zh), xp.asarray(yh)
    loss, cache = softmax_cross_entropy_forward(z, y)
    assert loss.shape == ()
    np.testing.assert_allclose(float(loss), _ce_direct(zh, yh), rtol=1e-12)
    dloss = xp.asarray(rng.normal())
    dz = softmax_cross_entropy_backward(dloss, cache)
    results = check_gradients(lambda: softmax_cross_entropy_forward(z, y)[0], {"logits": z},
                              {"logits": dz}, dloss, eps=EPS, rtol=RTOL, atol=ATOL)
    _assert_pass(results, f"softmax CE N={N} M={M}")


def test_softmax_ce_is_stable_for_huge_logits(xp):
    rng = np.random.default_rng(0)
    zh = rng.normal(size=(4, 5))
    y = xp.asarray(rng.integers(0, 5, size=4))
    shifted, _ = softmax_cross_entropy_forward(xp.asarray(zh + 1e4), y)
    plain, _ = softmax_cross_entropy_forward(xp.asarray(zh), y)
    assert np.isfinite(float(shifted))
    np.testing.assert_allclose(float(shifted), float(plain), rtol=1e-9)


def test_softmax_ce_gradient_is_probs_minus_onehot_over_n(xp):
    zh = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    _, cache = softmax_cross_entropy_forward(xp.asarray(zh), xp.asarray([2, 0]))
    p = np.exp(zh) / np.exp(zh).sum(axis=1, keepdims=True)
    onehot = np.array([[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(host(softmax_cross_entropy_backward(1.0, cache)), (p - onehot) / 2, rtol=1e-12)


def test_softmax_ce_keeps_float32():
    z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    loss, cache = softmax_cross_entropy_forward(z, np.array([0, 1, 3]))
    assert loss.dtype == np.float32
    assert softmax_cross_entropy_backward(np.float64(1.0), cache).dtype == np.float32


def test_softmax_ce_rejects_bad_labels():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="0..2"):
        softmax_cross_entropy_forward(z, np.array([0, 3]))
    with pytest.raises(ValueError, match="0..2"):
        softmax_cross_entropy_forward(z, np.array([-1, 0]))
    with pytest.raises(TypeError, match="integer"):
        softmax_cross_entropy_forward(z, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        softmax_cross_entropy_forward(z, np.array([0, 1, 2]))


# --------------------------------------------------------------------------- initialisation

def test_he_normal_has_the_he_variance_and_is_seeded(xp):
    W = host(he_normal((200, 300), 50, rng=3, xp=xp))
    assert abs(W.std() - (2 / 50) ** 0.5) < 0.01 * (2 / 50) ** 0.5 * 3
    assert abs(W.mean()) < 0.01
    np.testing.assert_array_equal(W, host(he_normal((200, 300), 50, rng=3)))
    assert not np.array_equal(W, host(he_normal((200, 300), 50, rng=4)))


def test_init_helpers_shapes_dtypes_and_generator_advance(xp):
    gen = np.random.default_rng(7)
    conv = init_conv2d(3, 16, 3, rng=gen, dtype="float32", xp=xp)
    lin = init_linear(16, 5, rng=gen, dtype="float32", xp=xp)
    assert conv["W"].shape == (3, 3, 3, 16) and conv["b"].shape == (16,)
    assert lin["W"].shape == (16, 5) and lin["b"].shape == (5,)
    for a in (conv["W"], conv["b"], lin["W"], lin["b"]):
        assert a.dtype == np.float32
    assert not host(conv["b"]).any() and not host(lin["b"]).any()
    # One generator initialises a whole network in order: the second draw differs from a fresh seed's.
    fresh = init_linear(16, 5, rng=np.random.default_rng(7), dtype="float32")
    assert not np.array_equal(host(lin["W"]), fresh["W"])
    with pytest.raises(ValueError, match="odd"):
        init_conv2d(3, 4, 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        init_linear(3, 4, dtype="int32")


def test_backends_agree(xp):
    """The same seeded problem gives the same numbers on the backend under test as on NumPy."""
    rng = np.random.default_rng(11)
    Xh = rng.normal(size=(2, 4, 4, 3))
    p = init_conv2d(3, 4, 3, rng=1)
    q = init_linear(4, 3, rng=2)
    y = np.array([0, 2])

    def run(mod):
        X = mod.asarray(Xh)
        h, c1 = conv2d_forward(X, mod.asarray(p["W"]), mod.asarray(p["b"] + 0.1))
        r, c2 = relu_forward(h)
        m, c3 = maxpool_forward(r, 2)
        g = m.mean(axis=(1, 2))
        z, c4 = linear_forward(g, mod.asarray(q["W"]), mod.asarray(q["b"] - 0.2))
        loss, c5 = softmax_cross_entropy_forward(z, mod.asarray(y))
        dz = softmax_cross_entropy_backward(1.0, c5)
        dg, dWl, _ = linear_backward(dz, c4)
        dm = mod.broadcast_to(dg[:, None, None, :] / 4, m.shape)
        dX, dWc, _ = conv2d_backward(relu_backward(maxpool_backward(dm, c3), c2), c1)
        return [host(a) for a in (loss, dX, dWc, dWl)]

    for a, b in zip(run(xp), run(np), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
