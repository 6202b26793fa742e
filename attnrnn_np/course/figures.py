"""The course's pictures, drawn by the package: ``attnrnn-np figures --out DIR``.

Eight files, all from one seed (docs/course.md lists them): the layer as a
block diagram, the LSTM cell as a computation graph, the scan order of both
directions and an animated GIF of the wavefront, the messages of the
backward sweep, the receptive field of one mask value from real gradients,
masks over images with a colour bar, and ``arnn`` against ``arnn-ind``
masks side by side.

Matplotlib is imported inside the functions only (``import attnrnn_np``
never imports it), and figures are drawn on the Agg canvas with no display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..arnn import arnn_backward, arnn_forward, init_arnn_params
from ..atomic import write_atomic
from ..backend import to_numpy
from ..scan import diagonals

__all__ = ["FIGURES", "write_figures", "layer_diagram", "lstm_cell_graph", "scan_order", "wavefront_gif",
           "backward_messages", "field_of_one_mask_value", "receptive_field", "trained_masks", "masks_over_images", "arnn_vs_arnn_ind"]

FIGURES = ("layer_diagram.png", "lstm_cell_graph.png", "scan_order.png", "wavefront.gif",
           "backward_messages.png", "receptive_field.png", "masks_over_images.png", "arnn_vs_arnn_ind.png")

FWD_COLOUR, BWD_COLOUR = "#1f77b4", "#d62728"


def _figure(width, height, dpi=110):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    write_atomic(path, lambda f: fig.savefig(f, format="png", facecolor="white"))
    return path


def _box(ax, x, y, text, *, w=1.6, h=0.7, colour="#f2f2f2", edge="#333333", size=9):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03,rounding_size=0.08",
                                fc=colour, ec=edge, lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def _arrow(ax, start, end, *, colour="#333333", text=None, size=8, offset=(0.0, 0.15)):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.3,
                                                          shrinkA=0, shrinkB=0))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text,
                ha="center", va="bottom", fontsize=size, color=colour)


def layer_diagram(path):
    """X → convolution → both scans → head → normalisation → A, with shapes (docs/model.md §3)."""
    fig = _figure(12, 4.2)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 16)
    ax.set_ylim(0, 5.6)
    ax.axis("off")
    _box(ax, 1.1, 2.8, "X\n(N, H, W, C)", w=1.7, colour="#e8e8e8")
    _box(ax, 1.1, 0.9, "query q\n(N, Q)", w=1.7, colour="#e8e8e8")
    _box(ax, 3.9, 2.8, "k×k convolution\n+ b + q·W_q\n§3.1", w=2.2, h=1.2, colour="#fff2cc")
    _box(ax, 7.0, 4.2, "U_fwd (N, H, W, 4K)\nraster scan D_fwd\n§3.2", w=2.6, h=1.1, colour="#dbe9f6",
         edge=FWD_COLOUR)
    _box(ax, 7.0, 1.4, "U_bwd (N, H, W, 4K)\nrot180 · D_bwd · rot180\n§3.3", w=2.6, h=1.1, colour="#f8dcdc",
         edge=BWD_COLOUR)
    _box(ax, 10.3, 2.8, "head\nS = h_fwd·w[:K]\n+ h_bwd·w[K:] + b\n§3.4", w=2.4, h=1.4, colour="#e2f0d9")
    _box(ax, 13.0, 2.8, "normalise\nσ(S) or softmax\n§3.5", w=2.0, h=1.1, colour="#ede2f6")
    _box(ax, 15.2, 2.8, "A\n(N, H, W)", w=1.3, colour="#e8e8e8")
    _arrow(ax, (1.95, 2.8), (2.8, 2.8))
    _arrow(ax, (1.95, 0.9), (3.9, 2.2))
    _arrow(ax, (5.0, 3.1), (5.7, 4.0), colour=FWD_COLOUR)
    _arrow(ax, (5.0, 2.5), (5.7, 1.6), colour=BWD_COLOUR)
    _arrow(ax, (8.3, 4.0), (9.1, 3.3), colour=FWD_COLOUR, text="h_fwd (N, H, W, K)", offset=(0.5, 0.15))
    _arrow(ax, (8.3, 1.6), (9.1, 2.3), colour=BWD_COLOUR, text="h_bwd (N, H, W, K)", offset=(0.5, -0.45))
    _arrow(ax, (11.5, 2.8), (12.0, 2.8), text="S", offset=(0.0, 0.1))
    _arrow(ax, (14.0, 2.8), (14.55, 2.8))
    ax.text(8.0, 5.45, "AttentionRNN: one mask value per position, from two diagonal LSTM scans",
            ha="center", va="top", fontsize=11, weight="bold")
    return _save(fig, path)


def lstm_cell_graph(path):
    """The LSTM cell of §3.2 as a computation graph, gates in the order i, f, g, o."""
    fig = _figure(10, 5.6)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 7.1)
    ax.axis("off")
    ax.text(6, 6.95, "The LSTM cell (§3.2): gate pre-activations G = U[i,j] + h_up·W_up + h_left·W_left",
            ha="center", va="top", fontsize=11, weight="bold")
    _box(ax, 1.0, 3.4, "G\n(…, 4K)\nblocks\ni, f, g, o", w=1.2, h=1.2, colour="#e8e8e8")
    gates = [("f = σ(G_f)", 5.0), ("i = σ(G_i)", 3.9), ("g = tanh(G_g)", 2.8), ("o = σ(G_o)", 1.2)]
    for text, y in gates:
        _box(ax, 3.3, y, text, w=1.8, h=0.6, colour="#fff2cc")
        _arrow(ax, (1.6, 3.4), (2.4, y))
    _box(ax, 3.3, 6.1, "c_prev (from the cell to the left)", w=3.2, h=0.5, colour="#e8e8e8")
    for x, y, text in ((5.6, 5.5, "⊙"), (5.6, 3.35, "⊙"), (7.0, 4.4, "+"), (8.5, 2.6, "tanh"), (9.8, 1.2, "⊙")):
        ax.add_patch(_circle(x, y))
        ax.text(x, y, text, ha="center", va="center", fontsize=10 if len(text) == 1 else 7)
    _arrow(ax, (4.2, 5.0), (5.36, 5.42))
    _arrow(ax, (4.9, 6.0), (5.45, 5.7))
    _arrow(ax, (4.2, 3.9), (5.36, 3.45))
    _arrow(ax, (4.2, 2.8), (5.36, 3.25))
    _arrow(ax, (5.82, 5.38), (6.8, 4.56))
    _arrow(ax, (5.84, 3.45), (6.78, 4.28))
    _box(ax, 9.0, 4.4, "c (→ the cell to the right)", w=2.6, h=0.5, colour="#dbe9f6", edge=FWD_COLOUR)
    _arrow(ax, (7.25, 4.4), (7.7, 4.4))
    _arrow(ax, (7.15, 4.2), (8.32, 2.78))
    _arrow(ax, (8.68, 2.42), (9.62, 1.38))
    _arrow(ax, (4.2, 1.2), (9.55, 1.2))
    _box(ax, 11.1, 1.2, "h (→ head,\nbelow, right)", w=1.6, h=0.8, colour="#dbe9f6", edge=FWD_COLOUR)
    _arrow(ax, (10.05, 1.2), (10.3, 1.2))
    ax.text(6.0, 0.25, "c = f ⊙ c_prev + i ⊙ g        h = o ⊙ tanh(c)        backward: the same graph, "
            "arrows reversed (docs/backward.md)", ha="center", fontsize=9)
    return _save(fig, path)


def _circle(x, y, r=0.25):
    from matplotlib.patches import Circle

    return Circle((x, y), r, fc="white", ec="#333333", lw=1.2)


def _grid(ax, values, title, *, cmap, fmt="{}", vmax=None):
    H, W = values.shape
    ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax if vmax is not None else values.max())
    top = vmax if vmax is not None else values.max()
    for i in range(H):
        for j in range(W):
            ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center", fontsize=9,
                    color="white" if values[i, j] > 0.6 * top else "black")
    ax.set_xticks(range(W))
    ax.set_yticks(range(H))
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
    ax.set_title(title, fontsize=9)


def scan_order(path, H=4, W=5):
    """Raster and inverse-raster order (H·W steps) and the wavefront step of each cell (H + W − 1 steps)."""
    fig = _figure(11, 6.6)
    axes = fig.subplots(2, 2)
    i, j = np.indices((H, W))
    raster = i * W + j
    _grid(axes[0, 0], raster, f"raster (fwd): step of each cell, {H * W} steps\nreads the cells above and left",
          cmap="Blues")
    _grid(axes[0, 1], H * W - 1 - raster, f"inverse raster (bwd): {H * W} steps, from the bottom-right\n"
          "reads the cells below and right (§3.3)", cmap="Reds")
    _grid(axes[1, 0], i + j, f"wavefront (fwd): step t = i + j, {H + W - 1} steps\none anti-diagonal per step",
          cmap="Blues")
    _grid(axes[1, 1], (H - 1 - i) + (W - 1 - j), f"wavefront (bwd): t = (H−1−i) + (W−1−j), {H + W - 1} steps",
          cmap="Reds")
    for ax, colour, (di, dj) in ((axes[0, 0], FWD_COLOUR, (1, 1)), (axes[0, 1], BWD_COLOUR, (-1, -1))):
        ci, cj = (1, 2)
        ax.annotate("", xy=(cj, ci), xytext=(cj, ci - di), arrowprops=dict(arrowstyle="-|>", color=colour, lw=2))
        ax.annotate("", xy=(cj, ci), xytext=(cj - dj, ci), arrowprops=dict(arrowstyle="-|>", color=colour, lw=2))
    fig.tight_layout()
    return _save(fig, path)


def wavefront_gif(path, H=5, W=6, fps=2):
    """The wavefront of both directions, one frame per step: done, current diagonal, waiting."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.colors import ListedColormap

    fig = _figure(8, 3.6, dpi=80)
    axes = fig.subplots(1, 2)
    cmap = ListedColormap(["#ffffff", "#bdbdbd", "#ff9f1c"])   # waiting, done, computing now
    i, j = np.indices((H, W))
    steps = {"raster direction (fwd)": i + j, "inverse-raster direction (bwd)": (H - 1 - i) + (W - 1 - j)}
    images = []
    for ax, (title, t_map) in zip(axes, steps.items()):
        images.append((ax.imshow(np.zeros((H, W)), cmap=cmap, vmin=0, vmax=2), t_map))
        ax.set_title(title, fontsize=9)
        ax.set_xticks(np.arange(-0.5, W), minor=True)
        ax.set_yticks(np.arange(-0.5, H), minor=True)
        ax.grid(which="minor", color="#555555", lw=0.8)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    label = fig.suptitle("", fontsize=10)
    n_steps = len(diagonals(H, W))

    def frame(t):
        for image, t_map in images:
            image.set_data(np.where(t_map < t, 1, np.where(t_map == t, 2, 0)))
        label.set_text(f"wavefront step {t + 1} of {n_steps} (t = {t}): the orange cells are computed at once"
                       if t < n_steps else f"done: {H}×{W} = {H * W} cells in {n_steps} sequential steps")
        return [image for image, _ in images] + [label]

    animation = FuncAnimation(fig, frame, frames=range(n_steps + 1), blit=False)
    animation.save(path, writer=PillowWriter(fps=fps))
    return path


