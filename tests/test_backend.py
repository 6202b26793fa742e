"""The backend module, the import-time promises of the package, and CuPy parity.

- ``array_module`` resolves NumPy or CuPy from the arrays it is given;
- ``import attnrnn_np`` imports neither matplotlib nor CuPy;
- math modules never import numpy (a static check over the source);
- on a GPU, every public result equals NumPy's within float32/float64 tolerance.
"""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

import attnrnn_np
from attnrnn_np import arnn_backward, arnn_forward
from attnrnn_np.backend import array_module, get_xp, gpu_available, is_cupy_array, to_numpy
from strategies import analytic_grads, dims, make_problem, needs_gpu, no_gpu, normalizations, scaled, seeds

PACKAGE = Path(attnrnn_np.__file__).parent


# --------------------------------------------------------------------------
# array_module, to_numpy, get_xp
# --------------------------------------------------------------------------

def test_array_module_on_numpy_none_and_scalars():
    a = np.zeros(3)
    assert array_module(a) is np
    assert array_module(a, None, 2.0, 3, np.float32(1)) is np
    assert array_module(None) is np
    assert array_module() is np
    assert array_module(1.5, None) is np
    assert array_module(np.array(1.0)) is np  # 0-d arrays are arrays, not scalars


@pytest.mark.parametrize("bad", [[1.0, 2.0], (1.0,), {"a": 1}, range(3)])
def test_array_module_refuses_non_arrays(bad):
    with pytest.raises(TypeError, match=r"expected a numpy.ndarray or cupy.ndarray, got builtins\."):
        array_module(np.zeros(2), bad)


def test_to_numpy_at_the_edges():
    a = np.arange(6.0).reshape(2, 3)
    assert to_numpy(a) is a  # no copy for NumPy input
    assert to_numpy(None) is None
    listed = to_numpy([1.0, 2.0])
    assert isinstance(listed, np.ndarray) and listed.tolist() == [1.0, 2.0]
    assert not is_cupy_array(a)


def test_get_xp_names():
    assert get_xp(None) is np
    assert get_xp("numpy") is np
    with pytest.raises(ValueError, match=r"unknown backend 'jax'; expected 'numpy' or 'cupy'"):
        get_xp("jax")
    assert isinstance(gpu_available(), bool)


@no_gpu
def test_get_xp_cupy_without_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"backend 'cupy' was requested but CuPy is not installed or no CUDA GPU"):
        get_xp("cupy")


@needs_gpu
def test_cupy_arrays_resolve_to_cupy_and_mixing_is_refused():
    import cupy

    c = cupy.zeros(3)
    assert get_xp("cupy") is cupy
    assert array_module(c, None, 1.0) is cupy
    assert is_cupy_array(c)
    back = to_numpy(c)
    assert isinstance(back, np.ndarray) and back.shape == (3,)
    with pytest.raises(TypeError, match=r"arrays from two backends were mixed \(numpy and cupy\)"):
        array_module(c, np.zeros(3))


# --------------------------------------------------------------------------
# what importing the package pulls in
# --------------------------------------------------------------------------

def _math_modules():
    """The package's modules that are neither host-side nor the backend edge."""
    return sorted(f"attnrnn_np.{path.stem}" for path in PACKAGE.glob("*.py")
                  if path.name not in HOST_MODULES | {"__init__.py", "backend.py"})


