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
# # 2. The diagonal scan: raster and wavefront schedules, and the receptive field
#
# > * **You will learn** how the raster and wavefront schedules evaluate the
# > same recurrence, how many sequential steps each takes, the scan's
# > backward pass as messages between cells, and the receptive field of one
# > mask value, drawn from real gradients.
# > * **You need** notebook 01 (the cell and its backward pass).
# > * **About 50 minutes.** Next: notebook 03.
#
# In the raster direction of AttentionRNN, the cell at (i, j) computes
#
# $$\begin{aligned}
#   G[i,j] &= U[i,j] + h[i-1,j]\,W_\text{up} + h[i,j-1]\,W_\text{left}, \\
#   h[i,j],\,c[i,j] &= \text{LSTMCell}(G[i,j],\; c[i,j-1]),
# \end{aligned}$$
#
# with zero states outside the map (notebook 1 covers the cell). A cell reads
# only the cell **above** and the cell **to its left**. This notebook shows
#
# 1. the two orders in which `attnrnn_np/scan.py` can evaluate that
#    recurrence — `raster` (cell by cell) and `wavefront` (one anti-diagonal
#    at a time, in `attnrnn_np/wavefront.py`) — and the anti-diagonal "skew" of PixelRNN behind the second;
# 2. how many sequential steps each needs;
# 3. that both give the same numbers;
# 4. the scan's backward pass: derived, drawn as the messages the cells send
#    each other, written as a raster loop, and checked against the package
#    and against finite differences;
# 5. the receptive field of one attention value, drawn from real gradients
#    and compared with the rule in docs/model.md §4.

# %%
import os

# The matrices here are small: BLAS threads only add synchronisation, and on a busy
# machine they can stall each product. One thread, unless the caller chose otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from attnrnn_np import arnn_backward, arnn_forward, init_arnn_params
from attnrnn_np.course.figure_style import MESSAGE_COLOURS, use_teaching_style
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.lstm_cell import lstm_cell_backward, lstm_cell_forward
from attnrnn_np.scan import diagonal_lstm_backward, diagonal_lstm_forward, diagonals, rot180

rng = np.random.default_rng(0)
use_teaching_style()   # figures 7.3 in wide, the width the site shows them; text ≥ 9 pt

# %% [markdown]
# ## Which cells run at which step
#
# `raster` visits the cells in reading order: H·W sequential steps.
#
# Because a cell needs only its upper and left neighbours, every cell on one
# **anti-diagonal** i + j = t depends only on cells of the anti-diagonal
# t − 1. All cells of a diagonal can therefore be computed together, as one
# batch: `wavefront` takes H + W − 1 sequential steps. `diagonals(H, W)`
# lists, for each step t, the rows `lo..hi` whose cell (i, t − i) runs then.
#
# PixelRNN (van den Oord et al., 2016) gets the same schedule by **skewing**
# the map: row r is shifted right by r, so each column of the skewed
# H × (H + W − 1) map is one anti-diagonal of the original. The third panel
# shows that layout; its empty slots are padding that a "masked skew"
# implementation computes and throws away. `attnrnn_np` never builds the
# skewed array: it stores only the valid cells of each diagonal, packed.

# %%
H, W = 5, 7
raster_step = np.arange(H * W).reshape(H, W)
wave_step = np.full((H, W), -1)
for t, (lo, hi) in enumerate(diagonals(H, W)):
    for i in range(lo, hi + 1):
        wave_step[i, t - i] = t
assert (wave_step >= 0).all()
assert np.array_equal(wave_step, np.add.outer(np.arange(H), np.arange(W)))  # step t is the diagonal i + j = t

skewed = np.full((H, H + W - 1), np.nan)
for i in range(H):
    skewed[i, i:i + W] = wave_step[i]

fig, axes = plt.subplots(2, 2, figsize=(7.3, 4.6), gridspec_kw={"width_ratios": [W, H + W - 1]})
axes[1, 1].remove()
axes = [axes[0, 0], axes[1, 0], axes[0, 1]]
panels = [
    (raster_step, "raster: H·W = %d steps" % (H * W)),
    (wave_step, "wavefront: H + W − 1 = %d steps" % (H + W - 1)),
    (skewed, "PixelRNN skew: column = step, blank = padding"),
]
for ax, (img, title) in zip(axes, panels, strict=True):
    ax.imshow(np.ma.masked_invalid(img.astype(float)), cmap="viridis")
    for (a, b), v in np.ndenumerate(img):
        if not np.isnan(v):
            ax.text(b, a, int(v), ha="center", va="center", color="w", fontsize=9)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
