"""The course's pictures, drawn by the package: ``attnrnn-np figures --out DIR``.

Twelve files, all from one seed: the layer as a block diagram, the LSTM
cell as a computation graph and its backward pass, the scan order of both
directions and an animated GIF of the wavefront, one wavefront step's
buffer slots, the im2col patch matrix, the messages of the backward sweep,
the receptive field of one mask value from real gradients, the multi-scale
layer as a diagram, masks over images with a colour bar, and ``arnn``
against ``arnn-ind`` masks side by side.

Every picture is drawn at the width the site shows it, with text of at
least 9 pt and one palette (:mod:`attnrnn_np.course.figure_style`); the
diagrams themselves are in :mod:`attnrnn_np.course.diagrams`. Each
``draw_*`` function returns the figure; the functions named after a file
write it, atomically. Matplotlib is imported inside the functions only
(``import attnrnn_np`` never imports it), and figures are drawn on the Agg
canvas with no display.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..arnn import arnn_backward, arnn_forward, init_arnn_params
from ..atomic import write_bytes_atomic
from ..backend import to_numpy
from ..scan import diagonals
from . import diagrams
from .figure_style import BWD_COLOUR, DPI, FWD_COLOUR, WAVEFRONT_COLOURS, drawing, new_figure, save_png

__all__ = ["FIGURES", "DRAWINGS", "write_figures", "layer_diagram", "lstm_cell_graph", "lstm_cell_backward_graph",
           "scan_order", "wavefront_gif", "wavefront_buffers", "im2col_patches", "backward_messages",
           "multiscale_diagram", "field_of_one_mask_value", "receptive_field", "trained_masks", "masks_over_images",
           "arnn_vs_arnn_ind", "draw_scan_order", "draw_receptive_field"]

FIGURES = ("layer_diagram.png", "lstm_cell_graph.png", "lstm_cell_backward_graph.png", "scan_order.png",
           "wavefront.gif", "wavefront_buffers.png", "im2col_patches.png", "backward_messages.png",
           "receptive_field.png", "multiscale_diagram.png", "masks_over_images.png", "arnn_vs_arnn_ind.png")


def layer_diagram(path):
    """X → convolution → both scans → head → normalisation → A, with shapes (docs/model.md §3)."""
    return save_png(diagrams.draw_layer_diagram(), path)


def lstm_cell_graph(path):
    """The LSTM cell of §3.2 as a computation graph, gates in the order i, f, g, o."""
    return save_png(diagrams.draw_lstm_cell_graph(), path)


def lstm_cell_backward_graph(path):
    """The cell's backward pass in its four steps (docs/backward.md §2)."""
    return save_png(diagrams.draw_lstm_cell_backward_graph(), path)


def backward_messages(path):
    """The backward sweep of the raster scan: each cell sends dh up and left, and dc left."""
    return save_png(diagrams.draw_backward_messages(), path)


def im2col_patches(path):
    """The im2col patch matrix for k = 3 (docs/backward.md §3)."""
    return save_png(diagrams.draw_im2col_patches(), path)


def wavefront_buffers(path):
    """One diagonal's buffer slots in the wavefront (docs/backward.md §5)."""
    return save_png(diagrams.draw_wavefront_buffers(), path)


def multiscale_diagram(path):
    """The multi-scale layer as a diagram (docs/model.md §5)."""
    return save_png(diagrams.draw_multiscale_diagram(), path)


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


def draw_scan_order(H=4, W=5):
    """Raster and inverse-raster order (H·W steps) and the wavefront step of each cell (H + W − 1 steps)."""
    with drawing():
        return _draw_scan_order(H, W)


def scan_order(path, H=4, W=5):
    """:func:`draw_scan_order`, written to ``path``."""
    return save_png(draw_scan_order(H, W), path)


def _draw_scan_order(H, W):
    fig = new_figure(6.2)
    axes = fig.subplots(2, 2)
    i, j = np.indices((H, W))
    raster = i * W + j
    _grid(axes[0, 0], raster, f"raster (fwd): {H * W} steps;\nreads the cells above and left", cmap="Blues")
    _grid(axes[0, 1], H * W - 1 - raster, f"inverse raster (bwd): {H * W} steps;\nreads below and right (§3.3)",
          cmap="Reds")
    _grid(axes[1, 0], i + j, f"wavefront (fwd): t = i + j,\n{H + W - 1} steps, one anti-diagonal each",
          cmap="Blues")
    _grid(axes[1, 1], (H - 1 - i) + (W - 1 - j), f"wavefront (bwd): t = (H−1−i) + (W−1−j),\n{H + W - 1} steps",
          cmap="Reds")
    for ax, colour, (di, dj) in ((axes[0, 0], FWD_COLOUR, (1, 1)), (axes[0, 1], BWD_COLOUR, (-1, -1))):
        ci, cj = (1, 2)
        ax.annotate("", xy=(cj, ci), xytext=(cj, ci - di), arrowprops=dict(arrowstyle="-|>", color=colour, lw=2))
        ax.annotate("", xy=(cj, ci), xytext=(cj - dj, ci), arrowprops=dict(arrowstyle="-|>", color=colour, lw=2))
    fig.suptitle("the step at which each cell is computed (the number in the cell)", fontsize=10)
    fig.tight_layout()
    return fig


