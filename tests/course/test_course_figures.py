"""``attnrnn-np figures``: every picture is written, is not blank, and comes from the seed.

The two trained pictures train ``arnn`` and ``arnn-ind`` for a handful of
steps here (the command's default is 1200 steps), so the test checks the
drawing, not what the models learn.
"""

import numpy as np
import pytest

from attnrnn_np.course import figures

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    paths = figures.write_figures(out, seed=0, steps=4, n_train=64, n_test=8)
    return out, paths


def test_every_figure_is_written(written):
    out, paths = written
    assert sorted(p.name for p in paths) == sorted(figures.FIGURES)
    assert all((out / name).is_file() for name in figures.FIGURES)


@pytest.mark.parametrize("name", [n for n in figures.FIGURES if n.endswith(".png")])
def test_a_png_is_not_blank(written, name):
    out, _ = written
    image = np.asarray(Image.open(out / name).convert("RGB"), dtype=float)
    assert image.shape[0] >= 250 and image.shape[1] >= 400, image.shape
    assert image.std() > 10.0, f"{name} is nearly one colour"
    colours = np.unique(image.reshape(-1, 3)[::7], axis=0)
    assert len(colours) > 20, f"{name} has only {len(colours)} colours"


def test_the_wavefront_gif_has_one_frame_per_step(written):
    out, _ = written
    gif = Image.open(out / "wavefront.gif")
    assert gif.n_frames >= 5 + 6 - 1   # H + W − 1 steps of the 5×6 map, and the final frame
    frames = []
    for t in (0, gif.n_frames // 2, gif.n_frames - 1):
        gif.seek(t)
        frames.append(np.asarray(gif.convert("RGB"), dtype=float))
    assert all(f.std() > 10.0 for f in frames)
    assert not np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[1], frames[2])


def test_the_receptive_field_is_reproducible_from_its_seed_and_obeys_the_contract():
    a = figures.field_of_one_mask_value(seed=3)
    assert np.array_equal(a, figures.field_of_one_mask_value(seed=3))
    assert not np.array_equal(a, figures.field_of_one_mask_value(seed=4))
    # docs/model.md §4 at (5, 5) with p = 1: nonzero exactly on the union of the two quadrants
    a_idx, b_idx = np.indices(a.shape)
    region = ((a_idx <= 6) & (b_idx <= 6)) | ((a_idx >= 4) & (b_idx >= 4))
    assert np.array_equal(a > 0, region)
    local = figures.field_of_one_mask_value(seed=3, recurrent=False)
    assert np.array_equal(local > 0, (abs(a_idx - 5) <= 1) & (abs(b_idx - 5) <= 1))
