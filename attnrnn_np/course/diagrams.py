"""The course's diagrams: drawn, not computed. Each ``draw_*`` returns a matplotlib Figure.

Every diagram is :data:`~attnrnn_np.course.figure_style.WIDTH_IN` inches
wide at :data:`~attnrnn_np.course.figure_style.DPI` (the width the site
shows it), with text of at least 9 pt, in the palette of
:mod:`attnrnn_np.course.figure_style`. The axes of a diagram are in inches,
so a box's width is its width on the page.
"""

from __future__ import annotations

import numpy as np

from .figure_style import (
    BWD_COLOUR,
    FWD_COLOUR,
    MESSAGE_COLOURS,
    WAVEFRONT_COLOURS,
    WIDTH_IN,
    arrow,
    box,
    circle,
    drawing,
    new_figure,
)

__all__ = ["draw_layer_diagram", "draw_lstm_cell_graph", "draw_lstm_cell_backward_graph", "draw_backward_messages",
           "draw_im2col_patches", "draw_wavefront_buffers", "draw_multiscale_diagram"]

GREY, YELLOW, GREEN, VIOLET = "#e8e8e8", "#fff2cc", "#e2f0d9", "#ede2f6"
FWD_FILL, BWD_FILL = "#dbe9f6", "#f8dcdc"


def _canvas(height):
    fig = new_figure(height)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, WIDTH_IN)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def _title(ax, height, text):
    ax.text(WIDTH_IN / 2, height - 0.08, text, ha="center", va="top", fontsize=10, weight="bold")


def draw_layer_diagram():
    """X, q → k×k convolution → the two scans → head → normalisation → A, with shapes (docs/model.md §3)."""
    height = 3.1
    fig, ax = _canvas(height)
    _title(ax, height, "AttentionRNN: one mask value per position, from two diagonal LSTM scans")
    box(ax, 0.45, 1.75, "X\n(N, H, W, C)", w=0.82, h=0.55, colour=GREY)
    box(ax, 0.45, 0.55, "q\n(N, Q)", w=0.82, h=0.5, colour=GREY)
    box(ax, 1.7, 1.75, "k×k conv\n+ b + q·W_q\n§3.1", w=1.08, h=0.8, colour=YELLOW)
    box(ax, 3.3, 2.35, "raster scan\nfwd, §3.2", w=1.3, h=0.62, colour=FWD_FILL, edge=FWD_COLOUR)
    box(ax, 3.3, 1.05, "inverse raster\nbwd, §3.3", w=1.3, h=0.62, colour=BWD_FILL, edge=BWD_COLOUR)
    box(ax, 4.95, 1.75, "head\nS = h·w + b\n§3.4", w=1.02, h=0.8, colour=GREEN)
    box(ax, 6.05, 1.75, "σ(S) or\nsoftmax\n§3.5", w=0.8, h=0.8, colour=VIOLET)
    box(ax, 6.95, 1.75, "A\n(N, H, W)", w=0.62, h=0.55, colour=GREY)
    arrow(ax, (0.86, 1.75), (1.16, 1.75))
    arrow(ax, (0.86, 0.55), (1.5, 1.35))
    arrow(ax, (2.24, 1.95), (2.65, 2.3), colour=FWD_COLOUR)
    arrow(ax, (2.24, 1.55), (2.65, 1.1), colour=BWD_COLOUR)
    ax.text(2.45, 2.55, "U_fwd", ha="center", fontsize=9, color=FWD_COLOUR)
    ax.text(2.45, 0.78, "U_bwd", ha="center", fontsize=9, color=BWD_COLOUR)
    ax.text(3.3, 1.7, "(N, H, W, 4K)\n→ (N, H, W, K)", ha="center", va="center", fontsize=9, color="#555555")
    arrow(ax, (3.95, 2.3), (4.44, 1.95), colour=FWD_COLOUR)
    arrow(ax, (3.95, 1.1), (4.44, 1.55), colour=BWD_COLOUR)
    ax.text(4.25, 2.4, "h_fwd", ha="center", fontsize=9, color=FWD_COLOUR)
    ax.text(4.25, 0.9, "h_bwd", ha="center", fontsize=9, color=BWD_COLOUR)
    arrow(ax, (5.46, 1.75), (5.65, 1.75))
    arrow(ax, (6.45, 1.75), (6.64, 1.75))
    ax.text(5.55, 1.3, "S", ha="center", fontsize=9)
    return fig


