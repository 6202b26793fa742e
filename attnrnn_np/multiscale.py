"""The multi-scale (block-wise) AttentionRNN (docs/model.md §5, §7).

One ARNN per scale γ runs on X max-pooled by γ, so its sweep takes
H/γ + W/γ − 1 sequential steps instead of H + W − 1; its logits are brought
back to H×W by nearest upsampling, and a learned combiner mixes the scales
position by position::

    X_γ = maxpool_γ(X)                                 pool.py
    S_γ = ARNN_γ logits of (X_γ, q)                    arnn.py, keys "scale{γ}."
    Up_γ = upsample_γ(S_γ)                             pool.py
    S = Σ_s softmax_s(X·comb.V + comb.c) · Up_{γ_s}    combiner.py
    A = σ(S) or spatial softmax(S)                     normalize.py

The backward pass runs the same chain in reverse; X receives gradient from
every scale (through its pooling window's winner) and from the combiner.

The boundary rule (docs/contributing.md): ``multiscale_arnn_forward`` and
``multiscale_arnn_backward`` check once (scales, options, every scale's
parameters, X and q, memory) and read values back to the host once per
forward call; each scale then runs the single-scale maths
(``trusted_logits_forward``), which checks nothing. The ``trusted_*``
functions here are that maths for callers that have checked already.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .arnn import (
    arnn_dims,
    arnn_param_keys,
    check_fits,
    check_inputs,
    check_keys,
    check_values,
    init_arnn_params,
    read_dims,
    trusted_logits_backward,
    trusted_logits_forward,
    working_set_bytes,
)
from .backend import array_module, host_rng, host_seed
from .combiner import CombinerCache, combiner_backward, combiner_forward
from .normalize import NormalizeCache, check_normalize, normalize_backward, normalize_forward
from .pool import check_gamma, maxpool_backward, maxpool_forward, upsample_backward, upsample_forward
from .scan import check_schedule
from .validate import (
    check_cache,
    check_flag,
    check_float_arrays,
    check_seed,
    check_size,
    check_upstream,
    resolve_xp,
)

__all__ = [
    "COMBINER_KEYS",
    "MultiScaleCache",
    "check_scales",
    "scale_prefix",
    "multiscale_param_keys",
    "multiscale_dims",
    "sequential_steps",
    "init_multiscale_params",
    "multiscale_arnn_forward",
    "multiscale_arnn_backward",
    "trusted_multiscale_arnn_forward",
    "trusted_multiscale_arnn_backward",
]

COMBINER_KEYS = ("comb.V", "comb.c")


class MultiScaleCache(NamedTuple):
    scales: tuple           # (γ_1, …, γ_{n_s}), in the order of comb.V's columns
    keys: tuple             # the params' keys, in their order
    pool: tuple             # MaxPoolCache per scale
    arnn: tuple             # ARNNCache per scale (logits only, norm None)
    up: tuple               # UpsampleCache per scale
    comb: CombinerCache
    norm: NormalizeCache
    S: object               # (N, H, W) combined logits


def scale_prefix(gamma):
    """The key prefix of scale γ's ARNN, e.g. ``"scale2."``."""
    return f"scale{gamma}."


def check_scales(scales):
    """Return ``scales`` as a tuple of Python ints, or raise a clear error.

    ``TypeError`` unless a non-empty sequence of integers; ``ValueError`` for
    an empty sequence, a scale below 1 or a repeated scale.
    """
    if isinstance(scales, (str, bytes)) or not hasattr(scales, "__len__"):
        raise TypeError(f"scales must be a tuple of positive integers such as (1, 2, 4), got {scales!r}")
    if len(scales) == 0:
        raise ValueError("scales must name at least one scale, e.g. (1,) or (1, 2, 4); got ()")
    out = tuple(check_gamma(gamma) for gamma in scales)
    repeated = sorted({gamma for gamma in out if out.count(gamma) > 1})
    if repeated:
        raise ValueError(f"scales must be distinct; {repeated} repeated in {out}")
    return out


def multiscale_param_keys(scales, query_dim=0):
    """The parameter keys of a multi-scale layer, in canonical order (docs/model.md §5)."""
    keys = []
    for gamma in check_scales(scales):
        keys += arnn_param_keys(query_dim, scale_prefix(gamma))
    return keys + list(COMBINER_KEYS)


