"""A strict device-array double: CuPy's rules on the CPU, NumPy underneath.

Code written for NumPy and CuPy fails on a GPU in a few typical ways: a NumPy
array mixed into an expression with device arrays, an implicit
``np.asarray`` (``np.savez``, matplotlib, a NumPy function) on a device
array, a NumPy function or array method that CuPy lacks. None of them shows
on NumPy alone, and a GPU is not always at hand. This double makes them
show on any machine::

    from attnrnn_np.testing import strict
    X = strict.xp.asarray(X_host)         # "to the device": a copy
    A, cache = arnn_forward(X, params, q)  # runs with the double's xp
    A_host = A.get()                       # the one way back to the host

What its arrays (:class:`StrictArray`) do, as CuPy's do:

- they are their own type, not ``numpy.ndarray``;
- ``__array__`` raises ``TypeError``, so ``np.asarray``, ``np.savez``,
  matplotlib and every NumPy function refuse them; the host copy comes only
  from :meth:`StrictArray.get` (or ``attnrnn_np.backend.to_numpy``);
- an operation that mixes them with NumPy arrays raises ``TypeError``
  (Python and NumPy scalars are fine);
- ``float()``, ``int()``, ``bool()`` on a 0-d array and ``.item()`` on a
  one-element array are allowed;
- every host synchronisation is counted (:data:`host_syncs`): ``.get()``,
  ``.item()``, ``.tolist()``, ``float()``, ``int()``, ``bool()``,
  ``complex()``, ``repr()`` and formatting, and each attempt at ``__array__`` (refused, but
  on CuPy the same line would copy to the host), so a test can pin how often
  a computation stalls the device;
- reductions return 0-d arrays, never NumPy scalars;
- ``xp.asarray`` of a host array copies it, so device and host never share
  memory;
- the namespace :data:`xp` offers only functions CuPy also has
  (:data:`FUNCTIONS`), and the arrays only methods and attributes
  ``cupy.ndarray`` also has (:data:`ARRAY_METHODS`, :data:`ARRAY_ATTRIBUTES`);
  anything else raises ``AttributeError`` naming it.

It is stricter than CuPy in two places: a NumPy function called on a
device array fails (CuPy dispatches some of them through
``__array_function__``), and NumPy arrays are refused as indices and as
values assigned into a device array (CuPy copies some of them over
silently). Array code reaches functions through ``xp`` and moves host
arrays with ``xp.asarray``, so neither restriction costs it anything.

What only a GPU shows (kernel speed, asynchronous errors, memory, cuBLAS
rounding) is listed in docs/backend.md.

Importing this module registers the backend name ``"strict"`` with
:func:`attnrnn_np.backend.get_xp`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..backend import register_device_double

__all__ = ["StrictArray", "xp", "FUNCTIONS", "ARRAY_METHODS", "ARRAY_ATTRIBUTES", "HostSyncs", "host_syncs"]

_HOST_ARRAY = ("Unsupported type <class 'numpy.ndarray'>: a NumPy array was mixed with device arrays "
               "in {where}; move it to the device first with xp.asarray")


def _operand(x, where):
    """An operand of an elementwise operation: a device array's data, or a scalar."""
    if type(x) is StrictArray:
        return x._a
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return x
    if isinstance(x, np.ndarray):
        raise TypeError(_HOST_ARRAY.format(where=where))
    raise TypeError(f"Unsupported type {type(x)} in {where}: expected a device array or a scalar")


# Types that pass through as arguments and indices untouched.
_PLAIN = frozenset({bool, int, float, complex, str, slice, type(None), type(Ellipsis), np.dtype})


def _unwrap(x, where):
    """Arguments of a function: device arrays to their data, inside tuples and lists too;
    NumPy arrays are refused."""
    t = type(x)
    if t is StrictArray:
        return x._a
    if t in _PLAIN:
        return x
    if t is tuple or t is list:
        return t([v._a if type(v) is StrictArray else v if type(v) in _PLAIN else _unwrap(v, where) for v in x])
    if isinstance(x, np.ndarray):
        raise TypeError(_HOST_ARRAY.format(where=where))
    return x


def _wrap(r):
    """Results on the device: arrays, and NumPy scalars as 0-d arrays (CuPy returns no scalars)."""
    t = type(r)
    if t is np.ndarray:
        return StrictArray(r)
    if isinstance(r, np.generic):
        return StrictArray(np.asarray(r))
    if t is tuple or t is list:
        return t([_wrap(v) for v in r])
    return r