# the two reads of cell (2, 3): both were computed one wavefront step earlier
for src in [(1, 3), (2, 2)]:
    axes[1].annotate("", xy=(3, 2), xytext=(src[1], src[0]),
                     arrowprops=dict(arrowstyle="->", color="#ff9f1c", lw=2))
plt.tight_layout()
plt.show()

# %% [markdown]
# In the wavefront panel (lower left), the orange arrows show the two reads of cell (2, 3)
# (step 5): the cell above and the cell to the left, both from step 4.
#
# The number of cells per step grows from 1 to min(H, W) and shrinks back
# to 1. Packed, the wavefront does H·W cell updates in all, the same as the
# raster loop; the masked skew does H rows per step, H·(H + W − 1) in all.

# %%
cells_per_step = [hi - lo + 1 for lo, hi in diagonals(H, W)]
print("cells per wavefront step:", cells_per_step)
assert sum(cells_per_step) == H * W

# %% [markdown]
# The order of both directions on a small map, as `attnrnn-np figures`
# draws it: the raster and inverse-raster step of each cell, and its
# wavefront step (its anti-diagonal):

# %%
import tempfile
from pathlib import Path

from IPython.display import Image, display

from attnrnn_np.course import figures

pictures = Path(tempfile.mkdtemp())
figures.scan_order(pictures / "scan_order.png")
display(Image(filename=str(pictures / "scan_order.png")))

# %% [markdown]
# ## Sequential step counts
#
# Each sequential step costs at least one Python-level iteration and a few
# small matrix products, however few cells it holds, so for the maps a CNN
# produces the step count is what sets the wall time of a sweep.

# %%
sizes = [(7, 7), (14, 14), (28, 28), (32, 32), (56, 56), (64, 64), (14, 28), (8, 64)]
print(f"{'H':>4} {'W':>4} {'raster H·W':>11} {'wavefront H+W−1':>16} {'ratio':>7} {'masked-skew cells':>18}")
for h_, w_ in sizes:
    steps_wave = len(diagonals(h_, w_))
    assert steps_wave == h_ + w_ - 1
    print(f"{h_:4d} {w_:4d} {h_ * w_:11d} {steps_wave:16d} {h_ * w_ / steps_wave:7.1f} {h_ * steps_wave:18d}")

side = np.arange(1, 65)
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(side, side * side, label="raster: H·W")
ax.plot(side, 2 * side - 1, label="wavefront: H + W − 1")
ax.set_yscale("log")
ax.set_xlabel("H = W")
ax.set_ylabel("sequential steps")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# A rough wall-time reading of the same thing (forward pass of two scans,
# N = 2, K = 8; your numbers depend on the machine; `docs/performance.md`
# has measured benchmarks):

# %%
for side_len in (8, 16, 32):
    U = rng.normal(size=(2, 2, side_len, side_len, 32))
    W_up, W_left = rng.normal(0, 0.3, (2, 2, 8, 32))
    line = f"{side_len:2d}×{side_len:<2d}"
    for schedule in ("raster", "wavefront"):
        t0 = time.perf_counter()
        diagonal_lstm_forward(U, W_up, W_left, schedule=schedule)
        line += f"   {schedule}: {1e3 * (time.perf_counter() - t0):6.1f} ms"
    print(line)

# %% [markdown]
# ## Both schedules compute the same numbers
#
# `raster` is a plain double loop that reads like the equations; it is the
# reference. `wavefront` reads the cells of each diagonal through a view of
# the map (a slice of the cells in raster order, with step W − 1), does one matrix
# product of `[h_up, h_left]` (ℓ_t·N rows, 2K columns) against the stacked
# `(2K, 4K)` weight `[W_up; W_left]`, and one LSTM-cell call per step. Here
# both run n_d = 2 independent scans (as the layer does for its two
# directions) on a non-square map, forward and backward, with a random
# upstream gradient:

