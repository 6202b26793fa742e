"""The command line refuses bad values the argparse way: one line, exit status 2, nothing run.

Each case runs ``attnrnn-np`` in-process through ``main`` with a task cache
folder of its own, and checks that the folder was never created: the value
was refused before any data were generated.
"""

import os

import pytest

from attnrnn_np.cli import main

BAD = [
    (["train", "--steps", "0"], "--steps: expected a positive integer, got 0"),
    (["train", "--steps", "-5"], "--steps: expected a positive integer, got -5"),
    (["train", "--steps", "ten"], "--steps: expected a positive integer, got 'ten'"),
    (["train", "--lr", "0"], "--lr: expected a positive finite number, got 0"),
    (["train", "--lr=-1e-3"], "--lr: expected a positive finite number, got -1e-3"),
    (["train", "--lr", "nan"], "--lr: expected a positive finite number, got nan"),
    (["train", "--lr", "inf"], "--lr: expected a positive finite number, got inf"),
    (["train", "--lr", "fast"], "--lr: expected a positive number, got 'fast'"),
    (["train", "--batch-size", "0"], "--batch-size: expected a positive integer, got 0"),
    (["train", "--n-train", "0"], "--n-train: expected a positive integer, got 0"),
    (["train", "--n-test", "-1"], "--n-test: expected a positive integer, got -1"),
    (["train", "--kernel-size", "2"], "--kernel-size: expected an odd kernel size"),
    (["train", "--checkpoint-every", "0"], "--checkpoint-every: expected a positive integer, got 0"),
    (["demo", "--steps", "0"], "--steps: expected a positive integer, got 0"),
    (["demo", "--jobs", "0"], "--jobs: expected a positive integer, got 0"),
    (["experiment", "--seeds", "0"], "--seeds: expected a positive integer, got 0"),
    (["experiment", "--batch-size", "-2"], "--batch-size: expected a positive integer, got -2"),
    (["train", "--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    (["train", "--data-seed", "-2"], "--data-seed: expected an integer >= 0, got -2"),
    (["demo", "--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    (["tour", "--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    (["train", "--n-train", "8"], "--batch-size 64 exceeds --n-train 8"),
    (["experiment", "--n-train", "8"], "--batch-size 64 exceeds --n-train 8"),
    (["demo", "--n-test", "4"], "--n-test 4: demo shows 8 test images, expected at least 8"),
    (["train", "--out", ""], "--out is empty"),
    (["train", "--resume", "x.npz", "--overwrite"], "--resume 'x.npz': no such checkpoint file"),
]


def _refused(argv, tmp_path, capsys):
    cache = tmp_path / "cache"
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--cache-dir", str(cache)])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert exit_info.value.code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and last.startswith("attnrnn-np: error: ")
    assert not cache.exists(), "data were generated before the value was refused"
    return last


@pytest.mark.parametrize("argv, message", BAD)
def test_bad_values_exit_2_with_one_line(argv, message, tmp_path, capsys):
    argv = argv + (["--out", str(tmp_path / "out")] if "--out" not in argv else [])
    assert message in _refused(argv, tmp_path, capsys)


def test_out_that_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    last = _refused(["train", "--steps", "1", "--out", str(blocker / "run")], tmp_path, capsys)
    assert last.startswith("attnrnn-np: error: --out ") and "cannot be created" in last


def test_resume_file_that_does_not_exist(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "checkpoint.npz"
    last = _refused(["train", "--steps", "1", "--out", str(tmp_path / "run"), "--resume", str(missing)],
                    tmp_path, capsys)
    assert last.startswith(f"attnrnn-np: error: --resume {str(missing)!r}: no such checkpoint file")


def _one_line_err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("attnrnn-np: error: "), err
    return err[0]


def _out(tmp_path):
    return ["--out", str(tmp_path / "out")]


def test_overwrite_and_resume_exclude_each_other(tmp_path, capsys):
    ckpt = tmp_path / "c.npz"
    ckpt.write_bytes(b"")
    last = _refused(["train", "--resume", str(ckpt), "--overwrite", *_out(tmp_path)], tmp_path, capsys)
    assert "--overwrite and --resume exclude each other" in last


@pytest.mark.parametrize("command, name", [("train", "checkpoint.npz"), ("train", "metrics.json"),
                                           ("demo", "metrics.json"), ("demo", "masks.png"),
                                           ("experiment", "table.json"), ("experiment", "table.md")])
def test_a_folder_where_a_file_goes_is_refused_before_any_work(command, name, tmp_path, capsys):
    (tmp_path / "out" / name).mkdir(parents=True)
    last = _refused([command, *_out(tmp_path)], tmp_path, capsys)
    assert f"is a folder where the file {name} goes" in last


def test_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert "cannot be created" in _refused(["train", "--out", str(tmp_path / "f")], tmp_path, capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_and_cache_are_refused(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert "is not writable" in _refused(["train", "--out", str(ro)], tmp_path, capsys)
        with pytest.raises(SystemExit):
            main(["train", "--out", str(tmp_path / "o"), "--cache-dir", str(ro / "cache")])
        assert "cannot be written" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_a_file_where_the_cache_folder_goes_is_refused(tmp_path, capsys):
    blocker = tmp_path / "cachefile"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as info:
        main(["train", "--out", str(tmp_path / "o"), "--cache-dir", str(blocker)])
    assert info.value.code == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert not (tmp_path / "o" / "checkpoint.npz").exists()


def test_cupy_without_a_gpu_is_refused_before_any_work(tmp_path, capsys):
    from attnrnn_np.backend import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present")
    for command in ("train", "demo", "experiment"):
        last = _refused([command, "--backend", "cupy", *_out(tmp_path)], tmp_path, capsys)
        assert "--backend cupy: CuPy is not installed or no CUDA GPU is usable" in last
    with pytest.raises(SystemExit) as info:
        main(["tour", "--backend", "cupy"])
    assert info.value.code == 2
    last = _one_line_err(capsys)
    assert "--backend cupy: CuPy is not installed or no CUDA GPU is usable" in last


def test_every_subcommand_has_a_handler():
    from attnrnn_np.cli import _build_parser

    parser = _build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert callable(p.get_default("handler")), name


def test_figures_with_a_negative_seed_writes_nothing(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["figures", "--seed", "-1", "--out", str(tmp_path / "figs")])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--seed: expected an integer >= 0, got -1" in err[0]
    assert not (tmp_path / "figs").exists()
