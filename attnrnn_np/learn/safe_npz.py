"""Writing files so that nothing is lost: atomic ``.npz`` saves, never pickle."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["save_npz_atomic"]


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
