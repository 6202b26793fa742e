"""Editing an image with a structured mask: the recolour networks, their blend and its backward.

The mechanism is the one the AttentionRNN paper plugs into a generator's
transformer module (ModularGAN): a mask decides where transformed features
replace the original ones. Here it is trained from scratch on synthetic
data (the ``recolour`` task, docs/tasks.md): it demonstrates the mechanism;
it is not the paper's CelebA / ModularGAN experiment and reproduces none of
its numbers. Every network reads an image X (N, P, P, 3) and a query
q = [one-hot digit class (10) ‖ one-hot target colour c (5)] and outputs
an image::

    F  = ReLU(conv3×3(X; enc.W, enc.b))                  (N, P, P, C)   encoder
    T  = ReLU(conv1×1([F ‖ c tiled]; tr.W, tr.b))        (N, P, P, C)   transform T(F, c)
    A  = mask(F, q)                                      (N, P, P)      in [0, 1]
    F′ = A ⊙ T + (1 − A) ⊙ F                             (N, P, P, C)   the blend
    Y  = conv1×1(F′; dec.W, dec.b)                       (N, P, P, 3)   decoder
    R  = conv1×1(F;  dec.W, dec.b)                       (N, P, P, 3)   the original, decoded
    loss = ℓ(Y, Z) + λ · ℓ(R, X),   ℓ = mean((·)²) (L2) or mean|·| (L1),  Z the target image

The reconstruction term (weight λ, ``recon_weight``) asks the decoder to
give back the input from the unblended features. Without it only the blend
F′ is constrained, so T − F need not be the edit, and the mask's gradient
``Σ_c dF′ ⊙ (T − F)`` (:func:`blend_backward`) says little about where to
edit; with it F stands for the original, and wherever A > 0 the change has
to come from T. docs/learning.md §9 measures both.

The models differ only in the mask:

``arnn``, ``arnn-ind``
    The AttentionRNN (``arnn-ind``: its recurrence removed) on the context
    map G = maxpool_γ(ReLU(conv3×3(maxpool_γ(F); ctx.W, ctx.b))) (γ =
    ``pool`` = 2: an 8×8 map for a 32×32 canvas, the classification trunk's
    grid, each cell seeing about 10×10 pixels), query fused into every
    gate, **sigmoid** normalisation; the mask is upsampled (nearest, by γ²)
    back to P×P, so it is constant on 4×4 pixel blocks. Parameters
    ``ctx.*`` and ``att.<ARNN key>``.
``local``
    ``sigmoid(ReLU(G · att.W_f + q · att.W_q + att.b) · att.w)`` on the same
    context map G (the classification stack's local attention, sigmoid
    instead of softmax).
``no-mask``
    A ≡ 1: the transform is applied everywhere (a global edit).
``oracle-mask``
    A = the queried digit's true ink (the task's annotation): an upper bound
    on what a mask can give this encoder, transform and decoder.

Parameters are one flat dict ``enc.W (3, 3, 3, C)``, ``enc.b``, ``ctx.W (3, 3, C, C)``,
``ctx.b`` and ``att.*`` (learned masks only),
``tr.W (1, 1, C + 5, C)``, ``tr.b``, ``dec.W (1, 1, C, 3)``, ``dec.b``;
:func:`edit_backward` returns gradients with exactly these keys. Every
backward pass is written out below and checked against finite differences
in float64 (tests/learn/test_editing.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from ..arnn import arnn_backward, arnn_forward, init_arnn_params
from ..backend import array_module, host_rng
from ..conv import conv_same_backward
from ..normalize import normalize_backward, normalize_forward
from ..pool import maxpool_backward, maxpool_forward, upsample_backward, upsample_forward
from ..validate import resolve_xp
from .layers import conv2d_backward, conv2d_forward, he_normal, init_conv2d, relu_backward, relu_forward
from .models import local_scores_backward, local_scores_forward

__all__ = ["EDIT_MODELS", "LOSSES", "EditConfig", "EditCache", "BlendCache", "init_editor", "blend_forward",
           "blend_backward", "image_loss_forward", "image_loss_backward", "edit_forward", "edit_backward"]

EDIT_MODELS = ("arnn", "arnn-ind", "local", "no-mask", "oracle-mask")
LOSSES = ("l2", "l1")
_ATT = "att."
_LEARNED_MASKS = ("arnn", "arnn-ind", "local")


@dataclass(frozen=True)
class EditConfig:
    """The shape of one recolour network.

    Parameters
    ----------
    model : one of :data:`EDIT_MODELS`
    in_channels : int
        Image channels (3).
    channels : int
        C, channels of the encoder's map F (and of T, F′).
    hidden : int
        K of each ARNN direction, or D of the local attention's hidden layer.
    kernel_size : int
        The ARNN's input-to-state kernel k.
    pool : int
        γ: the learned masks run on a context map pooled twice by γ (γ² in
        all) and are upsampled back; γ² must divide the canvas side.
    query_dim : int
        Q = 10 classes + ``n_colors``.
    n_colors : int
        The query's last ``n_colors`` entries are the one-hot target colour c.
    loss : "l2" or "l1"
    recon_weight : float
        λ, the weight of the reconstruction term ℓ(dec(F), X) of the
        training loss (0: the image loss to the target alone).
    """

    model: str = "arnn"
    in_channels: int = 3
    channels: int = 16
    hidden: int = 16
    kernel_size: int = 1
    pool: int = 2
    query_dim: int = 15
    n_colors: int = 5
    loss: str = "l2"
    recon_weight: float = 1.0

    def __post_init__(self):
        if self.model not in EDIT_MODELS:
            raise ValueError(f"unknown recolour model {self.model!r}; expected one of {EDIT_MODELS}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if isinstance(self.recon_weight, bool) or not isinstance(self.recon_weight, (int, float)) \
                or not (math.isfinite(self.recon_weight) and self.recon_weight >= 0):
            raise ValueError(f"recon_weight must be a finite number >= 0, got {self.recon_weight!r}")
        for name in ("in_channels", "channels", "hidden", "kernel_size", "pool", "n_colors"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.query_dim <= self.n_colors:
            raise ValueError(f"query_dim ({self.query_dim}) must exceed n_colors ({self.n_colors}): "
                             f"the query holds a class and a colour")


class BlendCache(NamedTuple):
    A: object   # (N, H, W) mask
    T: object   # (N, H, W, C) transformed features
    F: object   # (N, H, W, C) original features


class EditCache(NamedTuple):
    config: EditConfig
    keys: tuple          # the params' keys, in their order
    enc_conv: object     # Conv2dCache of the encoder
    enc_relu: object     # ReluCache
    tr_conv: object      # Conv2dCache of the transform
    tr_relu: object      # ReluCache
    pool: object         # MaxPoolCache of maxpool(F) (learned masks), else None
    ctx_conv: object     # Conv2dCache of the context map's convolution (learned masks), else None
    ctx_relu: object     # ReluCache of the context map (learned masks), else None
    ctx_pool: object     # MaxPoolCache of the context map's pooling (learned masks), else None
    att: object          # the attention's cache (learned masks), else None
    norm: object         # NormalizeCache of the local attention's sigmoid, else None
    up: object           # UpsampleCache of the mask (learned masks), else None
    blend: BlendCache
    dec_conv: object     # Conv2dCache of the decoder
    R: object = None     # (N, P, P, 3) the decoded original dec(F) (reconstruct=True), else None
    rec_conv: object = None  # its Conv2dCache, else None


# --------------------------------------------------------------------------- the blend

def blend_forward(A, T, F):
    """``F′ = A ⊙ T + (1 − A) ⊙ F``: where the mask is 1 the transformed features replace the originals.

    Parameters
    ----------
    A : array (N, H, W)
        The mask, broadcast over channels.
    T, F : arrays (N, H, W, C)

    Returns
    -------
    Fp : array (N, H, W, C)
    cache : BlendCache
    """
    a = A[..., None]
    return a * T + (1 - a) * F, BlendCache(A, T, F)


def blend_backward(dFp, cache: BlendCache):
    """Backward of :func:`blend_forward`: ``(dA, dT, dF)``.

    Notes
    -----
    ::

        dA[n,i,j]   = Σ_c dF′[n,i,j,c] · (T − F)[n,i,j,c]
        dT          = A ⊙ dF′
        dF          = (1 − A) ⊙ dF′
    """
    a = cache.A[..., None]
    return (dFp * (cache.T - cache.F)).sum(axis=-1), a * dFp, (1 - a) * dFp


# --------------------------------------------------------------------------- the loss

def image_loss_forward(Y, Z, kind="l2"):
    """Mean over every pixel and channel of ``(Y − Z)²`` (``"l2"``) or ``|Y − Z|`` (``"l1"``).

    Returns the loss (a 0-d array) and its cache ``(Y − Z, kind)``.
    """
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    xp = array_module(Y, Z)
    R = Y - Z
    return (R * R).mean() if kind == "l2" else xp.abs(R).mean(), (R, kind)


def image_loss_backward(dloss, cache):
    """Backward of :func:`image_loss_forward`: ``dY = dloss · 2(Y − Z)/n`` (L2) or ``dloss · sign(Y − Z)/n`` (L1)."""
    R, kind = cache
    xp = array_module(R)
    scale = dloss / R.size
    return (2 * scale) * R if kind == "l2" else scale * xp.sign(R)


# --------------------------------------------------------------------------- parameters

def init_editor(config: EditConfig, *, seed=0, dtype="float32", xp=None):
    """Random parameters of one recolour network (He-normal weights, zero biases; ARNN: its own init).

    All numbers come from ``numpy.random.default_rng(seed)`` on the host, so
    a seed gives the same network on every backend.
    """
    xp = resolve_xp(xp)
    rng = host_rng(seed)
    C, D, Q = config.channels, config.hidden, config.query_dim
    enc = init_conv2d(config.in_channels, C, 3, rng=rng, dtype=dtype, xp=xp)
    params = {"enc.W": enc["W"], "enc.b": enc["b"]}
    if config.model in _LEARNED_MASKS:
        ctx = init_conv2d(C, C, 3, rng=rng, dtype=dtype, xp=xp)
        params["ctx.W"], params["ctx.b"] = ctx["W"], ctx["b"]
    if config.model == "local":
        params["att.W_f"] = he_normal((1, 1, C, D), C + Q, rng=rng, dtype=dtype, xp=xp)
        params["att.W_q"] = he_normal((Q, D), C + Q, rng=rng, dtype=dtype, xp=xp)
        params["att.b"] = xp.zeros(D, dtype=dtype)
        params["att.w"] = xp.asarray(rng.normal(0.0, D ** -0.5, D), dtype=dtype)
    elif config.model in ("arnn", "arnn-ind"):
        sub = init_arnn_params(C, D, query_dim=Q, kernel_size=config.kernel_size,
                               seed=int(rng.integers(2 ** 31)), dtype=dtype, xp=xp)
        params.update({_ATT + key: v for key, v in sub.items()})
    tr = init_conv2d(C + config.n_colors, C, 1, rng=rng, dtype=dtype, xp=xp)
    params["tr.W"], params["tr.b"] = tr["W"], tr["b"]
    dec = init_conv2d(C, config.in_channels, 1, rng=rng, dtype=dtype, xp=xp)
    params["dec.W"], params["dec.b"] = dec["W"], dec["b"]
    return params


def _att_params(params):
    n = len(_ATT)
    return {key[n:]: v for key, v in params.items() if key.startswith(_ATT)}


# --------------------------------------------------------------------------- forward / backward

def edit_forward(params, X, q, config: EditConfig, ink=None, *, reconstruct=False):
    """The edited image and the mask of a batch.

    Parameters
    ----------
    params : dict
        From :func:`init_editor` with the same ``config``.
    X : array (N, P, P, 3)
    q : array (N, Q)
        One-hot class followed by the one-hot target colour.
    config : EditConfig
    ink : array (N, P, P) or None
        The queried digit's ink; used (and required) by ``oracle-mask`` only.
    reconstruct : bool
        Also decode the unblended features, ``R = dec(F)`` (the training
        loss's reconstruction term), kept as ``cache.R``.

    Returns
    -------
    Y : array (N, P, P, 3)
    A : array (N, P, P)
        The mask at the image's resolution.
    cache : EditCache
    """
    xp = array_module(X, q, *params.values())
    if config.model == "oracle-mask" and ink is None:
        raise ValueError("oracle-mask needs the true ink mask (ink=...)")
    U, enc_conv = conv2d_forward(X, params["enc.W"], params["enc.b"])
    F, enc_relu = relu_forward(U)                                             # (N, P, P, C)
    N, H, W, _ = F.shape
    c = q[:, q.shape[1] - config.n_colors:]                                   # (N, 5)
    Fc = xp.concatenate([F, xp.broadcast_to(c[:, None, None, :], (N, H, W, c.shape[1]))], axis=-1)
    V, tr_conv = conv2d_forward(Fc, params["tr.W"], params["tr.b"])
    T, tr_relu = relu_forward(V)                                              # (N, P, P, C)
    pool = ctx_conv = ctx_relu = ctx_pool = att = norm = up = None
    if config.model == "no-mask":
        A = xp.ones((N, H, W), dtype=F.dtype)
    elif config.model == "oracle-mask":
        A = xp.asarray(ink).astype(F.dtype)
    else:
        G0, pool = maxpool_forward(F, config.pool)                            # (N, P/γ, P/γ, C)
        U_ctx, ctx_conv = conv2d_forward(G0, params["ctx.W"], params["ctx.b"])
        H_ctx, ctx_relu = relu_forward(U_ctx)
        G, ctx_pool = maxpool_forward(H_ctx, config.pool)                     # (N, P/γ², P/γ², C) context map
        if config.model == "local":
            S, att = local_scores_forward(G, q, params)
            A_small, norm = normalize_forward(S, "sigmoid")
        else:
            A_small, att = arnn_forward(G, _att_params(params), q, normalize="sigmoid",
                                        recurrent=config.model == "arnn")
        A, up = upsample_forward(A_small, config.pool ** 2)                   # (N, P, P)
    Fp, blend = blend_forward(A, T, F)
    Y, dec_conv = conv2d_forward(Fp, params["dec.W"], params["dec.b"])
    R, rec_conv = conv2d_forward(F, params["dec.W"], params["dec.b"]) if reconstruct else (None, None)
    return Y, A, EditCache(config, tuple(params), enc_conv, enc_relu, tr_conv, tr_relu, pool, ctx_conv,
                           ctx_relu, ctx_pool, att, norm, up, blend, dec_conv, R, rec_conv)


def edit_backward(dY, cache: EditCache, dR=None):
    """Gradients of :func:`edit_forward` from the gradient of the output image (and of ``cache.R``).

    ``dR`` is the gradient of the reconstruction ``R = dec(F)``; it needs a
    cache from ``edit_forward(..., reconstruct=True)``. Returns a dict with
    exactly the keys of ``params``, in their order (new arrays; the cache is
    not modified). The mask of ``no-mask`` and ``oracle-mask`` is a constant
    and passes nothing back.
    """
    config = cache.config
    C = config.channels
    g = {}
    dFp, g["dec.W"], g["dec.b"] = conv2d_backward(dY, cache.dec_conv)
    dA, dT, dF = blend_backward(dFp, cache.blend)
    dV = relu_backward(dT, cache.tr_relu)
    dFc, g["tr.W"], g["tr.b"] = conv2d_backward(dV, cache.tr_conv)
    dF = dF + dFc[..., :C]
    if dR is not None:
        if cache.rec_conv is None:
            raise ValueError("dR needs the cache of edit_forward(..., reconstruct=True)")
        dF_rec, dW, db = conv2d_backward(dR, cache.rec_conv)
        g["dec.W"], g["dec.b"], dF = g["dec.W"] + dW, g["dec.b"] + db, dF + dF_rec
    if config.model in _LEARNED_MASKS:
        dA_small = upsample_backward(dA, cache.up)
        if config.model == "local":
            dG, g_att = local_scores_backward(normalize_backward(dA_small, cache.norm), cache.att)
            g.update(g_att)
        else:
            dG, _, g_att = arnn_backward(dA_small, cache.att)
            g.update({_ATT + key: v for key, v in g_att.items()})
        dH_ctx = maxpool_backward(dG, cache.ctx_pool)
        dG0, g["ctx.W"], g["ctx.b"] = conv2d_backward(relu_backward(dH_ctx, cache.ctx_relu), cache.ctx_conv)
        dF = dF + maxpool_backward(dG0, cache.pool)
    dU = relu_backward(dF, cache.enc_relu)
    _, g["enc.W"] = conv_same_backward(dU, cache.enc_conv.conv, need_dX=False)
    g["enc.b"] = dU.sum(axis=(0, 1, 2))
    return {key: g[key] for key in cache.keys}
