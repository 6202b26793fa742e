"""The receptive field of docs/model.md §4, exactly.

With p = (k − 1)/2, X[n,a,b] can influence A[n,i,j] only if

    (a ≤ i+p and b ≤ j+p)   — through the raster scan, which reads every cell
                              above-left of (i, j), each seeing a k×k patch,
 or (a ≥ i−p and b ≥ j−p)   — through the inverse-raster scan, below-right.

"Can influence" is a property of the wiring; these tests check the stronger
"does influence" — the set of mask values that move is *exactly* that field —
in two ways: from the exact Jacobian structure computed by the backward pass
(one backward call per mask value, one-hot dA), and by moving one input cell
in the forward pass.

Why "can" equals "does" here: along the allowed paths the derivative is an
analytic function of the parameters that is not identically zero, so it
vanishes only on a set of parameters of measure zero. Parameters, inputs and
perturbations are drawn from continuous distributions (non-zero biases), so
those exceptions have probability 0. Cells outside the field receive no term
at all: their values are computed from bit-for-bit identical operands
(forward) or from exact zeros multiplied through (backward), so the checks
use exact equality, not a tolerance.

Float64 adds one caveat, and only to the forward check: a real influence can
be smaller than the spacing of floats near A (a hidden state whose output
gate is nearly closed passes on ~1e-8 of a change; a 4×3 map with K = 1 gave
∂A/∂X ≈ 1e-16 across it), so the moved value rounds back to the old one.
The forward check excuses a cell in the field only when its exact first-order
change |J·δ| is below 1e-12. The Jacobian check needs no excuse: its non-zero
entries (smallest seen ~1e-17) are nowhere near underflow, and an exact zero
there can only be structural. (A gate pre-activation beyond ±37, where σ'
rounds to exactly 0, would also cut a path; the drawn problems stay far below.)
"""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from attnrnn_np import arnn_backward, arnn_forward

from strategies import Dims, dims, host, make_problem, scaled, seeds

LARGEST = Dims(N=2, H=5, W=4, C=2, K=3, Q=2, k=3)

schedules = st.sampled_from(["wavefront", "raster"])


def spec_field(H, W, k, a, b, *, normalize="sigmoid", recurrent=True):
    """Boolean (H, W): which A[n,i,j] docs/model.md §4 lets X[n,a,b] influence."""
    p = (k - 1) // 2
    i, j = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    if recurrent:
        field = ((a <= i + p) & (b <= j + p)) | ((a >= i - p) & (b >= j - p))
    else:
        field = (abs(a - i) <= p) & (abs(b - j) <= p)  # the ablation: the k×k neighbourhood only
    if normalize == "softmax":
        # Every logit of a sample enters every mask value of it through the
        # normaliser — except on a 1×1 map, where the mask is the constant 1.
        field = np.full((H, W), H * W > 1)
    return field


def moved_by_perturbing(xp, p, n, a, b, delta, **kwargs):
    """Boolean (N, H, W): which mask values change when X[n,a,b,:] moves by ``delta`` (C,)."""
    A0, _ = arnn_forward(p.X, p.params, p.q, **kwargs)
    X = p.X.copy()
    X[n, a, b] += xp.asarray(delta, dtype=X.dtype)
    A1, _ = arnn_forward(X, p.params, p.q, **kwargs)
    return host(A1) != host(A0)


def jacobian(xp, p, **kwargs):
    """J (N, H, W, N, H, W, C) = ∂A[n,i,j]/∂X[m,a,b,c]: one backward call per mask value (one-hot dA)."""
    A, cache = arnn_forward(p.X, p.params, p.q, **kwargs)
    J = np.zeros(A.shape + p.X.shape)
    for idx in np.ndindex(*A.shape):
        dA = np.zeros(A.shape)
        dA[idx] = 1.0
        J[idx] = host(arnn_backward(xp.asarray(dA, dtype=A.dtype), cache)[0])
    return J


def _field_options(kwargs):
    """The forward options that shape the field (``schedule`` must not matter)."""
    return {key: kwargs[key] for key in ("normalize", "recurrent") if key in kwargs}


# A first-order change of the mask smaller than this may round away in
# float64 (the spacing of floats near 0.5 is 5.6e-17; this is ~2·10^4 of them).
RESOLVABLE = 1e-12


