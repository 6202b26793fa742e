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
# # 6. Verify your own implementation
#
# You have written an AttentionRNN of your own, and you want to know whether
# it computes the layer of `docs/model.md`, number by number, and if not,
# where it goes wrong. This notebook takes one such implementation, written
# the way people write one:
#
# - plain NumPy, **channels first** (C, H, W), one sample at a time;
# - a loop over pixels for the convolution and for the scan;
# - weights in the **PyTorch layout** (`fwd.conv.weight` (4K, C, k, k), …), as
#   they would come out of a PyTorch model;
# - the inverse-raster direction written the natural way: flip the input,
#   run the same code, flip the result back.
#
# It runs the verification kit on it, reads the report, finds the bug,
# fixes it and passes. The protocol, the names and the tolerances are in
# `docs/verify.md`.

# %%
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np

from attnrnn_np.verify import problems, reference, to_torch_layout, verify

# %% [markdown]
# ## The implementation under test
#
# Nothing below comes from this package: it is the researcher's own code.
# It reads the state dict of a PyTorch-style module (the key names of the
# layout table in `docs/verify.md`) and computes one sample.

# %%
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def conv2d(x, weight, bias):
    """'same' cross-correlation, like nn.Conv2d: x (C, H, W), weight (F, C, k, k) -> (F, H, W)."""
    F, C, k, _ = weight.shape
    p = k // 2
    H, W = x.shape[1:]
    padded = np.pad(x, ((0, 0), (p, p), (p, p)))
    out = np.empty((F, H, W))
    for i in range(H):
        for j in range(W):
            out[:, i, j] = np.tensordot(weight, padded[:, i:i + k, j:j + k], axes=3) + bias
    return out


def lstm_2d(u, w_up, w_left):
    """Diagonal LSTM in raster order. u (4K, H, W); w_up, w_left (4K, K) like nn.Linear weights.

    Returns gates (4K, H, W), cell (K, H, W), hidden (K, H, W).
    """
    K4, H, W = u.shape
    K = K4 // 4
    gates, cell, hidden = np.zeros((4 * K, H, W)), np.zeros((K, H, W)), np.zeros((K, H, W))
    for i in range(H):
        for j in range(W):
            h_up = hidden[:, i - 1, j] if i > 0 else np.zeros(K)
            h_left = hidden[:, i, j - 1] if j > 0 else np.zeros(K)
            c_left = cell[:, i, j - 1] if j > 0 else np.zeros(K)
            z = u[:, i, j] + w_up @ h_up + w_left @ h_left
            i_g, f_g, g_g, o_g = sigmoid(z[:K]), sigmoid(z[K:2 * K]), np.tanh(z[2 * K:3 * K]), sigmoid(z[3 * K:])
            gates[:, i, j] = np.concatenate([i_g, f_g, g_g, o_g])
            cell[:, i, j] = f_g * c_left + i_g * g_g
            hidden[:, i, j] = o_g * np.tanh(cell[:, i, j])
    return gates, cell, hidden


def my_arnn(x, q, sd, normalize):
    """One sample: x (C, H, W), q (Q,) or None. Returns the mask (H, W) and the intermediates."""
    parts = {}
    for d in ("fwd", "bwd"):
        # the inverse-raster direction: flip the input, run the same code, flip back
        x_d = x if d == "fwd" else x[:, ::-1, ::-1]
        u = conv2d(x_d, sd[f"{d}.conv.weight"], sd[f"{d}.conv.bias"])
        if q is not None:
            u = u + (sd[f"{d}.query.weight"] @ q)[:, None, None]
        gates, cell, hidden = lstm_2d(u, sd[f"{d}.up.weight"], sd[f"{d}.left.weight"])
        back = (lambda a: a) if d == "fwd" else (lambda a: a[:, ::-1, ::-1])
        parts[d] = {"U": back(u), "gates": back(gates), "c": back(cell), "h": back(hidden)}
    w, b = sd["head.weight"][0], sd["head.bias"][0]
    K = parts["fwd"]["h"].shape[0]
    s = np.tensordot(w[:K], parts["fwd"]["h"], axes=1) + np.tensordot(w[K:], parts["bwd"]["h"], axes=1) + b
    a = sigmoid(s) if normalize == "sigmoid" else np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    return a, s, parts

