"""The task cache: ``.npz`` files named by a hash of every parameter that shapes the data.

A file stores its key (JSON) beside the arrays, is written atomically
(:func:`attnrnn_np.learn.safe_npz.save_npz_atomic`) and read back with
``allow_pickle=False``; it is used only when the stored key matches exactly.
A stale or unreadable file gives ``None`` with a warning, and the caller
regenerates it.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from .safe_npz import load_npz, save_npz_atomic

__all__ = ["default_cache_dir", "resolve_cache_dir", "cache_path", "read_cache", "write_cache"]


def default_cache_dir():
    """``$XDG_CACHE_HOME/attnrnn_np/tasks``, or ``~/.cache/attnrnn_np/tasks``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "attnrnn_np" / "tasks"


def resolve_cache_dir(cache_dir):
    """``"default"`` -> :func:`default_cache_dir`; ``None`` (no cache) and paths pass through."""
    return default_cache_dir() if cache_dir == "default" else cache_dir



def cache_path(cache_dir, key):
    """``{cache_dir}/{task}-{first 16 hex digits of sha256(key as sorted JSON)}.npz``."""
    text = json.dumps(key, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{key['task']}-{digest}.npz"



def read_cache(path, key, names):
    """The arrays ``names`` stored at ``path`` if it holds exactly ``key``'s data, else None (with a warning).

    Returns a dict name -> array; a missing array makes the file unreadable.
    """
    try:
        f = load_npz(path)
        stored = json.loads(str(f["key"]))
        if stored != key:
            warnings.warn(f"task cache {path} holds other parameters; regenerating it", stacklevel=3)
            return None
        return {name: f[name] for name in names}
    except (OSError, ValueError, KeyError) as err:  # NpzError is a ValueError
        warnings.warn(f"task cache {path} is unreadable ({type(err).__name__}: {err}); regenerating it",
                      stacklevel=3)
        return None


def write_cache(path, key, arrays):
    """Store ``arrays`` with ``key`` at ``path``, compressed and atomically."""
    save_npz_atomic(path, compress=True, arrays={"key": np.array(json.dumps(key, sort_keys=True)), **arrays})