def _cell_layout(ax):
    """The boxes of the cell, gates top to bottom in the order i, f, g, o; returns the gates' right edges."""
    box(ax, 0.5, 1.75, "G\n(…, 4K)\nblocks\ni, f, g, o", w=0.85, h=1.05, colour=GREY)
    gates = {"i": ("i = σ(G_i)", 2.85), "f": ("f = σ(G_f)", 2.15), "g": ("g = tanh(G_g)", 1.45),
             "o": ("o = σ(G_o)", 0.6)}
    for text, y in gates.values():
        box(ax, 1.95, y, text, w=1.25, h=0.42, colour=YELLOW)
    return {name: (2.58, y) for name, (_, y) in gates.items()}


def draw_lstm_cell_graph():
    """The LSTM cell of docs/model.md §3.2 as a computation graph, gates in the order i, f, g, o."""
    height = 3.75
    fig, ax = _canvas(height)
    _title(ax, height, "The LSTM cell (§3.2): G = U[i,j] + h_up·W_up + h_left·W_left")
    right = _cell_layout(ax)
    for _, y in right.values():
        arrow(ax, (0.93, 1.75), (1.32, y))
    box(ax, 3.9, 3.2, "c_prev (from the cell to the left)", w=2.5, h=0.36, colour=GREY)
    circle(ax, 3.4, 2.5, "⊙")      # f ⊙ c_prev
    circle(ax, 3.4, 1.75, "⊙")     # i ⊙ g
    circle(ax, 4.3, 2.12, "+")
    circle(ax, 5.1, 1.2, "tanh", r=0.22)
    circle(ax, 6.0, 0.6, "⊙")
    arrow(ax, right["f"], (3.25, 2.47))
    arrow(ax, (3.4, 3.02), (3.4, 2.65))
    arrow(ax, right["i"], (3.27, 1.83))
    arrow(ax, right["g"], (3.27, 1.68))
    arrow(ax, (3.54, 2.45), (4.16, 2.17))
    arrow(ax, (3.54, 1.8), (4.16, 2.07))
    box(ax, 5.75, 2.12, "c (to the cell on the right)", w=2.0, h=0.36, colour=FWD_FILL, edge=FWD_COLOUR)
    arrow(ax, (4.45, 2.12), (4.75, 2.12))
    arrow(ax, (4.38, 1.99), (4.95, 1.37))
    arrow(ax, (5.25, 1.03), (5.88, 0.7))
    arrow(ax, right["o"], (5.85, 0.6))
    box(ax, 6.85, 0.6, "h (head,\nbelow, right)", w=0.85, h=0.55, colour=FWD_FILL, edge=FWD_COLOUR)
    arrow(ax, (6.15, 0.6), (6.42, 0.6))
    ax.text(4.6, 0.12, "c = f ⊙ c_prev + i ⊙ g      h = o ⊙ tanh(c)", ha="center", fontsize=9)
    return fig


def draw_lstm_cell_backward_graph():
    """The cell's backward pass (docs/backward.md §2) in its four steps, from dh and dc to dG and dc_prev."""
    height = 3.9
    fig, ax = _canvas(height)
    _title(ax, height, "The cell backward (backward.md §2): four steps, the forward graph read in reverse")
    box(ax, 1.5, 3.25, "dh: from the head, the cell below,\nthe cell to the right", w=2.6, h=0.55, colour=GREY)
    box(ax, 5.6, 3.25, "dc: the c_prev gradient of\nthe cell to the right", w=2.3, h=0.55, colour=GREY)
    box(ax, 1.5, 2.35, "step 1, h = o ⊙ tanh c:\ndo = dh ⊙ tanh c", w=2.6, h=0.55, colour=YELLOW)
    box(ax, 5.0, 2.35, "step 2, fan-out of c:\ndc_tot = dc + dh ⊙ o ⊙ (1 − tanh² c)", w=3.5, h=0.55, colour=YELLOW)
    box(ax, 5.0, 1.4, "step 3, c = f ⊙ c_prev + i ⊙ g:\ndi = dc_tot ⊙ g, df = dc_tot ⊙ c_prev,\n"
        "dg = dc_tot ⊙ i, dc_prev = dc_tot ⊙ f", w=3.5, h=0.8, colour=YELLOW)
    box(ax, 1.5, 1.4, "step 4, the activations:\ndG_i = di ⊙ i(1 − i), dG_f = df ⊙ f(1 − f),\n"
        "dG_g = dg ⊙ (1 − g²), dG_o = do ⊙ o(1 − o)", w=2.85, h=0.8, colour=YELLOW)
    box(ax, 1.5, 0.35, "dG = [dG_i, dG_f, dG_g, dG_o] = dU;\nsent up and left through W_upᵀ, W_leftᵀ",
        w=2.85, h=0.55, colour=GREEN)
    box(ax, 5.0, 0.35, "dc_prev: to the cell on the left", w=2.4, h=0.36, colour="#ffe6cc",
        edge=MESSAGE_COLOURS["dc_left"])
    arrow(ax, (1.5, 2.97), (1.5, 2.63))
    arrow(ax, (2.3, 2.97), (3.6, 2.63))
    arrow(ax, (5.6, 2.97), (5.3, 2.63))
    arrow(ax, (5.0, 2.07), (5.0, 1.8))
    arrow(ax, (3.25, 1.4), (2.93, 1.4))
    arrow(ax, (1.5, 2.07), (1.5, 1.8), text="do", offset=(0.12, -0.08), ha="left")
    arrow(ax, (1.5, 1.0), (1.5, 0.63))
    arrow(ax, (5.0, 1.0), (5.0, 0.53), colour=MESSAGE_COLOURS["dc_left"])
    return fig