def test_import_pulls_in_neither_matplotlib_nor_cupy():
    """Checked in a fresh interpreter: this test process may have imported them already."""
    modules = ["attnrnn_np"] + _math_modules()
    code = ("import sys\n"
            f"for m in {modules!r}: __import__(m)\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'cupy'))\n"
            "print(heavy)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"importing {modules} imported {result.stdout.strip()}"


# --------------------------------------------------------------------------
# math modules never import numpy: a static check
# --------------------------------------------------------------------------

# Where numpy may be imported, and why. Everything else in attnrnn_np/ must
# resolve its array module from its inputs (``xp = array_module(...)``) so the
# same code runs on CuPy; a module-level ``import numpy`` anywhere else fails.
#
# * backend.py — the one edge module: it recognises numpy arrays and converts
#   to NumPy for plots and files.
# * host-side modules of the learning stack and the command line — they run on
#   the host, print, plot and read files, never inside the layer's math:
HOST_MODULES = {
    "tour.py",        # the guided run of `attnrnn-np tour`: draws data, prints a report
    "cli.py",         # argument parsing only
    "data.py",        # datasets on the host
    "tasks.py",       # the MREF/MDIST/MBG datasets: images built and cached on the host
    "files.py",       # atomic .npz writes (host arrays only)
    "train.py",       # training loops, batch order, checkpoints (issue 5)
    "experiment.py",  # runs of train.py in worker processes, result tables (issue 5)
    "figures.py",     # matplotlib figures
}
# * function-local imports that draw random numbers on the host, so that a
#   seed means the same numbers on every backend (STYLE: "only init functions
#   and tests may import numpy"). Any function named ``init_*`` qualifies —
#   e.g. a future ``init_multiscale_params`` — plus these, by name:
LOCAL_HOST_IMPORTS = {
    ("arnn.py", "init_arnn_params"),       # draws the initial weights
    ("gradcheck.py", "directional_check"),  # draws the random direction v
    ("nn.py", "he_normal"),                 # the network's weight initialiser (issue 4)
}


def _numpy_imports(tree):
    """(line, enclosing function or None, statement) of every numpy import in a module.

    Catches ``import numpy``, ``import numpy.linalg``, ``from numpy import x``
    and the back door ``from .backend import np``.
    """
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Import):
                if any(a.name == "numpy" or a.name.startswith("numpy.") for a in child.names):
                    found.append((child.lineno, func, ast.unparse(child)))
            elif isinstance(child, ast.ImportFrom):
                mod = child.module or ""
                if mod == "numpy" or mod.startswith("numpy.") or \
                        any(a.name in ("np", "numpy") for a in child.names):
                    found.append((child.lineno, func, ast.unparse(child)))
            visit(child, inner)

    visit(tree, None)
    return found


def _allowed(filename, func):
    if filename == "backend.py" or filename in HOST_MODULES:
        return True
    return func is not None and (func.startswith("init_") or (filename, func) in LOCAL_HOST_IMPORTS)


def test_math_modules_never_import_numpy():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, func, stmt in _numpy_imports(ast.parse(path.read_text(), filename=str(path))):
            if not _allowed(path.name, func):
                where = f"in {func}()" if func else "at module level"
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} {where}: {stmt}")
    assert not offenders, "math modules must resolve xp from their inputs, not import numpy:\n" + \
        "\n".join(offenders)


def test_the_static_check_can_fail():
    """The checker flags what it should, on snippets."""
    def flagged(src, filename="scan.py"):
        return [f for _, f, _ in _numpy_imports(ast.parse(src)) if not _allowed(filename, f)]

    assert flagged("import numpy as np") == [None]
    assert flagged("import numpy.linalg") == [None]
    assert flagged("from numpy import tanh") == [None]
    assert flagged("from .backend import np") == [None]
    assert flagged("def f():\n    import numpy\n") == ["f"]
    assert flagged("def init_x():\n    import numpy as host\n") == []
    assert flagged("import numpy as np", "tour.py") == []
    assert flagged("def directional_check():\n    import numpy\n", "gradcheck.py") == []
    assert flagged("def numerical_vjp():\n    import numpy\n", "gradcheck.py") == ["numerical_vjp"]
    assert flagged("import numbers\nfrom .backend import array_module") == []


# --------------------------------------------------------------------------
# CuPy parity (skipped without a GPU)
# --------------------------------------------------------------------------

# float64: the same operations in a different order (cuBLAS vs OpenBLAS) agree
# to round-off; float32: within a small multiple of its resolution, scaled by
# the size of the values (as in test_properties' float32-vs-float64 check).
PARITY_TOL = {"float64": 1e-10, "float32": 1e-5}


@needs_gpu
@scaled(10)
@given(d=dims(), seed=seeds, normalize=normalizations)
def test_cupy_equals_numpy(d, seed, normalize):
    import cupy

    for dtype, tol in PARITY_TOL.items():
        results = {}
        for xp in (np, cupy):
            p = make_problem(d, seed, xp, dtype=dtype)
            A, cache = arnn_forward(p.X, p.params, p.q, normalize=normalize)
            results[xp.__name__] = {"A": A, **analytic_grads(*arnn_backward(p.dA, cache))}
        for key, ref in results["numpy"].items():
            got = results["cupy"][key]
            assert is_cupy_array(got) and got.dtype == ref.dtype, key
            got = to_numpy(got)
            assert np.abs(got - ref).max() <= tol * (1.0 + np.abs(ref).max()), (dtype, key)
