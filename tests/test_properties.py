"""Properties of the layer that docs/model.md §3, §4 and §7 promise, checked on drawn problems.

- the mask lies in (0, 1) for "sigmoid" and is a distribution per sample for "softmax";
- the inverse-raster direction is the raster scan run on the map rotated by 180°;
- a 1×W map is a plain 1-D LSTM along the row, an H×1 map one down the column;
- samples are independent: a batch gives the per-sample results;
- backward leaves its inputs untouched and gives bitwise the same result twice;
- float32 runs, stays float32 everywhere and close to float64.

The 1-D LSTM and the input-to-state sums used as references below are
written here from the equations, independently of the package's cell, scan
and convolution code.
"""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from attnrnn_np import arnn_backward, arnn_forward
from attnrnn_np.scan import diagonal_lstm_forward

from strategies import (
    Dims,
    analytic_grads,
    assert_close,
    conv_direct,
    dims,
    host,
    make_problem,
    normalizations,
    scaled,
    seeds,
)

TOL = 1e-12


# --------------------------------------------------------------------------
# independent references (host NumPy, written from docs/model.md §3)
# --------------------------------------------------------------------------

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def input_to_state(X, params, q, d):
    """U_d (N, H, W, 4K) by the docs/model.md §3.1 sum, zero outside the map, plus bias and query."""
    U = conv_direct(X, params[f"{d}.W_x"], params[f"{d}.b"])
    if q is not None:
        U += (host(q) @ host(params[f"{d}.W_q"]))[:, None, None, :]
    return U


def lstm_1d(U, W_rec, *, carry_cell=True):
    """A plain 1-D LSTM over T steps: U (N, T, 4K) -> h (N, T, K), gates i, f, g, o.

    ``carry_cell=False`` resets the cell state to 0 at every step: the diagonal
    LSTM carries the cell state only from the cell to the left, so down a
    single column only the hidden state travels.
    """
    N, T, K4 = U.shape
    K = K4 // 4
    h, c, out = np.zeros((N, K)), np.zeros((N, K)), []
    for t in range(T):
        G = U[:, t] + h @ W_rec
        i, f, g, o = sigmoid(G[:, :K]), sigmoid(G[:, K:2 * K]), np.tanh(G[:, 2 * K:3 * K]), sigmoid(G[:, 3 * K:])
        c = f * (c if carry_cell else 0.0) + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def mask_from_states(h_fwd, h_bwd, params, normalize):
    w, b = host(params["head.w"]), host(params["head.b"])
    K = h_fwd.shape[-1]
    S = h_fwd @ w[:K] + h_bwd @ w[K:] + b[0]
    if normalize == "sigmoid":
        return sigmoid(S)
    E = np.exp(S - S.max(axis=(1, 2), keepdims=True))
    return E / E.sum(axis=(1, 2), keepdims=True)


# --------------------------------------------------------------------------
# the mask
# --------------------------------------------------------------------------

@scaled(20)
@given(d=dims(), seed=seeds, recurrent=st.booleans())
def test_sigmoid_mask_lies_strictly_between_0_and_1(xp, d, seed, recurrent):
    p = make_problem(d, seed, xp)
    A = host(arnn_forward(p.X, p.params, p.q, recurrent=recurrent)[0])
    assert A.shape == (d.N, d.H, d.W)
    assert ((A > 0) & (A < 1)).all()


@scaled(20)
@given(d=dims(), seed=seeds, recurrent=st.booleans())
def test_softmax_mask_is_a_distribution_per_sample(xp, d, seed, recurrent):
    p = make_problem(d, seed, xp)
    A = host(arnn_forward(p.X, p.params, p.q, normalize="softmax", recurrent=recurrent)[0])
    assert (A > 0).all()
    np.testing.assert_allclose(A.sum(axis=(1, 2)), np.ones(d.N), rtol=0, atol=TOL)


# --------------------------------------------------------------------------
# directions
# --------------------------------------------------------------------------

@scaled(15)
@given(d=dims(), seed=seeds, normalize=normalizations, schedule=st.sampled_from(["wavefront", "raster"]))
def test_inverse_raster_pass_is_the_raster_code_on_the_rotated_map(xp, d, seed, normalize, schedule):
    """h_bwd = rot180(D(rot180(U_bwd))), with D the package's raster loop run as a
    single scan (D = 1) and rot180 written here as a flip of both spatial axes;
    the mask rebuilt from those states equals the layer's."""
    p = make_problem(d, seed, xp)
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize, schedule=schedule)
    h = {}
    for direction in ("fwd", "bwd"):
        U = xp.asarray(input_to_state(p.X, p.params, p.q, direction))         # (N, H, W, 4K)
        if direction == "bwd":
            U = U[:, ::-1, ::-1]
        W_up, W_left = p.params[f"{direction}.W_up"], p.params[f"{direction}.W_left"]
        h_d, _ = diagonal_lstm_forward(U[None], W_up[None], W_left[None], schedule="raster")
        h[direction] = host(h_d[0])
    h["bwd"] = h["bwd"][:, ::-1, ::-1]
    assert_close(cache.head.h[0], h["fwd"], rtol=TOL, atol=TOL, name="h_fwd")
    assert_close(cache.head.h[1], h["bwd"], rtol=TOL, atol=TOL, name="h_bwd")
    assert_close(A, mask_from_states(h["fwd"], h["bwd"], p.params, normalize), rtol=TOL, atol=TOL, name="A")


