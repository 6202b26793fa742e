"""The single-scale AttentionRNN layer (docs/model.md §2, §3, §7).

Composition of the pieces, in order::

    U_d = conv_k×k(X, d.W_x) + d.b + q · d.W_q           (conv.py)
    h_fwd, h_bwd = two diagonal-LSTM scans                (directions.py, scan.py, wavefront.py)
    S = h_fwd · head.w[:K] + h_bwd · head.w[K:] + head.b  (head.py)
    A = σ(S) or spatial softmax(S)                        (normalize.py)

The boundary rule (docs/contributing.md): :func:`arnn_forward`,
:func:`arnn_backward` and the logits-only pair are public functions. Each
resolves the array module once and checks its inputs once (``arnn_dims``,
``check_inputs``, ``check_upstream``, one host synchronisation for NaN and
Inf per forward call); the maths they call (``trusted_arnn_*`` and the
pieces) receives ``xp`` and never checks again. The ``trusted_*`` functions
are for callers that have checked their arrays already (the multi-scale
layer, the learning stack's training step): they compute, refuse nothing
and never stall a GPU.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import array_module, host_rng
from .conv import ConvCache, conv_same_backward, conv_same_forward
from .directions import DirectionsCache, directions_backward, directions_forward
from .head import HeadCache, head_backward, head_forward
from .normalize import NormalizeCache, check_normalize, normalize_backward, normalize_forward
from .scan import check_schedule
from .validate import (
    check_all_finite,
    check_cache,
    check_dtype_name,
    check_flag,
    check_float_array,
    check_float_arrays,
    check_seed,
    check_size,
    check_upstream,
    resolve_xp,
)

__all__ = [
    "DIRECTIONS",
    "ARNNCache",
    "ARNNDims",
    "arnn_param_keys",
    "arnn_dims",
    "init_arnn_params",
    "arnn_forward",
    "arnn_backward",
    "arnn_logits_forward",
    "arnn_logits_backward",
    "trusted_arnn_forward",
    "trusted_arnn_backward",
    "working_set_bytes",
]

DIRECTIONS = ("fwd", "bwd")


class ARNNDims(NamedTuple):
    C: int  # input channels
    K: int  # hidden size of each direction
    Q: int  # query size (0 = no query)
    k: int  # input-to-state kernel size


class ARNNCache(NamedTuple):
    dims: ARNNDims
    prefix: str                 # key prefix of this ARNN ("" or e.g. "scale2.")
    keys: tuple                 # the params' keys, in their order
    q: object                   # (N, Q) or None
    W_q: object                 # (Q, 8K) = [fwd.W_q, bwd.W_q] or None
    conv: ConvCache             # input-to-state convolution, both directions at once
    directions: DirectionsCache
    head: HeadCache
    norm: NormalizeCache | None  # None for the logits-only forward
    S: object                   # (N, H, W) logits, to check the upstream gradient against


def arnn_param_keys(query_dim=0, prefix=""):
    """The parameter keys of one ARNN, in canonical order (docs/model.md §2)."""
    keys = []
    for d in DIRECTIONS:
        keys += [f"{prefix}{d}.W_x", f"{prefix}{d}.b"]
        if query_dim > 0:
            keys.append(f"{prefix}{d}.W_q")
        keys += [f"{prefix}{d}.W_up", f"{prefix}{d}.W_left"]
    return keys + [f"{prefix}head.w", f"{prefix}head.b"]


def init_arnn_params(in_channels, hidden, *, query_dim=0, kernel_size=3, seed=0,
                     dtype="float64", xp=None):
    """Random parameters of one AttentionRNN.

    Parameters
    ----------
    in_channels : int
        C, channels of the feature map.
    hidden : int
        K, hidden size of each direction's LSTM.
    query_dim : int
        Q, size of the query (0 = no query, no ``W_q`` keys).
    kernel_size : int
        k, odd size of the input-to-state kernel.
    seed : int
        Numbers are drawn with NumPy on the host and then moved, so the same
        seed gives the same parameters on every backend.
    dtype : "float32" or "float64"
    xp : module, "numpy", "cupy" or None (NumPy)

    Returns
    -------
    params : dict of arrays with the keys of docs/model.md §2::

        {d}.W_x (k, k, C, 4K)   {d}.b (4K,)   {d}.W_q (Q, 4K)   for d in fwd, bwd
        {d}.W_up (K, 4K)        {d}.W_left (K, 4K)
        head.w (2K,)            head.b (1,)

    Notes
    -----
    Weights are drawn from N(0, 1/fan_in) (fan_in = k·k·C for ``W_x``, Q for
    ``W_q``, 2K for the two recurrent matrices together, 2K for the head).
    Gate biases are 0 except the forget gate's, which is 1 so that cell
    states are carried along the rows from the start. ``head.b`` is 0.
    """
    C, K = check_size(in_channels, "in_channels", 1), check_size(hidden, "hidden", 1)
    Q, k = check_size(query_dim, "query_dim", 0), check_size(kernel_size, "kernel_size", 1)
    seed = check_seed(seed)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd for a 'same' convolution, got {k}")
    dtype = check_dtype_name(dtype)
    xp = resolve_xp(xp)
    rng = host_rng(seed)
    params = {}
    for d in DIRECTIONS:
        params[f"{d}.W_x"] = rng.normal(0.0, (k * k * C) ** -0.5, (k, k, C, 4 * K))
        b = xp.zeros(4 * K, dtype=dtype)
        b[K:2 * K] = 1.0  # forget gate
        params[f"{d}.b"] = b
        if Q > 0:
            params[f"{d}.W_q"] = rng.normal(0.0, Q ** -0.5, (Q, 4 * K))
        params[f"{d}.W_up"] = rng.normal(0.0, (2 * K) ** -0.5, (K, 4 * K))
        params[f"{d}.W_left"] = rng.normal(0.0, (2 * K) ** -0.5, (K, 4 * K))
    params["head.w"] = rng.normal(0.0, (2 * K) ** -0.5, (2 * K,))
    params["head.b"] = xp.zeros(1, dtype=dtype)
    return {key: xp.asarray(v, dtype=dtype) for key, v in params.items()}


def arnn_dims(params, prefix=""):
    """Check one ARNN's parameters and read (C, K, Q, k) from their shapes.

    Raises ``KeyError`` for missing or unexpected keys (all named),
    ``ValueError`` for shapes that disagree with each other or an even kernel,
    ``TypeError`` for non-float or mixed dtypes. Only keys starting with
    ``prefix`` are considered, so a multi-scale dict can be checked scale by scale.
    """
    check_keys(params)
    own = {key for key in params if key.startswith(prefix)}
    Q_guess = 1 if f"{prefix}fwd.W_q" in own or f"{prefix}bwd.W_q" in own else 0
    expected = set(arnn_param_keys(Q_guess, prefix))
    missing, extra = sorted(expected - own), sorted(own - expected)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unexpected {extra}")
        raise KeyError(f"ARNN params with prefix {prefix!r}: " + "; ".join(parts))
    check_float_arrays((f"params[{key!r}]", params[key]) for key in sorted(expected))
    dtypes = {params[key].dtype for key in expected}
    if len(dtypes) > 1:
        raise TypeError(f"ARNN params mix dtypes {sorted(str(d) for d in dtypes)}; use one float dtype")

    W_x = params[f"{prefix}fwd.W_x"]
    if W_x.ndim != 4 or W_x.shape[0] != W_x.shape[1] or W_x.shape[3] % 4 != 0:
        raise ValueError(f"params[{prefix + 'fwd.W_x'!r}] must have shape (k, k, C, 4K), got {W_x.shape}")
    k, C, K = W_x.shape[0], W_x.shape[2], W_x.shape[3] // 4
    if C < 1 or K < 1 or k < 1:
        raise ValueError(f"params[{prefix + 'fwd.W_x'!r}] has shape {W_x.shape}: the layer needs at least one "
                         f"input channel C, one hidden unit K and a kernel of size k >= 1 (shape (k, k, C, 4K))")
    if k % 2 == 0:
        raise ValueError(f"input-to-state kernel size must be odd, got k={k} from {prefix}fwd.W_x {W_x.shape}")
    Q = params[f"{prefix}fwd.W_q"].shape[0] if Q_guess and params[f"{prefix}fwd.W_q"].ndim else 0
    if Q_guess and Q < 1:
        raise ValueError(f"params[{prefix + 'fwd.W_q'!r}] has shape {params[prefix + 'fwd.W_q'].shape}: "
                         f"query weights need at least one row (Q >= 1); without a query, leave the W_q keys out")
    want = {"head.w": (2 * K,), "head.b": (1,)}
    for d in DIRECTIONS:
        want.update({f"{d}.W_x": (k, k, C, 4 * K), f"{d}.b": (4 * K,),
                     f"{d}.W_up": (K, 4 * K), f"{d}.W_left": (K, 4 * K)})
        if Q:
            want[f"{d}.W_q"] = (Q, 4 * K)
    for key, shape in want.items():
        got = tuple(params[prefix + key].shape)
        if got != shape:
            raise ValueError(
                f"params[{prefix + key!r}] has shape {got}, expected {shape} "
                f"(C={C}, K={K}, Q={Q}, k={k} read from {prefix}fwd.W_x and {prefix}fwd.W_q)"
            )
    return ARNNDims(C, K, Q, k)


def check_keys(params):
    """``TypeError`` unless ``params`` is a dict whose keys are all strings (the others named)."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    bad = [key for key in params if not isinstance(key, str)]
    if bad:
        raise TypeError(f"parameter keys must be strings such as 'fwd.W_x', got {bad!r}")