def draw_backward_messages(H=3, W=4):
    """The backward sweep of the raster scan: each cell sends dh up and left, and dc left."""
    with drawing():
        fig = new_figure(3.5)
        ax_map, ax = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[1, 1.15]))
        fig.subplots_adjust(left=0.07, right=0.995, top=0.86, bottom=0.2, wspace=0.04)
        colours = MESSAGE_COLOURS
        for i in range(H):
            for j in range(W):
                ax_map.add_patch(_square(j, i))
                ax_map.text(j, i, f"{(H * W - 1) - (i * W + j)}", ha="center", va="center", fontsize=9,
                            color="#555555")
                if i > 0:
                    ax_map.annotate("", xy=(j - 0.1, i - 0.66), xytext=(j - 0.1, i - 0.3),
                                    arrowprops=dict(arrowstyle="-|>", color=colours["dh_up"], lw=1.5))
                if j > 0:
                    ax_map.annotate("", xy=(j - 0.66, i - 0.08), xytext=(j - 0.3, i - 0.08),
                                    arrowprops=dict(arrowstyle="-|>", color=colours["dh_left"], lw=1.5))
                    ax_map.annotate("", xy=(j - 0.66, i + 0.12), xytext=(j - 0.3, i + 0.12),
                                    arrowprops=dict(arrowstyle="-|>", color=colours["dc_left"], lw=1.5))
        ax_map.set_xlim(-0.6, W - 0.4)
        ax_map.set_ylim(H - 0.4, -0.6)
        ax_map.set_aspect("equal")
        ax_map.set_xticks(range(W))
        ax_map.set_yticks(range(H))
        ax_map.set_xlabel("column j")
        ax_map.set_ylabel("row i")
        ax_map.set_title("the order of the backward visits\n(reverse raster order)")
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=colours["dh_up"], lw=2, label="dh up: dG · W_upᵀ"),
                   Line2D([], [], color=colours["dh_left"], lw=2, label="dh left: dG · W_leftᵀ"),
                   Line2D([], [], color=colours["dc_left"], lw=2, label="dc left: dc_prev")]
        fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False)
        ax.set_xlim(0, 4.4)
        ax.set_ylim(0, 3.0)
        ax.axis("off")
        box(ax, 1.95, 1.45, "cell (i, j)\ndG, dc_prev =\ncell backward\n(dh_tot, dc_tot)", w=1.35, h=0.95,
            colour=YELLOW)
        box(ax, 1.95, 2.75, "cell (i−1, j)", w=1.1, h=0.32, colour=GREEN)
        box(ax, 0.42, 1.45, "cell\n(i, j−1)", w=0.78, h=0.55, colour=VIOLET)
        box(ax, 1.95, 0.22, "dh from the head,\ndG[i+1,j]·W_upᵀ from below", w=2.2, h=0.42, colour=GREY)
        box(ax, 3.6, 1.45, "from the right:\ndG[i,j+1]·W_leftᵀ\nand dc_prev", w=1.55, h=0.7, colour=GREY)
        arrow(ax, (1.95, 1.93), (1.95, 2.58), colour=colours["dh_up"])
        arrow(ax, (1.27, 1.6), (0.82, 1.6), colour=colours["dh_left"])
        arrow(ax, (1.27, 1.3), (0.82, 1.3), colour=colours["dc_left"])
        arrow(ax, (1.95, 0.44), (1.95, 0.97))
        arrow(ax, (2.82, 1.45), (2.63, 1.45))
        ax.set_title("one cell: what it receives and sends;\nevery cell receives from two, so messages add (+=)")
    return fig


