"""The backend module, the import-time promises of the package, and CuPy parity.

- ``array_module`` resolves NumPy or CuPy from the arrays it is given;
- ``import attnrnn_np`` imports neither matplotlib nor CuPy;
- the layering rule: the layer package never imports the learning stack,
  and array code imports no array library (a static check over the source);
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

def _modules():
    """Every module of the package, as (dotted name, path)."""
    return sorted((".".join(("attnrnn_np",) + path.relative_to(PACKAGE).with_suffix("").parts), path)
                  for path in PACKAGE.rglob("*.py"))


# Modules that exist only for an optional extra (the PyTorch reference) may
# fail to import without it; nothing else may.
OPTIONAL = ("torch",)


def test_import_pulls_in_neither_matplotlib_nor_cupy():
    """Checked in a fresh interpreter: this test process may have imported them already."""
    modules = [name.removesuffix(".__init__") for name, _ in _modules()]
    code = ("import sys\n"
            f"for m in {modules!r}:\n"
            "    try:\n"
            "        __import__(m)\n"
            "    except ModuleNotFoundError as err:\n"
            f"        if err.name not in {OPTIONAL!r}: raise\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'cupy'))\n"
            "print(heavy)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"importing the package's modules imported {result.stdout.strip()}"


# --------------------------------------------------------------------------
# the layering rule, checked on the source
# --------------------------------------------------------------------------
#
# 1. Each module sits in a tier, read off where it lives, and imports only
#    from its own tier or those above it:
#      1  backend.py              which array module; moving arrays to the host
#      2  the layer's math        every other module of attnrnn_np/ itself
#      3  gradcheck.py            checks any forward/backward pair
#      4  learn/                  the learning stack around the layer
#      5  tools beside the layer  tour.py and every other subpackage
#      6  cli.py                  the command line
#    So the math the contract fixes never depends on the learning stack.
# 2. A module that reads its array module off its inputs (it calls
#    ``array_module``) is array code and imports no array library itself, so
#    the same lines run on NumPy and CuPy. backend.py, which defines
#    ``array_module``, is the one module that knows the libraries. Host random
#    numbers come from ``backend.host_rng``.

ARRAY_LIBRARIES = ("numpy", "cupy")


def _tier(module):
    parts = module.removesuffix(".__init__").split(".")[1:]
    if not parts:
        return 2  # the package root re-exports the math
    if parts[0] == "learn":
        return 4
    if len(parts) > 1 or (PACKAGE / parts[0]).is_dir():
        return 5  # a subpackage of tools
    return {"backend": 1, "atomic": 1, "gradcheck": 3, "tour": 5, "cli": 6}.get(parts[0], 2)


def _imports(tree, package):
    """(line, absolute module name, statement) of every import in a module of ``package``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, ast.unparse(node)) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.append((node.lineno, base, ast.unparse(node)))
            # ``from . import x`` names a module; ``from .backend import np`` is a back door to numpy
            found += [(node.lineno, f"{base}.{a.name}" if not node.module else a.name, ast.unparse(node))
                      for a in node.names if not node.module or a.name in ("np", "cp")]
    return found


def _violations(source, module):
    """The layering rule's violations in one module's source, as readable strings."""
    tree = ast.parse(source)
    package = module.removesuffix(".__init__") if module.endswith("__init__") else module.rsplit(".", 1)[0]
    imports = _imports(tree, package)
    tier = _tier(module)
    out = [f"line {line}: a tier-{tier} module imports {name} (tier {_tier(name)}): {stmt}"
           for line, name, stmt in imports
           if name.split(".")[0] == "attnrnn_np" and name != "attnrnn_np" and _tier(name) > tier]
    calls_array_module = any(isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None))
                             == "array_module" for n in ast.walk(tree))
    if calls_array_module and module != "attnrnn_np.backend":
        out += [f"line {line}: array code imports an array library: {stmt}"
                for line, name, stmt in imports
                if name.split(".")[0] in ARRAY_LIBRARIES or name in ("np", "cp")]
    return out


def test_the_layering_rule_holds():
    offenders = []
    for module, path in _modules():
        offenders += [f"{path.relative_to(PACKAGE.parent)} {v}" for v in _violations(path.read_text(), module)]
    assert not offenders, "\n".join(offenders)


def test_the_layering_rule_can_fail():
    """The checker flags what it should, on snippets."""
    uses_xp = "def f(a):\n    xp = array_module(a)\n"
    assert _violations("import numpy as np\n" + uses_xp, "attnrnn_np.scan")
    assert _violations("import numpy.linalg\n" + uses_xp, "attnrnn_np.scan")
    assert _violations("from numpy import tanh\n" + uses_xp, "attnrnn_np.scan")
    assert _violations("from .backend import np\n" + uses_xp, "attnrnn_np.scan")
    assert _violations(uses_xp + "    import cupy\n", "attnrnn_np.learn.layers")
    assert _violations("from .learn.train import train\n", "attnrnn_np.scan")
    assert _violations("from . import learn\n", "attnrnn_np.arnn")
    assert _violations("import attnrnn_np.learn.models\n", "attnrnn_np.arnn")
    assert _violations("from .gradcheck import compare\n", "attnrnn_np.conv")
    assert _violations("from ..cli import main\n", "attnrnn_np.learn.train")
    assert _violations("from ..tour import run_tour\n", "attnrnn_np.learn.train")
    # allowed: host code that does not read xp off arrays, the backend itself, imports from tiers above
    assert not _violations("from .learn.train import train\n", "attnrnn_np.cli")
    assert not _violations("import numpy as np\nfrom .tasks import TASKS\n", "attnrnn_np.learn.train")
    assert not _violations("import numpy as np\n" + uses_xp, "attnrnn_np.backend")
    assert not _violations("from ..arnn import arnn_forward\n" + uses_xp, "attnrnn_np.learn.models")
    assert not _violations("import numbers\nfrom .backend import array_module\n" + uses_xp, "attnrnn_np.scan")


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