def backward_messages(path, H=3, W=4):
    """The backward sweep of the raster scan: each cell sends dh up and left, and dc left."""
    fig = _figure(11.5, 5.2)
    ax_map, ax_cell = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[1.1, 1]))
    fig.subplots_adjust(left=0.05, right=0.99, top=0.86, bottom=0.1, wspace=0.08)
    for i in range(H):
        for j in range(W):
            ax_map.add_patch(_square(j, i))
            ax_map.text(j, i, f"visit\n{(H * W - 1) - (i * W + j)}", ha="center", va="center", fontsize=8,
                        color="#555555")
            if i > 0:
                ax_map.annotate("", xy=(j - 0.08, i - 0.62), xytext=(j - 0.08, i - 0.3),
                                arrowprops=dict(arrowstyle="-|>", color="#2ca02c", lw=1.5))
            if j > 0:
                ax_map.annotate("", xy=(j - 0.62, i - 0.05), xytext=(j - 0.3, i - 0.05),
                                arrowprops=dict(arrowstyle="-|>", color="#9467bd", lw=1.5))
                ax_map.annotate("", xy=(j - 0.62, i + 0.1), xytext=(j - 0.3, i + 0.1),
                                arrowprops=dict(arrowstyle="-|>", color="#ff7f0e", lw=1.5))
    ax_map.set_xlim(-0.6, W - 0.4)
    ax_map.set_ylim(H - 0.4, -0.6)
    ax_map.set_aspect("equal")
    ax_map.set_xticks(range(W))
    ax_map.set_yticks(range(H))
    ax_map.set_xlabel("column j")
    ax_map.set_ylabel("row i")
    ax_map.set_title("the backward sweep of the raster scan: cells visited in reverse raster order\n"
                     "green: dh up (dG·W_upᵀ)   purple: dh left (dG·W_leftᵀ)   orange: dc left (dc_prev)",
                     fontsize=9)
    ax = ax_cell
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 8.3)
    ax.axis("off")
    _box(ax, 6.0, 4.0, "cell (i, j)\ndG, dc_prev =\nLSTMCellBackward(\n dh_total, dc_total)", w=3.4, h=2.2,
         colour="#fff2cc", size=8)
    _box(ax, 6.0, 7.3, "cell (i−1, j): its dh_total", w=3.6, h=0.6, colour="#e2f0d9", size=8)
    _box(ax, 1.5, 4.0, "cell (i, j−1):\nits dh_total\nand dc_total", w=2.6, h=1.3, colour="#ede2f6", size=8)
    _box(ax, 6.0, 0.7, "from the head: dh[i, j]\nfrom below: dG[i+1,j]·W_upᵀ", w=4.2, h=0.9, colour="#e8e8e8", size=8)
    _box(ax, 9.6, 2.3, "from the right:\ndG[i,j+1]·W_leftᵀ\nand its dc_prev", w=2.4, h=1.2, colour="#e8e8e8",
         size=8)
    _arrow(ax, (6.0, 5.1), (6.0, 7.0), colour="#2ca02c", text="dG · W_upᵀ", offset=(0.9, 0.0))
    _arrow(ax, (4.3, 4.4), (2.8, 4.4), colour="#9467bd", text="dG · W_leftᵀ", offset=(0.0, 0.2))
    _arrow(ax, (4.3, 3.6), (2.8, 3.6), colour="#ff7f0e", text="dc_prev", offset=(0.0, -0.55))
    _arrow(ax, (6.0, 1.15), (6.0, 2.9))
    _arrow(ax, (9.0, 2.9), (7.7, 3.4))
    ax.text(5.5, 8.25, "one cell's messages: every cell gets them from two cells,\n"
            "so they are added (+=), never assigned", ha="center", va="top", fontsize=9)
    return _save(fig, path)