# %%
n_d, N, H, W, K = 2, 3, 6, 9, 4
U = rng.normal(size=(n_d, N, H, W, 4 * K))
W_up = rng.normal(0, 0.5, (n_d, K, 4 * K))
W_left = rng.normal(0, 0.5, (n_d, K, 4 * K))
dh = rng.normal(size=(n_d, N, H, W, K))

out = {}
for schedule in ("raster", "wavefront"):
    h, cache = diagonal_lstm_forward(U, W_up, W_left, schedule=schedule)
    out[schedule] = (h, *diagonal_lstm_backward(dh, cache))
for name, r, w in zip(("h", "dU", "dW_up", "dW_left"), out["raster"], out["wavefront"], strict=True):
    diff = np.abs(r - w).max()
    print(f"{name:8s} max |raster − wavefront| = {diff:.1e}")
    assert diff < 1e-12

# %% [markdown]
# The same check through the whole layer (both directions, head, sigmoid):

# %%
params = init_arnn_params(3, 4, query_dim=2, kernel_size=3, seed=1)
params = {key: v + rng.normal(0, 0.3, v.shape) for key, v in params.items()}   # random non-zero biases
X = rng.normal(size=(2, 7, 5, 3))
q = rng.normal(size=(2, 2))
dA = rng.normal(size=(2, 7, 5))
A_r, cache_r = arnn_forward(X, params, q, schedule="raster")
A_w, cache_w = arnn_forward(X, params, q, schedule="wavefront")
dX_r, dq_r, g_r = arnn_backward(dA, cache_r)
dX_w, dq_w, g_w = arnn_backward(dA, cache_w)
diff = max(np.abs(A_r - A_w).max(), np.abs(dX_r - dX_w).max(), np.abs(dq_r - dq_w).max(),
           max(np.abs(g_r[key] - g_w[key]).max() for key in params))
print(f"layer: max difference over A, dX, dq and every parameter gradient = {diff:.1e}")
assert diff < 1e-12

# %% [markdown]
# ## The backward pass of the scan, derived
#
# Notebook 1 gave the backward pass of one cell: from dh and dc of a cell,
# `lstm_cell_backward` returns dG and dc_prev. The scan wires the cells
# together, so what remains is the bookkeeping: which gradient reaches each
# cell, and from where. Take one scan (one direction, one sample; the batch
# only adds a sum over n) with
#
# $$\begin{aligned}
#   G[i,j] &= U[i,j] + h[i-1,j]\,W_\text{up} + h[i,j-1]\,W_\text{left}, \\
#   h[i,j],\,c[i,j] &= \text{LSTMCell}(G[i,j],\; c[i,j-1]).
# \end{aligned}$$
#
# **Who reads the states of cell (i, j).** Its hidden state h[i, j] is read
# three times: by the head (that gradient, dh_ext, comes from outside the
# scan), by the cell **below**, (i + 1, j), through W_up, and by the cell **to
# the right**, (i, j + 1), through W_left. Its cell state c[i, j] is read once,
# by the cell to the right, as that cell's c_prev. A value read several times
# gets the **sum** of the gradients of its readers, and a row vector
# multiplied by a matrix, G = h W, sends back dh = dG Wᵀ. So
#
# $$dh[i,j] = dh_\text{ext}[i,j] + dG[i+1,j]\,W_\text{up}^\top + dG[i,j+1]\,W_\text{left}^\top,
#   \qquad dc[i,j] = dc_\text{prev}[i,j+1],$$
#
# where a term is absent when that neighbour lies outside the map (the last
# cell of a row gets no dc). With these two, the cell's backward gives
#
# $$dG[i,j],\ dc_\text{prev}[i,j] = \text{LSTMCell}^\text{backward}\big(dh[i,j],\ dc[i,j]\big).$$
#
# **The messages.** Read from the sender's side, once cell (i, j) has its dG
# it sends
#
# * dG[i, j] W_upᵀ to the hidden state of the cell **above**, (i − 1, j);
# * dG[i, j] W_leftᵀ to the hidden state of the cell **on the left**, (i, j − 1),
#   and dc_prev[i, j] to its cell state.
#
# **The order.** A cell can run its backward only when both of its readers,
# the cell below and the cell to the right, have sent their messages. Both
# come *later* in raster order, so visiting the cells in **reverse raster
# order** (bottom row first, right to left) always finds them done. Any order
# that reverses a valid forward order works: the wavefront schedule walks the
# anti-diagonals from the last one back.
#
# **The weights.** U[i, j] enters G[i, j] with weight 1, and W_up, W_left are
# shared by every cell, so their gradients are sums over all cells (and
# samples) of input-transposed-times-dG, with the zero states outside the
# map contributing nothing:
#
# $$\begin{aligned}
#   dU[i,j] &= dG[i,j], \\
#   dW_\text{up} &= \sum_{n,i,j} h[n,i-1,j]^\top\, dG[n,i,j], \\
#   dW_\text{left} &= \sum_{n,i,j} h[n,i,j-1]^\top\, dG[n,i,j].
# \end{aligned}$$
#
# The picture: each arrow is a message of the backward sweep, the number in
# a cell the order in which the sweep visits it. The gold cell is visited
# after the two khaki cells whose messages it needs.

