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
# # 1. The LSTM cell and its backward pass, by hand
#
# > * **You will learn** the LSTM cell's forward equations with gates i, f, g, o;
# > its backward pass, derived one line at a time and checked by finite
# > differences; why one `tanh` pass computes all four gates.
# > * **You need** NumPy and the chain rule (backpropagation through a small
# > graph); no LSTM background.
# > * **About 40 minutes.** Next: notebook 02.
#
# Every position (i, j) of the feature map runs one LSTM step in each of
# AttentionRNN's two scans. This notebook takes that one step apart:
#
# 1. the forward equations of the cell, with gates i, f, g, o;
# 2. the backward pass, derived one line at a time;
# 3. a finite-difference check of `attnrnn_np.lstm_cell` with
#    `attnrnn_np.gradcheck`;
# 4. the trick that computes all four gates with a single `tanh` pass.
#
# The cell in `attnrnn_np/lstm_cell.py` owns no weights. The caller (the
# scan, notebook 2) has already added up everything that feeds the gates
# into one pre-activation vector `G` of width 4K:
#
# $$G = U[i,j] + h[i-1,j]\,W_\text{up} + h[i,j-1]\,W_\text{left},$$
#
# where `U` holds the input-to-state convolution, the bias and the query
# term. The cell only turns `G` and the incoming cell state into the new
# states. Keeping the weights outside means the same cell code serves the
# raster loop, the wavefront schedule and the non-recurrent ablation.

# %%
import matplotlib.pyplot as plt
import numpy as np

from attnrnn_np.course.figure_style import use_teaching_style
from attnrnn_np.gradcheck import check_gradients, format_report
from attnrnn_np.lstm_cell import gate_activations, lstm_cell_backward, lstm_cell_forward
from attnrnn_np.nonlinear import sigmoid

rng = np.random.default_rng(0)
use_teaching_style()   # figures 7.3 in wide, the width the site shows them; text ≥ 9 pt

# %% [markdown]
# ## The forward pass
#
# `G` has four blocks of K columns, in the order **i, f, g, o** (the order of
# PyTorch's `nn.LSTM`). With `c_prev` the cell state of the cell to the left
# (zero at the left border), and the gates set upright (an italic i is a row
# index, docs/model.md §1):
#
# $$
# \begin{aligned}
# \mathrm{i} &= \sigma(G_{\mathrm{i}}), \quad \mathrm{f} = \sigma(G_{\mathrm{f}}), \quad \mathrm{g} = \tanh(G_{\mathrm{g}}), \quad \mathrm{o} = \sigma(G_{\mathrm{o}}) \\
# c &= \mathrm{f} \odot c_\text{prev} + \mathrm{i} \odot \mathrm{g} \\
# h &= \mathrm{o} \odot \tanh(c)
# \end{aligned}
# $$
#
# * `i` (input gate) decides how much of the candidate `g` is written,
# * `f` (forget gate) how much of the old cell state is kept,
# * `g` (cell candidate) is the new content, in (−1, 1), so it uses `tanh`,
#   not a sigmoid (a sigmoid here would only ever add to the cell state),
# * `o` (output gate) how much of the cell state is shown as `h`.
#
# Below, one batch of cells: the leading axes can be anything (the scan
# passes `(n_d, ℓ_t, N, ·)` arrays: scans, cells of a diagonal, samples), only the
# last axis is the 4K or K axis.

# %%
K = 3
batch = (2, 5)                                   # any leading shape
G = rng.normal(0.0, 1.5, batch + (4 * K,))       # spread wide enough to use the curved parts of σ and tanh
c_prev = rng.normal(0.0, 1.0, batch + (K,))

h, c, cache = lstm_cell_forward(G, c_prev)
print("G", G.shape, " c_prev", c_prev.shape, " ->  h", h.shape, " c", c.shape)
print("cache fields:", cache._fields)

# %% [markdown]
# The same numbers from the equations above, written out with separate
# sigmoid and tanh calls:

