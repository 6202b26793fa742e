"""``.npz`` files that lose nothing and run nothing: atomic saves, pickle-free loads."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..atomic import write_atomic

__all__ = ["NpzError", "save_npz_atomic", "load_npz"]


class NpzError(ValueError):
    """A file that is not a readable ``.npz`` archive of plain arrays."""


def save_npz_atomic(path, arrays, *, compress=False):
    """Write ``arrays`` (name -> array) as an ``.npz`` at ``path``, atomically.

    Written by :func:`attnrnn_np.atomic.write_atomic`: a reader never sees a
    half-written file and the previous file stays whole until the new one is
    complete. Every entry must be a plain array or string, so the file loads
    with ``allow_pickle=False``.

    Returns the path as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda f: (np.savez_compressed if compress else np.savez)(f, **arrays))


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