def working_set_bytes(N, H, W, dims: ARNNDims, itemsize):
    """An estimate of the bytes one ARNN's forward and backward pass hold at once.

    Counts the arrays proportional to N·H·W: the convolution's patches (k²C,
    and as many again in the backward), the pre-activations (8K), the hidden
    states, gates and cell states the scans keep (about 24K) and their
    gradients (about 8K), the input and its gradient (2C). Temporaries of one
    diagonal are left out, so it is a lower bound within a small factor.
    """
    k, C, K = dims.k, dims.C, dims.K
    return itemsize * N * H * W * (2 * k * k * C + 2 * C + 40 * K)


def _memory_bytes(xp):
    """Total memory of the device ``xp`` computes on (the host's RAM for NumPy), or None when unknown."""
    try:
        if getattr(xp, "__name__", "") == "cupy":
            return int(xp.cuda.Device().mem_info[1])
        import os

        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(need, xp, what):
    """``MemoryError`` before anything is allocated when ``need`` bytes exceed the device's memory."""
    have = _memory_bytes(xp)
    if have is not None and need > have:
        raise MemoryError(f"{what} needs about {need / 2 ** 30:.1f} GiB for its forward and backward pass, "
                          f"more than the {have / 2 ** 30:.1f} GiB of memory here; use fewer samples "
                          f"per call or a smaller map")