# %%
Gi, Gf, Gg, Go = (G[..., n * K:(n + 1) * K] for n in range(4))
c_direct = sigmoid(Gf) * c_prev + sigmoid(Gi) * np.tanh(Gg)
h_direct = sigmoid(Go) * np.tanh(c_direct)
diff = max(np.abs(c - c_direct).max(), np.abs(h - h_direct).max())
print(f"max |difference| from the written-out equations: {diff:.1e}")
assert diff < 1e-14

# %% [markdown]
# The same cell as a computation graph (`attnrnn-np figures` draws it; the
# backward pass below walks this graph from h and c back to G and c_prev):

# %%
import tempfile
from pathlib import Path

from IPython.display import Image, display

from attnrnn_np.course import figures

pictures = Path(tempfile.mkdtemp())
figures.lstm_cell_graph(pictures / "lstm_cell_graph.png")
display(Image(filename=str(pictures / "lstm_cell_graph.png")))

# %% [markdown]
# ## The backward pass, step by step
#
# In a scan, the loss reaches a cell through two doors:
#
# * `dh` = ∂L/∂h — from the head (this position's logit) and from the cells
#   that read this `h` (the cell below and the cell to the right);
# * `dc` = ∂L/∂c — from the cell to the right, which reads this `c` as its
#   `c_prev`. The last cell of a row has no such neighbour: `dc` is zero
#   (`lstm_cell_backward` accepts `None` for it).
#
# The cell must return `dG` = ∂L/∂G (the scan turns it into gradients of
# `U`, `W_up`, `W_left` and of the neighbours' states) and `dc_prev` =
# ∂L/∂c_prev (sent to the cell on the left). Everything is elementwise, so
# every Jacobian below is diagonal and each line is a plain product; no sums
# over K appear.
#
# **Step 1 — through h = o ⊙ tanh(c).** Two factors, product rule:
#
# $$\frac{\partial L}{\partial \mathrm{o}} = dh \odot \tanh(c), \qquad
#   \left.\frac{\partial L}{\partial c}\right|_{\text{via } h} = dh \odot \mathrm{o} \odot (1 - \tanh^2 c).$$
#
# **Step 2 — add up everything that reaches c.** `c` feeds this cell's `h`
# *and* the next cell's `c`, so its total gradient is the sum of both paths:
#
# $$dc_\text{tot} = dc + dh \odot \mathrm{o} \odot (1 - \tanh^2 c).$$
#
# Forgetting the first term is the classic bug: then no gradient ever
# travels along the cell-state "highway" of a row.
#
# **Step 3 — through c = f ⊙ c_prev + i ⊙ g.** A sum of two products:
#
# $$\begin{aligned}
#   d\mathrm{i} &= dc_\text{tot} \odot \mathrm{g}, & d\mathrm{g} &= dc_\text{tot} \odot \mathrm{i}, \\
#   d\mathrm{f} &= dc_\text{tot} \odot c_\text{prev}, & dc_\text{prev} &= dc_\text{tot} \odot \mathrm{f}.
# \end{aligned}$$
#
# **Step 4 — through the activations.** With σ'(x) = σ(x)(1 − σ(x)) and
# tanh'(x) = 1 − tanh²(x), both written in terms of the *outputs* (so the
# cache needs the activated gates, not `G`):
#
# $$
# \begin{aligned}
# dG_{\mathrm{i}} &= d\mathrm{i} \odot \mathrm{i}(1-\mathrm{i}), & dG_{\mathrm{f}} &= d\mathrm{f} \odot \mathrm{f}(1-\mathrm{f}), \\
# dG_{\mathrm{g}} &= d\mathrm{g} \odot (1-\mathrm{g}^2), & dG_{\mathrm{o}} &= d\mathrm{o} \odot \mathrm{o}(1-\mathrm{o}).
# \end{aligned}
# $$
#
# The cache therefore holds three arrays: the activated gates `[i, f, g, o]`,
# `c_prev`, and `tanh(c)`. `lstm_cell_backward` in `attnrnn_np/lstm_cell.py`
# computes exactly these products, in another order that needs fewer passes
# over memory: first dc_tot (steps 1 and 2); then the activation derivatives
# of all 4K columns at once from the stored outputs, a(1 − a) for the σ
# blocks and 1 − a² for the g block, written as one expression
# a ⊙ (m − a) + (1 − m) with a mask m that is 0 on the g block and 1
# elsewhere; and last, each block multiplied by its gradient with respect to
# the activated gate (dc_tot ⊙ g, dc_tot ⊙ c_prev, dc_tot ⊙ i, dh ⊙ tanh c).

