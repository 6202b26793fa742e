"""The documented initial values (``init_arnn_params``, ``init_multiscale_params``).

Every other test perturbs the parameters at random before using them (see
``strategies.make_problem``), so none of them would notice an initialiser
that moved the forget gate's +1 to the input gate, started a bias away from
0 or drew the weights at the wrong scale. These tests read the initial
values themselves:

- the gate biases are 0 except the forget gate's block, which is exactly 1,
  in both directions; ``head.b`` is 0 (docs/model.md §2);
- every weight matrix is drawn from N(0, 1/fan_in) with fan_in = k·k·C for
  ``W_x``, Q for ``W_q``, 2K for ``W_up`` and ``W_left`` (the two recurrent
  matrices together) and 2K for ``head.w``;
- the multi-scale layer: each scale's ARNN as above, ``comb.V`` from
  N(0, 1/C) and ``comb.c`` = 0.

The scales are checked statistically, on enough entries (pooled over
several seeds where a matrix is small) that the sample standard deviation
lies within a few per cent of the documented one, while the mistakes this
rules out (a variance passed as the standard deviation, fan_out for fan_in,
N(0, 1)) are off by a factor of 2 or more. The seeds are fixed, so the test
is deterministic.
"""

import numpy as np
import pytest

from attnrnn_np import init_arnn_params, init_multiscale_params
from attnrnn_np.backend import to_numpy

C, K, Q, k = 6, 8, 5, 3
SEEDS = range(128)  # head.w has only 2K entries per draw: pool enough draws for 2000
# Sample std of n normal draws has relative standard error ≈ 1/√(2n); with
# n ≥ 2000 entries per pooled matrix that is ≤ 1.6 %, so 8 % is > 5 sigma.
STD_RTOL = 0.08


def _gate_blocks(b, K):
    """The bias (4K,) split into its gate blocks i, f, g, o."""
    return {name: b[n * K:(n + 1) * K] for n, name in enumerate("ifgo")}


def _assert_biases(params, K, prefix=""):
    for d in ("fwd", "bwd"):
        blocks = _gate_blocks(to_numpy(params[f"{prefix}{d}.b"]), K)
        assert (blocks["f"] == 1.0).all(), f"{prefix}{d}.b: forget block {blocks['f']}, expected all 1"
        for gate in "igo":
            assert (blocks[gate] == 0.0).all(), f"{prefix}{d}.b: {gate} block {blocks[gate]}, expected all 0"
    assert to_numpy(params[f"{prefix}head.b"]).tolist() == [0.0], f"{prefix}head.b"


def _fan_in(key, C, K, Q, k):
    name = key.rsplit(".", 1)[-1]
    return {"W_x": k * k * C, "W_q": Q, "W_up": 2 * K, "W_left": 2 * K, "w": 2 * K}[name]


def _assert_scale(samples, fan_in, key):
    x = np.concatenate([s.ravel() for s in samples])
    want = fan_in ** -0.5
    assert x.size >= 2000, key  # the tolerance below assumes this many draws
    assert abs(x.std() / want - 1.0) <= STD_RTOL, f"{key}: std {x.std():.4f}, documented {want:.4f}"
    assert abs(x.mean()) <= 5 * want / np.sqrt(x.size), f"{key}: mean {x.mean():.4f} is not 0"


@pytest.mark.parametrize("query_dim", [0, Q])
def test_single_scale_biases_are_the_documented_ones(xp, query_dim):
    """The forget gate's bias is exactly 1, every other bias exactly 0 (both directions),
    for both dtypes; rules out the +1 dropped, doubled or moved to another gate."""
    for dtype in ("float32", "float64"):
        params = init_arnn_params(C, K, query_dim=query_dim, kernel_size=k, seed=3, dtype=dtype, xp=xp)
        _assert_biases(params, K)


def test_single_scale_weights_are_drawn_from_n0_one_over_fan_in():
    """Each weight matrix's entries have mean 0 and std 1/√fan_in (pooled over seeds)."""
    drawn = [init_arnn_params(C, K, query_dim=Q, kernel_size=k, seed=s) for s in SEEDS]
    for key in drawn[0]:
        if key.endswith(".b"):
            continue
        _assert_scale([p[key] for p in drawn], _fan_in(key, C, K, Q, k), key)


def test_multiscale_initial_values():
    """Every scale's ARNN starts as init_arnn_params documents; comb.c = 0, comb.V ~ N(0, 1/C)."""
    scales = (1, 2, 4)
    drawn = [init_multiscale_params(C, K, scales, query_dim=Q, kernel_size=k, seed=s) for s in SEEDS]
    for params in drawn:
        for g in scales:
            _assert_biases(params, K, prefix=f"scale{g}.")
        assert (params["comb.c"] == 0.0).all(), params["comb.c"]
    for key in drawn[0]:
        if key.endswith((".b", "comb.c")):
            continue
        fan_in = C if key == "comb.V" else _fan_in(key, C, K, Q, k)
        _assert_scale([p[key] for p in drawn], fan_in, key)
