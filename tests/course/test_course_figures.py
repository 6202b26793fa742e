"""``attnrnn-np figures``: every picture is written, is not blank, and comes from the seed.

The two trained pictures train ``arnn`` and ``arnn-ind`` for a handful of
steps here (the command's default is 1200 steps), so the test checks the
drawing, not what the models learn. Every teaching figure, and every figure
of notebooks 01–05, is drawn at the width the site shows it (7.3 in at
100 dpi, the ~730 px column) with no text under 9 pt.
"""

from pathlib import Path

import numpy as np
import pytest

from attnrnn_np.course import figure_style, figures

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


# ------------------------------------------------------------------ drawn at the width the site shows them

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _too_small(fig):
    """Every text of ``fig`` smaller than the minimum, and the figure's size if it is not the documented one."""
    from matplotlib.text import Text

    problems = []
    width, _ = fig.get_size_inches()
    if abs(width - figure_style.WIDTH_IN) > 1e-9 or fig.dpi != figure_style.DPI:
        problems.append(f"drawn {width:.2f} in wide at {fig.dpi} dpi, not {figure_style.WIDTH_IN} in at "
                        f"{figure_style.DPI} dpi")
    fig.canvas.draw()
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < figure_style.MIN_FONT_PT:
            problems.append(f"{text.get_text()[:40]!r} at {text.get_fontsize():.1f} pt")
    return problems


@pytest.mark.parametrize("name", sorted(figures.DRAWINGS))
def test_a_teaching_figure_is_drawn_at_the_column_width_with_readable_text(name):
    draw = figures.DRAWINGS[name]
    assert _too_small(draw()) == []


def test_the_size_check_sees_a_wide_figure_and_small_text():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    wide = Figure(figsize=(12, 4), dpi=110)
    FigureCanvasAgg(wide)
    wide.add_subplot().set_title("a label", fontsize=7)
    problems = _too_small(wide)
    assert len(problems) >= 2 and "12.00 in wide" in problems[0] and any("7.0 pt" in p for p in problems)
    good = figure_style.new_figure(2.0)
    good.add_subplot().set_title("a label")
    assert _too_small(good) == []


def test_every_written_picture_is_as_wide_as_the_column(written):
    out, _ = written
    for name in figures.FIGURES:
        width, _ = Image.open(out / name).size
        assert width == round(figure_style.WIDTH_IN * figure_style.DPI), (name, width)


def test_the_trained_pictures_have_readable_text_too(written):
    trained = figures.trained_masks(seed=0, steps=2, n_train=16, n_test=8)
    for fig in (figures.draw_masks_over_images(trained), figures.draw_arnn_vs_arnn_ind(trained)):
        assert _too_small(fig) == []


@pytest.mark.parametrize("name", ["01_lstm_cell", "02_scans", "03_attention_rnn", "04_multiscale", "05_learning"])
def test_a_notebook_draws_in_the_teaching_style_at_the_column_width(name):
    import re

    source = (NOTEBOOKS / f"{name}.py").read_text()
    assert "use_teaching_style()" in source
    widths = [float(w) for w in re.findall(r"figsize=\(\s*([0-9.]+)\s*,", source)]
    assert widths and all(w <= figure_style.WIDTH_IN for w in widths), widths
    sizes = [float(s) for s in re.findall(r"fontsize=([0-9.]+)", source)]
    assert all(s >= figure_style.MIN_FONT_PT for s in sizes), sizes