# %% [markdown]
# ## Checking the derivation against finite differences
#
# A backward pass computes a vector–Jacobian product: for an upstream
# gradient `dout` it returns ∂⟨f(x), dout⟩/∂x. `attnrnn_np.gradcheck`
# estimates the same numbers with central differences,
# (⟨f(x + εe), dout⟩ − ⟨f(x − εe), dout⟩) / 2ε for each entry e, in float64.
#
# The cell has two outputs, so we let `f` return both, side by side, and use
# a random upstream gradient for each: `dout = [dh, dc]`. Random (not all-ones)
# upstream gradients matter — with all-ones, a swapped pair of gates could
# still pass.

# %%
dh = rng.normal(size=h.shape)
dc = rng.normal(size=c.shape)
dG, dc_prev = lstm_cell_backward(dh, dc, cache)


def cell_outputs():
    h_, c_, _ = lstm_cell_forward(G, c_prev)
    return np.concatenate([h_, c_], axis=-1)


results = check_gradients(cell_outputs, {"G": G, "c_prev": c_prev},
                          {"G": dG, "c_prev": dc_prev}, np.concatenate([dh, dc], axis=-1))
print(format_report(results))
assert all(r.passed for r in results)

# %% [markdown]
# The last cell of a row receives no `dc`. Passing `None` must mean exactly
# "zero", and then only `h` carries gradient:

# %%
dG_none, dc_prev_none = lstm_cell_backward(dh, None, cache)
dG_zero, dc_prev_zero = lstm_cell_backward(dh, np.zeros_like(dc), cache)
assert np.array_equal(dG_none, dG_zero) and np.array_equal(dc_prev_none, dc_prev_zero)

results = check_gradients(lambda: lstm_cell_forward(G, c_prev)[0], {"G": G, "c_prev": c_prev},
                          {"G": dG_none, "c_prev": dc_prev_none}, dh)
print(format_report(results))
assert all(r.passed for r in results)

# %% [markdown]
# ## One `tanh` for all four gates
#
# Three gates use σ and one uses tanh. They look like two different
# functions, but the sigmoid is a rescaled tanh:
#
# $$\sigma(x) = \frac{1}{1+e^{-x}} = \tfrac12\left(1 + \tanh\tfrac{x}{2}\right),$$
#
# because tanh(x/2) = (1 − e^{−x}) / (1 + e^{−x}), and
# ½(1 + (1 − e^{−x})/(1 + e^{−x})) = 1/(1 + e^{−x}).
#
# So `gate_activations` computes all 4K columns at once:
#
# 1. multiply `G` column-wise by `[½, ½, 1, ½]` (one value per block i, f, g, o),
# 2. take **one** `tanh` over all 4K columns,
# 3. map the σ-columns through t ↦ ½ + ½t and leave the g-columns alone.
#
# Why bother:
#
# * **Speed.** `exp` and `tanh` are the expensive elementwise operations.
#   Here every one of the 4K columns goes through exactly one transcendental
#   function, in a single call on one contiguous array, followed by cheap
#   multiply/add passes. The usual alternatives cost more passes: a sigmoid
#   made stable by branching on the sign of x needs two `exp` forms and a
#   select, and applying sigmoid to three blocks and tanh to the fourth means
#   four calls on non-contiguous slices.
# * **No overflow.** The textbook form `1 / (1 + exp(−x))` evaluates
#   `exp(710)` for x = −710, which overflows: NumPy warns, and the result
#   1/∞ = 0 is right only because IEEE arithmetic happens to give the limit.
#   tanh saturates at ±1 and never overflows, so no branch on the sign of x
#   is needed.
#
# The price: for very negative x, `1 + tanh(x/2)` cancels, so tiny sigmoid
# values lose their *relative* accuracy (σ(−40) ≈ 4·10⁻¹⁸ comes out as 0).
# The *absolute* error stays at the level of float64 round-off, which is what
# matters for a gate that multiplies bounded quantities. The mask itself,
# A = σ(S), is the layer's output and is compared number by number with other
# implementations, so `attnrnn_np.nonlinear.sigmoid` uses the branch-free
# `exp(−|x|)` form instead, which keeps full relative accuracy in both tails.

