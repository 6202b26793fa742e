"""The six networks of the comparison: one CNN trunk, six attentions, one classifier.

Every model reads an image X (N, 32, 32, 3) and a one-hot query q (N, Q) and
predicts the colour of the queried digit among M = 5 palette colours::

    F  = trunk(X)            conv3×3(16) + ReLU + maxpool 2, conv3×3(32) + ReLU + maxpool 2
                             (N, 8, 8, 32) for a 32×32 canvas
    S  = attention(F, q)     logits (N, 8, 8); the six models differ only here
    A  = softmax of S over the 8·8 positions of each sample
    z  = Σ_{i,j} A[n,i,j] · F[n,i,j,:]                        (N, 32)
    logits = z · cls.W + cls.b                                 (N, M)

The attentions compared (the paper's own baselines are not
reproduced here, see docs/learning.md):

``none``
    No attention: A is uniform (1/(H·W)), i.e. global average pooling. It has
    no attention parameters and never sees the query.
``local``
    A 1×1 attention from each feature column and the query, with the query
    *inside* a nonlinearity (see "query fusion" below)::

        P = ReLU(F · att.W_f + q · att.W_q + att.b)   (N, H, W, D)
        S = P · att.w                                  (N, H, W)

``local-ctx``
    The same with a 3×3 neighbourhood: ``F · att.W_f`` becomes a 3×3 "same"
    convolution of F.
``arnn-ind``
    The AttentionRNN with its recurrence removed (``recurrent=False``): the
    structure ablation. Parameters ``att.<ARNN key>`` (docs/model.md §2).
``arnn``
    The AttentionRNN (docs/model.md §3), query fused additively into every gate.
``arnn-ms``
    The multi-scale AttentionRNN (docs/model.md §5) with scales (1, 2) on the 8×8 map.

Query fusion in ``local``/``local-ctx``. A *linear* attention
``S = F·w + q·v + c`` cannot use the query: ``q·v`` is the same number at
every position of a sample, and the spatial softmax is invariant to adding a
constant, so the gradient reaching ``v`` is exactly zero. We put the query
inside a ReLU hidden layer of D units (``hidden``, 16 by default), a small
MLP on ``[F[i,j], q]``: the query then decides which feature directions pass
the ReLU at each position. Multiplicative fusion ``(F·W) ⊙ (q·V)`` is the
common alternative; the ReLU layer was chosen because it is the same form
(additive fusion inside a nonlinearity) the ARNN's gates use, so the two
models differ only in structure. The ARNN uses the query through the
additive ``q·W_q`` inside its gates, which is inside the LSTM's
nonlinearities and therefore not cancelled.

Parameters are one flat dict: ``conv1.W (3, 3, 3, 16)``, ``conv1.b``,
``conv2.W (3, 3, 16, 32)``, ``conv2.b``, ``att.*`` (per model), ``cls.W
(32, M)``, ``cls.b (M,)``. :func:`model_backward` returns gradients with
exactly these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

from ..arnn import init_arnn_params, trusted_arnn_backward, trusted_arnn_forward
from ..backend import array_module, host_rng
from ..conv import conv_same_backward, conv_same_forward
from ..mask import weighted_pool_backward, weighted_pool_forward
from ..multiscale import init_multiscale_params, trusted_multiscale_arnn_backward, trusted_multiscale_arnn_forward
from ..normalize import normalize_backward, normalize_forward
from ..validate import check_float_arrays, resolve_xp
from .layers import (
    conv2d_backward,
    conv2d_forward,
    he_normal,
    init_conv2d,
    init_linear,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
)

__all__ = ["MODELS", "ModelConfig", "ModelCache", "init_model", "model_forward", "model_backward",
           "attention_kind"]

MODELS = ("none", "local", "local-ctx", "arnn-ind", "arnn", "arnn-ms")
_ATT = "att."


@dataclass(frozen=True)
class ModelConfig:
    """The shape of one network.

    Parameters
    ----------
    model : one of :data:`MODELS`
    in_channels : int
        Image channels (3).
    trunk : tuple of int
        Channels of the trunk's conv layers; each is followed by ReLU and a
        2×2 max-pool, so a 32×32 canvas gives an 8×8 map with two layers.
    hidden : int
        K of each ARNN direction, or D of the local attentions' hidden layer.
    kernel_size : int
        k, the ARNN's input-to-state kernel (1, PixelRNN's choice, is what
        learns fast here; see docs/learning.md for k = 3).
    scales : tuple of int
        ``arnn-ms`` only.
    query_dim : int
        Q, size of the one-hot query (0: no query).
    n_classes : int
        M, the number of colours.
    """

    model: str = "arnn"
    in_channels: int = 3
    trunk: tuple = (16, 32)
    hidden: int = 16
    kernel_size: int = 1
    scales: tuple = (1, 2)
    query_dim: int = 10
    n_classes: int = 5

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {MODELS}")
        object.__setattr__(self, "trunk", tuple(int(c) for c in self.trunk))
        object.__setattr__(self, "scales", tuple(int(g) for g in self.scales))
        for name in ("in_channels", "hidden", "kernel_size", "n_classes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.query_dim < 0:
            raise ValueError(f"query_dim must be >= 0, got {self.query_dim}")
        if not self.trunk or min(self.trunk) < 1:
            raise ValueError(f"trunk must list >= 1 positive channel counts, got {self.trunk}")


def attention_kind(model):
    """``"none"``, ``"local"`` (both local models), ``"arnn"`` (both single-scale ARNNs) or ``"arnn-ms"``."""
    return {"local-ctx": "local", "arnn-ind": "arnn"}.get(model, model)


class ModelCache(NamedTuple):
    config: ModelConfig
    keys: tuple          # the params' keys, in their order
    trunk: tuple         # _BlockCache per trunk layer
    att: object          # the attention's cache (None for "none")
    norm: object         # NormalizeCache of the spatial softmax (None for "none")
    pool: object         # WeightedPoolCache
    cls: object          # LinearCache


class _BlockCache(NamedTuple):
    conv: object         # ConvCache of the convolution (attnrnn_np.conv)
    winner: object       # (N, H/2, W/2, C_out) int8, row-major index a·2 + b of each window's first maximum
    peak: object         # (N, H/2, W/2, C_out) window maxima of the pre-activation
    u_shape: tuple       # (N, H, W, C_out)


class _LocalCache(NamedTuple):
    conv: object         # Conv2dCache of F · att.W_f
    relu: object         # ReluCache
    P: object            # (N, H, W, D) hidden activations
    q: object            # (N, Q) or None
    w: object            # (D,)


# --------------------------------------------------------------------------- initialisation

def init_model(config: ModelConfig, *, seed=0, dtype="float32", xp=None):
    """Random parameters of one network.

    Parameters
    ----------
    config : ModelConfig
    seed : int
        All numbers are drawn on the host from ``numpy.random.default_rng(seed)``
        (the ARNNs from seeds drawn from it), so a seed gives the same network
        on every backend.
    dtype : "float32" or "float64"
    xp : module, "numpy", "cupy" or None (NumPy)

    Returns
    -------
    params : dict name -> array (see the module docstring)

    Notes
    -----
    Trunk and classifier: He-normal weights, zero biases. ``local``: W_f, W_q
    He-normal, b = 0, w ~ N(0, 1/D). ARNNs: :func:`~attnrnn_np.init_arnn_params`.
    """
    xp = resolve_xp(xp)
    rng = host_rng(seed)
    params = {}
    c_in = config.in_channels
    for n, c_out in enumerate(config.trunk, start=1):
        layer = init_conv2d(c_in, c_out, 3, rng=rng, dtype=dtype, xp=xp)
        params[f"conv{n}.W"], params[f"conv{n}.b"] = layer["W"], layer["b"]
        c_in = c_out
    params.update(_ATTENTIONS[config.model].init(config, c_in, rng, dtype, xp))
    head = init_linear(c_in, config.n_classes, rng=rng, dtype=dtype, xp=xp)
    params["cls.W"], params["cls.b"] = head["W"], head["b"]
    return params


# --------------------------------------------------------------------------- trunk

def _block_forward(X, W, b):
    """One trunk block, conv3×3 + ReLU + 2×2 max-pool, computed as pool-then-ReLU.

    ReLU is monotone, so ``maxpool(ReLU(U)) = ReLU(maxpool(U))`` exactly; doing
    the ReLU on the pooled map touches a quarter of the values, and the four
    strided window slices replace a transpose of the whole map. The gradient
    is also the same as the unfused chain's (:func:`attnrnn_np.learn.layers.relu_backward`
    after :func:`attnrnn_np.pool.maxpool_backward`): a window whose maximum is
    ≤ 0 passes nothing, otherwise its first maximum in row-major order (the
    same element the unfused max-pool picks among the positive values)
    receives it. tests/test_models.py checks both against the unfused layers.

    Returns P (N, H/2, W/2, C_out) and a _BlockCache.
    """
    xp = array_module(X, W)
    U, conv_cache = conv_same_forward(X, W)                 # (N, H, W, C_out)
    U += b
    peak = U[:, 0::2, 0::2, :].copy()                       # (N, H/2, W/2, C_out)
    winner = xp.zeros(peak.shape, dtype=xp.int8)
    for slot, (a, c) in enumerate(((0, 1), (1, 0), (1, 1)), start=1):
        V = U[:, a::2, c::2, :]
        better = V > peak                                   # strict: the first maximum keeps the window
        winner[better] = slot
        xp.maximum(peak, V, out=peak)
    return xp.maximum(peak, 0), _BlockCache(conv_cache, winner, peak, U.shape)


def _block_backward(dP, cache: _BlockCache, *, need_dX=True):
    """Backward of :func:`_block_forward`: ``(dX or None, dW, db)``.

    ``need_dX=False`` skips the image gradient of the first block, which
    nothing uses (its col2im is a large share of a training step).
    """
    xp = array_module(dP)
    dpeak = xp.where(cache.peak > 0, dP, 0).astype(dP.dtype, copy=False)    # (N, H/2, W/2, C_out)
    dU = xp.empty(cache.u_shape, dtype=dP.dtype)                      # (N, H, W, C_out)
    zero = xp.zeros((), dtype=dP.dtype)
    for slot, (a, c) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        dU[:, a::2, c::2, :] = xp.where(cache.winner == slot, dpeak, zero)
    db = dU.sum(axis=(0, 1, 2))
    dX, dW = conv_same_backward(dU, cache.conv, need_dX=need_dX)
    return dX, dW, db


# --------------------------------------------------------------------------- forward / backward

def _att_params(params):
    n = len(_ATT)
    return {key[n:]: v for key, v in params.items() if key.startswith(_ATT)}


def _none_init(config, c_in, rng, dtype, xp):
    return {}


def _none_forward(F, q, params, config):
    N, H, W, _ = F.shape
    xp = array_module(F)
    return xp.full((N, H, W), 1.0 / (H * W), dtype=F.dtype), None, None


def _local_init(config, c_in, rng, dtype, xp):
    k = 3 if config.model == "local-ctx" else 1
    D, Q = config.hidden, config.query_dim
    att = {"att.W_f": he_normal((k, k, c_in, D), k * k * c_in + Q, rng=rng, dtype=dtype, xp=xp)}
    if Q:
        att["att.W_q"] = he_normal((Q, D), k * k * c_in + Q, rng=rng, dtype=dtype, xp=xp)
    att["att.b"] = xp.zeros(D, dtype=dtype)
    att["att.w"] = xp.asarray(rng.normal(0.0, D ** -0.5, D), dtype=dtype)
    return att


def local_scores_forward(F, q, params):
    """The local attentions' logits S (N, H, W) = ReLU(F ⊛ att.W_f + q · att.W_q + att.b) · att.w."""
    U, conv_cache = conv2d_forward(F, params["att.W_f"], params["att.b"])   # (N, H, W, D)
    if "att.W_q" in params:
        U = U + (q @ params["att.W_q"])[:, None, None, :]
    P, relu_cache = relu_forward(U)
    S = P @ params["att.w"]                                                  # (N, H, W)
    return S, _LocalCache(conv_cache, relu_cache, P, q if "att.W_q" in params else None, params["att.w"])