def wavefront_gif(path, H=5, W=6, fps=2):
    """The wavefront of both directions, one frame per step: done, current diagonal, waiting."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    with drawing():
        fig = new_figure(3.3)
        axes = fig.subplots(1, 2)
    colours = WAVEFRONT_COLOURS
    cmap = ListedColormap([colours["waiting"], colours["done"], colours["computed now"]])
    i, j = np.indices((H, W))
    steps = {"raster direction (fwd)": i + j, "inverse-raster direction (bwd)": (H - 1 - i) + (W - 1 - j)}
    images = []
    for ax, (title, t_map) in zip(axes, steps.items(), strict=True):
        images.append((ax.imshow(np.zeros((H, W)), cmap=cmap, vmin=0, vmax=2), t_map))
        ax.set_title(title, fontsize=9)
        ax.set_xticks(np.arange(-0.5, W), minor=True)
        ax.set_yticks(np.arange(-0.5, H), minor=True)
        ax.grid(which="minor", color="#555555", lw=0.8)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    label = fig.suptitle("", fontsize=10)
    n_steps = len(diagonals(H, W))
    fig.legend(handles=[Patch(fc=colours[name], ec="#555555", label=name) for name in ("waiting", "done",
                                                                                       "computed now")],
               loc="lower center", ncol=3, frameon=False, fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.8, bottom=0.14, wspace=0.08)

    def frame(t):
        for image, t_map in images:
            image.set_data(np.where(t_map < t, 1, np.where(t_map == t, 2, 0)))
        label.set_text(f"wavefront step {t + 1} of {n_steps} (t = {t}):\nthe orange cells are computed at once"
                       if t < n_steps else f"done: {H}×{W} = {H * W} cells\nin {n_steps} sequential steps")
        return [image for image, _ in images] + [label]

    animation = FuncAnimation(fig, frame, frames=range(n_steps + 1), blit=False)
    with tempfile.TemporaryDirectory() as folder:   # the writer needs a file name; the result is written atomically
        temporary = Path(folder) / "wavefront.gif"
        animation.save(temporary, writer=PillowWriter(fps=fps), dpi=DPI)
        write_bytes_atomic(path, temporary.read_bytes())
    return path


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
    """:func:`draw_receptive_field`, written to ``path``."""
    return save_png(draw_receptive_field(seed=seed, H=H, W=W, k=k), path)


def draw_receptive_field(*, seed=0, H=11, W=11, k=3):
    """|∂A[i,j]/∂X| summed over channels, from arnn_backward, with docs/model.md §4's region outlined."""
    with drawing():
        return _draw_receptive_field(seed, H, W, k)


