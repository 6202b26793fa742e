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
# # 4. The multi-scale (block-wise) AttentionRNN: scales, combiner, cost
#
# > * **You will learn** what each scale of the multi-scale layer sees, how
# > the combiner weighs the scales at each position, which inputs reach an
# > output at a coarse scale, and what the scales cost in sequential steps.
# > * **You need** notebook 03; docs/model.md §5 beside you.
# > * **About 25 minutes.** Next: notebook 05.
#
# One sweep of the single-scale layer takes H + W − 1 sequential steps. The
# multi-scale layer (docs/model.md §5) runs one ARNN per scale γ on X max-pooled by γ
# (H/γ + W/γ − 1 steps each), upsamples each scale's logits back to H×W by
# repetition, and mixes them with a per-position softmax over scales whose
# weights β are read from X itself:
#
# $$S = \textstyle\sum_s \beta_s\,\mathrm{Up}_{\gamma_s}, \qquad
#   \beta = \operatorname{softmax}_s\big(X V + b_{\mathrm{comb}}\big), \qquad A = \sigma(S)$$
#
# with V = `comb.V` and b_comb = `comb.c` (docs/model.md §1's symbols).
#
# This notebook looks at an **untrained** layer (random parameters): the point
# is the structure each scale imposes, not a learned mask. It shows
#
# 1. the mask each scale alone would give, and the combined mask;
# 2. the combiner's weights β over the map;
# 3. which inputs reach one output at a coarse scale (pooling and upsampling
#    turn the single-scale receptive field into a union of blocks);
# 4. what the scales cost in sequential steps, for several scale sets and map
#    sizes, and what they buy: reach across the map in fewer steps, at block
#    resolution;
# 5. wall time against the scale set, next to the sequential step count.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from attnrnn_np import init_multiscale_params, multiscale_arnn_backward, multiscale_arnn_forward
from attnrnn_np.course.figure_style import use_teaching_style
from attnrnn_np.multiscale import sequential_steps
from attnrnn_np.nonlinear import sigmoid

use_teaching_style()   # figures 7.3 in wide, the width the site shows them; text ≥ 9 pt

# %% [markdown]
# ## A feature map with some structure
#
# Three channels: two Gaussian blobs in channel 0, a bright bar in channel 1,
# and noise everywhere, so that the scales and the combiner have something
# to respond to.

# %%
N, H, W, C, K = 1, 32, 32, 3, 8
scales = (1, 2, 4)
rng = np.random.default_rng(0)
rows, cols = np.mgrid[0:H, 0:W]
X = 0.3 * rng.normal(size=(N, H, W, C))
X[0, :, :, 0] += 2.0 * np.exp(-((rows - 9) ** 2 + (cols - 10) ** 2) / 18.0)
X[0, :, :, 0] += 2.0 * np.exp(-((rows - 22) ** 2 + (cols - 24) ** 2) / 30.0)
X[0, 24:27, 3:18, 1] += 2.0

params = init_multiscale_params(C, K, scales, kernel_size=3, seed=3)
A, cache = multiscale_arnn_forward(X, params, scales=scales)
print("parameters:", len(params), "arrays;", "A", A.shape, f"in [{A.min():.3f}, {A.max():.3f}]")

fig, axes = plt.subplots(1, C, figsize=(7.3, 2.6))
for m, ax in enumerate(axes):
    ax.imshow(X[0, :, :, m], cmap="gray")
    ax.set_title(f"X channel {m}")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The masks at each scale
#
# `cache.comb.Up[..., s]` holds scale γ_s's logits after nearest upsampling;
# σ of it is the mask that scale alone would give. Coarse scales are constant
# on γ×γ blocks; the combined mask mixes them position by position.

# %%
Up = cache.comb.Up[0]                                   # (H, W, n_s)
panels = [sigmoid(Up[:, :, s]) for s in range(len(scales))] + [A[0]]
lo, hi = min(m.min() for m in panels), max(m.max() for m in panels)  # untrained: values near 0.5
fig, axes = plt.subplots(1, len(scales) + 1, figsize=(7.3, 2.4))
for s, gamma in enumerate(scales):
    im = axes[s].imshow(panels[s], cmap="viridis", vmin=lo, vmax=hi)
    axes[s].set_title(f"γ={gamma}: σ(Up_γ),\n{H // gamma}×{W // gamma} cells")