def _square(j, i, size=0.6, fc="#f7f7f7"):
    from matplotlib.patches import Rectangle

    return Rectangle((j - size / 2, i - size / 2), size, size, fc=fc, ec="#333333")


def draw_im2col_patches():
    """im2col for k = 3: a 4×5 map, zero-padded by p = 1, and two output cells' rows of the patch matrix P."""
    from matplotlib.patches import Rectangle

    H, W, p, s = 4, 5, 1, 0.32
    height = 3.5
    fig, ax = _canvas(height)
    _title(ax, height, "im2col (k = 3): row (i, j) of P is the 3×3 window of X around (i, j), zeros outside")
    x0, y0 = 0.35, 2.75                               # top-left corner of the padded map, in inches
    windows = {(0, 1): "#444444", (2, 3): "#b8860b"}     # two output cells (not the directions' colours)
    for a in range(-p, H + p):
        for b in range(-p, W + p):
            inside = 0 <= a < H and 0 <= b < W
            ax.add_patch(Rectangle((x0 + (b + p) * s, y0 - (a + p) * s - s), s, s, fc="white" if inside else
                                   "#eeeeee", ec="#999999", lw=0.8, ls="-" if inside else ":"))
            ax.text(x0 + (b + p + 0.5) * s, y0 - (a + p + 0.5) * s, f"{a},{b}" if inside else "0",
                    ha="center", va="center", fontsize=9, color="#333333" if inside else "#888888")
    for (i, j), colour in windows.items():
        ax.add_patch(Rectangle((x0 + j * s, y0 - (i + 3) * s), 3 * s, 3 * s, fill=False, ec=colour, lw=2.2))
    ax.text(x0 + (W + 2 * p) * s / 2, y0 - (H + 2 * p) * s - 0.22, "X (C = 1): cells a,b; grey: the padding",
            ha="center", fontsize=9)
    # the patch matrix: one row per output cell, one column per tap (u, v)
    px, py, cw = 3.6, 2.55, 0.4
    ax.text(px - 0.05, py + 0.28, "tap (u, v):", ha="right", va="center", fontsize=9)
    for t in range(9):
        ax.text(px + (t + 0.5) * cw, py + 0.28, f"{t // 3},{t % 3}", ha="center", va="center", fontsize=9)
    for row, ((i, j), colour) in enumerate(windows.items()):
        y = py - row * 0.55
        ax.text(px - 0.05, y, f"P row ({i}, {j})", ha="right", va="center", fontsize=9, color=colour)
        for t in range(9):
            a, b = i + t // 3 - p, j + t % 3 - p
            inside = 0 <= a < H and 0 <= b < W
            ax.add_patch(Rectangle((px + t * cw, y - 0.2), cw, 0.4, fc="white" if inside else "#eeeeee",
                                   ec=colour, lw=1.0))
            ax.text(px + (t + 0.5) * cw, y, f"{a},{b}" if inside else "0", ha="center", va="center", fontsize=9)
    ax.text(px + 4.5 * cw, py - 1.25, "P: N·H·W rows × k·k·C columns (here 20 × 9);\n"
            "P[(n,i,j), (u,v,m)] = X[n, i+u−p, j+v−p, m]\nU = P · W_x, with W_x reshaped to (k·k·C, 4K)",
            ha="center", va="top", fontsize=9)
    return fig


