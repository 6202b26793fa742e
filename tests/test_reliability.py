"""Runs are never lost, resume is exact or refused, every command ends in one line: tiny runs through the CLI."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import attnrnn_np.learn.train as train_mod
from attnrnn_np.atomic import TEMP_MARK
from attnrnn_np.cli import main
from attnrnn_np.learn.run_lock import LOCK_NAME
from attnrnn_np.learn.safe_npz import load_npz, save_npz_atomic
from attnrnn_np.learn.train import CheckpointError, TrainConfig, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n-train", "32", "--n-test", "8", "--batch-size", "16", "--hidden", "3", "--quiet"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


def _train(out, steps, cache, *extra):
    return main(["train", "--steps", str(steps), "--out", str(out), "--cache-dir", cache, *TINY, *extra])


def _one_line(capsys, start="attnrnn-np: error: "):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(start), err
    return err[0]


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _child(args, cache):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "attnrnn_np.cli", *args, "--cache-dir", cache, *TINY],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the child never got there"
        time.sleep(0.05)


def test_out_holding_a_run_is_refused_unless_resume_or_overwrite(tmp_path, cache, capsys):
    out = tmp_path / "run"
    assert _train(out, 2, cache) == 0
    before = (out / "checkpoint.npz").read_bytes()
    with pytest.raises(SystemExit) as info:
        _train(out, 2, cache)
    assert info.value.code == 2
    line = _one_line(capsys)
    assert "holds a run" in line and "--resume" in line and "--overwrite" in line
    assert (out / "checkpoint.npz").read_bytes() == before
    assert _train(out, 3, cache, "--overwrite") == 0
    assert load_checkpoint(out / "checkpoint.npz").step == 3


def test_a_second_run_into_the_same_folder_refuses_at_once(tmp_path, cache, capsys):
    out = tmp_path / "run"
    first = _child(["train", "--steps", "100000", "--out", str(out)], cache)
    try:
        _wait_for(lambda: (out / LOCK_NAME).exists(), first)
        t0 = time.monotonic()
        assert _train(out, 2, cache, "--overwrite") == 1
        assert time.monotonic() - t0 < 10
        line = _one_line(capsys)
        assert "in use by another training run" in line and str(first.pid) in line
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def test_kill_9_then_resume_is_bit_exact_and_the_stale_lock_and_temporaries_go(tmp_path, cache):
    out, whole = tmp_path / "killed", tmp_path / "whole"
    ckpt = out / "checkpoint.npz"
    child = _child(["train", "--steps", "100000", "--checkpoint-every", "1", "--out", str(out)], cache)
    try:
        _wait_for(lambda: ckpt.exists() and load_checkpoint(ckpt).step >= 3, child)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert (out / LOCK_NAME).exists()  # left by the killed run
    stray = out / f".checkpoint.npz.{_dead_pid()}.0123abcd{TEMP_MARK}"
    stray.write_bytes(b"half a checkpoint")
    step = load_checkpoint(ckpt).step
    target = step + 4
    assert _train(out, target, cache, "--resume", str(ckpt)) == 0
    assert not stray.exists() and not (out / LOCK_NAME).exists()
    assert _train(whole, target, cache) == 0
    a, b = load_npz(ckpt), load_npz(whole / "checkpoint.npz")
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert [r["step"] for r in json.loads(str(a["history"]))][-1] == target


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path, cache):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_NAME).write_text(f"{_dead_pid()}\n")
    assert _train(out, 1, cache) == 0
    assert not (out / LOCK_NAME).exists()


def _rewrite(path, change):
    arrays = dict(load_npz(path))
    change(arrays)
    save_npz_atomic(path, arrays)


def test_resume_with_another_thread_count_refuses_unless_accepted(tmp_path, cache, capsys):
    out = tmp_path / "run"
    ckpt = out / "checkpoint.npz"
    assert _train(out, 2, cache) == 0
    env = json.loads(str(load_npz(ckpt)["environment"]))
    assert env == {"backend": "numpy", "blas_threads": 1}

    def other(arrays):
        arrays["environment"] = np.array(json.dumps({"backend": "numpy", "blas_threads": 7}))

    _rewrite(ckpt, other)
    assert _train(out, 3, cache, "--resume", str(ckpt)) == 1
    line = _one_line(capsys)
    assert "blas_threads: checkpoint 7 vs now 1" in line and "--accept-environment" in line
    assert load_checkpoint(ckpt).step == 2
    assert _train(out, 3, cache, "--resume", str(ckpt), "--accept-environment") == 0
    assert load_checkpoint(ckpt).step == 3


@pytest.mark.parametrize("change, words", [
    (lambda a: a.pop(next(k for k in a if k.startswith("opt.m."))), "lacks ['opt.m."),
    (lambda a: a.pop(next(k for k in a if k.startswith("opt.v."))), "lacks ['opt.v."),
    (lambda a: a.update({"opt.m.bogus": np.zeros(2, np.float32)}), "has unknown ['opt.m.bogus']"),
    (lambda a: a.update({k: a[k][:1] for k in [next(k for k in a if k.startswith("opt.v."))]}), "expected float32"),
    (lambda a: a.update({"opt.t": np.array(5, np.int64)}), "the optimiser counted 5 steps, the run 2"),
    (lambda a: a.update({"step": np.array(1, np.int64), "opt.t": np.array(1, np.int64)}), "do not fit step 1"),
    (lambda a: a.update({"param.bogus": np.zeros(2, np.float32)}), "belong to no layer"),
])
def test_incomplete_or_inconsistent_checkpoints_are_refused_as_corrupt(tmp_path, cache, change, words):
    out = tmp_path / "run"
    assert _train(out, 2, cache) == 0
    ckpt = out / "checkpoint.npz"
    _rewrite(ckpt, change)
    with pytest.raises(CheckpointError, match="corrupt") as info:
        load_checkpoint(ckpt)
    assert words in str(info.value)


def test_a_full_disk_during_a_checkpoint_keeps_the_last_one(tmp_path, cache, capsys, monkeypatch):
    out = tmp_path / "run"
    real = train_mod.save_checkpoint
    calls = []

    def full_disk_on_the_second(path, state):
        calls.append(state.step)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, state)

    monkeypatch.setattr(train_mod, "save_checkpoint", full_disk_on_the_second)
    assert _train(out, 4, cache, "--checkpoint-every", "2") == 1
    line = _one_line(capsys)
    assert str(out / "checkpoint.npz") in line and "No space left on device" in line
    assert line.endswith("the last checkpoint, step 2, is intact")
    assert load_checkpoint(out / "checkpoint.npz").step == 2
    assert not (out / "metrics.json").exists() and not (out / LOCK_NAME).exists()


@pytest.mark.parametrize("kw, exc, words", [
    (dict(steps=2.5), TypeError, "steps must be an integer, got 2.5"),
    (dict(steps=True), TypeError, "steps must be an integer"),
    (dict(batch_size="16"), TypeError, "batch_size must be an integer"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(data_seed=-3), ValueError, "data_seed must be >= 0"),
    (dict(hidden=0), ValueError, "hidden must be >= 1"),
    (dict(lr=float("nan")), ValueError, "lr must be a positive finite number"),
    (dict(lr="0.1"), ValueError, "lr must be a positive finite number"),
    (dict(eval_every=0), ValueError, "eval_every must be None or an integer >= 1"),
    (dict(scales=(1, 2.5)), TypeError, "scales must be a sequence of integers"),
    (dict(model=None), TypeError, "model must be a string"),
])
def test_train_config_validates_types_and_ranges(kw, exc, words):
    with pytest.raises(exc, match=words.replace("(", r"\(").replace("[", r"\[")):
        TrainConfig(**kw)


def test_train_config_accepts_numpy_integers_and_integral_lr():
    c = TrainConfig(steps=np.int64(3), seed=np.int32(0), lr=1, n_train=32, batch_size=16)
    assert c.steps == 3 and c.lr == 1


def test_ctrl_c_during_train_ends_in_one_line_130_and_keeps_the_last_checkpoint(tmp_path, cache, capsys,
                                                                                monkeypatch):
    out = tmp_path / "run"
    real = train_mod.save_checkpoint
    saved = []

    def interrupt_after_the_first(path, state):
        if saved:
            raise KeyboardInterrupt
        saved.append(state.step)
        return real(path, state)

    monkeypatch.setattr(train_mod, "save_checkpoint", interrupt_after_the_first)
    assert _train(out, 4, cache, "--checkpoint-every", "2") == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["attnrnn-np: error: interrupted"]
    assert load_checkpoint(out / "checkpoint.npz").step == 2
    assert not (out / "metrics.json").exists() and not (out / LOCK_NAME).exists()
    assert not [p for p in out.iterdir() if TEMP_MARK in p.name]


def test_ctrl_c_during_the_demo_stops_every_worker_in_one_line(tmp_path):
    """SIGINT while both training processes run: one line, exit 130, no worker left and no traceback."""
    root = str(Path(__file__).resolve().parents[1])
    code = ("import signal, sys\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"   # a shell's & would leave it ignored
            "from attnrnn_np.cli import main\n"
            f"sys.exit(main(['demo', '--out', {str(tmp_path / 'demo')!r}, '--steps', '100000', '--n-train', '256', "
            "'--n-test', '64', '--batch-size', '32', '--cache-dir', 'none', '--jobs', '2']))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": root}, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "demo").glob("*/.attnrnn-np.lock")):
        time.sleep(0.2)   # wait until the runs hold their folders
    assert list((tmp_path / "demo").glob("*/.attnrnn-np.lock")), "the demo's runs never started"
    os.killpg(proc.pid, signal.SIGINT)   # as a terminal's Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert lines[-1] == "attnrnn-np: error: interrupted" and "Traceback" not in err, err
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(proc.pid)], capture_output=True, text=True).stdout
    workers = [line for line in ps.splitlines() if "spawn_main" in line]   # not multiprocessing's resource tracker
    assert not workers, f"workers still running: {workers}"
