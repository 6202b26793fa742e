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
# # 3. The AttentionRNN layer: masks on a toy input, and what the query changes
#
# > * **You will learn** what the whole layer computes, how sigmoid and softmax
# > masks differ, what the query changes, how a short fit makes the query
# > select what the mask highlights, and what the recurrence buys over a k×k
# > window.
# > * **You need** notebooks 01 and 02; docs/model.md §3 beside you.
# > * **About 40 minutes.** Next: notebook 04.
#
# The layer turns a feature map X (N, H, W, C) and, optionally, a query
# q (N, Q) into an attention mask A (N, H, W). In order (docs/model.md §3):
#
# 1. a k×k convolution of X, plus a bias and the query term q · W_q, gives
#    the gate pre-activations `U` of each direction;
# 2. a raster scan from the top-left and an inverse-raster scan from the
#    bottom-right (notebook 2), each a diagonal LSTM (notebook 1), give the
#    hidden maps `h_fwd` and `h_bwd`;
# 3. a linear head reads both states at every position: one logit S[n, i, j];
# 4. a sigmoid (each position in (0, 1)) or a softmax over all H·W positions
#    (a distribution over the map) turns the logits into the mask.
#
# This notebook runs the layer on a toy input where the right answer is
# easy to see, looks at the masks of an untrained layer, and then fits the
# parameters for a few seconds with plain gradient descent so that the query
# selects what the mask highlights. Last, a second toy task that no k×k
# window can solve shows what the recurrence buys over the structure
# ablation `recurrent=False`.

# %%
import os

# The matrices here are small: BLAS threads only add synchronisation, and on a busy
# machine they can stall each product. One thread, unless the caller chose otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from attnrnn_np import arnn_backward, arnn_forward, init_arnn_params
from attnrnn_np.course.figure_style import use_teaching_style

rng = np.random.default_rng(0)
use_teaching_style()   # figures 7.3 in wide, the width the site shows them; text ≥ 9 pt

# %% [markdown]
# The whole layer as a block diagram (`attnrnn-np figures` draws it), each
# box with its section of docs/model.md:

# %%
import tempfile
from pathlib import Path

from IPython.display import Image, display

from attnrnn_np.course import figures

pictures = Path(tempfile.mkdtemp())
figures.layer_diagram(pictures / "layer_diagram.png")
display(Image(filename=str(pictures / "layer_diagram.png")))

# %% [markdown]
# ## A toy feature map
#
# Each map holds three blobs of three different "types". Type t lives in
# channel t only, so C = 3 and we can draw a map as an RGB image: red, green
# and blue blobs. The query is a one-hot vector that names one type (Q = 3).
# The target mask is the named blob itself. A little noise keeps the maps
# from being exactly zero away from the blobs.

# %%
H, W, T = 10, 10, 3   # T blob types = channels = query size


def make_maps(n_maps, rng, sigma=1.0):
    """Maps X (n, H, W, T), one-hot queries q (n, T), target masks (n, H, W), named blob centres (n, 2)."""
    X = np.zeros((n_maps, H, W, T))
    q = np.zeros((n_maps, T))
    target = np.zeros((n_maps, H, W))
    centre = np.zeros((n_maps, 2), dtype=int)
    rows, cols = np.mgrid[0:H, 0:W]
    for n in range(n_maps):
        while True:   # blob centres at least 3 cells apart, so blobs do not overlap much
            pos = rng.integers(1, [H - 1, W - 1], size=(T, 2))
            gap = np.abs(pos[:, None] - pos[None]).max(-1) + 10 * np.eye(T)
            if gap.min() >= 3:
                break
        for t in range(T):
            X[n, :, :, t] = np.exp(-((rows - pos[t, 0]) ** 2 + (cols - pos[t, 1]) ** 2) / (2 * sigma ** 2))
        named = rng.integers(T)
        q[n, named] = 1.0
        target[n] = X[n, :, :, named]
        centre[n] = pos[named]
    X += 0.05 * rng.normal(size=X.shape)
    return X, q, target, centre


