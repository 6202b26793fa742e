"""The one atomic writer: whole or absent, no temporary left behind, the umask's permissions."""

import os
import stat
import subprocess
import sys

import pytest

from attnrnn_np.atomic import (
    TEMP_MARK,
    atomic_directory,
    remove_stale_temporaries,
    write_atomic,
    write_bytes_atomic,
    write_text_atomic,
)


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if TEMP_MARK in p.name]


def test_writes_replace_whole_files(tmp_path):
    path = tmp_path / "a.txt"
    write_text_atomic(path, "first")
    write_text_atomic(path, "second")
    assert path.read_text() == "second"
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fault", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, fault):
    path = tmp_path / "a.txt"
    write_text_atomic(path, "kept")

    def write(f):
        f.write("half")
        raise fault

    with pytest.raises(type(fault)):
        write_atomic(path, write, text=True)
    assert path.read_text() == "kept"
    assert _leftovers(tmp_path) == []


def test_a_folder_where_the_file_goes_is_refused_before_writing(tmp_path):
    (tmp_path / "metrics.json").mkdir()
    with pytest.raises(IsADirectoryError, match="metrics.json is a folder"):
        write_text_atomic(tmp_path / "metrics.json", "{}")
    assert _leftovers(tmp_path) == []


def test_files_get_the_permissions_the_umask_gives(tmp_path):
    old = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


def test_a_killed_writers_temporary_is_removed_at_the_next_write(tmp_path):
    """A writer killed with SIGKILL leaves its temporary; the next write into the folder removes it."""
    code = ("import os, signal, sys\n"
            "from attnrnn_np.atomic import write_atomic\n"
            "def write(f):\n"
            "    f.write(b'half'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
            f"write_atomic({str(tmp_path / 'ckpt.npz')!r}, write)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9
    assert len(_leftovers(tmp_path)) == 1 and not (tmp_path / "ckpt.npz").exists()
    write_text_atomic(tmp_path / "other.txt", "x")
    assert _leftovers(tmp_path) == []


def test_a_running_writers_temporary_is_left_alone(tmp_path):
    mine = tmp_path / f".a.txt.{os.getpid()}.0123abcd{TEMP_MARK}"
    mine.write_text("in progress")
    assert remove_stale_temporaries(tmp_path) == []
    assert mine.exists()


def test_atomic_directory_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "ws"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("full disk")
    assert not target.exists() and _leftovers(tmp_path) == []

    with atomic_directory(target) as tmp:
        (tmp / "whole.txt").write_text("x")
    assert (target / "whole.txt").read_text() == "x" and _leftovers(tmp_path) == []

    with pytest.raises(FileExistsError, match="already exists"):
        with atomic_directory(target) as tmp:
            (tmp / "again.txt").write_text("x")
    assert sorted(p.name for p in target.iterdir()) == ["whole.txt"] and _leftovers(tmp_path) == []


def test_atomic_directory_may_fill_an_empty_folder(tmp_path):
    (tmp_path / "ws").mkdir()
    with atomic_directory(tmp_path / "ws") as tmp:
        (tmp / "f").write_text("x")
    assert (tmp_path / "ws" / "f").exists()
