"""The PyTorch weight layout: both maps, the inverse-raster convention, tensors duck-typed."""

import numpy as np
import pytest

from attnrnn_np import arnn_forward, init_arnn_params, init_multiscale_params
from attnrnn_np.verify import from_torch_layout, problems, to_torch_layout

TORCH_SHAPES = {
    "conv.weight": lambda C, K, Q, k: (4 * K, C, k, k),
    "conv.bias": lambda C, K, Q, k: (4 * K,),
    "query.weight": lambda C, K, Q, k: (4 * K, Q),
    "up.weight": lambda C, K, Q, k: (4 * K, K),
    "left.weight": lambda C, K, Q, k: (4 * K, K),
}


class FakeTensor:
    """Quacks like a torch tensor: ``.detach().cpu().numpy()``."""

    def __init__(self, a):
        self.a = a

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


def _params(C=3, K=2, Q=2, k=3, seed=0):
    rng = np.random.default_rng(seed)
    p = init_arnn_params(C, K, query_dim=Q, kernel_size=k, seed=seed)
    return {key: v + rng.normal(0.0, 0.5, v.shape) for key, v in p.items()}


@pytest.mark.parametrize("Q", [0, 2])
def test_torch_keys_and_shapes_are_exactly_those_of_the_table(Q):
    C, K, k = 3, 2, 3
    out = to_torch_layout(_params(C, K, Q, k))
    want = {}
    for d in ("fwd", "bwd"):
        for name, shape in TORCH_SHAPES.items():
            if name == "query.weight" and Q == 0:
                continue
            want[f"{d}.{name}"] = shape(C, K, Q, k)
    want.update({"head.weight": (1, 2 * K), "head.bias": (1,)})
    assert list(out) == list(want)            # also the order a module's state_dict() lists them in
    assert {key: v.shape for key, v in out.items()} == want


def test_the_map_is_the_one_a_conv2d_and_linears_read():
    """Each torch entry is where nn.Conv2d / nn.Linear look for the same number."""
    p = _params()
    t = to_torch_layout(p)
    a, b, c, o = 2, 0, 1, 5
    assert t["fwd.conv.weight"][o, c, a, b] == p["fwd.W_x"][a, b, c, o]
    assert t["bwd.query.weight"][o, 1] == p["bwd.W_q"][1, o]
    assert t["fwd.up.weight"][o, 1] == p["fwd.W_up"][1, o]
    assert t["bwd.left.weight"][o, 0] == p["bwd.W_left"][0, o]
    np.testing.assert_array_equal(t["head.weight"][0], p["head.w"])
    np.testing.assert_array_equal(t["fwd.conv.bias"], p["fwd.b"])


@pytest.mark.parametrize("flips", [False, True])
@pytest.mark.parametrize("Q", [0, 2])
def test_round_trip_ours_torch_ours(flips, Q):
    p = _params(Q=Q)
    back = from_torch_layout(to_torch_layout(p, bwd_flips_input=flips), bwd_flips_input=flips)
    assert list(back) == list(p)
    for key in p:
        np.testing.assert_array_equal(back[key], p[key])


@pytest.mark.parametrize("flips", [False, True])
def test_round_trip_torch_ours_torch(flips):
    t = to_torch_layout(_params(seed=3))
    again = to_torch_layout(from_torch_layout(t, bwd_flips_input=flips), bwd_flips_input=flips)
    assert list(again) == list(t)
    for key in t:
        np.testing.assert_array_equal(again[key], t[key])


def test_round_trip_multiscale():
    p = init_multiscale_params(3, 2, (1, 2), query_dim=2, seed=1)
    t = to_torch_layout(p)
    assert t["comb.weight"].shape == (2, 3) and t["comb.bias"].shape == (2,)
    assert "scale2.bwd.conv.weight" in t and "scale1.head.bias" in t
    back = from_torch_layout(t)
    assert list(back) == list(p)
    for key in p:
        np.testing.assert_array_equal(back[key], p[key])


def test_flip_input_convention_rotates_only_the_bwd_kernel():
    p = _params()
    plain, flipped = to_torch_layout(p), to_torch_layout(p, bwd_flips_input=True)
    for key in plain:
        if key == "bwd.conv.weight":
            np.testing.assert_array_equal(flipped[key], plain[key][:, :, ::-1, ::-1])
            assert not np.array_equal(flipped[key], plain[key])
        else:
            np.testing.assert_array_equal(flipped[key], plain[key])


def test_k1_hides_the_convention():
    """With a 1×1 kernel the rotation is the identity: a wrong convention passes every k = 1 check."""
    p = _params(k=1)
    plain, flipped = to_torch_layout(p), to_torch_layout(p, bwd_flips_input=True)
    for key in plain:
        np.testing.assert_array_equal(flipped[key], plain[key])


def test_flip_input_convention_is_the_rotated_convolution():
    """conv(rot180(X), W') rotated back equals conv(X, W) exactly when W' is the kernel rotated by 180°."""
    from attnrnn_np.conv import conv_same_forward

    p = _params()
    X = np.random.default_rng(5).normal(size=(2, 4, 5, 3))
    W_flip = from_torch_layout(to_torch_layout(p, bwd_flips_input=True))["bwd.W_x"]   # read as if unflipped
    U, _ = conv_same_forward(X, p["bwd.W_x"])
    U_rot, _ = conv_same_forward(X[:, ::-1, ::-1].copy(), W_flip)
    np.testing.assert_allclose(U_rot[:, ::-1, ::-1], U, rtol=0, atol=1e-13)


def test_tensors_are_accepted_and_results_are_new_numpy_arrays():
    p = _params()
    t = to_torch_layout({key: FakeTensor(v) for key, v in p.items()})
    back = from_torch_layout({key: FakeTensor(v) for key, v in t.items()})
    for key in p:
        assert type(back[key]) is np.ndarray
        np.testing.assert_array_equal(back[key], p[key])
        assert not np.shares_memory(back[key], p[key])
    A1, _ = arnn_forward(np.ones((1, 2, 2, 3)), back, np.ones((1, 2)))
    A2, _ = arnn_forward(np.ones((1, 2, 2, 3)), p, np.ones((1, 2)))
    np.testing.assert_array_equal(A1, A2)


def test_a_query_linear_with_no_inputs_means_no_query():
    t = to_torch_layout(_params(Q=0))
    t["fwd.query.weight"] = np.zeros((8, 0))
    t["bwd.query.weight"] = np.zeros((8, 0))
    assert "fwd.W_q" not in from_torch_layout(t)


def test_missing_and_unexpected_keys_are_named():
    t = to_torch_layout(_params())
    del t["bwd.left.weight"]
    with pytest.raises(KeyError, match=r"bwd\.left\.weight"):
        from_torch_layout(t)
    t = to_torch_layout(_params())
    t["fwd.extra.weight"] = np.zeros(3)
    with pytest.raises(KeyError, match=r"unexpected \['fwd\.extra\.weight'\]"):
        from_torch_layout(t)
    p = _params()
    p["fwd.W_typo"] = p.pop("fwd.W_left")
    with pytest.raises(KeyError, match="fwd.W_left"):
        to_torch_layout(p)


def test_every_problem_carries_both_layouts_consistently():
    for p in problems():
        back = from_torch_layout(p.torch_params)
        assert list(back) == list(p.params), p.name
        for key in p.params:
            np.testing.assert_array_equal(back[key], p.params[key])
