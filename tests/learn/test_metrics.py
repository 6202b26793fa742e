"""Colour accuracy and attention correctness (attnrnn_np.learn.metrics), against direct pixel-level definitions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnrnn_np.backend import to_numpy
from attnrnn_np.learn.metrics import accuracy, attention_correctness, attention_inside_mass, box_cells


def _cells_by_pixels(box, canvas, h, w):
    """A cell is inside when any pixel of its block lies in the box, pixel by pixel."""
    t, l, b, r = box
    inside = np.zeros((h, w), bool)
    sh, sw = canvas // h, canvas // w
    for i in range(h):
        for j in range(w):
            block = np.zeros((canvas, canvas), bool)
            block[i * sh:(i + 1) * sh, j * sw:(j + 1) * sw] = True
            pix = np.zeros((canvas, canvas), bool)
            pix[t:b, l:r] = True
            inside[i, j] = (block & pix).any()
    return inside


@given(seed=st.integers(0, 2 ** 16), grid=st.sampled_from([(8, 8), (4, 4), (2, 8), (16, 16)]))
def test_box_cells_is_pixel_block_overlap(xp, seed, grid):
    rng = np.random.default_rng(seed)
    canvas = 32
    tops, lefts = rng.integers(0, canvas - 1, 5), rng.integers(0, canvas - 1, 5)
    boxes = np.stack([tops, lefts, tops + 1 + rng.integers(0, canvas - tops),
                      lefts + 1 + rng.integers(0, canvas - lefts)], axis=1)
    boxes[:, 2:] = np.minimum(boxes[:, 2:], canvas)
    got = to_numpy(box_cells(xp.asarray(boxes), canvas, grid))
    for n in range(5):
        np.testing.assert_array_equal(got[n], _cells_by_pixels(boxes[n], canvas, *grid), err_msg=str(boxes[n]))


def test_box_cells_edges():
    # rows 4..7 are exactly cell 1 on an 8×8 grid of a 32 canvas; row 8 would start cell 2
    inside = box_cells(np.array([[4, 4, 8, 8], [3, 3, 9, 9]]), 32, (8, 8))
    assert inside[0].sum() == 1 and inside[0, 1, 1]
    assert inside[1].sum() == 9 and inside[1, 0:3, 0:3].all()
    with pytest.raises(ValueError, match="divide"):
        box_cells(np.array([[0, 0, 1, 1]]), 32, (5, 5))


def test_attention_correctness_is_the_renormalised_mass_inside(xp):
    rng = np.random.default_rng(3)
    A = rng.random((3, 4, 4))
    boxes = np.array([[0, 0, 8, 8], [8, 8, 16, 16], [0, 0, 16, 16]])   # canvas 16: 4-px cells
    want = [A[0, :2, :2].sum() / A[0].sum(), A[1, 2:, 2:].sum() / A[1].sum(), 1.0]
    got = to_numpy(attention_inside_mass(xp.asarray(A), xp.asarray(boxes), 16))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert attention_correctness(xp.asarray(A), xp.asarray(boxes), 16) == pytest.approx(np.mean(want))
    uniform = xp.full((1, 8, 8), 1 / 64)
    assert attention_correctness(uniform, xp.asarray([[4, 4, 12, 12]]), 32) == pytest.approx(4 / 64)


def test_accuracy(xp):
    logits = xp.asarray([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 0.0, 0.5]])
    assert accuracy(logits, xp.asarray([1, 0, 1, 2])) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        accuracy(logits, xp.asarray([1, 0]))