def local_scores_backward(dS, cache: _LocalCache):
    """Backward of :func:`local_scores_forward`: ``(dF, grads of the att.* keys)``."""
    grads = {"att.w": (cache.P * dS[..., None]).sum(axis=(0, 1, 2))}
    dU = relu_backward(dS[..., None] * cache.w, cache.relu)                  # (N, H, W, D)
    dF, grads["att.W_f"], grads["att.b"] = conv2d_backward(dU, cache.conv)
    if cache.q is not None:
        grads["att.W_q"] = cache.q.T @ dU.sum(axis=(1, 2))
    return dF, grads


def _local_forward(F, q, params, config):
    S, att = local_scores_forward(F, q, params)
    A, norm = normalize_forward(S, "softmax")
    return A, att, norm


def _local_backward(dA, cache):
    return local_scores_backward(normalize_backward(dA, cache.norm), cache.att)


def _arnn_init(config, c_in, rng, dtype, xp):
    sub = init_arnn_params(c_in, config.hidden, query_dim=config.query_dim, kernel_size=config.kernel_size,
                           seed=int(rng.integers(2 ** 31)), dtype=dtype, xp=xp)
    return {_ATT + key: v for key, v in sub.items()}


# The layer's trusted maths: the trunk's output and the model's parameters were checked once, at the
# model's boundary, and a training step must not stall a GPU reading values back (docs/contributing.md).
def _arnn_forward(F, q, params, config):
    A, att = trusted_arnn_forward(F, _att_params(params), q, normalize="softmax",
                                  recurrent=config.model == "arnn", xp=array_module(F))
    return A, att, None


