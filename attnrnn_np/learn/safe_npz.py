"""``.npz`` files that lose nothing and run nothing: atomic saves, pickle-free loads."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["NpzError", "save_npz_atomic", "load_npz"]


class NpzError(ValueError):
    """A file that is not a readable ``.npz`` archive of plain arrays."""


def save_npz_atomic(path, arrays, *, compress=False):
    """Write ``arrays`` (name -> array) as an ``.npz`` at ``path``, atomically.

    The data go to a temporary file in the same folder, are flushed and
    fsynced, and the file is then moved over ``path`` with ``os.replace``
    (atomic on POSIX). A reader never sees a half-written file, the previous
    file stays whole until the new one is complete, and an interrupted write
    (Ctrl-C, a kill, a full disk) leaves no temporary file behind. Every
    entry must be a plain array or string, so the file loads with
    ``allow_pickle=False``.

    Returns the path as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def load_npz(path):
    """Every array of the ``.npz`` archive at ``path``, as a dict, read with ``allow_pickle=False``.

    Raises ``FileNotFoundError`` when there is no file, and :class:`NpzError`
    when the file is not an ``.npz`` archive (a zip file) or is truncated,
    corrupt or holds object arrays, which would need pickle to read and are
    never loaded.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive's first record, or an empty one
        raise NpzError(f"{path} is not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {key: f[key] for key in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise NpzError(f"{path} is a truncated or corrupt .npz archive, or holds object arrays "
                       f"({type(err).__name__}: {err})") from err
