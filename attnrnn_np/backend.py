"""Which array module (NumPy or CuPy) a computation runs on.

The math modules never import numpy themselves: each public function asks
:func:`array_module` for the module that owns its input arrays and passes it
down as ``xp``. There is no global switch. CuPy is imported lazily, only when
a CuPy array is actually seen or a GPU is asked for, so ``import attnrnn_np``
never imports CuPy.

A third kind of array is recognised the same way, by its type: a
*device-array double*, a test backend that behaves like CuPy on the CPU
(:mod:`attnrnn_np.testing.strict`; docs/backend.md). Its array type names
its namespace in the class attribute ``__device_double__``, and its module
registers that namespace by name for :func:`get_xp` when it is imported.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "array_module",
    "kind_of",
    "to_numpy",
    "host_rng",
    "host_seed",
    "get_xp",
    "gpu_available",
    "is_cupy_array",
    "is_device_double",
    "register_device_double",
]

_DEVICE_DOUBLES = {}  # name -> namespace of each imported device-array double


def is_cupy_array(a) -> bool:
    """True when ``a`` is a ``cupy.ndarray`` (checked without importing CuPy)."""
    t = type(a)
    return t.__module__.startswith("cupy") and t.__name__ == "ndarray"


def is_device_double(a) -> bool:
    """True when ``a`` is an array of a device-array double (its type names its namespace)."""
    return getattr(type(a), "__device_double__", None) is not None


def register_device_double(namespace):
    """Make a device-array double's namespace selectable by its ``__name__`` in :func:`get_xp`.

    Called by the double's module when it is imported (``"strict"`` for
    :mod:`attnrnn_np.testing.strict`).
    """
    _DEVICE_DOUBLES[namespace.__name__] = namespace


def kind_of(a):
    """``(backend name, module)`` of one array (module None for CuPy, not imported here).

    Raises ``TypeError`` for anything that is not a NumPy, CuPy or
    device-double array. A plain type test, used by :func:`array_module` and
    by the input checks, which test each input's type and resolve the module
    once for all of them.
    """
    if is_cupy_array(a):
        return "cupy", None
    if isinstance(a, np.ndarray):
        return "numpy", np
    if is_device_double(a):
        return type(a).__device_double__.__name__, type(a).__device_double__
    raise TypeError(f"expected a numpy.ndarray or cupy.ndarray, got {type(a).__module__}.{type(a).__name__}")


def array_module(*arrays):
    """Return ``numpy`` or ``cupy``, whichever owns the given arrays.

    ``None`` entries and Python scalars are ignored. Raises ``TypeError`` when
    NumPy and CuPy arrays are mixed, since an implicit transfer would hide a
    device round-trip (and CuPy refuses most mixed operations anyway). The
    arrays of a device-array double give its namespace, and mixing them with
    either library's arrays raises the same ``TypeError``.
    """
    kinds = {}  # backend name -> its module (None for CuPy, imported below)
    for a in arrays:
        if a is None or np.isscalar(a):
            continue
        name, module = kind_of(a)
        kinds[name] = module
    if len(kinds) > 1:
        names = " and ".join(sorted(kinds, key=lambda k: (k != "numpy", k != "cupy", k)))
        raise TypeError(
            f"arrays from two backends were mixed ({names}); move them to "
            "one backend first, e.g. with cupy.asarray(...) or attnrnn_np.backend.to_numpy(...)"
        )
    if "cupy" in kinds:
        import cupy

        return cupy
    return next(iter(kinds.values()), np)


def get_xp(name: str | None):
    """Return the array module named ``"numpy"`` or ``"cupy"`` (``None`` means NumPy).

    The name of an imported device-array double (``"strict"`` once
    :mod:`attnrnn_np.testing.strict` is imported) gives its namespace.
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
    if name in _DEVICE_DOUBLES:
        return _DEVICE_DOUBLES[name]
    hint = " (the test backend 'strict' needs `import attnrnn_np.testing.strict` first)" if name == "strict" else ""
    raise ValueError(f"unknown backend {name!r}; expected 'numpy' or 'cupy'{hint}")


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
    if is_cupy_array(a) or is_device_double(a):
        return a.get()
    return np.asarray(a)


def host_rng(seed):
    """A NumPy random ``Generator`` on the host, seeded with ``seed``.

    Initial weights and random directions are drawn on the host and then moved
    to the backend with ``xp.asarray``, so a seed means the same numbers on
    NumPy and CuPy. ``seed`` is anything ``numpy.random.default_rng`` takes:
    an int, a list of ints, a ``SeedSequence``, or a ``Generator`` (returned
    as it is, so one generator can initialise several parts in order).
    """
    return np.random.default_rng(seed)


def host_seed(*entropy):
    """One 32-bit seed derived from several integers (``SeedSequence(entropy)``).

    Used to give each part of a model its own stream from one user seed, e.g.
    ``host_seed(seed, gamma)`` for the ARNN of scale γ.
    """
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])
