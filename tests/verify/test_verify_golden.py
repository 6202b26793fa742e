"""Golden files: complete, pickle-free, byte-identical on regeneration; the shipped set checks an installation."""

import json

import numpy as np
import pytest

from attnrnn_np.verify import (
    load_golden,
    output_names,
    problems,
    reference,
    verify_installation,
    verify_npz,
    write_golden,
)
from attnrnn_np.verify.golden import SHIPPED_DIR, SHIPPED_PROBLEMS


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    return out, write_golden(out)


def test_one_file_per_problem_and_a_manifest(golden):
    out, written = golden
    names = [p.name for p in problems()]
    assert [w.name for w in written] == [f"{n}.npz" for n in names] + ["manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["name"] for e in manifest["problems"]] == names
    assert "gate order" in manifest["conventions"] and "bwd convolution" in manifest["conventions"]
    entry = manifest["problems"][0]
    with np.load(out / entry["file"], allow_pickle=False) as f:
        assert sorted(f.files) == sorted(entry["arrays"])
        assert all(list(f[n].shape) == entry["arrays"][n]["shape"] for n in f.files)


@pytest.mark.parametrize("p", problems(), ids=lambda p: p.name)
def test_each_file_holds_inputs_both_layouts_outputs_and_intermediates(golden, p):
    out, _ = golden
    with np.load(out / f"{p.name}.npz", allow_pickle=False) as f:
        files = set(f.files)
        np.testing.assert_array_equal(f["X"], p.X)
        np.testing.assert_array_equal(f["dA"], p.dA)
        assert str(f["meta.normalize"]) == p.normalize
        assert ("q" in files) == (p.q is not None) and ("meta.scales" in files) == (p.scales is not None)
    assert {f"params.{k}" for k in p.params} <= files
    assert {f"torch_params.{k}" for k in p.torch_params} <= files
    assert set(output_names(p)) <= files
    problem, expected = load_golden(out / f"{p.name}.npz")
    assert set(expected) == set(output_names(p)) and problem.scales == p.scales
    for name, v in reference(p).items():
        np.testing.assert_array_equal(expected[name], v, err_msg=name)


def test_regeneration_is_byte_identical(golden, tmp_path):
    out, written = golden
    again = write_golden(tmp_path)
    for a, b in zip(written, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert not list(tmp_path.glob(".*"))       # no temporary file left behind


def test_the_shipped_set_checks_this_installation():
    assert sorted(p.stem for p in SHIPPED_DIR.glob("*.npz")) == sorted(SHIPPED_PROBLEMS)
    report = verify_installation()
    assert report.passed, str(report)
    assert len(report.results) == len(SHIPPED_PROBLEMS)


def test_the_shipped_inputs_are_the_problem_set(tmp_path):
    for p in problems(SHIPPED_PROBLEMS):
        stored, _ = load_golden(SHIPPED_DIR / f"{p.name}.npz")
        np.testing.assert_array_equal(stored.X, p.X)
        for key in p.params:
            np.testing.assert_array_equal(stored.params[key], p.params[key])


def test_a_changed_golden_value_fails_the_installation_check(tmp_path):
    src = SHIPPED_DIR / f"{SHIPPED_PROBLEMS[0]}.npz"
    with np.load(src, allow_pickle=False) as f:
        arrays = {n: f[n] for n in f.files}
    arrays["h.bwd"] = arrays["h.bwd"].copy()
    arrays["h.bwd"][0, 0, 0, 0] += 1e-6
    np.savez(tmp_path / src.name, **arrays)
    report = verify_installation(tmp_path)
    assert not report.passed
    assert report.results[0].divergence.stage == "scan.bwd"


def test_verify_npz_reads_results_dumped_by_another_program(golden, tmp_path):
    out, _ = golden
    report = verify_npz(out)                  # the golden files themselves are correct results
    assert report.passed, str(report)
    # a dump with only some names, one of them wrong, and one problem missing
    p = problems(["k3-q3-sigmoid-4x5"])[0]
    ref = reference(p)
    np.savez(tmp_path / f"{p.name}.npz", A=ref["A"], **{"grads.head.b": ref["grads.head.b"] + 0.5})
    report = verify_npz(tmp_path, ["k3-q3-sigmoid-4x5", "pixel-1x1"])
    first, missing = report.results
    assert first.status == "fail" and first.divergence.stage == "backward"
    assert first.divergence.tensor == "grads.head.b"
    assert missing.status == "missing" and not report.passed


def test_the_shipped_manifest_is_what_write_golden_writes_today(tmp_path):
    """A change of format or conventions must come with a regenerated shipped set.

    (Only the manifest is compared byte for byte: the values in the .npz may
    differ in the last bit on another machine's BLAS, which the installation
    check tolerates.)
    """
    write_golden(tmp_path, problems(SHIPPED_PROBLEMS))
    assert (tmp_path / "manifest.json").read_bytes() == (SHIPPED_DIR / "manifest.json").read_bytes()