X_train, q_train, target_train, centre_train = make_maps(24, rng)
X_test, q_test, target_test, centre_test = make_maps(32, rng)
TYPE_NAMES = ["red", "green", "blue"]


def rgb(x):
    return np.clip(x, 0.0, 1.0)


fig, axes = plt.subplots(2, 4, figsize=(7.3, 4.0))
for n in range(4):
    axes[0, n].imshow(rgb(X_train[n]))
    axes[0, n].set_title(f"X[{n}]\nquery: {TYPE_NAMES[q_train[n].argmax()]}", fontsize=9)
    axes[1, n].imshow(target_train[n], cmap="gray", vmin=0, vmax=1)
    axes[1, n].set_title("target mask", fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Masks from an untrained layer
#
# `init_arnn_params` draws weights from N(0, 1/fan_in), with gate biases 0
# except the forget gate's (1). C, K, Q and k are read back from the shapes
# of the parameters at every call.

# %%
K = 8
params0 = init_arnn_params(in_channels=T, hidden=K, query_dim=T, kernel_size=3, seed=1)
for key, value in params0.items():
    print(f"{key:12s} {value.shape}")

x, qx = X_test[:1], q_test[:1]
A_sig, _ = arnn_forward(x, params0, qx, normalize="sigmoid")
A_soft, _ = arnn_forward(x, params0, qx, normalize="softmax")
assert ((A_sig > 0) & (A_sig < 1)).all()
assert abs(A_soft.sum() - 1.0) < 1e-12   # one distribution over the H·W positions

fig, axes = plt.subplots(1, 3, figsize=(7.3, 2.6))
axes[0].imshow(rgb(x[0]))
axes[0].set_title(f"X, query: {TYPE_NAMES[qx[0].argmax()]}", fontsize=9)
im = axes[1].imshow(A_sig[0], cmap="viridis")
axes[1].set_title("sigmoid mask\n(untrained)", fontsize=9)
plt.colorbar(im, ax=axes[1], fraction=0.046)
im = axes[2].imshow(A_soft[0], cmap="viridis")
axes[2].set_title("softmax mask\n(untrained)", fontsize=9)
plt.colorbar(im, ax=axes[2], fraction=0.046)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# The sigmoid mask stays near ½ everywhere: the head's weights are small and
# its bias is 0. The softmax mask is the same logits exponentiated and
# normalised over the map, so it is a distribution that sums to 1. Both show
# *some* spatial structure — the blobs change the gate pre-activations and
# the scans smear that change along their directions — but nothing relates
# it to the query: the weights are random.

# %% [markdown]
# ## What the query changes
#
# The query enters as q · W_q, added to every gate pre-activation of every
# position. The added vector is the same at every position, yet the mask
# does not just shift: the term passes through the gate nonlinearities and
# the recurrence, where it interacts with the position's own input. Same
# map, two queries:

# %%
q_red, q_green = np.eye(T)[[0]], np.eye(T)[[1]]
masks = {}
for name, query in (("red", q_red), ("green", q_green)):
    for normalize in ("sigmoid", "softmax"):
        masks[name, normalize] = arnn_forward(x, params0, query, normalize=normalize)[0][0]

fig, axes = plt.subplots(2, 3, figsize=(7.3, 4.9))
for row, normalize in enumerate(("sigmoid", "softmax")):
    a_red, a_green = masks["red", normalize], masks["green", normalize]
    change = a_green - a_red
    relative = np.abs(change).max() / np.abs(a_red).max()
    print(f"{normalize}: largest change of the mask between the two queries = {np.abs(change).max():.3g}"
          f" ({100 * relative:.0f}% of the largest mask value)")
    assert relative > 1e-3
    lim = np.abs(change).max()
    lo, hi = min(a_red.min(), a_green.min()), max(a_red.max(), a_green.max())   # one scale for both queries
    for col, (img, title, cmap, vmin, vmax) in enumerate([
        (a_red, f"{normalize},\nquery red", "viridis", lo, hi),
        (a_green, f"{normalize},\nquery green", "viridis", lo, hi),
        (change, "green − red", "RdBu_r", -lim, lim),
    ]):
        im = axes[row, col].imshow(img, cmap=cmap, vmin=vmin, vmax=vmax)
        axes[row, col].set_title(title, fontsize=9)
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
        plt.colorbar(im, ax=axes[row, col], fraction=0.046)
plt.tight_layout()
plt.show()

# %% [markdown]
# The masks differ, and under the softmax too. That is not automatic: if the
# query were added only to the logits, S + q · w, the term would be the same
# at every position, and a spatial softmax is unchanged by adding a constant
# to all logits — that query would be invisible. Adding it inside the
# nonlinear gates, before the recurrence, avoids this (docs/model.md §3.1 fixes the
# additive fusion; `docs/design_choices.md` lists the alternatives).
#
# With untrained weights, *how* the mask changes is arbitrary. Training
# gives it a meaning.

# %% [markdown]
# ## Fitting the layer so that the query picks its blob
#
# A small regression: make the sigmoid mask match the target mask (the named
# blob), with the squared error summed over positions and averaged over the
# 24 training maps,
#
# $$L = \frac{1}{N} \sum_{n,i,j} \big(A[n,i,j] - \text{target}[n,i,j]\big)^2,
#   \qquad \frac{\partial L}{\partial A} = \frac{2}{N}(A - \text{target}).$$
#
# `arnn_backward` returns the gradients of every parameter (a dict with the
# keys of `params`); plain gradient descent subtracts `lr` times each. This
# loop is the whole training code.

# %%
params = dict(params0)
lr, steps = 0.2, 250
N_train = len(X_train)
baseline = (target_train ** 2).sum() / N_train     # the loss of an all-zero mask
losses = []
t0 = time.perf_counter()
for step in range(steps):
    A, cache = arnn_forward(X_train, params, q_train)
    losses.append(((A - target_train) ** 2).sum() / N_train)
    dA = 2.0 * (A - target_train) / N_train
    _, _, grads = arnn_backward(dA, cache)
    params = {key: params[key] - lr * grads[key] for key in params}
    if step % 50 == 0:
        print(f"step {step:3d}   loss {losses[-1]:.4f}")
print(f"step {steps:3d}   loss {losses[-1]:.4f}   ({time.perf_counter() - t0:.1f} s)")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(losses, label="training loss")
ax.axhline(baseline, color="0.5", ls="--", label="all-zero mask")
ax.set_yscale("log")
ax.set_xlabel("gradient-descent step")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# In this run the loss falls to the level of an all-zero mask almost at once
# (most of the map is background, and the whole mask drops towards 0), stays
# there for a few dozen steps, then falls as the mask begins to follow the
# named blob: the gates must learn to combine "this channel is bright here"
# with "this channel was asked for". By step 50 the mask's peak sits on the
# named blob in most training maps; the later plateau and descent fix the
# remaining maps and sharpen the blob's shape.
#
# On the 32 test maps, never seen in training: does the brightest point of
# the mask fall on the named blob (within one cell of its centre)?

# %%
def hits(A, centre):
    peak = np.array(np.unravel_index(A.reshape(len(A), -1).argmax(1), A.shape[1:])).T   # (n, 2)
    return (np.abs(peak - centre) <= 1).all(axis=1)


A_test_before, _ = arnn_forward(X_test, params0, q_test)
A_test, _ = arnn_forward(X_test, params, q_test)
loss_test = ((A_test - target_test) ** 2).sum() / len(X_test)
print(f"test loss {loss_test:.4f} (all-zero mask: {(target_test ** 2).sum() / len(X_test):.4f})")
print(f"mask peak on the named blob: before training {hits(A_test_before, centre_test).mean():.0%}, "
      f"after {hits(A_test, centre_test).mean():.0%} of the test maps")
assert losses[-1] < 0.2 * baseline
assert hits(A_test, centre_test).mean() >= 0.75

# %% [markdown]
# Finally the question this notebook started from, asked of the trained
# layer: the same test map, the three possible queries.

# %%
fig, axes = plt.subplots(2, 4, figsize=(7.3, 4.0))
for row, n in enumerate((0, 1)):
    axes[row, 0].imshow(rgb(X_test[n]))
    axes[row, 0].set_title(f"test map {n}", fontsize=9)
    for t in range(T):
        A_t, _ = arnn_forward(X_test[n:n + 1], params, np.eye(T)[[t]])
        peak = np.unravel_index(A_t[0].argmax(), (H, W))
        assert abs(X_test[n, peak[0], peak[1], t] - 1.0) < 0.5   # the peak sits on the blob of type t
        image = axes[row, t + 1].imshow(A_t[0], cmap="viridis", vmin=0, vmax=1)
        axes[row, t + 1].set_title(f"mask, query\n{TYPE_NAMES[t]}", fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
fig.colorbar(image, ax=axes, shrink=0.8, label="mask A (one scale, 0 to 1)")
plt.show()

# %% [markdown]
# ## Where structure matters: the recurrence against the ablation
#
# The blob task above does not need the recurrence: whether a cell belongs to
# the named blob can be read off its own feature column and the query.
# `recurrent=False` (the structure ablation, docs/model.md §4) would fit it
# too. To see what the scans add, the target must depend on something that
# lies **outside the k×k window** of a cell.
#
# **A task no k×k model can solve.** Each row of a 6×10 map holds one marker
# (X = 1 at one random column, 0 elsewhere, C = 1). The target mask is 1 on
# the marker and on every cell **to its right** in the same row, 0 on the
# cells to its left: a ray cast from the marker to the right edge.
#
# By docs/model.md §4, with `recurrent=False` the mask value A[i, j] is a
# function of the 3×3 window of X around (i, j), and nothing else. For a cell
# two or more columns away from its row's marker, the middle row of that
# window is all zero (the zero padding at the border looks the same as the
# zero background). Its top and bottom rows may hold the markers of the rows
# above and below, but those are placed independently of this row's marker
# and say nothing about which side of it the cell lies on. So one and the
# same window occurs for cells left of their marker (target 0) and right of
# it (target 1), and the ablation must give both the same value. So its loss can
# never drop below a floor we can compute from the data alone: group the
# training cells by the content of their 3×3 window; a function of the window
# can at best predict each group's mean target, and the floor is the squared
# error left over, Σ_groups Σ_cells (target − group mean)², divided by N.
#
# The recurrent layer has no such floor: the raster scan reaches A[i, j] from
# every cell above-left of it, the whole row to the left included, so it can
# carry "a marker was seen" along the row in its states.

# %%
Hr, Wr = 6, 10


def make_rays(n_maps, rng):
    """Maps X (n, Hr, Wr, 1) with one marker per row, and their target masks (n, Hr, Wr): the marker and all cells to its right."""
    marker = rng.integers(0, Wr, size=(n_maps, Hr, 1))           # the marker's column in each row
    columns = np.arange(Wr)
    X = (columns == marker).astype(float)[..., None]
    target = (columns >= marker).astype(float)
    return X, target


def window_floor(X, target, k):
    """The least loss, Σ (target − mean of its group)² / N, of any mask that is a function of the k×k window."""
    p = (k - 1) // 2
    padded = np.pad(X[..., 0], ((0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))   # (N, H, W, k, k)
    _, group = np.unique(windows.reshape(-1, k * k), axis=0, return_inverse=True)
    group = group.ravel()
    t = target.ravel()
    mean = np.bincount(group, weights=t) / np.bincount(group)
    return ((t - mean[group]) ** 2).sum() / len(X)


rng_ray = np.random.default_rng(1)
X_ray, target_ray = make_rays(16, rng_ray)
X_ray_test, target_ray_test = make_rays(32, rng_ray)
k_ray = 3                                       # the input-to-state kernel size of both layers
floor = window_floor(X_ray, target_ray, k=k_ray)
print(f"loss of an all-zero mask {(target_ray ** 2).sum() / len(X_ray):.2f}; "
      f"no {k_ray}×{k_ray}-window model can go below {floor:.2f}")

# %% [markdown]
# Both layers start from the same parameters (K = 4, k = `k_ray` = 3) and get the same
# 150 plain gradient-descent steps on 16 maps (lr 0.2); the only difference
# is `recurrent`. The test maps are 32 others.

# %%
def fit(X, target, recurrent, steps=150, lr=0.2, kernel_size=3):
    params = init_arnn_params(in_channels=1, hidden=4, kernel_size=kernel_size, seed=1)
    losses = []
    for _ in range(steps):
        A, cache = arnn_forward(X, params, recurrent=recurrent)
        losses.append(((A - target) ** 2).sum() / len(X))
        _, _, grads = arnn_backward(2.0 * (A - target) / len(X), cache)
        params = {key: params[key] - lr * grads[key] for key in params}
    return params, losses


fits = {}
for recurrent in (True, False):
    t0 = time.perf_counter()
    fits[recurrent] = fit(X_ray, target_ray, recurrent, kernel_size=k_ray)
    A_test, _ = arnn_forward(X_ray_test, fits[recurrent][0], recurrent=recurrent)
    test_loss = ((A_test - target_ray_test) ** 2).sum() / len(X_ray_test)
    fits[recurrent] += (A_test, test_loss)
    print(f"recurrent={recurrent!s:5}  training loss {fits[recurrent][1][-1]:6.3f}   test loss {test_loss:6.3f}"
          f"   ({time.perf_counter() - t0:.1f} s)")

loss_rec, loss_abl = fits[True][1][-1], fits[False][1][-1]
assert loss_abl >= floor - 1e-9                  # guaranteed by the receptive field: a sanity check
assert loss_rec < 0.1 * floor                    # the recurrent layer goes far below the floor
assert fits[True][3] < 0.1 * fits[False][3]      # and so on maps it has not seen

# %%
fig = plt.figure(figsize=(7.15, 5.4), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.5])
ax = top.subplots()
ax.plot(fits[True][1], label="recurrent")
ax.plot(fits[False][1], label="recurrent=False")
ax.axhline(floor, color="0.5", ls="--", label=f"floor of any {k_ray}×{k_ray}-window model")
ax.set_yscale("log")
ax.set_xlabel("gradient-descent step")
ax.set_ylabel("training loss")
ax.legend(fontsize=9)
panels = [(X_ray_test[..., 0], "X (markers)"), (target_ray_test, "target"),
          (fits[True][2], "recurrent"), (fits[False][2], "recurrent=False")]
axes = bottom.subplots(2, len(panels))
for row, n in enumerate((0, 1)):
    for col, (img, title) in enumerate(panels):
        image = axes[row, col].imshow(img[n], cmap="viridis", vmin=0, vmax=1)
        axes[row, col].set_title(f"{title},\ntest map {n}", fontsize=9)
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
bottom.colorbar(image, ax=axes, shrink=0.8, label="value (0 to 1)")
plt.show()

# %% [markdown]
# The ablation learns what its window allows: the marker itself, the cell
# right of it (target 1) and the cell left of it (target 0) are told apart,
# and a cell whose 3×3 window holds no marker at all (the window spans the
# rows above and below too, hence the few variants) gets one grey value: the
# share of such cells that lie right of their marker. Its loss stays on the
# floor. The recurrent layer draws the ray to the edge, on
# test maps too. The same layer with the same parameters and the same
# training: only the state-to-state terms differ, and with them the receptive
# field (notebook 2 draws both fields).

# %% [markdown]
# ## Try this
#
# Each needs a line or two changed in the cells above, then a re-run. Each
# answer is folded under its question (and on the answers page,
# `docs/answers.md`, section "Notebook 3"): try first.
#
# **1. Shifting every logit by 3.** In the cell "Masks from an untrained layer", add 3 to the head's bias:
# pass `dict(params0, **{"head.b": params0["head.b"] + 3.0})` instead of
# `params0` to both `arnn_forward` calls. Which of the two masks changes,
# and why does the other not move at all?
#
# <details>
# <summary>Show the answer</summary>
#
# The sigmoid mask changes: every value
# moves from between 0.51 and 0.63 to σ(S + 3), between 0.95 and 0.97. The softmax mask does not move at
# all (to round-off):
#
# $$\frac{e^{S[i,j]+3}}{\sum_{i',j'} e^{S[i',j']+3}} = \frac{e^{S[i,j]}}{\sum_{i',j'} e^{S[i',j']}}.$$
#
# A constant added to every logit of a sample cancels in the spatial softmax
# (docs/model.md §3.5), so under the softmax `head.b` has no effect and its
# gradient is 0. The same argument is why a query added only to the logits
# would be invisible to a softmax mask, and why the query enters inside the
# gates instead (docs/model.md §3.1).
#
# </details>
#
# **2. A wider window, `k_ray = 5`.** Give both layers of the ray task a wider window: set `k_ray = 5`. How
# far do the floor and the ablation's loss come down? How large would k
# have to be for the ablation to solve the task?
#
# <details>
# <summary>Show the answer</summary>
#
# The floor falls from 10.26 to 5.29: a
# 5×5 window reaches two columns to each side, so cells within two columns of
# their marker can now be told apart. After the same 150 steps the ablation's
# training loss is 7.28 (test 8.48), above its new floor and still far from 0;
# the recurrent layer reaches 0.018 (test 0.020). For the ablation to see the
# marker from every cell of a row, its window would have to reach W − 1 = 9
# columns to each side: p ≥ 9, k ≥ 19, a 19×19 kernel on a 6×10 map, and it
# would fail again on a wider map. The recurrent layer does it with a 3×3
# kernel, because its field is a whole quadrant (docs/model.md §4).
#
# </details>
#
# **3. A ray to the left.** Cast the ray to the **left** instead: in `make_rays`, make the target
# `columns <= marker`. Does the recurrent layer still fit it, and which of
# its two scans can carry the information now?
#
# <details>
# <summary>Show the answer</summary>
#
# The recurrent layer fits it as well (training
# loss 0.018, test 0.021) and the ablation stays on its floor (10.66, floor
# 10.26). The information now comes from the right, and only the
# inverse-raster scan (`bwd`) can carry it: by docs/model.md §4 its field at
# (i, j) is everything with a ≥ i − p and b ≥ j − p, which holds the whole row
# to the right of (i, j), while the raster scan sees no more than p columns to
# the right. A layer with a single direction would solve one of the two ray
# tasks and fail the other; the two directions together let every mask value
# depend on cells on both sides.
#
# </details>

# %% [markdown]
# ## Take-aways
#
# * Forward and backward are two function calls: `arnn_forward(X, params, q)`
#   returns the mask and a cache, `arnn_backward(dA, cache)` returns
#   `(dX, dq, grads)` with `grads` keyed like `params`. Any optimiser can be
#   written around them; the stateful `AttentionRNN` class does the
#   bookkeeping (its gradients accumulate until `zero_grad()`).
# * The query enters inside every gate, so it reshapes the mask even under a
#   spatial softmax; a few hundred plain gradient steps on 24 toy maps are
#   enough for it to select which blob the mask highlights, on maps not seen
#   in training.
# * The recurrence is what lets a mask value depend on cells beyond the k×k
#   window: on the ray task the recurrent layer fits and generalises, while
#   the ablation `recurrent=False` cannot go below a floor set by its
#   receptive field (docs/model.md §4), whatever its training.
# * These are toys that show the mechanisms work; they say nothing about
#   accuracy on real tasks (notebook 5 and `docs/learning.md` do).