im = axes[-1].imshow(A[0], cmap="viridis", vmin=lo, vmax=hi)
axes[-1].set_title("combined\nmask A")
for ax in axes:
    ax.axis("off")
fig.colorbar(im, ax=axes, shrink=0.8, label="mask value")
plt.show()

# %% [markdown]
# ## The combiner's weights β
#
# β[i, j, s] is a softmax over scales of X[i, j, :] · V[:, s] + b_comb[s]:
# it changes with content, here most visibly on the blobs and the bar. The
# last panel shows which scale carries the most weight at each position.

# %%
beta = cache.comb.beta[0]                               # (H, W, n_s)
fig, axes = plt.subplots(1, len(scales) + 1, figsize=(7.3, 2.4))
for s, gamma in enumerate(scales):
    im = axes[s].imshow(beta[:, :, s], cmap="magma", vmin=0, vmax=1)
    axes[s].set_title(f"β for γ={gamma}")
fig.colorbar(im, ax=axes[:len(scales)], shrink=0.8, label="β")
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

scale_colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"][:len(scales)]
dominant = axes[-1].imshow(beta.argmax(axis=-1), cmap=ListedColormap(scale_colours), vmin=-0.5,
                           vmax=len(scales) - 0.5)
axes[-1].set_title("the scale with\nthe largest β")
axes[-1].legend(handles=[Patch(color=c, label=f"γ={g}") for c, g in zip(scale_colours, scales, strict=True)],
               loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=len(scales), frameon=False,
               handlelength=1, columnspacing=0.6)
for ax in axes:
    ax.axis("off")
plt.show()
mean_beta = beta.reshape(-1, len(scales)).mean(axis=0)
print("mean β per scale:", ", ".join(f"γ={gamma}: {m:.3f}" for gamma, m in zip(scales, mean_beta, strict=True)))

# %% [markdown]
# ## What reaches one output at a coarse scale
#
# With a single scale γ the combiner weight is exactly 1, so A[i, j] reads
# only the pooled cell (⌊i/γ⌋, ⌊j/γ⌋) of the coarse ARNN. That cell's
# receptive field on the pooled map is docs/model.md §4's rule (everything up-left of
# it, plus the k×k margin, or everything down-right); on the full map it
# becomes whole γ×γ blocks — of which only the element that won each max-pool
# window carries a gradient. Below: the blocks that reach A[i, j] (light)
# and, inside them, the winning elements whose ∂A[i, j]/∂X is non-zero
# (dark, summed over channels), for the recurrent layer and for the ablation
# (`recurrent=False`), whose field is the k×k neighbourhood of pooled cells.

