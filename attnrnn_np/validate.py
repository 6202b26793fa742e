"""Input checks for the public functions: clear errors that name the problem.

The boundary rule (docs/contributing.md): a public function resolves the
array module once and validates its inputs once, with these helpers; the
maths it calls receives ``xp`` and never checks again. The helpers are
written for that: :func:`check_float_arrays` checks a whole set of arrays in
one call, and :func:`check_all_finite` tests several arrays for NaN and Inf
with one host synchronisation (one reduction over all of them together,
read back once), so a public call stalls a GPU at most once.
"""

from __future__ import annotations

import operator

from .backend import array_module, get_xp, kind_of

__all__ = [
    "check_float_array",
    "check_float_arrays",
    "check_finite",
    "check_all_finite",
    "check_upstream",
    "check_dtype_name",
    "check_flag",
    "check_size",
    "check_seed",
    "check_cache",
    "resolve_xp",
]


def _check_one_float(a, name):
    if not (hasattr(a, "dtype") and hasattr(a, "shape")):  # None, a string, a number, a list
        raise TypeError(f"{name} must be a float32 or float64 array, got {type(a).__name__}")
    try:
        kind_of(a)
    except TypeError as err:  # another library's array, e.g. a torch tensor
        raise TypeError(f"{name} must be a float32 or float64 array: {err}") from None
    if a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {a.dtype}")


def check_float_array(a, name):
    """Raise ``TypeError`` unless ``a`` is a float32/float64 NumPy or CuPy array."""
    _check_one_float(a, name)


def check_float_arrays(named):
    """:func:`check_float_array` for every ``(name, array)`` pair, in order, in one call."""
    for name, a in named:
        _check_one_float(a, name)


def check_finite(a, name):
    """Raise ``ValueError`` when ``a`` holds NaN or Inf (one host synchronisation)."""
    check_all_finite(array_module(a), ((name, a),))


def check_all_finite(xp, named):
    """Raise ``ValueError`` naming the first of the ``(name, array)`` pairs that holds NaN or Inf.

    Non-finite inputs are refused rather than propagated: a NaN would spread
    through the recurrence to every later cell and, with a spatial softmax,
    to the whole sample, which hides where it came from. ``None`` arrays are
    skipped. All arrays are reduced on the device and read back together:
    one host synchronisation when every value is finite (more only on the
    way to the error, to name the array).
    """
    named = [(name, a) for name, a in named if a is not None]
    if not named:
        return
    flags = [xp.isfinite(a).all() for _, a in named]
    ok = flags[0]
    for flag in flags[1:]:
        ok = ok & flag
    if not bool(ok):
        for (name, _), flag in zip(named, flags, strict=True):
            if not bool(flag):
                raise ValueError(f"{name} contains NaN or Inf")


def check_upstream(dA, S):
    """Check an upstream gradient ``dA`` against the forward pass's logits ``S``.

    Raises ``TypeError`` for a non-float array, a dtype other than ``S``'s or
    another backend, ``ValueError`` for another shape.
    """
    _check_one_float(dA, "dA")
    if dA.shape != S.shape:
        raise ValueError(f"dA must have the mask's shape {S.shape}, got {dA.shape}")
    if dA.dtype != S.dtype:
        raise TypeError(f"dA has dtype {dA.dtype} but the forward pass ran in {S.dtype}; use one dtype")
    array_module(dA, S)  # raises TypeError when NumPy and CuPy are mixed


def check_cache(cache, expected, function, hint=""):
    """Raise ``TypeError`` unless ``cache`` is an ``expected`` (a cache type), naming it.

    ``function`` names the backward that was called; ``hint`` says where the
    right cache comes from.
    """
    if not isinstance(cache, expected):
        got = type(cache).__name__
        if isinstance(cache, tuple) and not hasattr(cache, "_fields"):
            got = f"a plain tuple of {len(cache)} items (pass the cache, the second item of (A, cache))"
        raise TypeError(f"{function} expects the {expected.__name__} {hint}, got {got}")


def check_flag(value, name):
    """Return ``value`` unless it is not a ``bool`` (``TypeError`` naming ``name``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _integer(value, lo, not_integer, too_small):
    """``value`` as a Python int ≥ ``lo``: ``TypeError(f"{not_integer}, got …")`` for a non-integer (a float
    such as 2.7, a bool, None), ``ValueError(f"{too_small}, got …")`` below ``lo``."""
    if isinstance(value, bool):
        raise TypeError(f"{not_integer}, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{not_integer}, got {value!r}") from None
    if value < lo:
        raise ValueError(f"{too_small}, got {value}")
    return value


def check_size(value, name, lo):
    """``value`` as a Python int ≥ ``lo``.

    ``TypeError`` for a non-integer (a float such as 2.7, a bool, None), ``ValueError`` below ``lo``.
    """
    return _integer(value, lo, f"{name} must be an integer", f"{name} must be >= {lo}")


def check_seed(seed, name="seed"):
    """A seed: a non-negative integer, or a NumPy ``Generator`` / ``SeedSequence`` (returned as given)."""
    t = type(seed)
    if t.__module__.startswith("numpy.random") and t.__name__ in ("Generator", "SeedSequence"):
        return seed
    wanted = f"{name} must be a non-negative integer"
    return _integer(seed, 0, wanted, wanted)


def resolve_xp(xp):
    """``None``, ``"numpy"``, ``"cupy"`` or an array module -> the array module.

    The namespace of a device-array double (or its name) is an array module too.
    """
    if xp is None or isinstance(xp, str):
        return get_xp(xp)
    name = getattr(xp, "__name__", "")
    if name in ("numpy", "cupy"):
        return xp
    ndarray = getattr(xp, "ndarray", None)
    if isinstance(ndarray, type) and getattr(ndarray, "__device_double__", None) is xp:
        return xp
    raise ValueError(f"xp must be numpy, cupy, 'numpy', 'cupy' or None, got {xp!r}")


def check_dtype_name(dtype):
    """``"float32"`` or ``"float64"`` from a name, a NumPy dtype or a type; ``TypeError`` otherwise."""
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    if name not in ("float32", "float64"):
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    return name