# %%
Hm, Wm = 3, 4
target, senders = (1, 1), ((2, 1), (1, 2))
fig, ax = plt.subplots(figsize=(7.3, 4.4))
for n, (i, j) in enumerate((i, j) for i in reversed(range(Hm)) for j in reversed(range(Wm))):
    face = "gold" if (i, j) == target else "khaki" if (i, j) in senders else "whitesmoke"
    ax.add_patch(plt.Rectangle((j - 0.3, i - 0.3), 0.6, 0.6, fc=face, ec="0.3"))
    ax.text(j, i, f"({i}, {j})\nvisit {n + 1}", ha="center", va="center", fontsize=9)
    arrow = dict(arrowstyle="-|>", lw=1.5, shrinkA=0, shrinkB=0)
    if i > 0:
        ax.annotate("", xy=(j, i - 0.7), xytext=(j, i - 0.3), arrowprops=dict(arrow, color=MESSAGE_COLOURS["dh_up"]))
    if j > 0:
        ax.annotate("", xy=(j - 0.7, i - 0.1), xytext=(j - 0.3, i - 0.1),
                    arrowprops=dict(arrow, color=MESSAGE_COLOURS["dh_left"]))
        ax.annotate("", xy=(j - 0.7, i + 0.1), xytext=(j - 0.3, i + 0.1),
                    arrowprops=dict(arrow, color=MESSAGE_COLOURS["dc_left"]))
for color, label in ((MESSAGE_COLOURS["dh_up"], "dh up: dG·W_upᵀ (to h of the cell above)"),
                     (MESSAGE_COLOURS["dh_left"], "dh left: dG·W_leftᵀ (to h of the cell on the left)"),
                     (MESSAGE_COLOURS["dc_left"], "dc left: dc_prev (to c of the cell on the left)")):
    ax.plot([], [], color=color, lw=2, label=label)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=9, frameon=False)
