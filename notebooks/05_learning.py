# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Learning: the tasks, a short training run, and where the masks go wrong
#
# > * **You will learn** the MREF, MDIST and MBG tasks, how a digit's box maps
# > to the attention grid and what attention correctness measures, a short
# > training run of a small `arnn`, and how its masks go wrong.
# > * **You need** notebook 03; a minute of CPU time for the training cell.
# > * **About 30 minutes.** Next: notebook 06.
#
# The AttentionRNN is meant to sit inside a network and learn where to look.
# This notebook
#
# 1. generates the three tasks (MREF, MDIST, MBG: coloured handwritten digits,
#    a query naming one digit class, the answer its colour);
# 2. shows how the queried digit's box maps to the 8×8 attention grid, the
#    ground truth of the *attention correctness* metric;
# 3. trains a small `arnn` model on a smaller version of MREF (16×16
#    canvas, two digits; about 20 s on one core) and looks at its masks;
# 4. sorts the test images by how much mask mass lands on the queried digit,
#    to see what the failures look like.
#
# On the full task (32×32, three digits) every model first sits on a plateau
# for several hundred steps (see `docs/learning.md`), too long for a
# notebook; the small version gets past it in about a thousand cheap steps.
# `attnrnn-np demo --out demo_out` trains the full task to over 90% in 1.5–6
# minutes on 2 cores (88 s idle, 366 s loaded: `docs/learning.md` §6); the
# last cell shows that run's masks when its checkpoint is there. Without a
# query at all, the same six models classify a digit among clutter
# (`--task clutter`, `docs/learning.md` §9).

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from attnrnn_np.course.figure_style import use_teaching_style
from attnrnn_np.learn.figures import mask_overlay, plot_masks
from attnrnn_np.learn.metrics import attention_inside_mass, box_cells
from attnrnn_np.learn.models import model_forward
from attnrnn_np.learn.tasks import PALETTE_NAMES, load_task
from attnrnn_np.learn.train import TrainConfig, blas_threads, load_checkpoint, model_config, train

use_teaching_style()   # figures 7.3 in wide, the width the site shows them; text ≥ 9 pt

# %% [markdown]
# ## 1. The tasks
#
# Each image holds three digits of distinct classes in distinct colours. The
# query (a class, 0–9) names one of them; the label is its colour. MDIST adds
# coloured fragments of other digits as clutter, MBG puts everything on
# crops of photographs. The white box is the queried digit's ink box.