def multiscale_dims(params, scales):
    """Check a multi-scale parameter dict against ``scales``; return each scale's dims.

    Returns
    -------
    dims : tuple of ARNNDims, one per scale, in the order of ``scales``
        C and Q agree across scales; K and k are read per scale and may differ.

    Raises
    ------
    KeyError
        Keys missing or unexpected (all named), including a whole scale absent
        from ``params`` or present but not in ``scales``.
    ValueError
        Shapes that disagree (within a scale, across scales or with comb.V / comb.c).
    TypeError
        Non-float or mixed dtypes.
    """
    return _multiscale_dims(params, check_scales(scales))


def _multiscale_dims(params, scales):
    """:func:`multiscale_dims` for ``scales`` already checked (a tuple of ints)."""
    check_keys(params)
    prefixes = [scale_prefix(gamma) for gamma in scales]
    found = sorted({int(m.group(1)) for key in params if (m := re.match(r"scale(\d+)\.", key))})
    unexpected = sorted(key for key in params
                        if key not in COMBINER_KEYS and not key.startswith(tuple(prefixes)))
    if unexpected:
        raise KeyError(f"unexpected parameter keys {unexpected} for scales {scales} "
                       f"(params hold scales {tuple(found)}; expected 'scale{{γ}}.*' for γ in "
                       f"{scales} and {list(COMBINER_KEYS)})")
    absent = [gamma for gamma in scales if gamma not in found]
    if absent:
        raise KeyError(f"no parameters for scales {absent} (keys 'scale{{γ}}.*'); "
                       f"params hold scales {tuple(found)}")
    missing = [key for key in COMBINER_KEYS if key not in params]
    if missing:
        raise KeyError(f"missing combiner parameters {missing}")

    dims = tuple(arnn_dims(params, p) for p in prefixes)
    first = scales[0]
    dtype = params[prefixes[0] + "fwd.W_x"].dtype
    for gamma, p, d in zip(scales, prefixes, dims, strict=True):
        if d.C != dims[0].C:
            raise ValueError(f"scale {gamma} reads C={d.C} channels ({p}fwd.W_x) but scale {first} "
                             f"reads C={dims[0].C}; every scale sees the same X")
        if d.Q != dims[0].Q:
            raise ValueError(f"scale {gamma} has query size Q={d.Q} but scale {first} has Q={dims[0].Q}; "
                             f"every scale reads the same q")
        if params[p + "fwd.W_x"].dtype != dtype:
            raise TypeError(f"scale {gamma} params are {params[p + 'fwd.W_x'].dtype} but scale {first} "
                            f"params are {dtype}; use one float dtype")
    C, n_s = dims[0].C, len(scales)
    check_float_arrays((f"params[{key!r}]", params[key]) for key in COMBINER_KEYS)
    for key, shape in (("comb.V", (C, n_s)), ("comb.c", (n_s,))):
        if params[key].dtype != dtype:
            raise TypeError(f"params[{key!r}] is {params[key].dtype} but the ARNN params are {dtype}; "
                            f"use one float dtype")
        if tuple(params[key].shape) != shape:
            raise ValueError(f"params[{key!r}] has shape {tuple(params[key].shape)}, expected {shape} "
                             f"(C={C} channels, {n_s} scales {scales})")
    return dims


def _check_divides(scales, shape):
    N, H, W, C = shape
    for gamma in scales:
        if H % gamma or W % gamma:
            raise ValueError(f"scale {gamma} does not divide the map: X has shape {tuple(shape)} "
                             f"(H={H}, W={W}); every scale must divide both H and W")