# %% [markdown]
# ## A candidate: the glue between a problem and the implementation
#
# The kit calls `candidate(problem)` on each problem of a fixed set and
# compares what comes back. A problem carries `X` (N, H, W, C), `q`, the
# parameters in both layouts (`params`, `torch_params`), `normalize` and
# `scales`. This implementation is single-scale, so it skips the
# multi-scale problems by returning `None`.
#
# A first candidate returns only the mask, as most tests compare.

# %%
def run(problem):
    """The implementation on every sample of a problem: A (N, H, W) and the parts, channels first."""
    X = problem.X.transpose(0, 3, 1, 2)                       # (N, C, H, W)
    results = [my_arnn(X[n], None if problem.q is None else problem.q[n], problem.torch_params,
                       problem.normalize) for n in range(X.shape[0])]
    return results


def mask_only(problem):
    if problem.scales is not None:
        return None
    return {"A": np.stack([a for a, _, _ in run(problem)])}


report = verify(mask_only)
print(report)

# %% [markdown]
# The verdict is clear, and instructive: the k = 3 problems fail, and the
# k = 1 problems (`k1-q2-sigmoid-3x4`, `k1-q0-softmax-4x3`) pass. A test
# written with a 1×1 kernel would have passed. But with the mask alone the
# report cannot say *where* the bug is (see its note): every stage up to the
# normalisation is suspect.

# %%
status = {r.name: r.status for r in report.results}
assert not report.passed
assert status["k1-q2-sigmoid-3x4"] == status["k1-q0-softmax-4x3"] == "pass"
assert status["k3-q3-sigmoid-4x5"] == "fail"

# %% [markdown]
# ## Return the intermediates
#
# The kit knows the layer's intermediates by name (`U.fwd`, `gates.fwd`,
# `c.fwd`, `h.fwd`, the same for `bwd`, `S`, `A`), channels last and in
# map coordinates. The implementation already has them; the candidate only
# transposes them.

# %%
def with_intermediates(problem):
    if problem.scales is not None:
        return None
    results = run(problem)
    out = {"A": np.stack([a for a, _, _ in results]), "S": np.stack([s for _, s, _ in results])}
    for d in ("fwd", "bwd"):
        for name in ("U", "gates", "c", "h"):
            out[f"{name}.{d}"] = np.stack([parts[d][name] for _, _, parts in results]).transpose(0, 2, 3, 1)
    return out


report = verify(with_intermediates, ["k3-q3-sigmoid-4x5", "k1-q2-sigmoid-3x4"])
print(report)

# %% [markdown]
# Now the report points at the bug:
#
# - `U.fwd` agrees to round-off, `U.bwd` does not: the first divergence is in
#   stage **U**, the inverse-raster direction's input-to-state term, before
#   any recurrence. The scan code is not to blame (the forward direction
#   uses the same `lstm_2d` and agrees).
# - The most likely cause in the catalogue is **reverse-kernel**: the
#   direction was written as `flip(LSTM(flip(X)))`, so its convolution runs
#   on the rotated map. That equals the layer's `U.bwd` only if the kernel
#   is rotated by 180° as well, and a 1×1 kernel is its own rotation, which
#   is why every k = 1 number agrees.
#
# Where does `U.bwd` go wrong? Everywhere except where the 3×3 kernel's
# rotation happens not to matter:

# %%
(failing,) = [r for r in report.results if r.name == "k3-q3-sigmoid-4x5"]
assert failing.divergence.stage == "U" and failing.divergence.tensor == "U.bwd"
assert failing.divergence.causes[0].name == "reverse-kernel"