def check_inputs(X, q, dims: ARNNDims, param_dtype, prefix="", *, finite=True):
    """Validate X and q against the parameters' dimensions and dtype.

    With ``finite`` also refuse NaN or Inf in them (one host synchronisation);
    the public forward functions pass False and read the values back once,
    together with the logits (:func:`check_values`).
    """
    for name, a in (("X", X), ("q", q)):
        if a is not None and not (hasattr(a, "dtype") and hasattr(a, "shape")):  # a list, a number, a string
            raise TypeError(f"{name} must be a float32 or float64 array: expected a numpy.ndarray or "
                            f"cupy.ndarray, got {type(a).__module__}.{type(a).__name__}")
    check_float_array(X, "X")
    if X.ndim != 4:
        raise ValueError(f"X must have shape (N, H, W, C), got shape {X.shape}")
    N, H, W, C = X.shape
    if min(N, H, W) < 1:
        raise ValueError(f"X must be non-empty, got shape {X.shape}")
    if C != dims.C:
        raise ValueError(f"X has {C} channels but the parameters expect C={dims.C} ({prefix}fwd.W_x)")
    if X.dtype != param_dtype:
        raise TypeError(f"X has dtype {X.dtype} but the parameters are {param_dtype}; use one dtype")
    if dims.Q == 0 and q is not None:
        raise ValueError("a query q was given but the parameters have no query weights (W_q); "
                         "create them with query_dim > 0")
    if dims.Q > 0:
        if q is None:
            raise ValueError(f"the parameters have query weights (Q={dims.Q}) but no query q was given")
        check_float_array(q, "q")
        if q.shape != (N, dims.Q):
            raise ValueError(f"q must have shape (N, Q) = ({N}, {dims.Q}), got {q.shape}")
        if q.dtype != param_dtype:
            raise TypeError(f"q has dtype {q.dtype} but the parameters are {param_dtype}; use one dtype")
    if finite:
        check_all_finite(array_module(X, q), (("X", X), ("q", q)))


