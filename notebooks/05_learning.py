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

from attnrnn_np.learn.figures import mask_overlay, plot_masks
from attnrnn_np.learn.metrics import attention_inside_mass, box_cells
from attnrnn_np.learn.models import model_forward
from attnrnn_np.learn.tasks import PALETTE_NAMES, load_task
from attnrnn_np.learn.train import TrainConfig, blas_threads, evaluate, load_checkpoint, model_config, train

# %% [markdown]
# ## 1. The tasks
#
# Each image holds three digits of distinct classes in distinct colours. The
# query (a class, 0–9) names one of them; the label is its colour. MDIST adds
# coloured fragments of other digits as clutter, MBG puts everything on
# crops of photographs. The white box is the queried digit's ink box.

# %%
tasks = {name: load_task(name, n_train=8, n_test=8, seed=0, cache_dir=None) for name in ("mref", "mdist", "mbg")}
fig, axes = plt.subplots(3, 6, figsize=(11, 6))
for row, (name, data) in enumerate(tasks.items()):
    b = data.train.batch(np.arange(6))
    for n in range(6):
        ax = axes[row, n]
        ax.imshow(b.X[n], interpolation="nearest")
        t, l, bo, r = b.box[n]
        ax.add_patch(plt.Rectangle((l - 0.5, t - 0.5), r - l, bo - t, fill=False, ec="white"))
        ax.set_title(f"{name}: q={b.q[n].argmax()} → {PALETTE_NAMES[b.y[n]]}", fontsize=8)
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
fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
for n, ax in enumerate(axes):
    ax.imshow(b.X[n] * 0.6, interpolation="nearest")
    ax.imshow(mask_overlay(inside[n:n + 1].astype(float), 32)[0], cmap="Greens", alpha=0.45, vmin=0, vmax=1)
    ax.set_title(f"q={b.q[n].argmax()}: {inside[n].sum()} cells = {inside[n].mean():.2f}", fontsize=8)
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
# The masks on eight test images: brighter cells get more weight. The title
# of each mask says the predicted colour and whether it is right.

# %%
mconfig = model_config(config)
test = data.test.batch(np.arange(len(data.test)))
logits, A, _ = model_forward(result.state.params, test.X, test.q, mconfig)
pred = logits.argmax(axis=1)
show = np.arange(8)
plot_masks(test.X[show], {"arnn": (A[show], pred[show])}, test.q[show].argmax(axis=1), test.y[show],
           test.box[show])

# %% [markdown]
# ## 4. Where it goes wrong
#
# Per image, the share of mask mass inside the queried digit's cells (on
# the 4×4 grid of this small canvas a digit touches many cells, so the
# numbers run high), split into quarters of the test set. The quarter whose
# masks sit most on the digit answers best; the eight images with the least
# mass on the digit show what the errors look like: a mask on the other
# digit, or spread over both.

# %%
mass = attention_inside_mass(A, test.box, data.test.images.shape[1])
right = pred == test.y
edges = np.quantile(mass, [0.0, 0.25, 0.5, 0.75, 1.0])
for q, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]), start=1):
    sel = (mass >= lo) & ((mass < hi) if q < 4 else (mass <= hi))
    print(f"quarter {q}: mass inside in [{lo:.2f}, {hi:.2f}], {sel.sum():3d} images, accuracy {right[sel].mean():.3f}")
found, lost = mass >= edges[3], mass <= edges[1]
assert right[found].mean() > right[lost].mean(), "a mask on the digit should answer better than one off it"
worst = np.argsort(mass)[:8]
plot_masks(test.X[worst], {"arnn": (A[worst], pred[worst])}, test.q[worst].argmax(axis=1), test.y[worst],
           test.box[worst])

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
# Each needs a line or two changed in the cells above, then a re-run
# (answers: `docs/answers.md`, section "Notebook 5").
#
# 1. In section 2, put the box on a coarser grid: `box_cells(b.box, 32, (4, 4))`
#    instead of `(8, 8)`. What share of the map counts as inside now, and
#    what does that do to the score of a uniform mask?
# 2. In section 3, train the local attention instead: `model="local"` in
#    the `TrainConfig`. How do the accuracy and the attention correctness
#    compare with `arnn`'s? (The assertion under the training cell fails:
#    what does it check?)
# 3. In section 3, stop the `arnn` run early: `steps=400`. Where does it
#    stand, and what does that say about the plateau?

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