def _arnn_backward(dA, cache):
    dF_att, _, g_att = trusted_arnn_backward(dA, cache.att, xp=array_module(dA))
    return dF_att, {_ATT + key: v for key, v in g_att.items()}


def _multiscale_init(config, c_in, rng, dtype, xp):
    sub = init_multiscale_params(c_in, config.hidden, config.scales, query_dim=config.query_dim,
                                 kernel_size=config.kernel_size, seed=int(rng.integers(2 ** 31)), dtype=dtype, xp=xp)
    return {_ATT + key: v for key, v in sub.items()}


def _multiscale_forward(F, q, params, config):
    A, att = trusted_multiscale_arnn_forward(F, _att_params(params), q, scales=config.scales,
                                             normalize="softmax", xp=array_module(F))
    return A, att, None


def _multiscale_backward(dA, cache):
    dF_att, _, g_att = trusted_multiscale_arnn_backward(dA, cache.att, xp=array_module(dA))
    return dF_att, {_ATT + key: v for key, v in g_att.items()}


class _Attention(NamedTuple):
    """One attention kind: how it draws its ``att.*`` parameters, computes A, and back-propagates."""

    init: Callable       # (config, channels of F, rng, dtype, xp) -> dict of att.* arrays
    forward: Callable    # (F, q, params, config) -> (A, attention cache, softmax cache or None)
    backward: Callable   # (dA, ModelCache) -> (dF, dict of att.* gradients); None: no parameters