def sequential_steps(H, W, scales):
    """Sequential steps of one sweep over all scales: Σ_γ (H/γ + W/γ − 1).

    The scales' sweeps are independent, so this counts them one after the
    other, as this implementation runs them; each scale's two directions run
    in the same steps.
    """
    scales = check_scales(scales)
    _check_divides(scales, (1, H, W, 1))
    return sum(H // gamma + W // gamma - 1 for gamma in scales)


def init_multiscale_params(in_channels, hidden, scales, *, query_dim=0, kernel_size=3, seed=0,
                           dtype="float64", xp=None):
    """Random parameters of a multi-scale AttentionRNN.

    Parameters
    ----------
    in_channels : int
        C, channels of the feature map.
    hidden : int
        K, hidden size of each direction's LSTM, at every scale.
    scales : sequence of int
        Distinct positive scales γ, e.g. (1, 2, 4); their order is the order
        of comb.V's columns.
    query_dim, kernel_size, dtype, xp
        As in :func:`~attnrnn_np.init_arnn_params`.
    seed : int
        Scale γ's ARNN is drawn from a seed derived from (seed, γ), so it is
        the same whichever other scales are in the set.

    Returns
    -------
    params : dict of arrays::

        scale{γ}.<ARNN key>   for every γ, shapes as in docs/model.md §2
        comb.V (C, n_s)       comb.c (n_s,)

    Notes
    -----
    Each ARNN is initialised as by ``init_arnn_params``. ``comb.V`` is drawn
    from N(0, 1/C) so the combiner's weights depend on content from the
    start; ``comb.c`` is 0, so no scale is preferred a priori.
    """
    scales = check_scales(scales)
    xp = resolve_xp(xp)
    C = check_size(in_channels, "in_channels", 1)
    seed = check_seed(seed)
    params = {}  # init_arnn_params validates the sizes and dtype before anything is drawn
    for gamma in scales:
        sub_seed = host_seed(seed, gamma)
        sub = init_arnn_params(C, hidden, query_dim=query_dim, kernel_size=kernel_size,
                               seed=sub_seed, dtype=dtype, xp=xp)
        params.update({scale_prefix(gamma) + key: v for key, v in sub.items()})
    rng = host_rng([seed, 0])
    params["comb.V"] = xp.asarray(rng.normal(0.0, C ** -0.5, (C, len(scales))), dtype=dtype)
    params["comb.c"] = xp.zeros(len(scales), dtype=dtype)
    return params


def multiscale_arnn_forward(X, params, q=None, *, scales, normalize="sigmoid", schedule="wavefront",
                            recurrent=True):
    """Multi-scale AttentionRNN mask of a feature map.

    Parameters
    ----------
    X : array (N, H, W, C)
        Feature map, channels last, float32 or float64 (the parameters' dtype).
        Every scale must divide H and W.
    params : dict
        From :func:`init_multiscale_params` with the same ``scales``.
    q : array (N, Q) or None
        Query, shared by all scales; required exactly when the parameters have
        ``W_q`` keys.
    scales : sequence of int
        Distinct positive scales γ, in the order of comb.V's columns.
    normalize : {"sigmoid", "softmax"}
        Applied once, to the combined logits.
    schedule : {"wavefront", "raster"}
        Passed to every scale's scans; both give the same numbers.
    recurrent : bool
        Passed to every scale: False is the "independent" ablation, each
        scale's logit at (I, J) depends only on the k×k neighbourhood of
        (I, J) in its pooled map.

    Returns
    -------
    A : array (N, H, W)
    cache : MultiScaleCache

    Raises
    ------
    TypeError
        Non-float or mixed dtypes, mixed backends, scales not a sequence of integers.
    KeyError
        Missing or unexpected parameter keys (named).
    ValueError
        A scale that does not divide H or W (named, with the shape); empty,
        repeated or non-positive scales; bad shapes; unknown ``normalize`` or
        ``schedule``; query given without ``W_q`` or missing with it; NaN or
        Inf in X or q; finite inputs whose logits overflow inside the layer.
    MemoryError
        A problem whose estimated working set exceeds the device's memory,
        refused before anything is allocated.

    Notes
    -----
    docs/model.md §5::

        X_γ[n,I,J,c] = max_{0≤a,b<γ} X[n, γI+a, γJ+b, c]
        S_γ = ARNN_γ logits(X_γ, q);   Up_γ[n,i,j] = S_γ[n, ⌊i/γ⌋, ⌊j/γ⌋]
        β[n,i,j,s] = softmax_s(X[n,i,j,:]·comb.V[:,s] + comb.c[s])
        S = Σ_s β_s · Up_{γ_s};        A = σ(S) or softmax of S over H·W

    NaN or Inf in the parameters is not refused: it propagates to the mask.
    """
    scales = check_scales(scales)
    check_normalize(normalize)
    check_schedule(schedule)
    check_flag(recurrent, "recurrent")
    dims = _multiscale_dims(params, scales)
    check_inputs(X, q, dims[0], params[scale_prefix(scales[0]) + "fwd.W_x"].dtype, finite=False)
    xp = array_module(X, q, *params.values())
    _check_divides(scales, X.shape)
    N, H, W, _ = X.shape
    need = sum(working_set_bytes(N, H // gamma, W // gamma, d, X.dtype.itemsize)
               for gamma, d in zip(scales, dims, strict=True))
    check_fits(need, xp, f"a multi-scale ARNN with scales {scales} on X of shape {X.shape}")
    A, cache = trusted_multiscale_arnn_forward(X, params, q, scales=scales, normalize=normalize,
                                               schedule=schedule, recurrent=recurrent, xp=xp, dims=dims)
    check_values(xp, X, q, cache.S, params)
    return A, cache


def trusted_multiscale_arnn_forward(X, params, q=None, *, scales, normalize="sigmoid", schedule="wavefront",
                                    recurrent=True, xp, dims=None):
    """:func:`multiscale_arnn_forward` on arrays and arguments already checked: the maths alone.

    ``scales`` must be a tuple of ints; ``dims`` (one ARNNDims per scale) is
    read from the shapes when not given. Nothing is checked and nothing is
    read back to the host.
    """
    if dims is None:
        dims = tuple(read_dims(params, scale_prefix(gamma)) for gamma in scales)
    pool_caches, arnn_caches, up_caches, ups = [], [], [], []
    for gamma, d in zip(scales, dims, strict=True):
        X_gamma, pool_cache = maxpool_forward(X, gamma, xp=xp)                   # (N, H/γ, W/γ, C)
        S_gamma, arnn_cache = trusted_logits_forward(X_gamma, params, q, dims=d, prefix=scale_prefix(gamma),
                                                     schedule=schedule, recurrent=recurrent, xp=xp)
        Up_gamma, up_cache = upsample_forward(S_gamma, gamma, xp=xp)             # (N, H, W)
        pool_caches.append(pool_cache)
        arnn_caches.append(arnn_cache)
        up_caches.append(up_cache)
        ups.append(Up_gamma)
    Up = xp.stack(ups, axis=-1)                                              # (N, H, W, n_s)
    S, comb_cache = combiner_forward(X, Up, params["comb.V"], params["comb.c"], xp=xp)
    A, norm_cache = normalize_forward(S, normalize, xp=xp)
    cache = MultiScaleCache(scales, tuple(params), tuple(pool_caches), tuple(arnn_caches),
                            tuple(up_caches), comb_cache, norm_cache, S)
    return A, cache


def multiscale_arnn_backward(dA, cache: MultiScaleCache):
    """Gradients of :func:`multiscale_arnn_forward`.

    Parameters
    ----------
    dA : array (N, H, W)
        Gradient of the loss with respect to the mask.
    cache : MultiScaleCache

    Returns
    -------
    dX : array (N, H, W, C)
    dq : array (N, Q) or None
        None when the forward call had no query.
    grads : dict
        Exactly the keys of ``params``, in their order; freshly allocated
        arrays (they overwrite nothing). The cache is not modified, so calling
        backward twice gives the same result.

    Raises
    ------
    TypeError
        ``cache`` is not the MultiScaleCache of :func:`multiscale_arnn_forward`
        (another layer's cache, the whole ``(A, cache)`` tuple, None); ``dA``
        not a float array of the forward's dtype and backend.
    ValueError
        ``dA`` of another shape.

    Notes
    -----
    ::

        dS = normalize backward(dA)
        dX, dUp, d comb.V, d comb.c = combiner backward(dS)
        for each scale γ_s:
            dS_γ = block sums of dUp[..., s]                 (upsampling backward)
            dX_γ, dq_γ, grads_γ = ARNN_γ backward(dS_γ)
            dX += dX_γ routed to each window's first maximum (max-pool backward)
            dq += dq_γ
    """
    check_cache(cache, MultiScaleCache, "multiscale_arnn_backward", "that multiscale_arnn_forward returned")
    check_upstream(dA, cache.S)
    return trusted_multiscale_arnn_backward(dA, cache, xp=array_module(dA))


def trusted_multiscale_arnn_backward(dA, cache: MultiScaleCache, *, xp):
    """:func:`multiscale_arnn_backward` on a gradient already checked: the maths alone."""
    dS = normalize_backward(dA, cache.norm)
    dX, dUp, dV, dc = combiner_backward(dS, cache.comb)
    dq = None
    grads = {"comb.V": dV, "comb.c": dc}
    for s, (pool_cache, arnn_cache, up_cache) in enumerate(zip(cache.pool, cache.arnn, cache.up, strict=True)):
        dS_gamma = upsample_backward(dUp[..., s], up_cache)                  # (N, H/γ, W/γ)
        dX_gamma, dq_gamma, grads_gamma = trusted_logits_backward(dS_gamma, arnn_cache, xp=xp)
        dX = dX + maxpool_backward(dX_gamma, pool_cache, xp=xp)
        if dq_gamma is not None:
            dq = dq_gamma if dq is None else dq + dq_gamma
        grads.update(grads_gamma)
    return dX, dq, {key: grads[key] for key in cache.keys}