def _check_by_perturbation(xp, d, seed, **kwargs):
    """Outside the field, nothing moves, bit for bit. Inside, everything moves —
    except a value whose exact first-order change |J·δ| is below float64
    resolution: an influence can be real yet smaller than the spacing of floats
    near A, e.g. through a hidden state whose output gate is nearly closed
    (seen: ∂A/∂X ≈ 1e-16 across a 4×3 map with K = 1). The Jacobian test below
    has no such limit, since it tests for exact zeros."""
    p = make_problem(d, seed, xp)
    J = jacobian(xp, p, **kwargs)
    rng = np.random.default_rng(seed)
    for n in range(d.N):
        for a in range(d.H):
            for b in range(d.W):
                delta = rng.normal(size=d.C)
                moved = moved_by_perturbing(xp, p, n, a, b, delta, **kwargs)
                field = np.zeros_like(moved)
                field[n] = spec_field(d.H, d.W, d.k, a, b, **_field_options(kwargs))
                must_move = field & (np.abs(J[:, :, :, n, a, b, :] @ delta) > RESOLVABLE)
                message = (f"moving X[{n},{a},{b}] with {d} {kwargs}:\nmoved\n{moved.astype(int)}\n"
                           f"documented field\n{field.astype(int)}")
                assert not (moved & ~field).any(), "moved outside the field: " + message
                assert (moved | ~must_move).all(), "did not move inside the field: " + message


def _check_by_jacobian(xp, d, seed, **kwargs):
    p = make_problem(d, seed, xp)
    J = jacobian(xp, p, **kwargs)
    for n, i, j in np.ndindex(d.N, d.H, d.W):
        nonzero = J[n, i, j] != 0                                            # (N, H, W, C)
        # Entry (m, a, b) must be non-zero for every channel exactly when
        # X[m,a,b] is in the field of A[n,i,j] — by the definition, when
        # A[n,i,j] is in the field of X[m,a,b] (and m = n).
        expected = np.zeros(nonzero.shape[:3], dtype=bool)
        for a, b in np.ndindex(d.H, d.W):
            expected[n, a, b] = spec_field(d.H, d.W, d.k, a, b, **_field_options(kwargs))[i, j]
        assert (nonzero == expected[..., None]).all(), (
            f"∂A[{n},{i},{j}]/∂X with {d} {kwargs}: non-zero (any channel)\n"
            f"{nonzero.any(-1).astype(int)}\nSPEC field\n{expected.astype(int)}")


@scaled(20)
@given(d=dims(), seed=seeds, schedule=schedules)
@example(d=LARGEST, seed=1, schedule="wavefront")
@example(d=Dims(N=1, H=5, W=5, C=1, K=2, Q=0, k=1), seed=2, schedule="raster")
def test_sigmoid_field_by_perturbation(xp, d, seed, schedule):
    _check_by_perturbation(xp, d, seed, normalize="sigmoid", schedule=schedule)


@scaled(20)
@given(d=dims(), seed=seeds, schedule=schedules)
@example(d=LARGEST, seed=3, schedule="wavefront")
@example(d=Dims(N=1, H=3, W=5, C=2, K=1, Q=1, k=1), seed=4, schedule="raster")
def test_sigmoid_field_by_jacobian(xp, d, seed, schedule):
    _check_by_jacobian(xp, d, seed, normalize="sigmoid", schedule=schedule)


@scaled(10)
@given(d=dims(), seed=seeds)
@example(d=LARGEST, seed=5)
def test_softmax_couples_all_positions_of_a_sample_only(xp, d, seed):
    _check_by_perturbation(xp, d, seed, normalize="softmax")
    _check_by_jacobian(xp, d, seed, normalize="softmax")


@scaled(10)
@given(d=dims(), seed=seeds)
@example(d=LARGEST, seed=6)
def test_ablation_field_is_the_kernel_neighbourhood(xp, d, seed):
    _check_by_perturbation(xp, d, seed, normalize="sigmoid", recurrent=False)
    _check_by_jacobian(xp, d, seed, normalize="sigmoid", recurrent=False)


def test_field_formula_on_examples_drawn_by_hand():
    """The helper itself, on 5×5 maps and the input cell (2, 2)."""
    top_left = np.array([[1, 1, 1, 0, 0],
                         [1, 1, 1, 0, 0],
                         [1, 1, 1, 0, 0],
                         [0, 0, 0, 0, 0],
                         [0, 0, 0, 0, 0]], dtype=bool)
    # k = 1: the bwd scan carries X[2,2] to the top-left quadrant, the fwd scan to the bottom-right.
    assert (spec_field(5, 5, 1, 2, 2) == (top_left | top_left[::-1, ::-1])).all()
    # k = 3: the 3×3 patch widens both quadrants by one row and one column.
    assert (spec_field(5, 5, 3, 2, 2) == np.array([[1, 1, 1, 1, 0],
                                                   [1, 1, 1, 1, 1],
                                                   [1, 1, 1, 1, 1],
                                                   [1, 1, 1, 1, 1],
                                                   [0, 1, 1, 1, 1]], dtype=bool)).all()
    assert spec_field(5, 5, 3, 2, 2, recurrent=False).sum() == 9
    assert spec_field(5, 5, 3, 0, 0, recurrent=False).sum() == 4
    assert spec_field(5, 5, 1, 4, 0, normalize="softmax").all()
    assert not spec_field(1, 1, 3, 0, 0, normalize="softmax").any()
