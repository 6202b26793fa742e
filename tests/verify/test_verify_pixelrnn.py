"""Other layouts: the declarative map of a PixelRNN-style module, checked on an independent skewed implementation."""

import numpy as np
import pytest

from attnrnn_np import init_arnn_params, init_multiscale_params
from attnrnn_np.verify import from_torch_layout, to_torch_layout, verify
from attnrnn_np.verify.layout import Layout, pixelrnn_layout, same, torch_layout, transposed

from skewed_arnn import skewed_arnn

SINGLE = ["k3-q3-sigmoid-4x5", "k1-q0-softmax-4x3", "k3-q2-softmax-4x4", "row-1x6", "column-6x1"]


def _candidate(layout, bugs=()):
    def candidate(p):
        if p.scales is not None:
            return None
        return skewed_arnn(p.X, layout.to_theirs(p.params), p.q, normalize=p.normalize, bugs=bugs)
    return candidate


def test_a_skewed_implementation_agrees_through_the_pixelrnn_map():
    report = verify(_candidate(pixelrnn_layout()), SINGLE)
    assert report.passed, str(report)


def test_the_conv1d_taps_are_not_interchangeable():
    """Reading tap 1 as the cell above (the map for padding at the other side) is caught, at (1, 0)."""
    report = verify(_candidate(pixelrnn_layout(up_tap=1)), ["k3-q3-sigmoid-4x5"])
    (r,) = report.results
    assert not report.passed and r.divergence.stage == "scan.fwd" and r.divergence.cell == (0, 0, 1)


@pytest.mark.parametrize("bug, cell", [("bias-after-skew", (0, 1, 0)), ("skew-readout-offset", (0, 0, 0))])
def test_skew_bugs_of_a_real_skewed_implementation_rank_first(bug, cell):
    for r in verify(_candidate(pixelrnn_layout(), (bug,)), ["k3-q3-sigmoid-4x5", "k1-q0-softmax-4x3"]).results:
        assert r.divergence.cell == cell and r.divergence.causes[0].name == bug, [b.name for b in r.divergence.causes]


def _params(Q, scales=None, seed=0):
    rng = np.random.default_rng(seed)
    p = (init_arnn_params(3, 2, query_dim=Q, kernel_size=3, seed=seed) if scales is None
         else init_multiscale_params(3, 2, scales, query_dim=Q, kernel_size=3, seed=seed))
    return {k: v + rng.normal(0, 0.5, v.shape) for k, v in p.items()}


@pytest.mark.parametrize("layout", [pixelrnn_layout(), pixelrnn_layout(up_tap=1, bwd_flips_input=True),
                                    torch_layout(), torch_layout(bwd_flips_input=True)])
@pytest.mark.parametrize("Q, scales", [(0, None), (2, None), (2, (1, 2))])
def test_every_map_round_trips_both_ways(layout, Q, scales):
    p = _params(Q, scales)
    theirs = layout.to_theirs(p)
    back = layout.to_ours(theirs)
    assert list(back) == list(p)
    for key in p:
        np.testing.assert_array_equal(back[key], p[key])
    again = layout.to_theirs(back)
    assert list(again) == list(theirs)


def test_the_pixelrnn_tensors_have_the_documented_shapes():
    C, K, Q, k = 3, 2, 2, 3
    t = pixelrnn_layout().to_theirs(_params(Q))
    assert {n: v.shape for n, v in t.items()} == {
        "i2s.weight": (8 * K, C, k, k), "i2s.bias": (8 * K,), "query.weight": (8 * K, Q),
        "fwd.s2s.weight": (4 * K, K, 2), "bwd.s2s.weight": (4 * K, K, 2),
        "head.weight": (1, 2 * K, 1, 1), "head.bias": (1,)}


def test_the_plain_torch_functions_are_the_table():
    p = _params(2, (1, 2))
    assert to_torch_layout(p).keys() == torch_layout().to_theirs(p).keys()
    back = from_torch_layout(to_torch_layout(p, bwd_flips_input=True), bwd_flips_input=True)
    assert all(np.array_equal(back[k], p[k]) for k in p)


def test_a_layout_of_your_own_in_a_few_lines_and_its_errors():
    mine = Layout([same("head.b", "bias"), transposed("head.w", "weight")], name="toy layout")
    theirs = mine.to_theirs({"head.w": np.arange(4.0), "head.b": np.ones(1)})
    assert set(theirs) == {"bias", "weight"}
    with pytest.raises(KeyError, match="unexpected"):
        mine.to_ours({**theirs, "extra": np.zeros(1)})
    with pytest.raises(KeyError, match="has no 'bias'"):
        mine.to_ours({"weight": np.zeros(4)})
