"""Golden forward values, from an independent cell-by-cell oracle written from docs/model.md §3.

``reference_arnn`` below is the obviously-correct path: the tests' one
pixel-loop implementation (``tests/loop_arnn.py``, with none of its bug
switches on), plain loops over samples, rows and columns straight from the
equations, sharing no code with the package (no im2col, no scan schedule,
no LSTM cell). The verify kit's seeded wrong candidates are the same loops
with one switch on. It serves twice:

- as the oracle for drawn problems: the package must agree with it to 1e-12;
- as the source of the literal golden values pinned below for fixed inputs,
  so that a change that moved the oracle and the package together (a gate
  order, a kernel flip) would still be caught. The inputs are closed-form
  (sines of indices), not random draws, so they do not depend on NumPy's
  random streams.

The oracle's own conventions are checked against PyTorch's ``nn.LSTM`` (gate
order i, f, g, o, docs/model.md §1) when torch is installed.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np import arnn_forward, init_arnn_params

from loop_arnn import loop_arnn
from strategies import dims, host, make_problem, normalizations, scaled, seeds

TOL = 1e-12


# --------------------------------------------------------------------------
# the oracle
# --------------------------------------------------------------------------

def reference_arnn(X, params, q=None, *, normalize="sigmoid", recurrent=True):
    """docs/model.md §3, cell by cell, on the host (``tests/loop_arnn.py``). Returns ``(A, S, h)``."""
    out = loop_arnn(host(X), {key: host(v) for key, v in params.items()}, None if q is None else host(q),
                    normalize=normalize, recurrent=recurrent)
    return out["A"], out["S"], {"fwd": out["h.fwd"], "bwd": out["h.bwd"]}


# --------------------------------------------------------------------------
# the oracle against the package, on drawn problems
# --------------------------------------------------------------------------

@scaled(20)
@given(d=dims(), seed=seeds, normalize=normalizations, schedule=st.sampled_from(["wavefront", "raster"]),
       recurrent=st.booleans())
def test_package_equals_the_oracle(xp, d, seed, normalize, schedule, recurrent):
    p = make_problem(d, seed, xp)
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize, schedule=schedule, recurrent=recurrent)
    A_ref, S_ref, h_ref = reference_arnn(p.X, p.params, p.q, normalize=normalize, recurrent=recurrent)
    for name, got, want in (("h_fwd", cache.head.h[0], h_ref["fwd"]), ("h_bwd", cache.head.h[1], h_ref["bwd"]),
                            ("S", cache.S, S_ref), ("A", A, A_ref)):
        np.testing.assert_allclose(host(got), want, rtol=TOL, atol=TOL, err_msg=f"{name} {d}")


# --------------------------------------------------------------------------
# literal golden values for fixed inputs
# --------------------------------------------------------------------------

def fixed_problem(N, H, W, C, K, Q, k, xp=np):
    """Closed-form inputs: every array is a sine of its flat index, with a
    per-array phase and scale, so the numbers are generic (no symmetry, every
    bias non-zero) yet independent of any random generator."""
    template = init_arnn_params(C, K, query_dim=Q, kernel_size=k)  # only for keys and shapes

    def wave(shape, phase, scale):
        return scale * np.sin(0.37 * np.arange(int(np.prod(shape))) + phase).reshape(shape)

    params = {key: xp.asarray(wave(v.shape, 0.5 + n, 0.6)) for n, (key, v) in enumerate(template.items())}
    X = xp.asarray(wave((N, H, W, C), 0.1, 1.0))
    q = xp.asarray(wave((N, Q), 0.3, 1.0)) if Q else None
    return X, params, q


GOLDEN = {
    # (N, H, W, C, K, Q, k, normalize, recurrent): A (N, H, W) flattened, from reference_arnn
    (2, 3, 4, 2, 2, 1, 3, "sigmoid", True): [
        0.31276845785502755, 0.32880012495401445, 0.3278729398680025, 0.3411201271197882,
        0.29451915363497155, 0.30139387704479226, 0.3132585224915497, 0.34161826149619945,
        0.26322735198203895, 0.278467472497493, 0.3178735933062467, 0.3509668451327827,
        0.2826883675665696, 0.2827879139187419, 0.3125733332687491, 0.34994755388125687,
        0.3115349638005867, 0.3304690804736301, 0.3511935874090234, 0.3730398419435461,
        0.35385573326877007, 0.36732655970443084, 0.36112726306108833, 0.3711153270521419,
    ],
    (1, 4, 2, 3, 1, 0, 1, "softmax", True): [
        0.12244185577013121, 0.1321647456802274, 0.12868259641773858, 0.1267689478481406,
        0.11362408010219578, 0.11556504599394314, 0.1255160128065655, 0.13523671538105778,
    ],
    (1, 2, 3, 2, 2, 2, 3, "sigmoid", False): [
        0.3520276083618633, 0.3637699202477427, 0.3519798938709393, 0.35596743290570315,
        0.3532547180019753, 0.33767408372401275,
    ],
}


@pytest.mark.parametrize("case", list(GOLDEN), ids=lambda c: "-".join(map(str, c)))
def test_golden_values(xp, case):
    *sizes, normalize, recurrent = case
    X, params, q = fixed_problem(*sizes, xp=xp)
    golden = np.array(GOLDEN[case]).reshape(sizes[0], sizes[1], sizes[2])
    A_ref, _, _ = reference_arnn(X, params, q, normalize=normalize, recurrent=recurrent)
    np.testing.assert_allclose(A_ref, golden, rtol=0, atol=TOL, err_msg="the oracle moved")
    for schedule in ("wavefront", "raster"):
        A, _ = arnn_forward(X, params, q, normalize=normalize, schedule=schedule, recurrent=recurrent)
        np.testing.assert_allclose(host(A), golden, rtol=0, atol=TOL, err_msg=schedule)


# --------------------------------------------------------------------------
# the oracle's conventions against PyTorch
# --------------------------------------------------------------------------

def test_oracle_row_is_torch_lstm():
    """On a 1×W map with k = 1 the raster direction is ``nn.LSTM`` along the row:
    W_ih = W_x[0,0]ᵀ, W_hh = W_leftᵀ, b_ih = b, b_hh = 0, gates in the same order."""
    torch = pytest.importorskip("torch")
    N, W, C, K = 2, 5, 3, 4
    X, params, _ = fixed_problem(N, 1, W, C, K, 0, 1)
    _, _, h = reference_arnn(X, params)
    lstm = torch.nn.LSTM(C, K, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(params["fwd.W_x"][0, 0].T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(params["fwd.W_left"].T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(params["fwd.b"]))
        lstm.bias_hh_l0.zero_()
        out, _ = lstm(torch.from_numpy(X[:, 0]))
    np.testing.assert_allclose(h["fwd"][:, 0], out.numpy(), rtol=0, atol=1e-13)