_LOCAL = _Attention(_local_init, _local_forward, _local_backward)
_ARNN = _Attention(_arnn_init, _arnn_forward, _arnn_backward)
_ATTENTIONS = {
    "none": _Attention(_none_init, _none_forward, None),
    "local": _LOCAL,
    "local-ctx": _LOCAL,
    "arnn-ind": _ARNN,
    "arnn": _ARNN,
    "arnn-ms": _Attention(_multiscale_init, _multiscale_forward, _multiscale_backward),
}


def model_forward(params, X, q, config: ModelConfig):
    """Class logits and attention mask of a batch.

    Parameters
    ----------
    params : dict
        From :func:`init_model` with the same ``config``.
    X : array (N, Hi, Wi, C_in)
        Images; Hi and Wi divisible by 2^(number of trunk layers).
    q : array (N, Q) or None
        The query; ignored by ``none``; None when ``config.query_dim`` is 0.
    config : ModelConfig

    Returns
    -------
    logits : array (N, M)
    A : array (N, H, W)
        The attention mask on the trunk's map (H = Hi / 4 with two layers),
        a distribution over the H·W positions of each sample.
    cache : ModelCache

    Notes
    -----
    ::

        F = trunk(X);  S = attention(F, q);  A = softmax_{i,j}(S)
        z = Σ_{i,j} A · F;  logits = z · cls.W + cls.b
    """
    array_module(X, *params.values())  # one backend for the images and every parameter
    if (q is None) != (config.query_dim == 0):
        raise ValueError(f"q must be given exactly when query_dim > 0 (query_dim={config.query_dim})")
    # the checks of the attention layer's public functions that its trusted maths skips (values excepted:
    # a training step reads back only its loss)
    check_float_arrays((("X", X), ("q", q)) if q is not None else (("X", X),))
    dtype = params["cls.W"].dtype
    for name, a in (("X", X), ("q", q)):
        if a is not None and a.dtype != dtype:
            raise TypeError(f"{name} has dtype {a.dtype} but the parameters are {dtype}; use one dtype")
    trunk = []
    F = X
    for n in range(1, len(config.trunk) + 1):
        F, block = _block_forward(F, params[f"conv{n}.W"], params[f"conv{n}.b"])
        trunk.append(block)
    A, att, norm = _ATTENTIONS[config.model].forward(F, q, params, config)
    z, pool = weighted_pool_forward(A, F)
    logits, cls = linear_forward(z, params["cls.W"], params["cls.b"])
    return logits, A, ModelCache(config, tuple(params), tuple(trunk), att, norm, pool, cls)


def model_backward(dlogits, cache: ModelCache):
    """Gradients of :func:`model_forward` from the gradient of the logits.

    Parameters
    ----------
    dlogits : array (N, M)

    Returns
    -------
    grads : dict
        Exactly the keys of ``params``, in their order; new arrays (they
        overwrite and accumulate nothing). The cache is not modified.
    """
    config = cache.config
    g = {}
    dz, g["cls.W"], g["cls.b"] = linear_backward(dlogits, cache.cls)
    dA, dF = weighted_pool_backward(dz, cache.pool)
    backward = _ATTENTIONS[config.model].backward
    if backward is not None:
        dF_att, g_att = backward(dA, cache)
        g.update(g_att)
        dF = dF + dF_att
    for n in range(len(config.trunk), 0, -1):
        dF, g[f"conv{n}.W"], g[f"conv{n}.b"] = _block_backward(dF, cache.trunk[n - 1], need_dX=n > 1)
    return {key: g[key] for key in cache.keys}
