"""Training runs on tiny sets: reproducibility, bit-for-bit resume, safe checkpoints, errors, CLI."""

import json
import os

import numpy as np
import pytest

import attnrnn_np.learn.train as train_mod
from attnrnn_np.cli import main
from attnrnn_np.learn.tasks import load_task
from attnrnn_np.learn.train import (
    CheckpointError,
    NonFiniteLossError,
    TrainConfig,
    load_checkpoint,
    save_checkpoint,
    train,
)

# 48 images, batches of 16: an epoch is 3 steps, so 7 steps cross two epoch boundaries.
TINY = dict(n_train=48, n_test=12, batch_size=16, hidden=3, lr=3e-3, seed=5)


@pytest.fixture(scope="module")
def data():
    return load_task("mref", n_train=48, n_test=12, seed=0, cache_dir=None, canvas=16, n_digits=2,
                     scale_min=1.0, scale_max=1.2)


def _run(data, steps, *, model="arnn", **kw):
    return train(TrainConfig(model=model, steps=steps, **TINY), data=data, progress=False, log=lambda m: None,
                 **kw)


def _assert_same_state(a, b):
    assert a.step == b.step
    assert list(a.params) == list(b.params)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key], err_msg=key)
    for slot in ("m", "v"):
        for key in a.params:
            np.testing.assert_array_equal(getattr(a.optimizer, slot)[key], getattr(b.optimizer, slot)[key])
    assert a.optimizer.t == b.optimizer.t
    np.testing.assert_array_equal(a.order, b.order)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


@pytest.mark.parametrize("model", ["arnn", "local"])
def test_same_seed_same_run_and_training_moves_the_parameters(data, model):
    a = _run(data, 4, model=model)
    b = _run(data, 4, model=model)
    _assert_same_state(a.state, b.state)
    fresh = train_mod.fresh_state(a.state.config)
    assert any(not np.array_equal(fresh.params[k], a.state.params[k]) for k in fresh.params)
    assert [r["step"] for r in a.state.history] == [3, 4]
    assert 0.0 <= a.accuracy <= 1.0 and 0.0 <= a.attention_correctness <= 1.0


def test_resume_continues_bit_for_bit(data, tmp_path):
    straight = _run(data, 7)
    first = _run(data, 4, out=tmp_path, checkpoint_every=2)
    assert load_checkpoint(tmp_path / "checkpoint.npz").step == 4
    resumed = _run(data, 7, out=tmp_path, resume=tmp_path / "checkpoint.npz", checkpoint_every=2)
    _assert_same_state(straight.state, resumed.state)
    assert straight.state.history == [r for r in resumed.state.history if r["step"] != 4]
    assert first.state.step == 4


def test_interrupt_keeps_the_last_good_checkpoint_and_resume_finishes_the_run(data, tmp_path):
    messages = []

    def stop_after_5(state):
        if state.step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(steps=7, **TINY), data=data, progress=False, out=tmp_path, checkpoint_every=2,
              callback=stop_after_5, log=messages.append)
    assert "step 4" in messages[-1] and "--resume" in messages[-1]
    assert load_checkpoint(tmp_path / "checkpoint.npz").step == 4
    resumed = _run(data, 7, out=tmp_path, resume=tmp_path / "checkpoint.npz")
    _assert_same_state(_run(data, 7).state, resumed.state)


def test_checkpoint_write_is_atomic(data, tmp_path, monkeypatch):
    result = _run(data, 2, out=tmp_path)
    path = tmp_path / "checkpoint.npz"
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # Ctrl-C in the middle of the write

    monkeypatch.setattr(train_mod.np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, result.state)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz"]  # no temporary file left behind
    assert load_checkpoint(path).step == 2


