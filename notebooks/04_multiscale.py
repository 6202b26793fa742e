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
# One sweep of the single-scale layer takes H + W − 1 sequential steps. The
# multi-scale layer (docs/model.md §5) runs one ARNN per scale γ on X max-pooled by γ
# (H/γ + W/γ − 1 steps each), upsamples each scale's logits back to H×W by
# repetition, and mixes them with a per-position softmax over scales whose
# weights β are read from X itself:
#
#     S = Σ_s β_s · Up_{γ_s},    β = softmax_s(X · comb.V + comb.c),    A = σ(S)
#
# This notebook looks at an **untrained** layer (random parameters): the point
# is the structure each scale imposes, not a learned mask. It shows
#
# 1. the mask each scale alone would give, and the combined mask;
# 2. the combiner's weights β over the map;
# 3. which inputs reach one output at a coarse scale (pooling and upsampling
#    turn the single-scale receptive field into a union of blocks);
# 4. wall time against the scale set, next to the sequential step count.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from attnrnn_np import init_multiscale_params, multiscale_arnn_backward, multiscale_arnn_forward
from attnrnn_np.multiscale import sequential_steps
from attnrnn_np.nonlinear import sigmoid

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

fig, axes = plt.subplots(1, C, figsize=(9, 3))
for c, ax in enumerate(axes):
    ax.imshow(X[0, :, :, c], cmap="gray")
    ax.set_title(f"X channel {c}")
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
fig, axes = plt.subplots(1, len(scales) + 1, figsize=(3.2 * (len(scales) + 1), 3.2))
for s, g in enumerate(scales):
    im = axes[s].imshow(panels[s], cmap="viridis", vmin=lo, vmax=hi)
    axes[s].set_title(f"scale γ={g}: σ(Up_γ)\n{H // g}×{W // g} cells")
im = axes[-1].imshow(A[0], cmap="viridis", vmin=lo, vmax=hi)
axes[-1].set_title("combined mask A")
for ax in axes:
    ax.axis("off")
fig.colorbar(im, ax=axes, shrink=0.8)
plt.show()

# %% [markdown]
# ## The combiner's weights β
#
# β[i, j, s] is a softmax over scales of X[i, j, :] · comb.V[:, s] + comb.c[s]:
# it changes with content, here most visibly on the blobs and the bar. The
# last panel shows which scale carries the most weight at each position.

# %%
beta = cache.comb.beta[0]                               # (H, W, n_s)
fig, axes = plt.subplots(1, len(scales) + 1, figsize=(3.2 * (len(scales) + 1), 3.2))
for s, g in enumerate(scales):
    im = axes[s].imshow(beta[:, :, s], cmap="magma", vmin=0, vmax=1)
    axes[s].set_title(f"β for γ={g}")
fig.colorbar(im, ax=axes[:len(scales)], shrink=0.8)
dominant = axes[-1].imshow(beta.argmax(axis=-1), cmap="tab10", vmin=0, vmax=9)
axes[-1].set_title("argmax_s β (colour = scale index)")
for ax in axes:
    ax.axis("off")
plt.show()
mean_beta = beta.reshape(-1, len(scales)).mean(axis=0)
print("mean β per scale:", ", ".join(f"γ={g}: {m:.3f}" for g, m in zip(scales, mean_beta)))

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
g, i, j = 4, 13, 18
single = {key: v for key, v in params.items() if key.startswith(f"scale{g}.")}
single["comb.V"], single["comb.c"] = params["comb.V"][:, :1], params["comb.c"][:1]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
for ax, recurrent in zip(axes, (True, False)):
    A_g, cache_g = multiscale_arnn_forward(X, single, scales=(g,), recurrent=recurrent)
    dA = np.zeros_like(A_g)
    dA[0, i, j] = 1.0
    dX, _, _ = multiscale_arnn_backward(dA, cache_g)
    support = (dX[0] != 0).sum(-1)                     # (H, W) channels with a gradient
    blocks = support.reshape(H // g, g, W // g, g).any(axis=(1, 3))
    ax.imshow(np.kron(blocks, np.ones((g, g))) + support, cmap="Blues", vmin=0, vmax=C + 1)
    ax.plot(j, i, "r*", markersize=12)
    ax.set_xticks(np.arange(-0.5, W, g), minor=True)
    ax.set_yticks(np.arange(-0.5, H, g), minor=True)
    ax.grid(which="minor", color="0.8", linewidth=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"γ={g}, {'recurrent' if recurrent else 'ablation (recurrent=False)'}")
plt.show()

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
for ss, n_steps, t in zip(scale_sets, steps, times):
    print(f"scales {str(ss):<10} steps {n_steps:>3}   forward+backward {t:7.1f} ms")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter(steps, times)
for ss, x, y in zip(scale_sets, steps, times):
    ax.annotate(str(ss), (x, y), textcoords="offset points", xytext=(5, 3))
ax.set_xlabel("sequential steps Σ (H/γ + W/γ − 1)")
ax.set_ylabel("forward + backward (ms)")
ax.set_title(f"N={Nb}, {Hb}×{Wb}, C=K={Cb}, float32")
plt.show()
