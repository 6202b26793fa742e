"""Both softmaxes of the layer at logits about ±1000 apart, across samples and positions.

A softmax is computed as exp(z − m) / Σ exp(z − m) with m the maximum of
exactly the entries it normalises over: each sample's H·W logits for the
spatial softmax (docs/model.md §3.5), each position's scale logits for the
multi-scale combiner (docs/model.md §5). Any other shift gives the same
numbers while the logits are moderate, which is all a gradient check or a
golden value ever sees. Shifted by the batch-wide maximum, or by a maximum
over the wrong axis, a sample or position whose logits lie 1000 below
another's underflows to 0/0 = NaN. These tests put logits at +1000, 0 and
−1000 in different samples and positions and require the exact answer.

The references are computed from the moderate part of the logits only: a
softmax does not change when every entry it normalises over moves by the
same amount, so adding a large offset per sample (spatial) or per position
(combiner) must leave the result unchanged, up to the round-off of adding
1000 (about 1e-13).
"""

import numpy as np

from attnrnn_np.combiner import combiner_backward, combiner_forward
from attnrnn_np.normalize import normalize_backward, normalize_forward

from strategies import assert_close, host

FAR = 1000.0
RTOL, ATOL = 1e-10, 1e-12


def _softmax(z, axis):
    """Plain softmax of moderate values: no shift needed, nothing shared with the package."""
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def test_spatial_softmax_with_samples_and_positions_1000_apart(xp):
    """Sample offsets +1000, 0, −1000, and inside each sample a group of
    positions another 1000 below the rest: the mask is the softmax over the
    top group and exactly 0 elsewhere (e^−1000 underflows), in every sample.
    The backward pass is the softmax backward of that mask, finite everywhere."""
    rng = np.random.default_rng(0)
    N, H, W = 3, 4, 5
    small = rng.normal(size=(N, H, W))
    low = rng.random((N, H, W)) < 0.4                  # positions 1000 below the rest of their sample
    low[:, 0, 0] = False                              # every sample keeps a top group
    offset = np.array([FAR, 0.0, -FAR])[:, None, None]
    S = small + offset - FAR * low
    dA = rng.normal(size=(N, H, W))

    A, cache = normalize_forward(xp.asarray(S), "softmax")
    A_ref = np.where(low, 0.0, np.exp(small))
    A_ref /= A_ref.sum(axis=(1, 2), keepdims=True)
    A_host = host(A)
    assert np.isfinite(A_host).all()
    assert (A_host[low] == 0.0).all()
    assert_close(A, A_ref, rtol=RTOL, atol=ATOL, name="A")

    dS = host(normalize_backward(xp.asarray(dA), cache))
    dS_ref = A_ref * (dA - (dA * A_ref).sum(axis=(1, 2), keepdims=True))
    assert np.isfinite(dS).all()
    assert_close(dS, dS_ref, rtol=RTOL, atol=ATOL, name="dS")


def test_combiner_with_positions_1000_apart(xp):
    """Channel 0 of X adds the same offset (+1000, 0 or −1000, drawn per
    position and sample) to every scale's logit through a row of ones in V, so
    β must equal the softmax of the remaining moderate logits at every
    position; S, dX, dUp, dV and dc then follow from that β."""
    rng = np.random.default_rng(1)
    N, H, W, n_s = 3, 4, 5, 3
    offset = rng.choice([-FAR, 0.0, FAR], size=(N, H, W))
    offset[:, 0, 0] = [FAR, 0.0, -FAR]                 # each offset occurs, in different samples
    X_small = rng.normal(size=(N, H, W, 2))
    X = np.concatenate([offset[..., None], X_small], axis=-1)        # (N, H, W, 3)
    V_small, c = rng.normal(size=(2, n_s)), rng.normal(size=n_s)
    V = np.concatenate([np.ones((1, n_s)), V_small], axis=0)          # (3, n_s)
    Up, dS = rng.normal(size=(N, H, W, n_s)), rng.normal(size=(N, H, W))

    S, cache = combiner_forward(xp.asarray(X), xp.asarray(Up), xp.asarray(V), xp.asarray(c))
    beta = _softmax(X_small @ V_small + c, axis=-1)
    assert np.isfinite(host(cache.beta)).all() and np.isfinite(host(S)).all()
    assert_close(cache.beta, beta, rtol=RTOL, atol=ATOL, name="beta")
    assert_close(S, (beta * Up).sum(-1), rtol=RTOL, atol=ATOL, name="S")

    dX, dUp, dV, dc = combiner_backward(xp.asarray(dS), cache)
    dbeta = dS[..., None] * Up
    dZ = beta * (dbeta - (beta * dbeta).sum(-1, keepdims=True))
    expected = {"dX": dZ @ V.T, "dUp": dS[..., None] * beta,
                "dV": X.reshape(-1, 3).T @ dZ.reshape(-1, n_s), "dc": dZ.reshape(-1, n_s).sum(0)}
    for name, got in (("dX", dX), ("dUp", dUp), ("dV", dV), ("dc", dc)):
        assert np.isfinite(host(got)).all(), name
        # dV's row 0 sums X's ±1000 channel against dZ: its round-off scales with 1000
        scale = FAR if name == "dV" else 1.0
        assert_close(got, expected[name], rtol=RTOL, atol=ATOL * scale, name=name)