def test_corrupt_truncated_or_foreign_checkpoints_give_clear_errors(data, tmp_path):
    _run(data, 2, out=tmp_path)
    good = tmp_path / "checkpoint.npz"
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match="is not an .npz archive") as err:
        load_checkpoint(bad)
    assert "pickle" not in str(err.value)  # never points at the unsafe option
    np.save(bad.with_suffix(".npy"), np.zeros(3))
    bad.write_bytes(bad.with_suffix(".npy").read_bytes())  # a plain .npy under an .npz name
    with pytest.raises(CheckpointError, match="is not an .npz archive"):
        load_checkpoint(bad)
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz")
    with pytest.raises(CheckpointError, match=r"another run \(lr: checkpoint 0.003 vs run 0.01"):
        train(TrainConfig(steps=4, **{**TINY, "lr": 1e-2}), data=data, progress=False, resume=good)
    with pytest.raises(CheckpointError, match="model"):
        train(TrainConfig(model="local", steps=4, **TINY), data=data, progress=False, resume=good)
    with np.load(good, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(bad, **{**arrays, "format": np.array(99)})
    with pytest.raises(CheckpointError, match="format 99"):
        load_checkpoint(bad)
    np.savez(bad, **{k: v for k, v in arrays.items() if k != "param.cls.W"})
    with pytest.raises(CheckpointError, match="cls.W"):
        load_checkpoint(bad)
    np.savez(bad, **{k: v for k, v in arrays.items() if k != "rng"})
    with pytest.raises(CheckpointError, match="'rng'"):
        load_checkpoint(bad)


def test_non_finite_loss_stops_the_run_naming_the_step(data, tmp_path):
    def poison(state):
        if state.step == 2:
            state.params["cls.W"][...] = np.nan

    with pytest.raises(NonFiniteLossError, match="step 3 ") as err:
        _run(data, 6, out=tmp_path, checkpoint_every=1, callback=poison)
    assert "nan" in str(err.value) and "checkpoint (step 2) is kept" in str(err.value)
    assert load_checkpoint(tmp_path / "checkpoint.npz").step == 2  # the poisoned state is never saved


def test_cli_train_resume_demo_and_experiment(tmp_path, capsys):
    common = ["--n-train", "32", "--n-test", "8", "--batch-size", "16", "--hidden", "3",
              "--cache-dir", str(tmp_path / "cache")]
    out = tmp_path / "run"
    assert main(["train", "--task", "mref", "--model", "arnn", "--steps", "2", "--out", str(out), "--quiet",
                 *common]) == 0
    assert main(["train", "--model", "arnn", "--steps", "3", "--out", str(out), "--quiet",
                 "--resume", str(out / "checkpoint.npz"), *common]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["steps"] == 3 and [r["step"] for r in summary["history"]][-1] == 3
    assert main(["train", "--model", "local", "--steps", "3", "--out", str(out), "--quiet",
                 "--resume", str(out / "checkpoint.npz"), *common]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("attnrnn-np: error: checkpoint ") and "belongs to another run" in err

    assert main(["demo", "--steps", "2", "--jobs", "1", "--out", str(tmp_path / "demo"), *common]) == 0
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert set(metrics["models"]) == {"arnn", "local"}
    for m in metrics["models"].values():
        assert {"accuracy", "attention_correctness", "seconds"} <= set(m)
    assert (tmp_path / "demo" / "masks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["experiment", "--steps", "1", "--jobs", "1", "--tasks", "mref", "mdist", "--models", "none",
                 "arnn-ms", "--seeds", "2", "--out", str(tmp_path / "ex"), *common]) == 0
    table = (tmp_path / "ex" / "table.md").read_text()
    assert "| arnn-ms |" in table and "MDIST accuracy" in table and "mean (min–max) over the 2 seeds" in table
    stored = json.loads((tmp_path / "ex" / "table.json").read_text())
    assert stored["seeds"] == [0, 1]
    assert sorted((r["task"], r["model"], r["seed"]) for r in stored["runs"]) == \
        sorted((t, m, s) for t in ("mref", "mdist") for m in ("none", "arnn-ms") for s in (0, 1))


def test_learning_stack_imports_no_matplotlib():
    import subprocess
    import sys

    code = ("import sys, attnrnn_np, attnrnn_np.learn.train, attnrnn_np.learn.figures, "
            "attnrnn_np.learn.experiment, attnrnn_np.cli; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