@scaled(12)
@given(d=dims(), seed=seeds, normalize=normalizations)
def test_one_row_map_is_a_plain_1d_lstm_along_the_row(xp, d, seed, normalize):
    """On a 1×W map nothing lies above or below: fwd is a 1-D LSTM left to right
    with W_left, bwd one right to left with its own W_left; W_up never enters."""
    p = make_problem(Dims(d.N, 1, d.W, d.C, d.K, d.Q, d.k), seed, xp)
    A, _ = arnn_forward(p.X, p.params, p.q, normalize=normalize)
    U_fwd = input_to_state(p.X, p.params, p.q, "fwd")[:, 0]                     # (N, W, 4K)
    U_bwd = input_to_state(p.X, p.params, p.q, "bwd")[:, 0]
    h_fwd = lstm_1d(U_fwd, host(p.params["fwd.W_left"]))
    h_bwd = lstm_1d(U_bwd[:, ::-1], host(p.params["bwd.W_left"]))[:, ::-1]
    expected = mask_from_states(h_fwd[:, None], h_bwd[:, None], p.params, normalize)
    assert_close(A, expected, rtol=TOL, atol=TOL, name="A")


@scaled(12)
@given(d=dims(), seed=seeds, normalize=normalizations)
def test_one_column_map_is_a_1d_lstm_down_the_column(xp, d, seed, normalize):
    """On an H×1 map the only neighbour is above (fwd) or below (bwd), read
    through W_up; the cell state comes only from the left, so it restarts at 0."""
    p = make_problem(Dims(d.N, d.H, 1, d.C, d.K, d.Q, d.k), seed, xp)
    A, _ = arnn_forward(p.X, p.params, p.q, normalize=normalize)
    U_fwd = input_to_state(p.X, p.params, p.q, "fwd")[:, :, 0]                  # (N, H, 4K)
    U_bwd = input_to_state(p.X, p.params, p.q, "bwd")[:, :, 0]
    h_fwd = lstm_1d(U_fwd, host(p.params["fwd.W_up"]), carry_cell=False)
    h_bwd = lstm_1d(U_bwd[:, ::-1], host(p.params["bwd.W_up"]), carry_cell=False)[:, ::-1]
    expected = mask_from_states(h_fwd[:, :, None], h_bwd[:, :, None], p.params, normalize)
    assert_close(A, expected, rtol=TOL, atol=TOL, name="A")


def test_1d_reference_is_an_lstm():
    """The reference itself: with one step, zero state, it is the textbook cell."""
    rng = np.random.default_rng(0)
    U, W_rec = rng.normal(size=(2, 1, 8)), rng.normal(size=(2, 8))
    # K = 2: gates i, f, g, o are columns 0:2, 2:4, 4:6, 6:8; f multiplies a zero cell state
    i, g, o = sigmoid(U[:, 0, :2]), np.tanh(U[:, 0, 4:6]), sigmoid(U[:, 0, 6:])
    np.testing.assert_allclose(lstm_1d(U, W_rec)[:, 0], o * np.tanh(i * g), rtol=1e-15)


@scaled(15)
@given(d=dims(), seed=seeds, normalize=normalizations)
@example(d=Dims(N=3, H=4, W=5, C=2, K=2, Q=2, k=3), seed=0, normalize="softmax")
def test_samples_are_independent(xp, d, seed, normalize):
    """Batch results == per-sample results; parameter gradients are their sums."""
    p = make_problem(d, seed, xp)
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize)
    batch = analytic_grads(*arnn_backward(p.dA, cache))
    summed = {key: 0.0 for key in p.params}
    for n in range(d.N):
        one = slice(n, n + 1)
        q_n = None if p.q is None else p.q[one]
        A_n, cache_n = arnn_forward(p.X[one], p.params, q_n, normalize=normalize)
        assert_close(A[one], A_n, rtol=TOL, atol=TOL, name=f"A[{n}]")
        g_n = analytic_grads(*arnn_backward(p.dA[one], cache_n))
        assert_close(batch["X"][one], g_n["X"], rtol=TOL, atol=TOL, name=f"dX[{n}]")
        if p.q is not None:
            assert_close(batch["q"][one], g_n["q"], rtol=TOL, atol=TOL, name=f"dq[{n}]")
        for key in p.params:
            summed[key] = summed[key] + host(g_n[key])
    for key in p.params:
        assert_close(batch[key], summed[key], rtol=1e-10, atol=TOL, name=key)


