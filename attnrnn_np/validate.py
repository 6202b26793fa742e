"""Input checks shared by the public functions: clear errors that name the problem."""

from __future__ import annotations

from .backend import array_module, get_xp

__all__ = ["check_float_array", "check_finite", "check_upstream", "check_dtype_name", "resolve_xp"]


def check_float_array(a, name):
    """Raise ``TypeError`` unless ``a`` is a float32/float64 NumPy or CuPy array."""
    if not (hasattr(a, "dtype") and hasattr(a, "shape")):  # None, a string, a number, a list
        raise TypeError(f"{name} must be a float32 or float64 array, got {type(a).__name__}")
    try:
        array_module(a)
    except TypeError as err:  # another library's array, e.g. a torch tensor
        raise TypeError(f"{name} must be a float32 or float64 array: {err}") from None
    if a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {a.dtype}")


def check_finite(a, name):
    """Raise ``ValueError`` when ``a`` holds NaN or Inf.

    Non-finite inputs are refused rather than propagated: a NaN would spread
    through the recurrence to every later cell and, with a spatial softmax,
    to the whole sample, which hides where it came from.
    """
    xp = array_module(a)
    if not bool(xp.isfinite(a).all()):
        raise ValueError(f"{name} contains NaN or Inf")


def check_upstream(dA, S):
    """Check an upstream gradient ``dA`` against the forward pass's logits ``S``.

    Raises ``TypeError`` for a non-float array, a dtype other than ``S``'s or
    another backend, ``ValueError`` for another shape.
    """
    check_float_array(dA, "dA")
    if dA.shape != S.shape:
        raise ValueError(f"dA must have the mask's shape {S.shape}, got {dA.shape}")
    if dA.dtype != S.dtype:
        raise TypeError(f"dA has dtype {dA.dtype} but the forward pass ran in {S.dtype}; use one dtype")
    array_module(dA, S)  # raises TypeError when NumPy and CuPy are mixed


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