ax.set_xlim(-0.5, Wm - 0.5)
ax.set_ylim(Hm - 0.5, -0.5)
ax.set_aspect("equal")
ax.axis("off")
ax.set_title("backward messages; the gold cell (1, 1) waits for the two khaki cells", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The backward pass as a raster loop
#
# Below, the scan written cell by cell for one direction, arrays
# (N, H, W, ·): the forward loop keeps each cell's cache, and the backward
# loop is the derivation above line by line. `dh` starts as a **copy** of
# dh_ext (a backward pass never writes into its inputs) and collects the
# messages to the hidden states; `dc` collects those to the cell states.
# This is what `diagonal_lstm_backward` computes; the package's raster
# schedule is the same loop run for n_d scans at once, and the wavefront
# schedule does the same sums one anti-diagonal at a time.

# %%
def raster_scan_forward(U, W_up, W_left):
    """h (N, H, W, K) and the cell caches {(i, j): LSTMCellCache} of one raster scan."""
    N, H, W, K4 = U.shape
    K = K4 // 4
    h = np.zeros((N, H, W, K))
    c = np.zeros((N, H, W, K))
    zero = np.zeros((N, K))                             # the states outside the map
    cells = {}
    for i in range(H):
        for j in range(W):
            h_up = h[:, i - 1, j] if i > 0 else zero
            h_left = h[:, i, j - 1] if j > 0 else zero
            c_left = c[:, i, j - 1] if j > 0 else zero
            G = U[:, i, j] + h_up @ W_up + h_left @ W_left          # (N, 4K)
            h[:, i, j], c[:, i, j], cells[i, j] = lstm_cell_forward(G, c_left)
    return h, cells


def raster_scan_backward(dh_ext, h, cells, W_up, W_left):
    """dU (N, H, W, 4K), dW_up, dW_left (K, 4K) of one raster scan, in reverse raster order."""
    N, H, W, K = h.shape
    dh = dh_ext.copy()                                  # + the messages from below and from the right
    dc = np.zeros_like(h)                               # the cell-state messages from the right
    dU = np.zeros((N, H, W, 4 * K))
    dW_up, dW_left = np.zeros_like(W_up), np.zeros_like(W_left)
    for i in reversed(range(H)):
        for j in reversed(range(W)):
            dG, dc_prev = lstm_cell_backward(dh[:, i, j], dc[:, i, j], cells[i, j])  # (N, 4K), (N, K)
            dU[:, i, j] = dG
            if i > 0:                                   # to the cell above, through W_up
                dh[:, i - 1, j] += dG @ W_up.T
                dW_up += h[:, i - 1, j].T @ dG          # (K, N) @ (N, 4K)
            if j > 0:                                   # to the cell on the left, through W_left and c
                dh[:, i, j - 1] += dG @ W_left.T
                dc[:, i, j - 1] += dc_prev
                dW_left += h[:, i, j - 1].T @ dG
    return dU, dW_up, dW_left


# %% [markdown]
# **Check 1: the loop against the package**, both schedules, on a
# non-square map with random weights and a random upstream gradient. The
# package runs n_d scans at once, so the single scan gets a leading axis of
# length 1:

# %%
N, H, W, K = 3, 5, 7, 4
U = rng.normal(size=(N, H, W, 4 * K))
W_up = rng.normal(0, 0.5, (K, 4 * K))
W_left = rng.normal(0, 0.5, (K, 4 * K))
dh_ext = rng.normal(size=(N, H, W, K))

h, cells = raster_scan_forward(U, W_up, W_left)
dU, dW_up, dW_left = raster_scan_backward(dh_ext, h, cells, W_up, W_left)
for schedule in ("raster", "wavefront"):
    h_pkg, cache = diagonal_lstm_forward(U[None], W_up[None], W_left[None], schedule=schedule)
    dU_pkg, dW_up_pkg, dW_left_pkg = diagonal_lstm_backward(dh_ext[None], cache)
    diffs = {"h": np.abs(h - h_pkg[0]).max(), "dU": np.abs(dU - dU_pkg[0]).max(),
             "dW_up": np.abs(dW_up - dW_up_pkg[0]).max(), "dW_left": np.abs(dW_left - dW_left_pkg[0]).max()}
    print(f"{schedule:9s}", "   ".join(f"max |Δ{name}| = {d:.1e}" for name, d in diffs.items()))
    assert max(diffs.values()) < 1e-12

# %% [markdown]
# The inverse-raster direction needs no loop of its own (docs/model.md §3.3,
# docs/backward.md §6): rotate the map by 180°, run the raster loop, rotate
# back, and the same for the gradients, since a rotation is its own
# transpose. The weight gradients need no rotation:

# %%
h_rot, cells_rot = raster_scan_forward(rot180(U), W_up, W_left)
dU_rot, dW_up_rot, dW_left_rot = raster_scan_backward(rot180(dh_ext), h_rot, cells_rot, W_up, W_left)
h_pkg, cache = diagonal_lstm_forward(U[None], W_up[None], W_left[None], reverse=[True])
dU_pkg, dW_up_pkg, dW_left_pkg = diagonal_lstm_backward(dh_ext[None], cache)
diff = max(np.abs(rot180(h_rot) - h_pkg[0]).max(), np.abs(rot180(dU_rot) - dU_pkg[0]).max(),
           np.abs(dW_up_rot - dW_up_pkg[0]).max(), np.abs(dW_left_rot - dW_left_pkg[0]).max())
print(f"reverse scan: max difference over h, dU, dW_up, dW_left = {diff:.1e}")
assert diff < 1e-12

# %% [markdown]
# **Check 2: the loop against finite differences** (`attnrnn_np.gradcheck`,
# central differences in float64, every entry of U, W_up and W_left), on a
# map small enough for that to take a few seconds. This check does not trust
# the package at all.

# %%
N, H, W, K = 2, 3, 4, 2
U = rng.normal(size=(N, H, W, 4 * K))
W_up = rng.normal(0, 0.5, (K, 4 * K))
W_left = rng.normal(0, 0.5, (K, 4 * K))
dh_ext = rng.normal(size=(N, H, W, K))
h, cells = raster_scan_forward(U, W_up, W_left)
dU, dW_up, dW_left = raster_scan_backward(dh_ext, h, cells, W_up, W_left)
results = check_gradients(lambda: raster_scan_forward(U, W_up, W_left)[0],
                          {"U": U, "W_up": W_up, "W_left": W_left},
                          {"U": dU, "W_up": dW_up, "W_left": dW_left}, dh_ext)
print(format_report(results))
assert all(r.passed for r in results)

# %% [markdown]
# ## Try this
#
# Each needs a line or two changed in the cells above, then a re-run. Each
# answer is folded under its question (and on the answers page,
# `docs/answers.md`, section "Notebook 2"): try first.
#
# **1. Dropping the cell-state message.** In `raster_scan_backward`, delete the line `dc[:, i, j - 1] += dc_prev`
# and run the two checks again. Which gradients fail, and which cells of
# `dU` are still right?
#
# <details>
# <summary>Show the answer</summary>
#
# Check 1 fails at once: `dU`,
# `dW_up` and `dW_left` differ from the package's by about 0.5, for both
# schedules. With its assertion commented out, the reverse-scan check and the
# finite-difference check fail too, for `U`, `W_up` and `W_left` alike (relative
# errors near 1). Only the last column of
# `dU` is still right. Those cells have no cell to their right, so they never
# receive a cell-state message, and their hidden-state messages come from the
# cell below, which is in the last column too. Every other cell's dc_tot
# misses its carried term (notebook 1, step 2), and its wrong dG then travels,
# through the messages, to every cell above it and to its left.
#
# </details>
#
# **2. Visiting the cells in forward order.** Visit the cells in the forward order instead (`range(H)` and
# `range(W)` without `reversed`). Why does the check fail, although every
# line of the loop is unchanged?
#
# <details>
# <summary>Show the answer</summary>
#
# Each line of the loop is right,
# but the order breaks the one rule the derivation put on it: a cell may run
# its backward only after its two readers, the cell below and the cell to the
# right, have sent their messages. In forward order a cell runs first, with
# dh = dh_ext alone and dc = 0, and the messages it sends go to cells that
# have already finished: they are lost. The only cell whose `dU` is still
# right is the last one, (H − 1, W − 1), which has no reader inside the scan.
#
# </details>
#
# **3. Writing into the caller's array.** Change `dh = dh_ext.copy()` to `dh = dh_ext` and call
# `raster_scan_backward` twice on the same arguments. What happens to the
# second answer, and to `dh_ext`?
#
# <details>
# <summary>Show the answer</summary>
#
# The first call computes the right
# gradients, but its `+=` lines add the messages into `dh_ext` itself. Check 1
# then fails at once: the package, called next with the same `dh_ext`, now
# sees a different upstream gradient; so does the finite-difference check,
# which uses `dh_ext` as `dout`. A second call of the loop starts from the
# polluted array and returns a different answer. That is why a backward pass
# never mutates its inputs and can be called twice with the same result
# (docs/backward.md §5, "The raster schedule": `dh_acc` starts as a copy).
#
# </details>

# %% [markdown]
# ## The receptive field, from real gradients
#
# Which inputs can move the attention value A[n, i, j]? Instead of reasoning,
# ask the backward pass: set the upstream gradient to a one-hot `dA` at
# (n, i, j); then `dX = arnn_backward(dA, cache)[0]` is ∂A[n,i,j]/∂X, and
# its non-zero entries are exactly the inputs that influence A[n,i,j] (a
# zero-gradient entry can only come from an exact cancellation, which random
# parameters make improbable). We sum |dX| over channels and draw log₁₀ of
# it; white cells are exactly zero.
#
# docs/model.md §4 states the rule. With p = (k − 1)/2, for `normalize="sigmoid"`,
# X[n, a, b] can influence A[n, i, j] only if
#
# $$(a \le i + p \ \text{and}\ b \le j + p) \quad\text{or}\quad (a \ge i - p \ \text{and}\ b \ge j - p).$$
#
# * The raster scan (`fwd`) reaches A[i, j] from every cell above-left of it
#   (any path of "down" and "right" moves), and the k×k convolution widens
#   that quadrant by p: the first condition.
# * The inverse-raster scan (`bwd`) does the same from the bottom-right: the
#   second condition.
#
# To see each direction alone we zero the other half of the head weights
# `head.w` (the first K entries read `fwd`, the last K read `bwd`), so no
# gradient reaches that scan.

# %%
H, W, C, K, k = 9, 11, 2, 4, 3
p = (k - 1) // 2
i0, j0 = 3, 6
X = rng.normal(size=(2, H, W, C))


def random_params(kernel_size, seed):
    params = init_arnn_params(C, K, kernel_size=kernel_size, seed=seed)
    return {key: v + rng.normal(0, 0.3, v.shape) for key, v in params.items()}


def field(params, normalize="sigmoid", recurrent=True):
    """Σ_c |∂A[0, i0, j0] / ∂X[n, a, b, c]| for both samples n, shape (2, H, W)."""
    A, cache = arnn_forward(X, params, normalize=normalize, recurrent=recurrent)
    dA = np.zeros_like(A)
    dA[0, i0, j0] = 1.0
    dX, _, _ = arnn_backward(dA, cache)
    return np.abs(dX).sum(axis=-1)


def documented_rule(i, j, p):
    a, b = np.mgrid[0:H, 0:W]
    fwd = (a <= i + p) & (b <= j + p)
    bwd = (a >= i - p) & (b >= j - p)
    return fwd, bwd


def draw_outline(ax, region, color="cyan"):
    """Trace the pixel edges that separate ``region`` (bool, (H, W)) from the rest."""
    padded = np.pad(region, 1)
    for (a, b), inside in np.ndenumerate(region):
        if not inside:
            continue
        if not padded[a, b + 1]:
            ax.plot([b - .5, b + .5], [a - .5, a - .5], color=color, lw=1.5)
        if not padded[a + 2, b + 1]:
            ax.plot([b - .5, b + .5], [a + .5, a + .5], color=color, lw=1.5)
        if not padded[a + 1, b]:
            ax.plot([b - .5, b - .5], [a - .5, a + .5], color=color, lw=1.5)
        if not padded[a + 1, b + 2]:
            ax.plot([b + .5, b + .5], [a - .5, a + .5], color=color, lw=1.5)


def show(ax, img, title, outline=None):
    """log₁₀ of a gradient map on one colour scale for every panel (white: exactly 0); returns the image."""
    with np.errstate(divide="ignore"):
        image = ax.imshow(np.ma.masked_equal(np.log10(img), -np.inf), cmap="magma", vmin=-12, vmax=0)
    if outline is not None:
        draw_outline(ax, outline)
    ax.plot(j0, i0, "c+", ms=10, mew=2)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return image


params3 = random_params(3, seed=2)
only_fwd = dict(params3, **{"head.w": np.concatenate([params3["head.w"][:K], np.zeros(K)])})
only_bwd = dict(params3, **{"head.w": np.concatenate([np.zeros(K), params3["head.w"][K:]])})
F_fwd, F_bwd, F_both = field(only_fwd), field(only_bwd), field(params3)
rule_fwd, rule_bwd = documented_rule(i0, j0, p)

assert np.array_equal(F_fwd[0] != 0, rule_fwd)
assert np.array_equal(F_bwd[0] != 0, rule_bwd)
assert np.array_equal(F_both[0] != 0, rule_fwd | rule_bwd)
assert not F_both[1].any()  # the other sample of the batch is never touched
print("k = 3: the non-zero gradients are exactly the docs/model.md §4 region, for each direction and for both")

fig, axes = plt.subplots(2, 2, figsize=(7.1, 6.0), layout="constrained")
axes = axes.ravel()
show(axes[0], F_fwd[0], "fwd scan only (head.w[K:] = 0)", rule_fwd)
show(axes[1], F_bwd[0], "bwd scan only (head.w[:K] = 0)", rule_bwd)
image = show(axes[2], F_both[0], "the layer: both directions", rule_fwd | rule_bwd)
fig.colorbar(image, ax=list(axes), shrink=0.6, label="log₁₀ Σ_c |∂A[0, 3, 6]/∂X|")
region_colors = ListedColormap(["white", "#aec7e8", "#ff9896", "#c5b0d5"])   # fwd, bwd, both
axes[3].imshow(rule_fwd.astype(int) + 2 * rule_bwd.astype(int), cmap=region_colors, vmin=0, vmax=3)
axes[3].plot(j0, i0, "k+", ms=10, mew=2)
axes[3].set_title("model.md §4 (k = 3): blue fwd,\nred bwd, violet both", fontsize=9)
axes[3].set_xticks([])
axes[3].set_yticks([])
plt.show()

# %% [markdown]
# Colour is log₁₀ of the gradient magnitude, the cyan line the region of docs/model.md §4,
# the cross the target cell (i, j) = (3, 6). The magnitudes fall off with
# distance from the target, because every step of a path scales the gradient
# by factors that are mostly below 1: a step along a row passes either the
# forget gate f of the cell-state carry, or o ⊙ (1 − tanh² c) and W_left of
# the hidden state; a step down a column passes o ⊙ (1 − tanh² c) and W_up,
# and no forget gate at all (the cell state is carried along rows only).
# They never reach exactly zero inside the region, and are exactly zero
# outside it.
#
# Three more cases of the same rule:
#
# * **k = 1** (p = 0, PixelRNN's 1×1 input-to-state): the two quadrants meet
#   only at the target cell;
# * **the ablation** `recurrent=False` (no state-to-state terms): each cell
#   sees zero neighbour states, so A[i, j] depends only on the k×k window
#   around (i, j);
# * **`normalize="softmax"`**: the softmax divides by a sum over all H·W
#   positions, so every logit, and hence every input, moves every mask value.

# %%
F_k1 = field(random_params(1, seed=3))
rule1_fwd, rule1_bwd = documented_rule(i0, j0, 0)
assert np.array_equal(F_k1[0] != 0, rule1_fwd | rule1_bwd)

F_ind = field(params3, recurrent=False)
a, b = np.mgrid[0:H, 0:W]
window = (abs(a - i0) <= p) & (abs(b - j0) <= p)
assert np.array_equal(F_ind[0] != 0, window)
print("ablation: the field is exactly the", k, "×", k, "window; dW_up and dW_left are zero")

F_soft = field(params3, normalize="softmax")
assert (F_soft[0] != 0).all() and not F_soft[1].any()

fig, axes = plt.subplots(1, 3, figsize=(7.3, 2.9))
show(axes[0], F_k1[0], "k = 1, both directions", rule1_fwd | rule1_bwd)
show(axes[1], F_ind[0], "recurrent=False (k = 3)", window)
image = show(axes[2], F_soft[0], "normalize='softmax'")
fig.colorbar(image, ax=axes, shrink=0.8, label="log₁₀ Σ_c |∂A/∂X|")
plt.show()

# %% [markdown]
# The ablation keeps the `W_up`/`W_left` keys in the parameter dict (so the
# same dict works in both modes); their gradients are exactly zero:

# %%
A, cache = arnn_forward(X, params3, recurrent=False)
_, _, grads = arnn_backward(rng.normal(size=A.shape), cache)
assert all(not grads[f"{d}.{name}"].any() for d in ("fwd", "bwd") for name in ("W_up", "W_left"))

# %% [markdown]
# ## Take-aways
#
# * The recurrence only looks up and left, so the cells of one anti-diagonal
#   are independent: H + W − 1 sequential steps instead of H·W, with the
#   same numbers to round-off.
# * The backward pass sends three messages per cell: dG W_upᵀ to the hidden
#   state above, dG W_leftᵀ to the hidden state on the left, dc_prev to the
#   cell state on the left. A state's gradient is the **sum** of what its
#   readers send, so the sweep visits the cells in reverse raster order
#   (or reverse wavefront order), and dW_up, dW_left sum over all cells.
# * With a sigmoid mask, A[i, j] sees the quadrant above-left of it (through
#   the raster scan) and the quadrant below-right (through the inverse
#   scan), each widened by the convolution's p, and nothing else. Without
#   the recurrence it sees only its k×k window.
# * `docs/backward.md` §5 and §6 give the same derivation in prose, with the
#   buffers the wavefront schedule uses.