def _draw_receptive_field(seed, H, W, k):
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Polygon

    i0, j0 = H // 2, W // 2
    p = (k - 1) // 2
    fig = new_figure(4.3)
    axes = fig.subplots(1, 2)
    for ax, recurrent in zip(axes, (True, False), strict=True):
        field = field_of_one_mask_value(seed=seed, H=H, W=W, k=k, recurrent=recurrent)
        shown = np.where(field > 0, field, np.nan)
        image = ax.imshow(shown, cmap="viridis", norm=LogNorm(vmin=np.nanmin(shown), vmax=np.nanmax(shown)))
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="|∂A/∂X[a, b]|, summed over channels")
        ax.plot(j0, i0, marker="*", color="white", markersize=12, markeredgecolor="black")
        if recurrent:
            up = [(-0.5, -0.5), (j0 + p + 0.5, -0.5), (j0 + p + 0.5, i0 + p + 0.5), (-0.5, i0 + p + 0.5)]
            down = [(j0 - p - 0.5, i0 - p - 0.5), (W - 0.5, i0 - p - 0.5), (W - 0.5, H - 0.5), (j0 - p - 0.5, H - 0.5)]
            ax.add_patch(Polygon(up, fill=False, ec=FWD_COLOUR, lw=2, ls="--", label="fwd: a ≤ i+p, b ≤ j+p"))
            ax.add_patch(Polygon(down, fill=False, ec=BWD_COLOUR, lw=2, ls="--", label="bwd: a ≥ i−p, b ≥ j−p"))
            handles, labels = ax.get_legend_handles_labels()
            ax.set_title(f"AttentionRNN (k = {k}):\ntwo quadrants (§4)", fontsize=9)
        else:
            box = [(j0 - p - 0.5, i0 - p - 0.5), (j0 + p + 0.5, i0 - p - 0.5), (j0 + p + 0.5, i0 + p + 0.5),
                   (j0 - p - 0.5, i0 + p + 0.5)]
            ax.add_patch(Polygon(box, fill=False, ec="black", lw=2, ls="--"))
            ax.set_title("recurrent=False:\nthe k×k window only", fontsize=9)
        ax.set_xlabel("column b")
        ax.set_ylabel("row a")
    fig.suptitle(f"What can change the mask value A[{i0}, {j0}] (★): real gradients, sigmoid mask", fontsize=10)
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


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
        top, left, bottom, right = boxes[n]
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, ec="white", lw=1))
        ax.set_title(titles[n], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return image


def _titles(queries, pred, labels, names):
    return [f"q {queries[m]}:\n{names[pred[m]]} {'✓' if pred[m] == labels[m] else '✗'}" for m in range(len(pred))]


def draw_masks_over_images(trained):
    """The ``arnn`` masks over test images, with a colour bar of the mask's weight."""
    from ..learn.tasks import PALETTE_NAMES

    images, rows, queries, labels, boxes = trained
    A, pred, accuracy = rows["arnn"]
    with drawing():
        fig = new_figure(2.6)
        axes = fig.subplots(1, len(images))
        fig.subplots_adjust(left=0.01, right=0.88, top=0.66, bottom=0.03, wspace=0.08)
        image = _overlay_row(fig, axes, images, A, boxes, _titles(queries, pred, labels, PALETTE_NAMES),
                             vmax=float(A.max()))
        fig.colorbar(image, ax=list(axes), fraction=0.03, pad=0.02, label="mask weight A")
        fig.suptitle(f"arnn masks over test images (softmax over the 4×4 cells; white box: the queried digit;\n"
                     f"q: the query, then the answer given, ✓ right / ✗ wrong; test accuracy {accuracy:.2f})",
                     fontsize=9)
    return fig


def masks_over_images(path, trained):
    """:func:`draw_masks_over_images`, written to ``path``."""
    return save_png(draw_masks_over_images(trained), path)


def draw_arnn_vs_arnn_ind(trained):
    """``arnn`` (with recurrence) against ``arnn-ind`` (without) on the same images, same seed and recipe."""
    from ..learn.tasks import PALETTE_NAMES

    images, rows, queries, labels, boxes = trained
    n = len(images)
    vmax = max(float(rows[model][0].max()) for model in ("arnn", "arnn-ind"))   # one colour scale for both
    with drawing():
        fig = new_figure(4.2)
        axes = fig.subplots(2, n)
        fig.subplots_adjust(left=0.1, right=0.88, top=0.78, bottom=0.02, wspace=0.08, hspace=0.45)
        image = None
        for row, model in enumerate(("arnn", "arnn-ind")):
            A, pred, accuracy = rows[model]
            image = _overlay_row(fig, axes[row], images, A, boxes, _titles(queries, pred, labels, PALETTE_NAMES),
                                 vmax=vmax)
            axes[row, 0].set_ylabel(f"{model}\naccuracy {accuracy:.2f}", fontsize=9)
        fig.colorbar(image, ax=list(axes.ravel()), fraction=0.03, pad=0.02, label="mask weight A")
        fig.suptitle("the same queries and images: arnn (recurrent scans)\nagainst arnn-ind (recurrent=False)",
                     fontsize=10)
    return fig


def arnn_vs_arnn_ind(path, trained):
    """:func:`draw_arnn_vs_arnn_ind`, written to ``path``."""
    return save_png(draw_arnn_vs_arnn_ind(trained), path)


# The teaching figures that are drawn, not trained: name -> function returning the Figure
DRAWINGS = {
    "layer_diagram.png": diagrams.draw_layer_diagram,
    "lstm_cell_graph.png": diagrams.draw_lstm_cell_graph,
    "lstm_cell_backward_graph.png": diagrams.draw_lstm_cell_backward_graph,
    "scan_order.png": draw_scan_order,
    "wavefront_buffers.png": diagrams.draw_wavefront_buffers,
    "im2col_patches.png": diagrams.draw_im2col_patches,
    "backward_messages.png": diagrams.draw_backward_messages,
    "receptive_field.png": draw_receptive_field,
    "multiscale_diagram.png": diagrams.draw_multiscale_diagram,
}


def write_figures(out, *, seed=0, steps=1200, n_train=4000, n_test=200):
    """Write every picture of :data:`FIGURES` into ``out``; returns their paths.

    ``steps``, ``n_train`` and ``n_test`` size the brief training behind the
    last two pictures (the tests pass small values to stay fast).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in DRAWINGS.items():
        fig = draw(seed=seed) if name == "receptive_field.png" else draw()
        paths.append(save_png(fig, out / name))
    paths.append(wavefront_gif(out / "wavefront.gif"))
    trained = trained_masks(seed=seed, steps=steps, n_train=n_train, n_test=n_test)
    paths += [masks_over_images(out / "masks_over_images.png", trained),
              arnn_vs_arnn_ind(out / "arnn_vs_arnn_ind.png", trained)]
    return paths
