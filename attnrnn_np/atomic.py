"""Files that are whole or absent: the one writer for everything the package writes.

Every file goes to a temporary file in its own folder, is flushed and
fsynced, and is then moved over its final name with ``os.replace`` (atomic
on POSIX). A reader never sees a half-written file, and the previous file
stays whole until the new one is complete. The temporary file is removed on
any failure (an exception, Ctrl-C, a full disk). A process killed outright
(``kill -9``) cannot clean up after itself, so its temporary files carry its
process id, and the next write into the same folder removes those whose
process no longer runs. Written files get the permissions the umask gives,
like any file opened for writing.

A folder built with :func:`atomic_directory` appears complete under its
name, or not at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path

__all__ = ["write_atomic", "write_bytes_atomic", "write_text_atomic", "atomic_directory",
           "remove_stale_temporaries", "TEMP_MARK"]

TEMP_MARK = ".atomic-tmp"
# ``.{final name}.{pid}.{random}.atomic-tmp`` (files) or ``…atomic-tmp.d`` (folders)
_TEMP = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}" + re.escape(TEMP_MARK) + r"(\.d)?$")


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _temp_name(final):
    return f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_MARK}"


def remove_stale_temporaries(folder):
    """Remove the temporary files and folders left in ``folder`` by writers that no longer run.

    Returns the removed paths. A temporary of a process that still runs
    (this one included) is left alone.
    """
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP.match(entry.name)
            if m is None or _alive(int(m.group(1))):
                continue
            with contextlib.suppress(OSError):
                if m.group(2) and entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _fsync_folder(folder):
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path, write, *, text=False, encoding="utf-8"):
    """Write the file ``path`` atomically: ``write(f)`` fills an open temporary file.

    ``f`` is opened in binary mode, or in text mode with ``encoding`` when
    ``text`` is true. The parent folder must exist (this writer creates no
    folders: where a file goes is the caller's decision). A folder standing
    where the file goes is refused with ``IsADirectoryError`` before anything
    is written. Returns the path as a ``Path``.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a file")
    folder = path.parent
    remove_stale_temporaries(folder)
    tmp = folder / _temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with (os.fdopen(fd, "w", encoding=encoding) if text else os.fdopen(fd, "wb")) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return path


def write_bytes_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically; see :func:`write_atomic`."""
    return write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path, text, *, encoding="utf-8"):
    """Write ``text`` to ``path`` atomically; see :func:`write_atomic`."""
    return write_atomic(path, lambda f: f.write(text), text=True, encoding=encoding)


@contextlib.contextmanager
def atomic_directory(path):
    """Build a folder in a temporary sibling and rename it to ``path`` when the block succeeds.

    Yields the temporary folder's ``Path``; write everything into it. On
    success it is renamed to ``path``, which must not exist then, or be an
    empty folder (``FileExistsError`` otherwise, and the temporary folder is
    removed). On any failure the temporary folder is removed and ``path`` is
    untouched, so a rerun starts clean.
    """
    path = Path(path)
    folder = path.parent
    remove_stale_temporaries(folder)
    tmp = folder / (_temp_name(path) + ".d")
    os.mkdir(tmp)
    try:
        yield tmp
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        if path.exists():
            raise FileExistsError(f"{path} already exists")
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_folder(folder)
