"""One training run per folder: a lock file holding the running process's id."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["LOCK_NAME", "RunLockedError", "run_lock"]

LOCK_NAME = ".attnrnn-np.lock"


class RunLockedError(RuntimeError):
    """Another running process holds the run folder's lock."""


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_lock(folder):
    """Hold ``folder``'s run lock for the block: a file ``.attnrnn-np.lock`` holding this process's id.

    It is created with ``O_EXCL``, so two runs into one folder cannot both
    hold it: the second raises :class:`RunLockedError` at once, naming the
    holder's pid. A lock left by a process that no longer runs (``kill -9``)
    is taken over. The lock is removed when the block ends.
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    lock = Path(folder) / LOCK_NAME
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                holder = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                holder = 0
            if holder > 0 and holder != os.getpid() and _pid_alive(holder):
                raise RunLockedError(f"{folder} is in use by another training run (process {holder}); wait for "
                                     f"it to end or choose another --out") from None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise RunLockedError(f"{folder}: the run lock {lock} cannot be taken")
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError):
            if lock.read_text().strip() == str(os.getpid()):
                os.unlink(lock)