def check_values(xp, X, q, S, params):
    """The one host synchronisation of a forward call: X, q and the logits S finite, read back together.

    ``ValueError`` naming X or q when they hold NaN or Inf. When they are
    finite but S is not, the layer overflowed inside (e.g. float32 inputs
    near the top of their range): ``ValueError`` saying so, unless the
    parameters themselves hold NaN or Inf, which propagate by design
    (docs/reliability.md). Only the error path synchronises again.
    """
    try:
        check_all_finite(xp, (("X", X), ("q", q), ("the logits", S)))
    except ValueError as err:
        if not str(err).startswith("the logits"):
            raise
        try:
            check_all_finite(xp, [(key, params[key]) for key in params])
        except ValueError:
            return  # NaN or Inf in the parameters: propagated, as documented
        raise ValueError(f"X and q are finite but the logits overflowed to NaN or Inf inside the layer "
                         f"(X's largest magnitude is {float(abs(X).max()):.3g} in {X.dtype}); "
                         f"rescale the input or compute in float64") from None


def _check_call(X, params, q, prefix, schedule, recurrent):
    """The checks of a public forward call; returns ``(xp, dims)``."""
    check_schedule(schedule)
    check_flag(recurrent, "recurrent")
    dims = arnn_dims(params, prefix)
    check_inputs(X, q, dims, params[f"{prefix}fwd.W_x"].dtype, prefix, finite=False)
    xp = array_module(X, q, *params.values())
    N, H, W, _ = X.shape
    check_fits(working_set_bytes(N, H, W, dims, X.dtype.itemsize), xp, f"an ARNN on X of shape {X.shape}")
    return xp, dims