# %%
x = np.linspace(-40, 40, 8001)
G4 = np.tile(x[:, None], (1, 4))                # K = 1: one column per gate block i, f, g, o
a = gate_activations(G4)
with np.errstate(over="ignore"):
    sigma_textbook = 1.0 / (1.0 + np.exp(-x))
err_sigma = max(np.abs(a[:, b] - sigma_textbook).max() for b in (0, 1, 3))
err_tanh = np.abs(a[:, 2] - np.tanh(x)).max()
print(f"σ columns vs 1/(1+exp(-x)): max abs error {err_sigma:.1e}")
print(f"g column  vs tanh(x):       max abs error {err_tanh:.1e}")
assert err_sigma < 1e-15 and err_tanh == 0.0

for xv in (-745.0, -40.0, -20.0, 0.0, 20.0, 745.0):
    with np.errstate(over="ignore"):
        textbook = 1.0 / (1.0 + np.exp(-xv))
    one_tanh = 0.5 * (1.0 + np.tanh(xv / 2))
    print(f"x = {xv:7.1f}   textbook σ = {textbook:.6e}   one-tanh σ = {one_tanh:.6e}   "
          f"exp(−|x|) σ (nonlinear.sigmoid) = {sigmoid(np.array(xv)):.6e}")
# the one-tanh form loses the tail; the exp(−|x|) form keeps it
assert 0.5 * (1.0 + np.tanh(-20.0)) == 0.0 and float(sigmoid(np.array(-40.0))) > 4e-18

# %% [markdown]
# The derivatives used in step 4 come from the stored outputs. Plotted
# against central differences of the functions themselves:

# %%
xs = np.linspace(-6, 6, 241)
s, t = sigmoid(xs), np.tanh(xs)
eps = 1e-5
ds_fd = (sigmoid(xs + eps) - sigmoid(xs - eps)) / (2 * eps)
dt_fd = (np.tanh(xs + eps) - np.tanh(xs - eps)) / (2 * eps)
assert np.abs(s * (1 - s) - ds_fd).max() < 1e-9 and np.abs((1 - t * t) - dt_fd).max() < 1e-9

fig, axes = plt.subplots(1, 2, figsize=(7.3, 2.8))
axes[0].plot(xs, s, label="σ(x)")
axes[0].plot(xs, t, label="tanh(x)")
axes[0].set_title("activations")
axes[1].plot(xs, s * (1 - s), label="σ(1 − σ)")
axes[1].plot(xs, 1 - t * t, label="1 − tanh²")
axes[1].plot(xs[::12], ds_fd[::12], "k.", ms=3, label="central differences")
axes[1].plot(xs[::12], dt_fd[::12], "k.", ms=3)
axes[1].set_title("derivatives from the outputs")
for ax in axes:
    ax.axhline(0, color="0.8", lw=0.8)
    ax.legend(fontsize=9)
    ax.set_xlabel("x")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Try this