def draw_wavefront_buffers(H=4, W=5, t=4):
    """One wavefront step: diagonal t reads diagonal t − 1 from the row-indexed buffer (backward.md §5)."""
    from matplotlib.patches import Patch, Rectangle

    lo, hi = max(0, t - W + 1), min(t, H - 1)
    s, height = 0.4, 3.6
    fig, ax = _canvas(height)
    _title(ax, height, f"Wavefront step t = {t}: each row's latest state sits in one buffer slot")
    x0, y0 = 0.3, 2.95
    colours = WAVEFRONT_COLOURS
    for i in range(H):
        for j in range(W):
            d = i + j
            state = "computed now" if d == t else "in the buffers" if d == t - 1 else "done" if d < t else "waiting"
            ax.add_patch(Rectangle((x0 + j * s, y0 - (i + 1) * s), s, s, fc=colours[state], ec="#555555"))
            ax.text(x0 + (j + 0.5) * s, y0 - (i + 0.5) * s, f"{i},{j}", ha="center", va="center", fontsize=9)
    ax.text(x0 + W * s / 2, y0 + 0.12, "the map (cells i,j)", ha="center", fontsize=9)
    handles = [Patch(fc=c, ec="#555555", label=name) for name, c in colours.items()]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=2, frameon=False,
              fontsize=9, handlelength=1.2, columnspacing=0.8)
    bx, by, bh = 3.75, 2.95, 0.42                     # the buffer: slots 0 … H, top to bottom
    ax.text(bx + 0.65, by + 0.12, "h_buf (one slot per row + 1)", ha="center", fontsize=9)
    for r in range(H + 1):
        label = "buf[0]: zeros (above the map)" if r == 0 else f"buf[{r}]: h of ({r - 1},{t - 1 - (r - 1)})"
        if r > 0 and not 0 <= t - 1 - (r - 1) < W:
            label = f"buf[{r}]: row {r - 1}, no cell on t − 1"
        ax.add_patch(Rectangle((bx, by - (r + 1) * bh), 1.3, bh, fc=colours["in the buffers"] if r else "#f2f2f2",
                               ec="#555555"))
        ax.text(bx + 0.65, by - (r + 0.5) * bh, label.split(": ")[0], ha="center", va="center", fontsize=9)
        ax.text(bx + 1.38, by - (r + 0.5) * bh, label.split(": ")[1], ha="left", va="center", fontsize=9)
    i = 1                                             # one cell of diagonal t and its two reads
    cell = (x0 + (t - i + 0.5) * s, y0 - (i + 0.5) * s)
    for slot, name, colour in ((i, "h_up", "#333333"), (i + 1, "h_left", "#8c564b")):
        target = (bx, by - (slot + 0.5) * bh)
        arrow(ax, target, (cell[0] + 0.2, cell[1] + (0.08 if slot == i else -0.08)), colour=colour)
        ax.text(bx - 0.08, target[1] + 0.12, f"{name} = buf[{slot}]", ha="right", va="bottom", fontsize=9,
                color=colour)
    ax.text(bx + 0.65, by - (H + 1) * bh - 0.2,
            f"cell (i, t−i) reads h_up = buf[i], h_left = buf[i+1];\nthe whole diagonal: buf[lo : hi+1] and "
            f"buf[lo+1 : hi+2]\n(lo = {lo}, hi = {hi}): two slices, one matrix product", ha="center", va="top",
            fontsize=9)
    return fig


def draw_multiscale_diagram(scales=(1, 2, 4)):
    """The multi-scale layer (docs/model.md §5): one ARNN per scale on a pooled map, a combiner, one mask."""
    height = 3.5
    fig, ax = _canvas(height)
    _title(ax, height, "The multi-scale layer (§5): one ARNN per scale γ, mixed by a per-position softmax")
    box(ax, 0.42, 1.9, "X\n(N, H, W, C)", w=0.8, h=0.55, colour=GREY)
    rows = np.linspace(2.75, 1.35, len(scales))
    for gamma, y in zip(scales, rows, strict=True):
        box(ax, 1.5, y, f"max-pool γ = {gamma}" if gamma > 1 else "γ = 1: X itself", w=1.15, h=0.36,
            colour=YELLOW)
        box(ax, 2.75, y, f"ARNN_{gamma}: S_{gamma}", w=1.0, h=0.36, colour=FWD_FILL, edge=FWD_COLOUR)
        box(ax, 4.05, y, f"upsample ×{gamma}: Up_{gamma}", w=1.38, h=0.36, colour=GREEN)
        arrow(ax, (0.82, 1.9), (0.92, y))
        arrow(ax, (2.08, y), (2.25, y))
        arrow(ax, (3.25, y), (3.36, y))
        arrow(ax, (4.74, y), (5.07, 2.05))
        ax.text(2.75, y - 0.3, f"(N, H/{gamma}, W/{gamma})" if gamma > 1 else "(N, H, W)", ha="center",
                fontsize=9, color="#555555")
    box(ax, 5.6, 2.05, "S = Σ_s β_s\n· Up_γs", w=1.05, h=0.6, colour=VIOLET)
    box(ax, 2.9, 0.45, "combiner: β = softmax over scales of X·V + b_comb\n(per position; V = comb.V, "
        "b_comb = comb.c)", w=4.0, h=0.55, colour="#fde9d9")
    arrow(ax, (0.42, 1.62), (0.9, 0.72))
    arrow(ax, (4.9, 0.5), (5.5, 1.75), text="β", offset=(0.12, 0.0), ha="left")
    box(ax, 6.75, 2.05, "σ or\nsoftmax\n→ A", w=0.85, h=0.7, colour=GREY)
    arrow(ax, (6.13, 2.05), (6.32, 2.05))
    return fig