class HostSyncs:
    """Counts the host synchronisations of the double's arrays, by kind.

    On a GPU each of them waits for the device to finish its queued work and
    copies back to the host. ``total`` is their sum; :meth:`reset` starts
    over. Use :data:`host_syncs`, the one counter every array reports to.
    """

    def __init__(self):
        self.by_kind = {}

    @property
    def total(self):
        return sum(self.by_kind.values())

    def reset(self):
        self.by_kind = {}

    def add(self, kind):
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


#: The counter of host synchronisations (``host_syncs.total``, ``host_syncs.by_kind``).
host_syncs = HostSyncs()


class Flags(NamedTuple):
    """The memory-layout flags ``cupy.ndarray.flags`` has."""

    c_contiguous: bool
    f_contiguous: bool
    owndata: bool


class StrictArray:
    """A device array of the double: NumPy data that never leaves implicitly.

    Create them with ``xp.asarray``, ``xp.zeros`` and the other functions of
    :data:`xp`, never directly.
    """

    __slots__ = ("_a",)
    __array_ufunc__ = None   # NumPy's operators and ufuncs defer to this class, which refuses NumPy arrays
    __hash__ = None          # mutable, like every ndarray
    __device_double__ = None  # the namespace, set below; how attnrnn_np.backend recognises the double

    def __init__(self, data):
        self._a = data

    # the edges: what leaves the device, and only explicitly

    def __array__(self, *args, **kwargs):
        host_syncs.add("__array__")
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None):
        """A NumPy copy on the host."""
        host_syncs.add("get")
        return np.array(self._a, copy=True)

    def item(self):
        """The value of a one-element array as a Python scalar."""
        host_syncs.add("item")
        if self._a.size != 1:
            raise ValueError(f"can only convert an array of size 1 to a Python scalar, got shape {self.shape}")
        return self._a.item()

    def tolist(self):
        host_syncs.add("tolist")
        return self._a.tolist()

    def _scalar(self, kind):
        host_syncs.add(kind.__name__)
        if self._a.ndim != 0:
            raise TypeError(f"{kind.__name__}() of a device array needs a 0-d array, got shape {self.shape}; "
                            f"reduce it first or use .item()")
        return kind(self._a)

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __bool__(self):
        return self._scalar(bool)

    def __complex__(self):
        return self._scalar(complex)

    def __repr__(self):
        host_syncs.add("repr")
        return f"StrictArray({self._a!r})"

    def __format__(self, spec):
        host_syncs.add("format")
        return format(self._a, spec)

    # shape and layout

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: StrictArray(self._a.T))

    @property
    def flags(self):
        f = self._a.flags
        return Flags(f.c_contiguous, f.f_contiguous, f.owndata)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(self._a[i]) for i in range(len(self._a)))

    # indexing: views share memory, as on the device

    def __getitem__(self, key):
        r = self._a[_unwrap(key, "an index")]
        return StrictArray(r) if type(r) is np.ndarray else _wrap(r)

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "an index")] = _unwrap(value, "an assignment")

    def __getattr__(self, name):
        raise AttributeError(f"the strict double's arrays have no attribute {name!r}: they offer only what "
                             f"cupy.ndarray also has (attnrnn_np.testing.strict.ARRAY_METHODS, ARRAY_ATTRIBUTES)")


# The methods, all of which cupy.ndarray has (tests/test_cupy_namespace.py checks).
ARRAY_METHODS = ("all", "any", "argmax", "argmin", "astype", "clip", "copy", "cumsum", "dot", "fill", "flatten",
                 "max", "mean", "min", "nonzero", "prod", "ravel", "repeat", "reshape", "round", "squeeze", "std",
                 "sum", "swapaxes", "take", "transpose", "var", "get", "item", "tolist")
ARRAY_ATTRIBUTES = ("shape", "dtype", "ndim", "size", "strides", "itemsize", "nbytes", "T", "flags")


def _method(name):
    where = f"ndarray.{name}"

    def method(self, *args, **kwargs):
        if kwargs:
            kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
        return _wrap(getattr(self._a, name)(*_unwrap(args, where), **kwargs))

    method.__name__ = method.__qualname__ = name
    return method


for _name in ARRAY_METHODS:
    if _name not in StrictArray.__dict__:
        setattr(StrictArray, _name, _method(_name))


def _binary(name, reflected=False):
    op = getattr(np, name)

    def method(self, other):
        other = _operand(other, f"an operator ({name})")
        return _wrap(op(other, self._a) if reflected else op(self._a, other))

    return method


def _inplace(name):
    op = getattr(np, name)

    def method(self, other):
        op(self._a, _operand(other, f"an in-place operator ({name})"), out=self._a)
        return self

    return method