def _square(j, i):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.3, i - 0.3), 0.6, 0.6, fc="#f7f7f7", ec="#333333")


def field_of_one_mask_value(*, seed=0, H=11, W=11, k=3, recurrent=True):
    """|∂A[i0,j0]/∂X| (H, W), summed over channels, at the centre (i0, j0), from arnn_backward.

    A random layer (C = 2, K = 4) and a random map, both drawn from ``seed``.
    """
    C, K = 2, 4
    X = np.random.default_rng(seed).normal(size=(1, H, W, C))
    params = init_arnn_params(C, K, kernel_size=k, seed=seed)
    A, cache = arnn_forward(X, params, recurrent=recurrent)
    dA = np.zeros_like(A)
    dA[0, H // 2, W // 2] = 1.0
    return np.abs(to_numpy(arnn_backward(dA, cache)[0])).sum(axis=-1)[0]


def receptive_field(path, *, seed=0, H=11, W=11, k=3):
    """|∂A[i,j]/∂X| summed over channels, from arnn_backward, with docs/model.md §4's region outlined."""
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Polygon

    i0, j0 = H // 2, W // 2
    p = (k - 1) // 2
    fig = _figure(10, 4.6)
    axes = fig.subplots(1, 2)
    for ax, recurrent in zip(axes, (True, False)):
        field = field_of_one_mask_value(seed=seed, H=H, W=W, k=k, recurrent=recurrent)
        shown = np.where(field > 0, field, np.nan)
        image = ax.imshow(shown, cmap="viridis", norm=LogNorm(vmin=np.nanmin(shown), vmax=np.nanmax(shown)))
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="|∂A[i,j]/∂X| (summed over channels)")
        ax.plot(j0, i0, marker="*", color="white", markersize=12, markeredgecolor="black")
        if recurrent:
            up = [(-0.5, -0.5), (j0 + p + 0.5, -0.5), (j0 + p + 0.5, i0 + p + 0.5), (-0.5, i0 + p + 0.5)]
            down = [(j0 - p - 0.5, i0 - p - 0.5), (W - 0.5, i0 - p - 0.5), (W - 0.5, H - 0.5), (j0 - p - 0.5, H - 0.5)]
            ax.add_patch(Polygon(up, fill=False, ec=FWD_COLOUR, lw=2, ls="--", label="raster: a ≤ i+p, b ≤ j+p"))
            ax.add_patch(Polygon(down, fill=False, ec=BWD_COLOUR, lw=2, ls="--",
                                 label="inverse raster: a ≥ i−p, b ≥ j−p"))
            ax.legend(loc="lower left", fontsize=7, framealpha=0.9)
            ax.set_title(f"AttentionRNN (k = {k}): the union of two quadrants (§4)", fontsize=9)
        else:
            box = [(j0 - p - 0.5, i0 - p - 0.5), (j0 + p + 0.5, i0 - p - 0.5), (j0 + p + 0.5, i0 + p + 0.5),
                   (j0 - p - 0.5, i0 + p + 0.5)]
            ax.add_patch(Polygon(box, fill=False, ec="black", lw=2, ls="--"))
            ax.set_title("recurrent=False: the k×k neighbourhood only", fontsize=9)
        ax.set_xlabel("column b")
        ax.set_ylabel("row a")
    fig.suptitle(f"What can change the mask value A[{i0}, {j0}] (★): real gradients, sigmoid mask", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


# --------------------------------------------------------------------------
# trained masks: a shrunk MREF, both models briefly, from one seed
# --------------------------------------------------------------------------

def trained_masks(*, seed=0, steps=1200, n_train=4000, n_test=200, n_show=6):
    """Train ``arnn`` and ``arnn-ind`` briefly on a shrunk MREF; their masks on test images.

    The recipe of notebook 05: a 16×16 canvas with two digits (a 4×4
    attention grid, chance 1/2), Adam at lr 3e-3, batches of 64, one BLAS
    thread. Returns ``(images, {model: (A, predictions, accuracy)}, queries,
    labels, boxes)`` for ``n_show`` test images.
    """
    from ..learn.models import model_forward
    from ..learn.tasks import load_task
    from ..learn.train import TrainConfig, blas_threads, model_config, train

    data = load_task("mref", n_train=n_train, n_test=n_test, seed=seed, cache_dir=None, canvas=16, n_digits=2,
                     scale_min=1.0, scale_max=1.25)
    test = data.test.batch(np.arange(n_show))
    rows = {}
    for model in ("arnn", "arnn-ind"):
        config = TrainConfig(task="mref", model=model, steps=steps, batch_size=min(64, n_train), n_train=n_train,
                             n_test=n_test, seed=seed, eval_every=steps)
        with blas_threads(1):
            result = train(config, data=data, progress=False)
        logits, A, _ = model_forward(result.state.params, test.X, test.q, model_config(config))
        rows[model] = (to_numpy(A), to_numpy(logits).argmax(axis=1), result.accuracy)
    return (to_numpy(test.X), rows, to_numpy(test.q).argmax(axis=1), to_numpy(test.y), to_numpy(test.box))


def _overlay_row(fig, axes, images, A, boxes, titles, vmax):
    from matplotlib.patches import Rectangle

    P = images.shape[1]
    up = A.repeat(P // A.shape[1], axis=1).repeat(P // A.shape[2], axis=2)
    image = None
    for n, ax in enumerate(axes):
        ax.imshow(images[n], interpolation="nearest")
        image = ax.imshow(up[n], cmap="magma", alpha=0.6, vmin=0.0, vmax=vmax, interpolation="nearest")
        t, l, b, r = boxes[n]
        ax.add_patch(Rectangle((l - 0.5, t - 0.5), r - l, b - t, fill=False, ec="white", lw=1))
        ax.set_title(titles[n], fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    return image


def masks_over_images(path, trained):
    """The ``arnn`` masks over test images, with a colour bar of the mask's weight."""
    from ..learn.tasks import PALETTE_NAMES

    images, rows, queries, labels, boxes = trained
    A, pred, accuracy = rows["arnn"]
    n = len(images)
    fig = _figure(1.9 * n + 1.2, 2.9)
    axes = fig.subplots(1, n)
    titles = [f"query {queries[m]} → {PALETTE_NAMES[pred[m]]} {'✓' if pred[m] == labels[m] else '✗'}"
              for m in range(n)]
    image = _overlay_row(fig, axes, images, A, boxes, titles, vmax=float(A.max()))
    fig.colorbar(image, ax=list(axes), fraction=0.02, pad=0.02, label="mask weight A")
    fig.suptitle(f"arnn masks over test images: a softmax over the 4×4 attention cells (white box: the "
                 f"queried digit; test accuracy {accuracy:.2f})", fontsize=9)
    return _save(fig, path)


def arnn_vs_arnn_ind(path, trained):
    """``arnn`` (with recurrence) against ``arnn-ind`` (without) on the same images, same seed and recipe."""
    from ..learn.tasks import PALETTE_NAMES

    images, rows, queries, labels, boxes = trained
    n = len(images)
    fig = _figure(1.9 * n + 1.2, 4.8)
    axes = fig.subplots(2, n)
    image = None
    vmax = max(float(rows[model][0].max()) for model in ("arnn", "arnn-ind"))   # one colour scale for both
    for row, model in enumerate(("arnn", "arnn-ind")):
        A, pred, accuracy = rows[model]
        titles = [f"query {queries[m]} → {PALETTE_NAMES[pred[m]]} {'✓' if pred[m] == labels[m] else '✗'}"
                  for m in range(n)]
        image = _overlay_row(fig, axes[row], images, A, boxes, titles, vmax=vmax)
        axes[row, 0].set_ylabel(f"{model}\naccuracy {accuracy:.2f}", fontsize=8)
    fig.colorbar(image, ax=list(axes.ravel()), fraction=0.02, pad=0.02, label="mask weight A")
    fig.suptitle("the same query and images: arnn (recurrent scans) against arnn-ind (recurrent=False)",
                 fontsize=9)
    return _save(fig, path)


def write_figures(out, *, seed=0, steps=1200, n_train=4000, n_test=200):
    """Write every picture of :data:`FIGURES` into ``out``; returns their paths.

    ``steps``, ``n_train`` and ``n_test`` size the brief training behind the
    last two pictures (the tests pass small values to stay fast).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [layer_diagram(out / "layer_diagram.png"), lstm_cell_graph(out / "lstm_cell_graph.png"),
             scan_order(out / "scan_order.png"), wavefront_gif(out / "wavefront.gif"),
             backward_messages(out / "backward_messages.png"),
             receptive_field(out / "receptive_field.png", seed=seed)]
    trained = trained_masks(seed=seed, steps=steps, n_train=n_train, n_test=n_test)
    paths += [masks_over_images(out / "masks_over_images.png", trained),
              arnn_vs_arnn_ind(out / "arnn_vs_arnn_ind.png", trained)]
    return paths
