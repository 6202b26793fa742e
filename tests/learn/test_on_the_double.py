"""The learning stack on the strict device-array double (attnrnn_np.testing.strict).

The double runs NumPy underneath, so a run on it must give the NumPy run's
numbers bit for bit; what it adds is CuPy's refusals (no implicit host
copies, no NumPy arrays mixed in, only CuPy's functions). Each test here
runs a path of the learning stack on it: training steps of every model of
every task with evaluation, checkpoint save/load/resume, metrics, the
figure, and the demo and experiment (a query task and recolour) at a tiny
size.
"""

import json

import numpy as np
import pytest

from attnrnn_np.backend import to_numpy
from attnrnn_np.learn.experiment import run_demo, run_experiment
from attnrnn_np.learn.figures import save_masks_png
from attnrnn_np.learn.models import model_forward
from attnrnn_np.learn.objectives import METRICS, models_for, task_kind
from attnrnn_np.learn.tasks import load_task
from attnrnn_np.learn.train import TrainConfig, load_checkpoint, model_config, train
from attnrnn_np.testing.strict import StrictArray
from attnrnn_np.testing.strict import xp as strict

# 48 images, batches of 16: an epoch is 3 steps.
TINY = dict(n_train=48, n_test=12, batch_size=16, hidden=3, lr=3e-3, seed=5)


@pytest.fixture(scope="module")
def data():
    return load_task("mref", n_train=48, n_test=12, seed=0, cache_dir=None, canvas=16, n_digits=2,
                     scale_min=1.0, scale_max=1.2)


@pytest.fixture(scope="module")
def query_free_and_edit_data():
    return {task: load_task(task, n_train=48, n_test=12, seed=0, cache_dir=None) for task in ("clutter", "recolour")}


def _run(data, steps, backend, *, task="mref", model="arnn", **kw):
    return train(TrainConfig(task=task, model=model, steps=steps, backend=backend, **TINY), data=data,
                 progress=False, log=lambda m: None, **kw)


def _assert_same_state(a, b, *, history=True):
    """Two run states hold bit-identical numbers (compared on the host)."""
    assert a.step == b.step and a.optimizer.t == b.optimizer.t
    assert list(a.params) == list(b.params)
    for key in a.params:
        np.testing.assert_array_equal(to_numpy(a.params[key]), to_numpy(b.params[key]), err_msg=key)
        for slot in ("m", "v"):
            np.testing.assert_array_equal(to_numpy(getattr(a.optimizer, slot)[key]),
                                          to_numpy(getattr(b.optimizer, slot)[key]), err_msg=f"{slot} {key}")
    np.testing.assert_array_equal(a.order, b.order)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    if history:
        assert a.history == b.history


@pytest.mark.parametrize("task, model", [(t, m) for t in ("mref", "clutter", "recolour") for m in models_for(t)])
def test_every_model_trains_on_the_double_as_on_numpy(data, query_free_and_edit_data, task, model):
    task_data = data if task == "mref" else query_free_and_edit_data[task]
    on_double = _run(task_data, 2, "strict", task=task, model=model)
    assert all(type(v) is StrictArray for v in on_double.state.params.values())
    _assert_same_state(on_double.state, _run(task_data, 2, "numpy", task=task, model=model).state)
    last = on_double.state.history[-1]
    assert last["step"] == 2 and set(last) >= set(METRICS[task_kind(task)])  # the task's metrics, on the double


def test_checkpoint_save_load_and_resume_on_the_double_equal_numpy_bit_for_bit(data, tmp_path):
    _run(data, 4, "strict", out=tmp_path / "strict", checkpoint_every=2)
    _run(data, 4, "numpy", out=tmp_path / "numpy", checkpoint_every=2)
    with np.load(tmp_path / "strict" / "checkpoint.npz") as a, np.load(tmp_path / "numpy" / "checkpoint.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if key in ("config", "environment"):  # the same run but for the backend's name
                assert json.loads(str(a[key])) == {**json.loads(str(b[key])), "backend": "strict"}
            else:
                assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
    loaded = load_checkpoint(tmp_path / "strict" / "checkpoint.npz", xp=strict)
    assert all(type(v) is StrictArray for v in loaded.params.values())
    assert all(type(v) is StrictArray for v in loaded.optimizer.m.values())
    resumed = _run(data, 7, "strict", out=tmp_path / "strict", resume=tmp_path / "strict" / "checkpoint.npz")
    straight = _run(data, 7, "numpy")
    _assert_same_state(resumed.state, straight.state, history=False)
    # the resumed run also holds the evaluation the first run made at its last step, 4
    assert [r for r in resumed.state.history if r["step"] != 4] == straight.state.history


def test_the_figure_takes_device_arrays(data, tmp_path):
    config = TrainConfig(model="arnn", steps=1, backend="strict", **TINY)
    state = _run(data, 1, "strict").state
    b = data.test.batch(np.arange(4), xp=strict, dtype=config.dtype)
    logits, A, _ = model_forward(state.params, b.X, b.q, model_config(config))
    path = save_masks_png(tmp_path / "masks.png", b.X, {"arnn": (A, logits.argmax(axis=1))}, b.q.argmax(axis=1),
                          b.y, b.box)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_and_experiment_on_the_double(tmp_path):
    sizes = dict(n_train=32, n_test=8, batch_size=16, hidden=3)
    cache = str(tmp_path / "cache")
    metrics = run_demo(tmp_path / "demo", steps=2, jobs=1, cache_dir=cache, log=lambda m: None, backend="strict",
                       **sizes)
    reference = run_demo(tmp_path / "demo-numpy", steps=2, jobs=1, cache_dir=cache, log=lambda m: None, **sizes)
    for name in ("arnn", "local"):
        assert metrics["models"][name]["history"] == reference["models"][name]["history"]
    assert (tmp_path / "demo" / "masks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    runs = run_experiment(tmp_path / "ex", steps=1, seeds=1, tasks=("mref",), models=("none", "arnn-ms"), jobs=1,
                          cache_dir=cache, log=lambda m: None, backend="strict", **sizes)
    assert [r["model"] for r in runs] == ["none", "arnn-ms"]
    assert json.loads((tmp_path / "ex" / "table.json").read_text())["config"]["backend"] == "strict"


def test_the_recolour_experiment_on_the_double(tmp_path):
    sizes = dict(n_train=32, n_test=8, batch_size=16, hidden=3, cache_dir=str(tmp_path / "cache"), log=lambda m: None)
    runs = {backend: run_experiment(tmp_path / backend, steps=1, seeds=1, tasks=("recolour",),
                                    models=("arnn", "no-mask"), jobs=1, backend=backend, **sizes)
            for backend in ("strict", "numpy")}
    assert [r["model"] for r in runs["strict"]] == ["arnn", "no-mask"]
    for on_double, on_numpy in zip(runs["strict"], runs["numpy"], strict=True):
        assert on_double["history"] == on_numpy["history"]