# %%
tasks = {name: load_task(name, n_train=8, n_test=8, seed=0, cache_dir=None) for name in ("mref", "mdist", "mbg")}
fig, axes = plt.subplots(3, 6, figsize=(7.3, 4.6))
for row, (name, data) in enumerate(tasks.items()):
    b = data.train.batch(np.arange(6))
    for n in range(6):
        ax = axes[row, n]
        ax.imshow(b.X[n], interpolation="nearest")
        t, l, bo, r = b.box[n]
        ax.add_patch(plt.Rectangle((l - 0.5, t - 0.5), r - l, bo - t, fill=False, ec="white"))
        ax.set_title(f"{name}: q={b.q[n].argmax()}\n→ {PALETTE_NAMES[b.y[n]]}", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# ## 2. The box on the attention grid
#
# The trunk (two conv + 2×2 max-pool blocks) turns the 32×32 canvas into an
# 8×8 map: each cell stands for a 4×4 pixel block. A cell counts as *inside*
# the queried digit when its block overlaps the digit's box. Attention
# correctness is the share of the (normalised) mask on inside cells; a
# uniform mask scores the share of inside cells, about 0.2.

# %%
b = tasks["mref"].test.batch(np.arange(4))
inside = box_cells(b.box, 32, (8, 8))
fig, axes = plt.subplots(1, 4, figsize=(7.3, 2.4))
for n, ax in enumerate(axes):
    ax.imshow(b.X[n] * 0.6, interpolation="nearest")
    ax.imshow(mask_overlay(inside[n:n + 1].astype(float), 32)[0], cmap="Greens", alpha=0.45, vmin=0, vmax=1)
    ax.set_title(f"q={b.q[n].argmax()}: {inside[n].sum()} cells\n= {inside[n].mean():.2f} of the map", fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# ## 3. A short training run
#
# MREF shrunk to a 16×16 canvas with two digits upscaled 1–1.25× (8–10 px),
# so the trunk's map is 4×4 and chance is 1/2. `arnn` (K = 16, k = 1) with
# the demo's recipe (Adam, lr 3e-3, batches of 64) for 1200 steps on 4000
# training images, evaluated on 400 test images of unseen handwriting. One
# BLAS thread, as in the demo.

# %%
config = TrainConfig(task="mref", model="arnn", steps=1200, batch_size=64, n_train=4000, n_test=400, seed=0,
                     eval_every=400)
data = load_task("mref", n_train=config.n_train, n_test=config.n_test, seed=0, cache_dir=None,
                 canvas=16, n_digits=2, scale_min=1.0, scale_max=1.25)
t0 = time.perf_counter()
with blas_threads(1):
    result = train(config, data=data, progress=False)
print(f"{time.perf_counter() - t0:.1f} s; test accuracy {result.accuracy:.3f}, "
      f"attention correctness {result.attention_correctness:.3f}")
assert result.accuracy > 0.7, "the short run should be well past chance (0.5)"

# %% [markdown]
# The masks on six test images: brighter cells get more weight. The title
# of each mask says the predicted colour and whether it is right.

# %%
mconfig = model_config(config)
test = data.test.batch(np.arange(len(data.test)))
logits, A, _ = model_forward(result.state.params, test.X, test.q, mconfig)
pred = logits.argmax(axis=1)
def mask_grid(fig):
    """plot_masks's figure at the site's text size, with a colour bar for the mask's weight."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    for ax in fig.axes:
        ax.title.set_fontsize(9)
        title = ax.get_title()                             # the answers on lines of their own
        ax.set_title(title.replace("arnn: ", "arnn:\n").replace("\nanswer ", "\nanswer:\n"), fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    fig.colorbar(ScalarMappable(Normalize(0, 1), cmap="magma"), ax=fig.axes, fraction=0.03, pad=0.02,
                 label="mask / its max")
    return fig


show = np.arange(6)
mask_grid(plot_masks(test.X[show], {"arnn": (A[show], pred[show])}, test.q[show].argmax(axis=1), test.y[show],
                     test.box[show], axes_size=7.3 / 6))

# %% [markdown]
# ## 4. Where it goes wrong
#
# Per image, the share of mask mass inside the queried digit's cells (on
# the 4×4 grid of this small canvas a digit touches many cells, so the
# numbers run high), split into quarters of the test set. The quarter whose
# masks sit most on the digit answers best; the six images with the least
# mass on the digit show what the errors look like: a mask on the other
# digit, or spread over both.

# %%
mass = attention_inside_mass(A, test.box, data.test.images.shape[1])
right = pred == test.y
edges = np.quantile(mass, [0.0, 0.25, 0.5, 0.75, 1.0])
for q, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True), start=1):
    sel = (mass >= lo) & ((mass < hi) if q < 4 else (mass <= hi))
    print(f"quarter {q}: mass inside in [{lo:.2f}, {hi:.2f}], {sel.sum():3d} images, accuracy {right[sel].mean():.3f}")
found, lost = mass >= edges[3], mass <= edges[1]
assert right[found].mean() > right[lost].mean(), "a mask on the digit should answer better than one off it"
worst = np.argsort(mass)[:6]
mask_grid(plot_masks(test.X[worst], {"arnn": (A[worst], pred[worst])}, test.q[worst].argmax(axis=1), test.y[worst],
                     test.box[worst], axes_size=7.3 / 6))

# %% [markdown]
# ## 5. The demo's models, if you have run the demo
#
# `attnrnn-np demo --out demo_out` (from the repository root) trains `arnn` and
# `local` for 2000 steps each on 20 000 images of the full task. If its
# checkpoints are there, this cell shows their masks side by side on the
# eight full-size test images of section 1.

# %%
full = tasks["mref"].test.batch(np.arange(8))
demo = Path("../demo_out")
runs = {m: demo / f"mref-{m}-seed0" / "checkpoint.npz" for m in ("arnn", "local")}
if all(p.exists() for p in runs.values()):
    rows = {}
    for m, p in runs.items():
        state = load_checkpoint(p)
        lg, Am, _ = model_forward(state.params, full.X, full.q, model_config(state.config))
        rows[m] = (Am, lg.argmax(axis=1))
    display(plot_masks(full.X, rows, full.q.argmax(axis=1), full.y, full.box))  # noqa: F821
else:
    print("no demo checkpoints found at", demo.resolve())

# %% [markdown]
# ## Try this
#
# Each needs a line or two changed in the cells above, then a re-run. Each
# answer is folded under its question (and on the answers page,
# `docs/answers.md`, section "Notebook 5"): try first.
#
# **1. A coarser grid.** In section 2, put the box on a coarser grid: `box_cells(b.box, 32, (4, 4))`
# instead of `(8, 8)`. What share of the map counts as inside now, and
# what does that do to the score of a uniform mask?
#
# <details>
# <summary>Show the answer</summary>
#
# On the 4×4 grid the four test digits of section 2
# cover 0.25, 0.38, 0.25 and 0.38 of the cells, instead of 0.14, 0.25, 0.25
# and 0.31 on the 8×8 grid; over the first eight test images the mean share
# rises from 0.22 to 0.28. A cell counts as inside when its block overlaps
# the box at all, and larger blocks overlap it more often. A uniform mask
# scores exactly that share, so the metric's floor rises with the block size.
# That is why section 4's numbers, on the 4×4 grid of the small canvas, run
# high, and why models should be compared on one grid and against the
# uniform score.
#
# </details>
#
# **2. The local attention.** In section 3, train the local attention instead: `model="local"` in
# the `TrainConfig`. How do the accuracy and the attention correctness
# compare with `arnn`'s? (The assertion under the training cell fails:
# what does it check?)
#
# <details>
# <summary>Show the answer</summary>
#
# After the same 1200 steps, on the machine these answers were
# measured on (a 2-core Intel Xeon, NumPy's OpenBLAS, 2026-12-02), `local`
# reaches a test accuracy of 0.62 and an attention correctness of 0.49,
# against 0.84 and 0.61 for `arnn` (same data, same seed, same recipe), and
# the assertion under the training cell fails: it asks for an accuracy above
# 0.7, "well past chance". On another machine the same run was reported at
# 0.705 and 0.503, where the assertion passes. Each run is deterministic; they differ
# because a matrix product on another CPU may add its terms in another order,
# and 1200 steps of training amplify those last-bit differences. `local`'s
# accuracy happens to sit near the threshold, so the outcome of the assertion
# depends on the machine, while the comparison does not: in both runs `local`
# stays well below `arnn`. The two models differ
# only in the attention: the local attention's mask value at a cell is a
# function of that cell's feature column and the query alone, while the
# ARNN's also depends on the states its two scans carry in from the rest of
# the map. One seed on a small task is weak evidence; `docs/learning.md`
# compares the models over several seeds on the full tasks.
#
# </details>
#
# **3. Stopping at 400 steps.** In section 3, stop the `arnn` run early: `steps=400`. Where does it
# stand, and what does that say about the plateau?
#
# <details>
# <summary>Show the answer</summary>
#
# The run stands at a test accuracy of 0.53
# (chance is 0.5) and an attention correctness of 0.45, and the assertion
# under the training cell fails. (These are the run's own evaluation at step
# 400; the step size has no schedule, so a run stopped there has followed the
# same path.) The loss has only begun to fall: even the shrunken task sits
# near chance for the first few hundred steps, and the accuracy the notebook
# reports is earned in the steps after. On the full task that plateau is longer
# (`docs/learning.md`), which is why the notebook trains the small one.
#
# </details>

# %% [markdown]
# ## Take-aways
#
# * The three tasks ask one question: the query names a digit, the answer is
#   its colour. Attention correctness, the share of mask mass on the queried
#   digit's cells, says whether the model looked in the right place.
# * On a shrunken MREF a small `arnn` gets well past chance in about a
#   thousand cheap steps; the full task first sits on a plateau for several
#   hundred steps (`docs/learning.md`).
# * Accuracy follows the mask: the quarter of the test images whose masks
#   sit most on the queried digit answers best, and the failures put the
#   mask on the other digit or spread it over both.
# * The metric depends on the grid: on a coarse grid a digit covers many
#   cells and even a uniform mask scores high, so compare models on the
#   same grid and against the uniform score.