def read_dims(params, prefix=""):
    """(C, K, Q, k) read from the shapes of trusted parameters, without checking them."""
    k, _, C, K4 = params[f"{prefix}fwd.W_x"].shape
    W_q = params.get(f"{prefix}fwd.W_q")
    return ARNNDims(C, K4 // 4, 0 if W_q is None else W_q.shape[0], k)


def trusted_logits_forward(X, params, q, *, dims, prefix, schedule, recurrent, xp):
    """The maths of :func:`arnn_logits_forward`, on arrays already checked; nothing is checked here."""
    K = dims.K
    p = {d: {name: params.get(f"{prefix}{d}.{name}") for name in ("W_x", "b", "W_q", "W_up", "W_left")}
         for d in DIRECTIONS}

    W_x = xp.concatenate([p["fwd"]["W_x"], p["bwd"]["W_x"]], axis=3)     # (k, k, C, 8K)
    U, conv_cache = conv_same_forward(X, W_x, xp=xp)                      # (N, H, W, 8K)
    U += xp.concatenate([p["fwd"]["b"], p["bwd"]["b"]])
    W_q = None
    if dims.Q:
        W_q = xp.concatenate([p["fwd"]["W_q"], p["bwd"]["W_q"]], axis=1)  # (Q, 8K)
        U += (q @ W_q)[:, None, None, :]
    W_up = xp.stack([p["fwd"]["W_up"], p["bwd"]["W_up"]])                # (2, K, 4K)
    W_left = xp.stack([p["fwd"]["W_left"], p["bwd"]["W_left"]])
    N, H, W = X.shape[:3]
    U_dirs = U.reshape(N, H, W, 2, 4 * K).transpose(3, 0, 1, 2, 4)      # (2, N, H, W, 4K), a view
    h, dir_cache = directions_forward(U_dirs, W_up, W_left, schedule=schedule, recurrent=recurrent, xp=xp)
    S, head_cache = head_forward(h, params[f"{prefix}head.w"], params[f"{prefix}head.b"])
    cache = ARNNCache(dims, prefix, tuple(k for k in params if k.startswith(prefix)), q, W_q,
                      conv_cache, dir_cache, head_cache, None, S)
    return S, cache


def trusted_logits_backward(dS, cache: ARNNCache, *, xp):
    """The maths of :func:`arnn_logits_backward`, on arrays already checked."""
    K, prefix = cache.dims.K, cache.prefix
    dh, dw, db = head_backward(dS, cache.head, xp=xp)                    # dh (2, N, H, W, K)
    dU_dirs, dW_up, dW_left = directions_backward(dh, cache.directions, xp=xp)
    N, H, W = dS.shape
    # (2, N, H, W, 4K) -> (N, H, W, 8K) = [dU_fwd, dU_bwd]; no copy when the
    # scan stored dU with the directions side by side (the wavefront does).
    dU = dU_dirs.transpose(1, 2, 3, 0, 4).reshape(N, H, W, 8 * K)
    dX, dW_x = conv_same_backward(dU, cache.conv, xp=xp)
    dU_sum = dU.sum(axis=(1, 2))                                          # (N, 8K)
    db_all = dU_sum.sum(axis=0)
    grads = {f"{prefix}head.w": dw, f"{prefix}head.b": db}
    for n, d in enumerate(DIRECTIONS):
        sl = slice(4 * K * n, 4 * K * (n + 1))
        grads[f"{prefix}{d}.W_x"] = dW_x[..., sl]
        grads[f"{prefix}{d}.b"] = db_all[sl]
        grads[f"{prefix}{d}.W_up"] = dW_up[n]
        grads[f"{prefix}{d}.W_left"] = dW_left[n]
        if cache.W_q is not None:
            grads[f"{prefix}{d}.W_q"] = cache.q.T @ dU_sum[:, sl]
    dq = None if cache.W_q is None else dU_sum @ cache.W_q.T              # (N, Q)
    return dX, dq, {key: xp.ascontiguousarray(grads[key]) for key in cache.keys}


def arnn_logits_forward(X, params, q=None, *, prefix="", schedule="wavefront", recurrent=True):
    """Attention logits S (N, H, W) of one ARNN, before normalisation.

    Same parameters as :func:`arnn_forward`; ``prefix`` selects one ARNN's keys
    inside a larger dict (e.g. ``"scale2."``). The cache's ``norm`` is None.
    """
    xp, dims = _check_call(X, params, q, prefix, schedule, recurrent)
    S, cache = trusted_logits_forward(X, params, q, dims=dims, prefix=prefix, schedule=schedule,
                                      recurrent=recurrent, xp=xp)
    check_values(xp, X, q, S, params)
    return S, cache


def arnn_logits_backward(dS, cache: ARNNCache):
    """Backward of :func:`arnn_logits_forward`: ``(dX, dq, grads)`` from dS (N, H, W).

    ``grads`` has the cache's keys (with ``prefix``); every array is new.
    """
    check_cache(cache, ARNNCache, "arnn_logits_backward", "that arnn_logits_forward returned")
    check_upstream(dS, cache.S)
    return trusted_logits_backward(dS, cache, xp=array_module(dS))


def trusted_arnn_forward(X, params, q=None, *, normalize="sigmoid", schedule="wavefront", recurrent=True,
                         xp):
    """:func:`arnn_forward` on arrays and arguments already checked: the maths alone, no host synchronisation."""
    S, cache = trusted_logits_forward(X, params, q, dims=read_dims(params), prefix="", schedule=schedule,
                                      recurrent=recurrent, xp=xp)
    A, norm_cache = normalize_forward(S, normalize, xp=xp)
    return A, cache._replace(norm=norm_cache)


def trusted_arnn_backward(dA, cache: ARNNCache, *, xp):
    """:func:`arnn_backward` on a gradient already checked: the maths alone."""
    return trusted_logits_backward(normalize_backward(dA, cache.norm), cache, xp=xp)


def arnn_forward(X, params, q=None, *, normalize="sigmoid", schedule="wavefront", recurrent=True):
    """AttentionRNN mask of a feature map.

    Parameters
    ----------
    X : array (N, H, W, C)
        Feature map, channels last, float32 or float64 (the parameters' dtype).
    params : dict
        From :func:`init_arnn_params`; C, K, Q and k are read from its shapes.
    q : array (N, Q) or None
        Query; required exactly when the parameters have ``W_q`` keys.
    normalize : {"sigmoid", "softmax"}
        Per-position sigmoid, or softmax over the H·W positions of each sample.
    schedule : {"wavefront", "raster"}
        Order of computation of the scans; both give the same numbers.
    recurrent : bool
        False is the "independent" ablation: no state-to-state recurrence, so
        A[i,j] depends only on the k×k neighbourhood of (i, j).

    Returns
    -------
    A : array (N, H, W)
    cache : ARNNCache

    Raises
    ------
    TypeError
        Non-float or mixed dtypes; NumPy and CuPy arrays mixed; non-string
        parameter keys; ``recurrent`` not a bool.
    KeyError
        Missing or unexpected parameter keys.
    ValueError
        Bad shapes, zero-size dimensions, even kernel, unknown ``normalize``
        or ``schedule``, query given without ``W_q`` or missing with it, NaN
        or Inf in X or q, finite inputs whose logits overflow inside the layer.
    MemoryError
        A problem whose estimated working set exceeds the memory of the
        device, refused before anything is allocated.

    Notes
    -----
    docs/model.md §3::

        U_d = conv(X, d.W_x) + d.b + q·d.W_q
        G = U_fwd[i,j] + h[i−1,j]·W_up + h[i,j−1]·W_left;  LSTM cell, gates i, f, g, o
        h_bwd = rot180(D_bwd(rot180(U_bwd)))
        S = h_fwd·head.w[:K] + h_bwd·head.w[K:] + head.b;   A = σ(S) or softmax(S)

    NaN or Inf in the parameters is not refused: it propagates to the mask.
    """
    check_normalize(normalize)
    xp, dims = _check_call(X, params, q, "", schedule, recurrent)
    S, cache = trusted_logits_forward(X, params, q, dims=dims, prefix="", schedule=schedule,
                                      recurrent=recurrent, xp=xp)
    check_values(xp, X, q, S, params)
    A, norm_cache = normalize_forward(S, normalize, xp=xp)
    return A, cache._replace(norm=norm_cache)


def arnn_backward(dA, cache: ARNNCache):
    """Gradients of :func:`arnn_forward`.

    Parameters
    ----------
    dA : array (N, H, W)
        Gradient of the loss with respect to the mask.
    cache : ARNNCache

    Returns
    -------
    dX : array (N, H, W, C)
    dq : array (N, Q) or None
        None when the forward call had no query.
    grads : dict
        Exactly the keys of ``params``; freshly allocated arrays (they
        overwrite nothing). The cache is not modified, so calling backward
        twice gives the same result.

    Raises
    ------
    TypeError
        ``cache`` is not the ARNNCache of :func:`arnn_forward` (another
        layer's cache, the whole ``(A, cache)`` tuple, None); ``dA`` not a
        float array of the forward's dtype and backend.
    ValueError
        ``dA`` of another shape; a cache from :func:`arnn_logits_forward`.
    """
    check_cache(cache, ARNNCache, "arnn_backward", "that arnn_forward returned")
    if cache.norm is None:
        raise ValueError("this cache comes from arnn_logits_forward; use arnn_logits_backward")
    check_upstream(dA, cache.S)
    return trusted_arnn_backward(dA, cache, xp=array_module(dA))