#
# Each needs a line or two changed in the cells above, then a re-run. Each
# answer is folded under its question (and on the answers page,
# `docs/answers.md`, section "Notebook 1"): try first.
#
# **1. Forgetting step 2's carried term.** Forget step 2's carried term: in the finite-difference check, call
# `lstm_cell_backward(dh, None, cache)` instead of
# `lstm_cell_backward(dh, dc, cache)` (the check still compares against
# both outputs, `[dh, dc]`). Which gradients fail, and which of the four
# gate blocks of `dG` are still right?
#
# <details>
# <summary>Show the answer</summary>
#
# Both gradients fail, `G` and
# `c_prev`, with relative errors near 1. Of the four gate blocks of `dG`, the
# output-gate block is still right and the i, f and g blocks are wrong:
#
# $$dG_{\mathrm{o}} = dh \odot \tanh(c) \odot \mathrm{o}(1-\mathrm{o})$$
#
# does not involve the cell state's gradient at all, while dG_i, dG_f, dG_g
# and dc_prev are all products with
#
# $$dc_\text{tot} = dc + dh \odot \mathrm{o} \odot (1 - \tanh^2 c),$$
#
# which now lacks its first term. In a scan this bug cuts the cell-state
# path along each row: no gradient reaches a cell through the `c` of the cell
# to its right.
#
# </details>
#
# **2. Saturated gates.** Saturate the gates: draw `G` with a spread of 15 instead of 1.5 in the
# forward-pass cell. Does the gradient check still pass? Look at the
# relative errors it prints and at the size of the entries of `dG`.
#
# <details>
# <summary>Show the answer</summary>
#
# The check still passes, but look at the relative
# errors it prints: they reach 1 (analytic −2·10⁻¹³ against numeric 0, for
# instance). Those entries pass through the absolute tolerance (1e−8): both
# numbers are at round-off level. About half of the entries of `dG` are now
# below 10⁻⁶ (the largest is about 0.3), because a saturated gate has
# a(1 − a) ≈ 0 or 1 − g² ≈ 0. Two lessons: saturation makes gradients vanish,
# and a gradient check whose entries are all tiny proves little, since the
# relative error is meaningless at round-off level. That is why the tests keep
# their inputs where σ and tanh are curved.
#
# </details>
#
# **3. Where the one-tanh σ gives up.** In the loop that prints the three forms of σ, add −36.0, −37.0, −38.0
# and −39.0 to the x values. From which x on does the one-tanh form
# return exactly 0, and why there?
#
# <details>
# <summary>Show the answer</summary>
#
# From x = −38 on it returns exactly 0
# (at −37 it gives 5.6·10⁻¹⁷ = 2⁻⁵⁴, the smallest non-zero value it can
# produce there). tanh(x/2) = −1 + 2eˣ/(1 + eˣ) lies within about 2eˣ of −1,
# and float64 numbers just inside −1 are spaced 2⁻⁵³ ≈ 1.1·10⁻¹⁶ apart; once
# 2eˣ drops below about that spacing, tanh(x/2) comes out as exactly −1 and
# 1 + tanh(x/2) cancels to 0. The true value σ(−38) ≈ 3.1·10⁻¹⁷, which the
# `exp(−|x|)` form of `attnrnn_np.nonlinear.sigmoid` returns in full.
#
# </details>

# %% [markdown]
# ## Take-aways
#
# * The cell's backward is four elementwise steps; the only non-obvious one
#   is step 2, where the gradient that reaches `c` through `h` is **added** to
#   the gradient carried in from the right.
# * All derivatives come from stored outputs: the cache keeps the gates,
#   `c_prev` and `tanh(c)`, and never needs `G`.
# * One `tanh` pass computes all four gates, since σ(x) = ½(1 + tanh(x/2));
#   it is fast and never overflows, at the price of the relative accuracy of
#   tiny sigmoid values, which the mask's own sigmoid keeps.
# * The scan (notebook 2) wires `dG` into the neighbours: `dG · W_upᵀ` goes
#   to the cell above, `dG · W_leftᵀ` and `dc_prev` to the cell on the left.
#   Notebook 2 derives and checks that wiring; `docs/backward.md` gives it in
#   prose.
