"""Running a candidate in a child process, so that nothing it does can reach the verdict.

:class:`ChildCandidate` is a ``call(problem) -> (status, payload)`` for
:func:`attnrnn_np.verify.report.run_candidate`. The child
(:mod:`attnrnn_np.verify._child`) imports the candidate and runs it; its
arrays come back as an ``.npz`` read with ``allow_pickle=False`` and are
compared here. A candidate that exits (``sys.exit``, ``os._exit``), crashes
the interpreter or runs past the time limit fails that problem with a
message that says so; the next problem gets a fresh child.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["CandidateImportError", "ChildCandidate"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_OUTPUT_SHOWN = 2000   # characters of the candidate's own output quoted in a message


class CandidateImportError(Exception):
    """The candidate's module could not be imported (a usage error of the command)."""


class ChildCandidate:
    """``MODULE:FUNCTION`` run in a child process, one problem per request, within ``timeout`` seconds each."""

    def __init__(self, target, *, timeout=120.0, cwd=None):
        self.target = target
        self.timeout = float(timeout)
        self.cwd = cwd or os.getcwd()
        self._dir = tempfile.TemporaryDirectory(prefix="attnrnn-verify-")
        self._proc = None
        self._reply = None
        self._log = None
        self._import_failure = None   # (message, exited) once the module failed to import
        self._count = 0

    # -- the child's life ----------------------------------------------------------------

    def _start(self):
        read_fd, write_fd = os.pipe()
        self._log = open(Path(self._dir.name) / f"output-{self._count}.txt", "w+b")  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        # the child imports this very package, wherever the candidate's folder is
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                               if p])
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "attnrnn_np.verify._child", self.target, str(write_fd)],
            stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
            cwd=self.cwd, env=env, start_new_session=True)
        os.close(write_fd)
        self._reply = os.fdopen(read_fd, "rb")
        ready = self._read(self.timeout, during="importing the candidate's module")
        if isinstance(ready, str):   # ended or timed out while importing
            self._import_failure = (ready, True)
            self.close()
            return False
        if not ready.get("ready"):
            self._import_failure = (ready["message"], bool(ready.get("exit")))
            self.close()
            return False
        return True

    def close(self):
        """End the child (and anything it started) and forget it."""
        if self._proc is not None:
            if self._proc.poll() is None:
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._proc.wait()
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc = None
        if self._reply is not None:
            self._reply.close()
            self._reply = None

    def cleanup(self):
        self.close()
        self._dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def _output_tail(self):
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - _OUTPUT_SHOWN))
        text = self._log.read().decode(errors="replace").strip()
        return f"; its last output: {text[-_OUTPUT_SHOWN:]!r}" if text else ""

    def _read(self, timeout, *, during):
        """The child's next JSON reply, or a message saying why none came."""
        deadline = time.monotonic() + timeout
        buffer = b""
        while not buffer.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._reply], [], [], max(0.0, left))
            if not ready:
                self.close()
                return f"timed out after {timeout:g} s while {during}"
            chunk = os.read(self._reply.fileno(), 65536)
            if not chunk:
                code = self._proc.wait()
                how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                return f"the candidate's process ended while {during} (it {how}){self._output_tail()}"
            buffer += chunk
        try:
            message = json.loads(buffer.decode())
        except ValueError:
            return f"the candidate's process sent something unreadable while {during}"
        if not isinstance(message, dict):
            return f"the candidate's process sent something unreadable while {during}"
        return message

    # -- one problem ---------------------------------------------------------------------

    def import_check(self):
        """Start the child now; raise :class:`CandidateImportError` when the module does not import."""
        if self._proc is None and not self._start() and not self._import_failure[1]:
            raise CandidateImportError(self._import_failure[0])

    def __call__(self, problem, perturb=None):
        if self._import_failure is not None:
            return "error", self._import_failure[0]
        if self._proc is None and not self._start():
            return "error", self._import_failure[0]
        self._count += 1
        out = Path(self._dir.name) / f"result-{self._count}.npz"
        request = {"problem": problem.name, "dtype": str(problem.X.dtype), "out": str(out)}
        if perturb is not None:
            request["perturb"] = perturb
        during = f"running problem {problem.name}"
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            message = self._read(1.0, during=during)
            self.close()
            return "error", message if isinstance(message, str) else f"the candidate's process ended {during}"
        reply = self._read(self.timeout, during=during)
        if isinstance(reply, str):
            self.close()
            return "error", reply
        status = reply.get("status")
        if status != "ok":
            if status not in ("skipped", "error"):
                self.close()
                return "error", f"the candidate's process sent an unknown status while {during}"
            if "sys.exit" in str(reply.get("message", "")):
                self.close()
            return status, str(reply.get("message", ""))
        try:
            with np.load(out, allow_pickle=False) as f:
                payload = {key: f[key] for key in f.files}
        except Exception as err:
            return "error", f"cannot read the candidate's values: {type(err).__name__}: {err}"
        finally:
            out.unlink(missing_ok=True)
        payload.update({key: None for key in reply.get("none", []) if isinstance(key, str)})
        return "ok", payload
