"""Layers of the network around the attention, as forward/backward pairs.

The CNN trunk and the classifier of the learning stack are built from these:
a k×k "same" convolution with bias, ReLU, non-overlapping max-pooling, a
linear (fully connected) layer and the softmax cross-entropy loss. The
max-pooling pair is the multi-scale layer's, :mod:`attnrnn_np.pool`
(``maxpool_forward(X, gamma)``). Each is a pure pair ``thing_forward(...) -> (out, cache)`` / ``thing_backward(dout,
cache)`` with a named cache; backward never mutates its inputs and returns
fresh gradients (it never accumulates). Layouts are channels last, as in the
rest of the package: maps are (N, H, W, C).

Parameter initialisers draw their numbers on the host with NumPy from a seed
or a ``numpy.random.Generator`` and move them to the requested backend, so a
seed means the same network on NumPy and CuPy.

The derivations of the backward passes are in ``docs/layers.md``.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import array_module, host_rng
from ..conv import ConvCache, conv_same_backward, conv_same_forward
from ..validate import check_dtype_name, check_float_array, resolve_xp

__all__ = [
    "Conv2dCache",
    "ReluCache",
    "LinearCache",
    "SoftmaxCECache",
    "conv2d_forward",
    "conv2d_backward",
    "relu_forward",
    "relu_backward",
    "linear_forward",
    "linear_backward",
    "softmax_cross_entropy_forward",
    "softmax_cross_entropy_backward",
    "he_normal",
    "init_conv2d",
    "init_linear",
]


# --------------------------------------------------------------------------- convolution

class Conv2dCache(NamedTuple):
    conv: ConvCache  # patches of X and the kernel, from attnrnn_np.conv


def conv2d_forward(X, W, b):
    """k×k "same" convolution with bias, stride 1, channels last.

    Parameters
    ----------
    X : array (N, H, W, C)
    W : array (k, k, C, F), k odd
        Kernel indexed (row offset, column offset, in channel, out channel).
    b : array (F,)

    Returns
    -------
    Y : array (N, H, W, F)
    cache : Conv2dCache

    Notes
    -----
    Cross-correlation with zero padding p = (k − 1)/2, X taken as 0 outside
    the map::

        Y[n,i,j,f] = Σ_{a,b=0..k−1} Σ_c X[n, i+a−p, j+b−p, c] · W[a,b,c,f] + b[f]

    computed as one GEMM of the im2col patches (N·H·W, k·k·C) with the
    flattened kernel (k·k·C, F) by :func:`attnrnn_np.conv.conv_same_forward`.
    """
    array_module(X, W, b)
    check_float_array(X, "X")
    check_float_array(W, "W")
    check_float_array(b, "b")
    if X.ndim != 4:
        raise ValueError(f"X must have shape (N, H, W, C), got {X.shape}")
    if W.ndim != 4 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must have shape (k, k, C, F), got {W.shape}")
    if W.shape[0] % 2 == 0:
        raise ValueError(f"the kernel size must be odd for a 'same' convolution, got {W.shape[0]}")
    if W.shape[2] != X.shape[3]:
        raise ValueError(f"W has {W.shape[2]} input channels but X has {X.shape[3]} (X {X.shape}, W {W.shape})")
    if b.shape != (W.shape[3],):
        raise ValueError(f"b must have shape ({W.shape[3]},) to match W {W.shape}, got {b.shape}")
    U, conv_cache = conv_same_forward(X, W)   # (N, H, W, F)
    return U + b, Conv2dCache(conv_cache)


def conv2d_backward(dY, cache: Conv2dCache):
    """Backward of :func:`conv2d_forward`.

    Parameters
    ----------
    dY : array (N, H, W, F)
    cache : Conv2dCache

    Returns
    -------
    dX : array (N, H, W, C)
    dW : array (k, k, C, F)
    db : array (F,)

    Notes
    -----
    With P = im2col(X) flattened to (N·H·W, k·k·C)::

        dW = Pᵀ · dY        db[f] = Σ_{n,i,j} dY[n,i,j,f]        dX = col2im(dY · Wᵀ)

    col2im scatter-adds every patch gradient back onto the pixels the patch
    read, dropping the padding (see docs/layers.md).
    """
    dX, dW = conv_same_backward(dY, cache.conv)
    return dX, dW, dY.sum(axis=(0, 1, 2))


# --------------------------------------------------------------------------- ReLU

class ReluCache(NamedTuple):
    mask: object  # bool, x > 0, same shape as x


def relu_forward(x):
    """Rectified linear unit ``y = max(x, 0)`` elementwise.

    Parameters
    ----------
    x : array, any shape

    Returns
    -------
    y : array, x's shape
    cache : ReluCache
    """
    xp = array_module(x)
    mask = x > 0
    return xp.where(mask, x, 0).astype(x.dtype, copy=False), ReluCache(mask)


def relu_backward(dy, cache: ReluCache):
    """Backward of :func:`relu_forward`: ``dx = dy · [x > 0]``.

    The derivative at exactly 0 is taken as 0 (the subgradient PyTorch uses).
    """
    xp = array_module(dy)
    return xp.where(cache.mask, dy, 0).astype(dy.dtype, copy=False)


# --------------------------------------------------------------------------- linear

class LinearCache(NamedTuple):
    x: object  # (..., I) input
    W: object  # (I, O) weights


def linear_forward(x, W, b):
    """Affine map of the last axis: ``y = x · W + b``.

    Parameters
    ----------
    x : array (..., I)
        Usually (N, I); any leading axes are treated as a batch, so the same
        layer applies per position to a map (N, H, W, I).
    W : array (I, O)
    b : array (O,)

    Returns
    -------
    y : array (..., O)
    cache : LinearCache

    Notes
    -----
    ``y[..., o] = Σ_i x[..., i] · W[i, o] + b[o]`` (I inputs, O outputs).
    """
    array_module(x, W, b)
    check_float_array(x, "x")
    check_float_array(W, "W")
    check_float_array(b, "b")
    if W.ndim != 2 or x.ndim < 1 or x.shape[-1] != W.shape[0]:
        raise ValueError(f"x (..., I) and W (I, O) disagree: x {x.shape}, W {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape ({W.shape[1]},) to match W {W.shape}, got {b.shape}")
    return x @ W + b, LinearCache(x, W)


def linear_backward(dy, cache: LinearCache):
    """Backward of :func:`linear_forward`.

    Parameters
    ----------
    dy : array (..., O)

    Returns
    -------
    dx : array (..., I)
    dW : array (I, O)
    db : array (O,)

    Notes
    -----
    With the leading axes flattened into R rows, x (R, I) and dy (R, O)::

        dx = dy · Wᵀ        dW = xᵀ · dy        db = Σ_rows dy
    """
    x, W = cache.x, cache.W
    n_in, n_out = W.shape
    x2 = x.reshape(-1, n_in)     # (R, I)
    dy2 = dy.reshape(-1, n_out)  # (R, O)
    return dy @ W.T, x2.T @ dy2, dy2.sum(axis=0)


# --------------------------------------------------------------------------- softmax cross-entropy

class SoftmaxCECache(NamedTuple):
    probs: object   # (N, M) softmax of the logits
    labels: object  # (N,) integer class of each sample


def softmax_cross_entropy_forward(logits, labels):
    """Mean softmax cross-entropy of integer labels.

    Parameters
    ----------
    logits : array (N, M)
        Unnormalised class scores, M classes.
    labels : integer array (N,)
        Each in 0..M−1, on the same backend as ``logits``.

    Returns
    -------
    loss : 0-d array (logits' dtype, logits' backend)
    cache : SoftmaxCECache

    Notes
    -----
    With the max subtracted first, which changes nothing mathematically but
    keeps ``exp`` from overflowing, m[n] = max_j logits[n,j]::

        log p[n,j] = logits[n,j] − m[n] − log Σ_j' exp(logits[n,j'] − m[n])
        loss       = −(1/N) Σ_n log p[n, labels[n]]
    """
    xp = array_module(logits, labels)
    check_float_array(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, M), got {logits.shape}")
    N, M = logits.shape
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array, got dtype {labels.dtype}")
    if labels.shape != (N,):
        raise ValueError(f"labels must have shape ({N},) to match logits {logits.shape}, got {labels.shape}")
    if N == 0:
        raise ValueError("the mean cross-entropy of an empty batch is undefined (N = 0)")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= M:
        raise ValueError(f"labels must lie in 0..{M - 1}, got values in {lo}..{hi}")
    z = logits - logits.max(axis=1, keepdims=True)                       # (N, M), max 0 per row
    logp = z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))              # (N, M)
    loss = xp.asarray(-logp[xp.arange(N), labels].mean())  # 0-d array: NumPy's mean returns a scalar
    return loss, SoftmaxCECache(xp.exp(logp), labels)


def softmax_cross_entropy_backward(dloss, cache: SoftmaxCECache):
    """Backward of :func:`softmax_cross_entropy_forward`.

    Parameters
    ----------
    dloss : float or 0-d array
        Upstream gradient of the scalar loss (1 when it is the objective).

    Returns
    -------
    dlogits : array (N, M)

    Notes
    -----
    ``dlogits[n,j] = dloss · (p[n,j] − [j = labels[n]]) / N``.
    """
    xp = array_module(cache.probs)
    probs, labels = cache.probs, cache.labels
    N = probs.shape[0]
    dlogits = probs.copy()
    dlogits[xp.arange(N), labels] -= 1.0
    return (dlogits * (dloss / N)).astype(probs.dtype, copy=False)


# --------------------------------------------------------------------------- initialisation

def he_normal(shape, fan_in, *, rng=0, dtype="float64", xp=None):
    """Weights drawn from N(0, 2 / fan_in) (He et al., 2015), for ReLU layers.

    Parameters
    ----------
    shape : tuple of int
    fan_in : int
        Number of inputs each output unit sums over.
    rng : int or numpy.random.Generator
        A seed, or a generator to draw from (advanced by the draw, so one
        generator can initialise a whole network in order).
    dtype : "float32" or "float64"
    xp : module, "numpy", "cupy" or None (NumPy)

    Returns
    -------
    array of ``shape`` on backend ``xp``.
    """
    if int(fan_in) < 1:
        raise ValueError(f"fan_in must be >= 1, got {fan_in}")
    gen = host_rng(rng)
    w = gen.normal(0.0, (2.0 / int(fan_in)) ** 0.5, tuple(shape))
    return resolve_xp(xp).asarray(w, dtype=check_dtype_name(dtype))


def init_conv2d(in_channels, out_channels, kernel_size=3, *, rng=0, dtype="float64", xp=None):
    """He-normal kernel and zero bias for :func:`conv2d_forward`.

    Parameters
    ----------
    in_channels, out_channels : int
        C and F.
    kernel_size : int
        k, odd.
    rng : int or numpy.random.Generator
    dtype : "float32" or "float64"
    xp : module, "numpy", "cupy" or None (NumPy)

    Returns
    -------
    dict with ``"W"`` (k, k, C, F) drawn from N(0, 2/(k·k·C)) and ``"b"`` (F,) zeros.
    """
    C, F, k = int(in_channels), int(out_channels), int(kernel_size)
    if C < 1 or F < 1:
        raise ValueError(f"channel counts must be >= 1, got in {C}, out {F}")
    if k < 1 or k % 2 == 0:
        raise ValueError(f"kernel_size must be odd and >= 1 for a 'same' convolution, got {k}")
    W = he_normal((k, k, C, F), k * k * C, rng=rng, dtype=dtype, xp=xp)
    return {"W": W, "b": resolve_xp(xp).zeros(F, dtype=check_dtype_name(dtype))}


def init_linear(in_features, out_features, *, rng=0, dtype="float64", xp=None):
    """He-normal weights and zero bias for :func:`linear_forward`.

    Returns
    -------
    dict with ``"W"`` (I, O) drawn from N(0, 2/I) and ``"b"`` (O,) zeros.
    """
    n_in, n_out = int(in_features), int(out_features)
    if n_in < 1 or n_out < 1:
        raise ValueError(f"feature counts must be >= 1, got in {n_in}, out {n_out}")
    W = he_normal((n_in, n_out), n_in, rng=rng, dtype=dtype, xp=xp)
    return {"W": W, "b": resolve_xp(xp).zeros(n_out, dtype=check_dtype_name(dtype))}
