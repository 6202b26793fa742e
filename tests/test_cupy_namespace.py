"""Every CuPy name the package uses exists in the installed CuPy.

CuPy imports and its namespace can be read without a GPU, so this runs
wherever CuPy is installed (the ``test`` extra brings ``cupy-cuda13x``); it
skips only when CuPy cannot be imported. The names are read off the
package's source with ``ast``, so a new call is covered without anyone
updating a list:

- every attribute chain on an array module, ``xp.<name>`` (also
  ``xp.lib.stride_tricks.as_strided``) and ``array_module(...).<name>``,
  ``resolve_xp(...).<name>``, ``get_xp(...).<name>``, in every module;
- every attribute of an array in array code (the modules that call
  ``array_module``): a name that ``numpy.ndarray`` has and
  ``cupy.ndarray`` lacks (``setflags``, ``resize``, ``ctypes``, …) is
  flagged wherever it appears there;
- the functions and array methods the strict double offers
  (attnrnn_np.testing.strict), which it promises are CuPy's.
"""

import ast
import functools
from pathlib import Path

import numpy as np
import pytest

import attnrnn_np
from attnrnn_np.testing import strict

try:
    import cupy
except Exception as err:  # not installed, or installed without its CUDA libraries
    pytest.skip(f"CuPy cannot be imported ({type(err).__name__}: {err})", allow_module_level=True)

PACKAGE = Path(attnrnn_np.__file__).parent
XP_CALLS = ("array_module", "resolve_xp", "get_xp")


def _call_name(node):
    return getattr(node.func, "id", getattr(node.func, "attr", None)) if isinstance(node, ast.Call) else None


def xp_chains(tree):
    """Attribute chains on an array module: ``xp.a.b`` -> ("a", "b"), with line numbers."""
    chains = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain, root = [], node
        while isinstance(root, ast.Attribute):
            chain.append(root.attr)
            root = root.value
        if (isinstance(root, ast.Name) and root.id == "xp") or _call_name(root) in XP_CALLS:
            chains.append((node.lineno, tuple(reversed(chain))))
    # keep only the longest chain at each place (xp.lib.stride_tricks.as_strided, not xp.lib)
    longest = {}
    for line, chain in chains:
        if not any(other[:len(chain)] == chain and len(other) > len(chain) for l2, other in chains if l2 == line):
            longest[(line, chain)] = None
    return list(longest)


def calls_array_module(tree):
    return any(_call_name(n) == "array_module" for n in ast.walk(tree))


def numpy_only_attributes(tree):
    """Attributes used in array code that numpy.ndarray has and cupy.ndarray lacks."""
    return [(n.lineno, n.attr) for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and hasattr(np.ndarray, n.attr) and not hasattr(cupy.ndarray, n.attr)]


def _missing_in_cupy(chain):
    try:
        functools.reduce(getattr, chain, cupy)
        return False
    except AttributeError:
        return True


def _package_sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name != "testing":  # the double itself is NumPy by design
            yield path, ast.parse(path.read_text())


def test_every_xp_name_the_package_uses_is_in_cupy():
    seen, missing = set(), []
    for path, tree in _package_sources():
        for line, chain in xp_chains(tree):
            seen.add(chain)
            if _missing_in_cupy(chain):
                missing.append(f"{path.relative_to(PACKAGE.parent)}:{line}: xp.{'.'.join(chain)}")
    assert ("asarray",) in seen and ("lib", "stride_tricks", "as_strided") in seen  # the reader finds them
    assert not missing, "CuPy lacks:\n" + "\n".join(missing)


def test_every_array_method_the_array_code_uses_is_in_cupy():
    checked, offenders = 0, []
    for path, tree in _package_sources():
        if calls_array_module(tree):
            checked += 1
            offenders += [f"{path.relative_to(PACKAGE.parent)}:{line}: .{name}"
                          for line, name in numpy_only_attributes(tree)]
    assert checked >= 15  # the layer's modules and the learning stack's array code
    assert not offenders, "numpy.ndarray has these, cupy.ndarray does not:\n" + "\n".join(offenders)


def test_the_double_offers_only_cupy_names():
    names = [(n,) for n in strict.FUNCTIONS + strict.DTYPES + strict.CONSTANTS]
    names += [("linalg", n) for n in strict.LINALG] + [("lib", "stride_tricks", n) for n in strict.STRIDE_TRICKS]
    assert not [c for c in names if _missing_in_cupy(c)]
    assert not [m for m in strict.ARRAY_METHODS + strict.ARRAY_ATTRIBUTES if not hasattr(cupy.ndarray, m)]


def test_the_checks_can_fail():
    code = ("def f(a):\n    xp = array_module(a)\n    b = xp.lib.stride_tricks.sliding_window_view(a, 2)\n"
            "    a.setflags(write=False)\n    return array_module(b).frobnicate(b)\n")
    tree = ast.parse(code)
    chains = [c for _, c in xp_chains(tree)]
    assert ("lib", "stride_tricks", "sliding_window_view") in chains and ("frobnicate",) in chains
    assert _missing_in_cupy(("frobnicate",)) and not _missing_in_cupy(("lib", "stride_tricks", "as_strided"))
    assert [name for _, name in numpy_only_attributes(tree)] == ["setflags"]