# --------------------------------------------------------------------------
# backward hygiene
# --------------------------------------------------------------------------

def snapshot(obj):
    """A deep copy of every array inside ``obj`` (NamedTuples, tuples, lists, dicts)."""
    if hasattr(obj, "__array__"):  # a NumPy or CuPy array
        return host(obj).copy()
    if isinstance(obj, dict):
        return {key: snapshot(v) for key, v in obj.items()}
    if hasattr(obj, "_fields"):  # a NamedTuple cache
        return type(obj)(*(snapshot(v) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(snapshot(v) for v in obj)
    return obj


def assert_bitwise_equal(a, b, path="cache"):
    """Same structure, and every array equal bit for bit (NaN-free inputs)."""
    if isinstance(b, np.ndarray):
        a = host(a)
        assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b), path
    elif isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in b:
            assert_bitwise_equal(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(b, (tuple, list)):
        assert len(a) == len(b), path
        names = getattr(b, "_fields", range(len(b)))
        for name, x, y in zip(names, a, b, strict=True):
            assert_bitwise_equal(x, y, f"{path}.{name}")
    else:
        assert a == b, path


@scaled(15)
@given(d=dims(), seed=seeds, normalize=normalizations, schedule=st.sampled_from(["wavefront", "raster"]),
       recurrent=st.booleans())
def test_backward_leaves_inputs_untouched_and_is_repeatable(xp, d, seed, normalize, schedule, recurrent):
    p = make_problem(d, seed, xp)
    inputs_before = snapshot({"X": p.X, "q": p.q, "params": p.params})
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize, schedule=schedule, recurrent=recurrent)
    cache_before, dA_before = snapshot(cache), snapshot(p.dA)
    first = analytic_grads(*arnn_backward(p.dA, cache))
    assert_bitwise_equal(p.dA, dA_before, "dA")
    assert_bitwise_equal(cache, cache_before)
    first_copy = snapshot(first)
    # Results are fresh arrays: writing into them (as an optimiser might)
    # must not reach the cache or the next call.
    for g in first.values():
        g[...] = 7.0
    second = analytic_grads(*arnn_backward(p.dA, cache))
    assert_bitwise_equal(second, first_copy, "grads")
    assert_bitwise_equal(cache, cache_before)
    assert_bitwise_equal({"X": p.X, "q": p.q, "params": p.params}, inputs_before, "inputs")


@scaled(5)
@given(d=dims(), seed=seeds, normalize=normalizations)
def test_editing_the_returned_mask_does_not_change_the_gradients(xp, d, seed, normalize):
    p = make_problem(d, seed, xp)
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize)
    before = snapshot(analytic_grads(*arnn_backward(p.dA, cache)))
    A -= 0.25  # as a caller computing a residual in place would
    after = analytic_grads(*arnn_backward(p.dA, cache))
    assert_bitwise_equal(after, before, "grads")


# --------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------

# float32 resolution is 1.2e-7; the worst deviation from float64 measured on
# these sizes was 1.3e-7 for A and 2.7e-7 (relative to 1 + max|g|) for the
# gradients. The tolerances below leave two orders of magnitude of margin and
# still catch any float32-only bug (a wrong gradient is off by O(|g|)).
F32_ATOL_A, F32_REL_GRAD = 1e-5, 1e-5


@scaled(15)
@given(d=dims(), seed=seeds, normalize=normalizations)
def test_float32_runs_stays_float32_and_close_to_float64(xp, d, seed, normalize):
    p32, p64 = make_problem(d, seed, xp, dtype="float32"), make_problem(d, seed, xp)
    A32, cache32 = arnn_forward(p32.X, p32.params, p32.q, normalize=normalize)
    A64, cache64 = arnn_forward(p64.X, p64.params, p64.q, normalize=normalize)
    g32 = analytic_grads(*arnn_backward(p32.dA, cache32))
    g64 = analytic_grads(*arnn_backward(p64.dA, cache64))
    assert A32.dtype == xp.float32
    for name, a in [("S", cache32.S), ("h", cache32.head.h), ("patches", cache32.conv.cols)]:
        assert a.dtype == xp.float32, name
    assert np.abs(host(A32) - host(A64)).max() <= F32_ATOL_A
    for key, grad in g32.items():
        assert grad.dtype == xp.float32, key
        assert type(grad) is type(g64[key]), key
        ref = host(g64[key])
        assert np.abs(host(grad) - ref).max() <= F32_REL_GRAD * (1.0 + np.abs(ref).max()), key