for _name, _dunder in (("add", "add"), ("subtract", "sub"), ("multiply", "mul"), ("true_divide", "truediv"),
                       ("floor_divide", "floordiv"), ("remainder", "mod"), ("power", "pow"), ("matmul", "matmul"),
                       ("bitwise_and", "and"), ("bitwise_or", "or"), ("bitwise_xor", "xor")):
    setattr(StrictArray, f"__{_dunder}__", _binary(_name))
    setattr(StrictArray, f"__r{_dunder}__", _binary(_name, reflected=True))
    if _dunder != "matmul":
        setattr(StrictArray, f"__i{_dunder}__", _inplace(_name))
for _name, _dunder in (("equal", "eq"), ("not_equal", "ne"), ("less", "lt"), ("less_equal", "le"),
                       ("greater", "gt"), ("greater_equal", "ge")):
    setattr(StrictArray, f"__{_dunder}__", _binary(_name))
for _name, _dunder in (("negative", "neg"), ("positive", "pos"), ("absolute", "abs"), ("invert", "invert")):
    setattr(StrictArray, f"__{_dunder}__", (lambda op: lambda self: _wrap(op(self._a)))(getattr(np, _name)))


# --------------------------------------------------------------------------- the namespace

# Functions of the namespace, each of which CuPy has under the same name
# (tests/test_cupy_namespace.py checks this list against the installed CuPy).
FUNCTIONS = (
    # creation
    "array", "asarray", "ascontiguousarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
    "empty_like", "full_like", "arange", "linspace", "eye", "identity",
    # shapes and joins
    "concatenate", "stack", "broadcast_to", "reshape", "transpose", "moveaxis", "swapaxes", "expand_dims",
    "squeeze", "tile", "repeat", "flip", "rot90", "pad", "split", "where",
    # elementwise
    "abs", "absolute", "exp", "log", "log1p", "expm1", "tanh", "sqrt", "square", "maximum", "minimum",
    "multiply", "add", "subtract", "divide", "true_divide", "negative", "sign", "clip", "isfinite", "isnan",
    "isinf", "floor", "ceil", "rint", "round", "power", "sin", "cos", "logical_and", "logical_or",
    "logical_not", "equal", "not_equal", "greater", "less",
    # reductions and searches
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "any", "all", "prod", "cumsum", "var",
    "std", "unravel_index", "take", "nonzero", "argsort", "sort", "array_equal", "allclose", "isclose",
    # products
    "matmul", "dot", "einsum", "tensordot", "outer",
)
LINALG = ("norm",)
STRIDE_TRICKS = ("as_strided",)
DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_", "intp", "dtype")
CONSTANTS = ("newaxis", "pi", "inf", "nan")


class StrictNamespace:
    """A namespace offering only the names it was given; any other raises ``AttributeError`` naming it."""

    def __init__(self, name, members):
        self.__name__ = name
        self.__dict__.update(members)

    def __getattr__(self, name):
        raise AttributeError(f"{self.__name__}.{name} is not offered by the strict double: it offers only "
                             f"functions CuPy also has (attnrnn_np.testing.strict.FUNCTIONS); draw random "
                             f"numbers on the host (attnrnn_np.backend.host_rng) and move them with xp.asarray")

    def __repr__(self):
        return f"<strict device-array double namespace {self.__name__!r}>"


def _function(name, fn):
    where = f"{name}()"

    def call(*args, **kwargs):
        if kwargs:
            kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
        return _wrap(fn(*_unwrap(args, where), **kwargs))

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``numpy.{name}`` on device arrays (NumPy arrays are refused)."
    return call


def asarray(a, dtype=None):
    """A device array: a device array as it is (or cast), anything else copied to the device."""
    if isinstance(a, StrictArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else StrictArray(a._a.astype(dtype))
    return StrictArray(np.array(a, dtype=dtype, copy=True))


def array(a, dtype=None, copy=True):
    """A new device array (a copy) of a device array, a host array or a nested sequence."""
    if isinstance(a, StrictArray):
        return StrictArray(np.array(a._a, dtype=dtype, copy=True)) if copy else asarray(a, dtype)
    return StrictArray(np.array(a, dtype=dtype, copy=True))


_members = {name: _function(name, getattr(np, name)) for name in FUNCTIONS}
_members.update(asarray=asarray, array=array, ndarray=StrictArray)
_members.update({name: getattr(np, name) for name in DTYPES + CONSTANTS})
_members["linalg"] = StrictNamespace("strict.linalg", {n: _function(n, getattr(np.linalg, n)) for n in LINALG})
_members["lib"] = StrictNamespace("strict.lib", {"stride_tricks": StrictNamespace(
    "strict.lib.stride_tricks", {n: _function(n, getattr(np.lib.stride_tricks, n)) for n in STRIDE_TRICKS})})

#: The double's array module, what ``array_module`` returns for its arrays.
xp = StrictNamespace("strict", _members)
StrictArray.__device_double__ = xp
register_device_double(xp)
