"""The command line refuses bad values the argparse way: one line, exit status 2, nothing run.

Each case runs ``attnrnn-np`` in-process through ``main`` with a task cache
folder of its own, and checks that the folder was never created: the value
was refused before any data were generated.
"""

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
