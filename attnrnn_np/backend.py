"""Which array module (NumPy or CuPy) a computation runs on.

The math modules never import numpy themselves: each public function asks
:func:`array_module` for the module that owns its input arrays and passes it
down as ``xp``. There is no global switch. CuPy is imported lazily, only when
a CuPy array is actually seen or a GPU is asked for, so ``import attnrnn_np``
never imports CuPy.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "array_module",
    "to_numpy",
    "asarray_like",
    "get_xp",
    "gpu_available",
    "is_cupy_array",
]


def is_cupy_array(a) -> bool:
    """True when ``a`` is a ``cupy.ndarray`` (checked without importing CuPy)."""
    t = type(a)
    return t.__module__.startswith("cupy") and t.__name__ == "ndarray"


def array_module(*arrays):
    """Return ``numpy`` or ``cupy``, whichever owns the given arrays.

    ``None`` entries and Python scalars are ignored. Raises ``TypeError`` when
    NumPy and CuPy arrays are mixed, since an implicit transfer would hide a
    device round-trip (and CuPy refuses most mixed operations anyway).
    """
    kinds = set()
    for a in arrays:
        if a is None or np.isscalar(a):
            continue
        if is_cupy_array(a):
            kinds.add("cupy")
        elif isinstance(a, np.ndarray):
            kinds.add("numpy")
        else:
            raise TypeError(
                f"expected a numpy.ndarray or cupy.ndarray, got {type(a).__module__}."
                f"{type(a).__name__}"
            )
    if kinds == {"numpy", "cupy"}:
        raise TypeError(
            "arrays from two backends were mixed (numpy and cupy); move them to "
            "one backend first, e.g. with cupy.asarray(...) or attnrnn_np.backend.to_numpy(...)"
        )
    if kinds == {"cupy"}:
        import cupy

        return cupy
    return np


def get_xp(name: str | None):
    """Return the array module named ``"numpy"`` or ``"cupy"`` (``None`` means NumPy).

    Raises ``ValueError`` for any other name and ``RuntimeError`` when CuPy is
    asked for but no usable GPU is present.
    """
    if name is None or name == "numpy":
        return np
    if name == "cupy":
        if not gpu_available():
            raise RuntimeError(
                "backend 'cupy' was requested but CuPy is not installed or no CUDA GPU "
                "is usable (install the 'gpu' extra: pip install 'attnrnn_np[gpu]')"
            )
        import cupy

        return cupy
    raise ValueError(f"unknown backend {name!r}; expected 'numpy' or 'cupy'")


def gpu_available() -> bool:
    """True when CuPy imports and can run a kernel on at least one GPU."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return False
        cupy.asarray([1.0]).sum().item()  # a real kernel launch, not only a driver query
        return True
    except Exception:
        return False


def to_numpy(a):
    """Return ``a`` as a NumPy array (copying from the GPU when needed).

    Use only at the edges: plots, files, printing. ``None`` passes through.
    """
    if a is None:
        return None
    if is_cupy_array(a):
        return a.get()
    return np.asarray(a)


def asarray_like(a, xp, dtype=None):
    """Move a host array to backend ``xp`` (optionally casting)."""
    return xp.asarray(a, dtype=dtype)