problem = problems(["k3-q3-sigmoid-4x5"])[0]
got, want = with_intermediates(problem), reference(problem)
fig, axes = plt.subplots(1, 2, figsize=(7, 2.8))
for ax, name in zip(axes, ("U.fwd", "U.bwd"), strict=True):
    err = np.abs(got[name] - want[name]).max(axis=(0, 3))     # worst over samples and channels, per cell
    im = ax.imshow(err, cmap="magma", vmin=0)
    ax.set_title(f"|error| of {name} per cell")
    ax.set_xlabel("j")
    ax.set_ylabel("i")
    fig.colorbar(im, ax=ax, shrink=0.8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The fix
#
# Two fixes are correct; choose by what the weights mean.
#
# 1. **Keep the layer of `docs/model.md`** (its weights load into this
#    package unchanged): convolve the map as it is, and flip only the
#    pre-activations before the scan. One line changes in `my_arnn`.
# 2. **Keep the flip-input code**, and treat its convention as part of the
#    weight map: `bwd.conv.weight` is then rotated by 180°, which
#    `to_torch_layout(params, bwd_flips_input=True)` (and, for your own
#    trained weights, `from_torch_layout(state_dict, bwd_flips_input=True)`)
#    does.
#
# Fix 1:

# %%
def my_arnn_fixed(x, q, sd, normalize):
    parts = {}
    for d in ("fwd", "bwd"):
        u = conv2d(x, sd[f"{d}.conv.weight"], sd[f"{d}.conv.bias"])      # the map as it is
        if q is not None:
            u = u + (sd[f"{d}.query.weight"] @ q)[:, None, None]
        flip = (lambda a: a) if d == "fwd" else (lambda a: a[:, ::-1, ::-1])
        gates, cell, hidden = lstm_2d(flip(u), sd[f"{d}.up.weight"], sd[f"{d}.left.weight"])
        parts[d] = {"U": u, "gates": flip(gates), "c": flip(cell), "h": flip(hidden)}
    w, b = sd["head.weight"][0], sd["head.bias"][0]
    K = parts["fwd"]["h"].shape[0]
    s = np.tensordot(w[:K], parts["fwd"]["h"], axes=1) + np.tensordot(w[K:], parts["bwd"]["h"], axes=1) + b
    a = sigmoid(s) if normalize == "sigmoid" else np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    return a, s, parts


my_arnn_original = my_arnn
my_arnn = my_arnn_fixed
report = verify(with_intermediates)
print(report)
assert report.passed

# %% [markdown]
# Every single-scale problem passes — square and non-square maps, 1×6, 6×1
# and 1×1, k = 1 and k = 3, with and without a query, sigmoid and softmax —
# and the three multi-scale problems are listed as skipped.
#
# Fix 2, the original code with the rotated kernel:

# %%
my_arnn = my_arnn_original


def flip_input_convention(problem):
    if problem.scales is not None:
        return None
    rotated = to_torch_layout(problem.params, bwd_flips_input=True)
    return with_intermediates(replace(problem, torch_params=rotated))


report = verify(flip_input_convention)
print(report.results[0].name, report.results[0].status, "…", "passed:", report.passed)
assert report.passed

# %% [markdown]
# ## What next
#
# - Return the gradients too (`dX`, `dq`, and `grads` in this package's key
#   names; `from_torch_layout` maps a module's `.grad`s): the report then
#   checks the backward pass, stage `backward`.
# - The same check runs from the shell, `attnrnn-np verify --against
#   my_module:candidate`, with exit status 0 or 1 for CI.
# - For an implementation in another language, `attnrnn-np verify golden
#   --out DIR` writes the problems as `.npz` files, and `attnrnn-np verify
#   --npz OUT` checks the results it writes back.
# - `docs/verify.md` shows the same workflow for a PyTorch module, and the
#   catalogue of classic bugs with the symptom of each.