# %%
gamma, i, j = 4, 13, 18
single = {key: v for key, v in params.items() if key.startswith(f"scale{gamma}.")}
single["comb.V"], single["comb.c"] = params["comb.V"][:, :1], params["comb.c"][:1]
fig, axes = plt.subplots(1, 2, figsize=(7.3, 3.5))
for ax, recurrent in zip(axes, (True, False), strict=True):
    A_g, cache_g = multiscale_arnn_forward(X, single, scales=(gamma,), recurrent=recurrent)
    dA = np.zeros_like(A_g)
    dA[0, i, j] = 1.0
    dX, _, _ = multiscale_arnn_backward(dA, cache_g)
    support = (dX[0] != 0).sum(-1)                     # (H, W) channels with a gradient
    blocks = support.reshape(H // gamma, gamma, W // gamma, gamma).any(axis=(1, 3))
    ax.imshow(np.kron(blocks, np.ones((gamma, gamma))) + support, cmap="Blues", vmin=0, vmax=C + 1)
    ax.plot(j, i, "r*", markersize=12)
    ax.set_xticks(np.arange(-0.5, W, gamma), minor=True)
    ax.set_yticks(np.arange(-0.5, H, gamma), minor=True)
    ax.grid(which="minor", color="0.8", linewidth=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"γ={gamma}, {'recurrent' if recurrent else 'ablation (recurrent=False)'}")
plt.show()

# %% [markdown]
# ## What the scales buy, and what they cost
#
# **Cost in sequential steps.** Scale γ sweeps an (H/γ)×(W/γ) map, in
# H/γ + W/γ − 1 steps. This implementation runs the scales one after the
# other, so a call takes `sequential_steps(H, W, scales)` = Σ_γ (H/γ + W/γ − 1)
# steps, against H + W − 1 for the single-scale layer. The scales do not
# depend on each other: run concurrently, the critical path would be the
# finest scale's steps alone.

# %%
step_sets = [(1,), (2,), (4,), (8,), (2, 4), (1, 2), (1, 2, 4), (1, 2, 4, 8)]
sides = (16, 32, 64, 128)
print(f"{'scales':<14}" + "".join(f"{f'{s}×{s}':>14}" for s in sides) + "   mask resolution")
print(f"{'H + W − 1':<14}" + "".join(f"{2 * s - 1:>14}" for s in sides))
for ss in step_sets:
    cells = []
    for s in sides:
        n_steps = sequential_steps(s, s, ss)
        assert n_steps == sum(s // gamma + s // gamma - 1 for gamma in ss)
        cells.append(f"{n_steps} ({n_steps / (2 * s - 1):.2f}×)")
    print(f"{str(ss):<14}" + "".join(f"{c:>14}" for c in cells) + f"   {min(ss)}×{min(ss)} blocks")
assert sequential_steps(32, 32, (4,)) == 15 and sequential_steps(32, 32, (1, 2, 4)) == 109

fig, ax = plt.subplots(figsize=(5.5, 3.5))
side = np.array([8, 16, 32, 64, 128])
ax.plot(side, 2 * side - 1, "k--", label="single scale: H + W − 1")
for ss in [(2,), (4,), (2, 4), (1, 2, 4)]:
    ax.plot(side, [sequential_steps(s, s, ss) for s in side], "o-", ms=3, label=f"scales {ss}")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("H = W")
ax.set_ylabel("sequential steps per call")
ax.legend(fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# So a coarse scale alone is cheap (γ = 4: about a quarter of the steps),
# and a set that keeps full resolution, i.e. contains γ = 1, is never cheaper
# than the single-scale layer: it costs H + W − 1 for scale 1 plus the coarse
# scales' steps (1.75× for (1, 2, 4)). What the coarse scales buy is not
# speed at full resolution but **reach**:
#
# * **Farther in fewer steps.** One step of scale γ moves γ pixels. A signal
#   from the top-left corner reaches the bottom-right one through
#   H/γ + W/γ − 1 LSTM cells, and each step scales the gradient coming back
#   by factors that are mostly below 1: a step along a row passes the forget
#   gate of the cell-state carry (or o ⊙ (1 − tanh² c) and W_left), a step
#   down a column passes o ⊙ (1 − tanh² c) and W_up, not a forget gate.
#   At γ = 4 that is 15 cells on a 32×32 map instead of 63.
# * **At block resolution.** Scale γ gives one logit per γ×γ block, and only
#   the max-pool winner of each block and channel passes gradient back; the
#   combiner β, which reads X at full resolution, chooses per position how
#   much of each scale to use.
#
# Measured on the untrained layer: how strongly the 4×4 block in the
# top-left corner moves the mask value in the bottom-right corner,
# Σ |∂A[31, 31]/∂X[a, b, c]| over the block, for each scale alone (as in the
# previous section, the combiner weight is then 1). The maps show
# log₁₀ Σ_c |∂A[31, 31]/∂X[a, b, c]| over the whole map; white is exactly 0.

# %%
i_out, j_out = H - 1, W - 1
reach, fields = {}, {}
fig, axes = plt.subplots(1, len(scales), figsize=(7.3, 2.9))
for ax, gamma in zip(axes, scales, strict=True):
    single = {key: v for key, v in params.items() if key.startswith(f"scale{gamma}.")}
    single["comb.V"], single["comb.c"] = params["comb.V"][:, :1], params["comb.c"][:1]
    A_g, cache_g = multiscale_arnn_forward(X, single, scales=(gamma,))
    dA = np.zeros_like(A_g)
    dA[0, i_out, j_out] = 1.0
    dX, _, _ = multiscale_arnn_backward(dA, cache_g)
    field = np.abs(dX[0]).sum(-1)                                  # (H, W)
    reach[gamma] = field[:4, :4].sum()
    fields[gamma] = field
    with np.errstate(divide="ignore"):
        im = ax.imshow(np.ma.masked_equal(np.log10(field), -np.inf), cmap="magma", vmin=-16, vmax=0)
    ax.plot(j_out, i_out, "c*", ms=10)
    ax.add_patch(plt.Rectangle((-0.5, -0.5), 4, 4, fill=False, ec="cyan"))
    ax.set_title(f"γ={gamma}: {H // gamma + W // gamma - 1} cells\ncorner to corner;\n"
                 f"top-left block {reach[gamma]:.1e}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes, shrink=0.8, label="log₁₀ Σ_c |∂A[31, 31]/∂X|")
plt.show()
print(f"top-left block, γ=4 against γ=1: {reach[4] / reach[1]:.1e} times the gradient")
assert reach[4] > 100 * reach[1]

# %% [markdown]
# The gradient falls off with the number of cells between the two points,
# not with their distance in pixels: the far corner's influence decays over
# 63 cells at γ = 1 and over 15 at γ = 4, and the difference is several
# orders of magnitude. (These are random weights, with forget-gate biases
# of 1; training can learn to carry states farther, but every cell on the
# path still multiplies the signal by gate factors below 1.) Within a block the
# coarse scales' gradient reaches only the max-pool winners: the speckled
# look of the γ = 2 and γ = 4 maps.


# %% [markdown]
# ## Wall time against the scale set
#
# Forward + backward on a modest problem (N=4, 32×32, C=K=16, float32),
# minimum of seven rounds after a warm-up round. Each step costs a fixed
# overhead (Python, one batched GEMM call per diagonal) plus work that shrinks
# by γ² at scale γ. On a problem this small the fixed overhead weighs most,
# so time follows the step count; on larger problems the work dominates and
# coarse scales cost much less than their step counts. The numbers depend on
# the machine and its load; `benchmarks/bench_multiscale.py` times the larger
# problem recorded in the docs.

# %%
Nb, Hb, Wb, Cb, Kb = 4, 32, 32, 16, 16
Xb = rng.normal(size=(Nb, Hb, Wb, Cb)).astype("float32")
dAb = rng.normal(size=(Nb, Hb, Wb)).astype("float32")
scale_sets = [(1,), (2,), (4,), (1, 2), (1, 2, 4)]
layer_params = {ss: init_multiscale_params(Cb, Kb, ss, seed=0, dtype="float32") for ss in scale_sets}
best = {ss: np.inf for ss in scale_sets}
for round_ in range(8):                      # rounds outside, so load spikes hit every scale set alike
    for ss in scale_sets:
        t0 = time.perf_counter()
        _, c = multiscale_arnn_forward(Xb, layer_params[ss], scales=ss)
        multiscale_arnn_backward(dAb, c)
        if round_ > 0:                       # round 0 warms up
            best[ss] = min(best[ss], time.perf_counter() - t0)
times = [1e3 * best[ss] for ss in scale_sets]
steps = [sequential_steps(Hb, Wb, ss) for ss in scale_sets]
for ss, n_steps, t in zip(scale_sets, steps, times, strict=True):
    print(f"scales {str(ss):<10} steps {n_steps:>3}   forward+backward {t:7.1f} ms")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter(steps, times)
for ss, x, y in zip(scale_sets, steps, times, strict=True):
    ax.annotate(str(ss), (x, y), textcoords="offset points", xytext=(5, 3))
ax.set_xlabel("sequential steps Σ (H/γ + W/γ − 1)")
ax.set_ylabel("forward + backward (ms)")
ax.set_title(f"N={Nb}, {Hb}×{Wb}, C=K={Cb}, float32")
plt.show()

# %% [markdown]
# ## Try this
#
# Each needs a line or two changed in the cells above, then a re-run. Each
# answer is folded under its question (and on the answers page,
# `docs/answers.md`, section "Notebook 4"): try first.
#
# **1. A scale that does not divide the map.** Ask for the steps of a 30×30 map with scales (1, 4):
# `sequential_steps(30, 30, (1, 4))`. What happens, and why?
#
# <details>
# <summary>Show the answer</summary>
#
# `sequential_steps(30, 30, (1, 4))`
# raises `ValueError: scale 4 does not divide the map: X has shape
# (1, 30, 30, 1) (H=30, W=30); every scale must divide both H and W`.
# Max-pooling by γ turns each γ×γ block into one cell, and the layer does not
# pad or crop (docs/model.md §5). On a 30×30 map scales such as (1, 2), (1, 3)
# or (1, 5) work: `sequential_steps(30, 30, (1, 3))` = 59 + 19 = 78.
#
# </details>
#
# **2. Forget-gate biases of 4.** In the reach cell, set each direction's forget-gate bias to 4 instead
# of 1, right after `single` is built:
# `for d in ("fwd", "bwd"): single[f"scale{g}.{d}.b"] = single[f"scale{g}.{d}.b"] + np.r_[np.zeros(K), 3 * np.ones(K), np.zeros(2 * K)]`.
# How do the numbers of the top-left block change at each scale? Does
# γ = 1 catch up with γ = 4?
#
# <details>
# <summary>Show the answer</summary>
#
# The gradient from the top-left block
# changes to 4.9·10⁻¹³ at γ = 1 (from 1.7·10⁻¹¹: smaller), 2.6·10⁻⁷ at γ = 2
# (from 3.3·10⁻⁸) and 2.8·10⁻⁶ at γ = 4 (from 2.2·10⁻⁶). γ = 1 does not catch
# up; the ratio between γ = 4 and γ = 1 grows to about 6·10⁶. The forget gate
# carries the cell state only along a row: c_prev comes from the cell on the
# left. The path from the top-left corner to the bottom-right one must also
# go down the map, and every step down passes through h = o ⊙ tanh(c) and
# W_up into the gates of the next row, not through a forget gate. Larger
# forget biases let c grow along the rows, tanh(c) saturates, and the factor
# 1 − tanh²(c) of each step down shrinks. Fewer cells on the path, which is
# what a coarse scale gives, shortens both kinds of steps at once.
#
# </details>
#
# **3. The ablation at every scale.** In the same cell, pass `recurrent=False` to `multiscale_arnn_forward`.
# Which part of the map still reaches A[31, 31], at each scale? (The
# assertion under the figure now fails: why?)
#
# <details>
# <summary>Show the answer</summary>
#
# Only cells near the output still reach
# A[31, 31]: at γ = 1 rows and columns 30–31 (the 3×3 window, clipped by the
# corner of the map), at γ = 2 rows and columns 28–31 (the 3×3 neighbourhood
# of pooled cells, clipped: 2×2 blocks of 2×2 pixels), at γ = 4 rows and
# columns 24–31 (2×2 blocks of 4×4 pixels, of which only the max-pool winners
# carry gradient). Without the recurrence a coarse scale still reaches γ times
# farther, but only locally. The top-left block gets exactly 0 at every scale,
# so the assertion `reach[4] > 100 * reach[1]` compares 0 with 0 and fails.
#
# </details>

# %% [markdown]
# ## Take-aways
#
# * Scale γ sweeps an (H/γ)×(W/γ) map in H/γ + W/γ − 1 steps. Here the
#   scales run one after another, so a call costs Σ_γ (H/γ + W/γ − 1) steps:
#   a coarse scale alone is cheap, a set that keeps γ = 1 costs more than the
#   single-scale layer's H + W − 1 (concurrent scales would cost the finest
#   scale's steps).
# * What coarse scales buy is reach: one step crosses γ pixels, so far cells
#   are linked through fewer LSTM cells, each of which shrinks the gradient,
#   and their gradients are orders of magnitude larger.
# * The price is resolution: a scale's logit is constant on γ×γ blocks, and
#   only the max-pool winners pass gradient. The combiner β reads X at full
#   resolution and mixes the scales position by position.
# * On a small problem wall time follows the step count; on a large one the
#   work per step, which shrinks by γ² at scale γ, weighs more.
