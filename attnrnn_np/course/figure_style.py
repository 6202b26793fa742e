"""One size, one type size and one palette for every teaching figure of the site and the notebooks.

The site's content column is about 736 px wide at a 1280 px window, and an
image wider than the column is shrunk to fit it. So every teaching figure
is drawn :data:`WIDTH_IN` inches wide at :data:`DPI` dots per inch, 730 px:
the site shows it at its natural size, and a 9 pt label is 12.5 px tall on
the screen, as drawn. No text is smaller than :data:`MIN_FONT_PT`.

One colour per idea, on every page and in every notebook:
:data:`FWD_COLOUR` and :data:`BWD_COLOUR` for the two directions,
:data:`MESSAGE_COLOURS` for the three messages of the backward sweep.

Matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import io

from ..atomic import write_bytes_atomic

__all__ = ["WIDTH_IN", "DPI", "MIN_FONT_PT", "STYLE", "FWD_COLOUR", "BWD_COLOUR", "MESSAGE_COLOURS",
           "WAVEFRONT_COLOURS", "use_teaching_style", "new_figure", "drawing", "save_png", "box", "arrow", "circle"]

WIDTH_IN = 7.3
DPI = 100
MIN_FONT_PT = 9.0

FWD_COLOUR, BWD_COLOUR = "#1f77b4", "#d62728"          # raster (fwd), inverse raster (bwd)
MESSAGE_COLOURS = {"dh_up": "#2ca02c", "dh_left": "#9467bd", "dc_left": "#ff7f0e"}
WAVEFRONT_COLOURS = {"waiting": "#ffffff", "done": "#bdbdbd", "in the buffers": "#ffd8a8",
                     "computed now": "#ff9f1c"}

STYLE = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (WIDTH_IN, 3.2),
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "legend.fontsize": 9, "legend.title_fontsize": 9, "figure.titlesize": 10,
}


def use_teaching_style():
    """Set :data:`STYLE` in matplotlib's rcParams (the notebooks call it once, after importing pyplot)."""
    import matplotlib

    matplotlib.rcParams.update(STYLE)


def new_figure(height):
    """An Agg figure :data:`WIDTH_IN` wide and ``height`` inches tall, at :data:`DPI`, drawn in :data:`STYLE`."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


@contextlib.contextmanager
def drawing():
    """Draw inside :data:`STYLE`, so that tick labels and titles made now get its sizes."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def save_png(fig, path):
    """Write ``fig`` to ``path`` as a PNG at :data:`DPI`, atomically; returns ``path``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    write_bytes_atomic(path, buffer.getvalue())
    return path


def box(ax, x, y, text, *, w, h, colour="#f2f2f2", edge="#333333", size=9, **text_kw):
    """A rounded box centred at (x, y), ``w`` × ``h`` in data units, with centred text."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.06",
                                fc=colour, ec=edge, lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, **text_kw)


def arrow(ax, start, end, *, colour="#333333", text=None, size=9, offset=(0.0, 0.06), ha="center", va="bottom"):
    """An arrow from ``start`` to ``end``, with an optional label at its middle shifted by ``offset``."""
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.3,
                                                          shrinkA=0, shrinkB=0))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text,
                ha=ha, va=va, fontsize=size, color=colour)


def circle(ax, x, y, text, *, r=0.15, size=10):
    """A small operator node: ⊙, +, tanh."""
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), r, fc="white", ec="#333333", lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size if len(text) == 1 else 9)
