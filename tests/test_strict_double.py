"""The strict device-array double itself (attnrnn_np.testing.strict): it refuses what CuPy refuses.

The rest of the suite runs every per-backend test on the double (the ``xp``
fixture's ``strict`` parameter); these tests check that the double would
catch each typical CuPy failure, so a green run on it means something.
"""

import subprocess
import sys

import numpy as np
import pytest

from attnrnn_np import arnn_forward, init_arnn_params
from attnrnn_np.backend import array_module, get_xp, is_device_double, to_numpy
from attnrnn_np.testing.strict import FUNCTIONS, StrictArray
from attnrnn_np.testing.strict import xp as strict
from attnrnn_np.tour import run_tour
from attnrnn_np.validate import resolve_xp


def test_the_backend_recognises_the_double():
    a = strict.zeros(3)
    assert type(a) is StrictArray and not isinstance(a, np.ndarray) and is_device_double(a)
    assert array_module(a, None, 2.0) is strict
    assert get_xp("strict") is strict and resolve_xp("strict") is strict and resolve_xp(strict) is strict
    host = to_numpy(a)
    assert type(host) is np.ndarray and host.tolist() == [0.0] * 3


@pytest.mark.parametrize("other", [np.zeros(3), np.float64(1.0)], ids=["array", "scalar"])
def test_array_module_refuses_numpy_arrays_mixed_in(other):
    a = strict.zeros(3)
    if isinstance(other, np.ndarray):
        with pytest.raises(TypeError, match=r"arrays from two backends were mixed \(numpy and strict\)"):
            array_module(a, other)
    else:
        assert array_module(a, other) is strict  # NumPy scalars are scalars, as for CuPy


def test_implicit_conversion_to_the_host_is_refused(tmp_path):
    a = strict.ones((2, 2))
    implicit = [lambda: np.asarray(a), lambda: np.array(a), lambda: np.exp(a), lambda: np.concatenate([a, a]),
                lambda: np.savez(tmp_path / "x.npz", a=a), lambda: np.testing.assert_allclose(a, 1.0)]
    for call in implicit:
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError, match=r"Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)


def test_matplotlib_refuses_device_arrays():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    with pytest.raises(TypeError):
        ax.imshow(strict.ones((2, 2)))


def test_the_host_copy_comes_only_from_get():
    a = strict.arange(6.0).reshape(2, 3)
    host = a.get()
    assert type(host) is np.ndarray and host.tolist() == [[0, 1, 2], [3, 4, 5]]
    host[0, 0] = 99.0  # a copy: the device array keeps its value
    assert a[0, 0].item() == 0.0


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "@", "<", "=="])
def test_mixing_with_numpy_arrays_raises_in_both_orders(op):
    a, h = strict.ones((2, 2)), np.ones((2, 2))
    for left, right in ((a, h), (h, a)):  # noqa: B007  read by the eval below
        with pytest.raises(TypeError, match="numpy.ndarray"):
            eval(f"left {op} right")


def test_numpy_arrays_are_refused_in_functions_indices_and_assignments():
    a, h = strict.ones(3), np.ones(3)
    with pytest.raises(TypeError, match=r"mixed with device arrays in concatenate\(\)"):
        strict.concatenate([a, h])
    with pytest.raises(TypeError, match=r"in maximum\(\)"):
        strict.maximum(a, h, out=a)
    with pytest.raises(TypeError, match="an index"):
        a[np.array([0, 1])]
    with pytest.raises(TypeError, match="an assignment"):
        a[...] = h
    a += 1.0  # scalars are fine
    a[strict.asarray([0, 2])] = np.float32(5.0)
    assert a.tolist() == [5.0, 2.0, 5.0]


def test_scalars_leave_only_from_0d_arrays():
    a = strict.asarray([[1.5]])
    assert a.item() == 1.5 and float(a.sum()) == 1.5 and int(a.sum()) == 1 and bool(a.sum())
    assert f"{a.sum():.2f}" == "1.50"
    for convert in (float, int, bool):
        with pytest.raises(TypeError, match="needs a 0-d array, got shape"):
            convert(a)
    with pytest.raises(ValueError, match="size 1"):
        strict.ones(2).item()


def test_reductions_and_scalar_indexing_give_0d_device_arrays():
    a = strict.arange(4.0)
    for r in (a.sum(), a.max(), a.mean(), a[1], strict.linalg.norm(a), a @ a):
        assert type(r) is StrictArray and r.shape == ()


def test_asarray_of_a_host_array_copies_and_views_share_memory():
    h = np.zeros(3)
    a = strict.asarray(h)
    h[0] = 1.0
    assert a.tolist() == [0.0, 0.0, 0.0]  # the device copy does not follow the host array
    assert strict.asarray(a) is a
    view = a.reshape(3, 1)[1:]
    view[...] = 7.0
    assert a.tolist() == [0.0, 7.0, 7.0]  # views write through, as on the device
    b = strict.zeros(2)
    b_view = b[:1]
    b_view += 1.0
    assert b.tolist() == [1.0, 0.0]


def test_only_cupy_functions_and_methods_are_offered_and_others_are_named():
    with pytest.raises(AttributeError, match=r"strict\.random is not offered by the strict double"):
        strict.random  # noqa: B018  the attribute access is what raises
    with pytest.raises(AttributeError, match=r"strict\.lib\.stride_tricks\.sliding_window_view is not offered"):
        strict.lib.stride_tricks.sliding_window_view  # noqa: B018
    with pytest.raises(AttributeError, match="'setflags'"):
        strict.ones(2).setflags(write=False)  # numpy.ndarray has it, cupy.ndarray does not
    assert "asarray" in FUNCTIONS and "random" not in dir(strict)


def test_without_import_the_name_strict_is_a_clear_error():
    code = ("from attnrnn_np.backend import get_xp\n"
            "try:\n    get_xp('strict')\nexcept ValueError as err:\n    print(err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "import attnrnn_np.testing.strict" in out


def test_the_layer_runs_on_the_double_with_numpy_numbers():
    params = init_arnn_params(2, 3, query_dim=1, seed=1, xp=strict)
    rng = np.random.default_rng(0)
    X, q = rng.normal(size=(2, 3, 4, 2)), rng.normal(size=(2, 1))
    A, _ = arnn_forward(strict.asarray(X), params, strict.asarray(q))
    A_ref, _ = arnn_forward(X, {k: to_numpy(v) for k, v in params.items()}, q)
    assert type(A) is StrictArray and np.array_equal(to_numpy(A), A_ref)
    with pytest.raises(TypeError, match=r"mixed \(numpy and strict\)"):
        arnn_forward(X, params, strict.asarray(q))


def test_the_tour_runs_on_the_double():
    lines = []
    assert run_tour(backend="strict", out=lines.append) == 0
    assert "backend strict" in lines[0] and lines[-1].strip() == "all checks passed"
