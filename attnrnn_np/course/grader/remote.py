"""The grading process's side of the child: start it isolated, send inputs, read numbers back.

:class:`Child` runs ``child.py`` with ``python -I`` (no user site, no
``PYTHON*`` variables, no script folder on ``sys.path``), a clean
environment, the workspace as working folder and the workspace put on
``sys.path`` by the child itself. Its standard output and error go to a file
of which the grader shows the first :data:`OUTPUT_SHOWN` characters; the
file may not grow past :data:`OUTPUT_LIMIT` bytes (the process is stopped by
the system beyond). Every read from the child waits at most until the
exercise's deadline; past it the child's whole process group is killed.

The student's functions are reached through :class:`Student`:
``s.lstm_cell.lstm_cell_backward(dh, dc, cache)`` sends the arrays, the
child calls the function and sends back arrays and handles
(:class:`Remote`) for anything else (a cache), which can be passed back as
they are. Nothing the child sends is unpickled or executed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import wire

__all__ = ["Child", "ChildGone", "StudentRaised", "Remote", "Student", "OUTPUT_SHOWN", "OUTPUT_LIMIT"]

HERE = Path(__file__).parent
OUTPUT_SHOWN = 20_000          # characters of the child's output shown in a report
OUTPUT_LIMIT = 16 << 20        # bytes the child may write to its output file (RLIMIT_FSIZE)


class ChildGone(Exception):
    """The child ran past its time limit, ended, or sent something that is not a message."""


class StudentRaised(Exception):
    """The student's code raised; ``info`` is the child's description (type, message, where)."""

    def __init__(self, info, during):
        super().__init__(info.get("text", ""))
        self.info, self.during = info, during


class Remote:
    """A value that stays in the child (a cache, a tuple); a sequence's items are decoded when it is one."""

    def __init__(self, child, handle, type_name, items=None):
        self.child, self.handle, self.type_name, self.items = child, handle, type_name, items

    def __iter__(self):
        if self.items is None:
            raise TypeError(f"a {self.type_name} is not a sequence")
        return iter(self.items)

    def __len__(self):
        if self.items is None:
            raise TypeError(f"a {self.type_name} is not a sequence")
        return len(self.items)

    def __getitem__(self, k):
        if self.items is None:
            raise TypeError(f"a {self.type_name} is not a sequence")
        return self.items[k]

    def is_sequence(self):
        return self.items is not None

    def __repr__(self):
        return f"<{self.type_name} in the student's process>"


def _limits():  # pragma: no cover - runs in the child between fork and exec
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def clean_environment():
    """The child's whole environment: a path for the system's tools, one BLAS thread, UTF-8."""
    return {"PATH": os.defpath, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"}


class Child:
    """One child process for one exercise, which must be done within ``timeout`` seconds of its start."""

    def __init__(self, workspace, modules, timeout, output_file):
        self.timeout = float(timeout)
        self.deadline = time.monotonic() + self.timeout
        self.output_file = output_file
        self.last = "startup"
        req_r, self._req = os.pipe()
        self._resp, resp_w = os.pipe()
        out = open(output_file, "wb")
        started = False
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(HERE / "child.py"), str(req_r), str(resp_w), str(Path(workspace).resolve()),
                 str(HERE / "wire.py"), json.dumps(list(modules))],
                cwd=workspace, env=clean_environment(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                pass_fds=(req_r, resp_w), preexec_fn=_limits, start_new_session=True)
            started = True
        finally:
            out.close()
            os.close(req_r)
            os.close(resp_w)
            if not started:
                os.close(self._req)
                os.close(self._resp)
        os.set_blocking(self._req, False)
        self.hello, _ = self._receive("startup (importing the student package)")

    # -- transport ----------------------------------------------------------------------------------------

    def _left(self):
        return self.deadline - time.monotonic()

    def _wait(self, fd, for_write, during):
        left = self._left()
        if left <= 0:
            self.kill()
            raise ChildGone(f"timed out after {self.timeout:g} s during {during}")
        ready = select.select([], [fd], [], left) if for_write else select.select([fd], [], [], left)
        if not (ready[1] if for_write else ready[0]):
            self.kill()
            raise ChildGone(f"timed out after {self.timeout:g} s during {during}")

    def _send(self, header, arrays, during):
        data = memoryview(wire.pack(header, arrays))
        while data:
            self._wait(self._req, True, during)
            try:
                data = data[os.write(self._req, data):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise ChildGone(self._ended(during)) from None

    def _read(self, n, during):
        chunks = []
        while n:
            self._wait(self._resp, False, during)
            chunk = os.read(self._resp, min(n, 1 << 20))
            if not chunk:
                raise ChildGone(self._ended(during))
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _receive(self, during):
        (n,) = struct.unpack(">Q", self._read(8, during))
        if n > wire.MAX_MESSAGE:
            self.kill()
            raise ChildGone(f"the student's process sent a message of {n} bytes during {during}")
        try:
            return wire.unpack(self._read(n, during))
        except wire.WireError as err:
            self.kill()
            raise ChildGone(f"the student's process sent something the grader cannot read during {during}: "
                            f"{err}") from None

    def _ended(self, during):
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            how = f"was killed by {name}"
            if -code == signal.SIGXFSZ:
                how += f" (its output passed {OUTPUT_LIMIT >> 20} MB)"
        else:
            how = f"ended with exit status {code}"
        return f"the process {how} during {during} (sys.exit, os._exit or a crash in the student's code)"

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass

    def close(self):
        self.kill()
        for fd in (self._req, self._resp):
            try:
                os.close(fd)
            except OSError:
                pass

    def output(self):
        """The first :data:`OUTPUT_SHOWN` characters of what the child printed, and whether there was more."""
        try:
            with open(self.output_file, "rb") as f:
                data = f.read(OUTPUT_SHOWN + 1)
        except OSError:
            return "", False
        return data[:OUTPUT_SHOWN].decode("utf-8", "replace"), len(data) > OUTPUT_SHOWN

    # -- requests -----------------------------------------------------------------------------------------

    def request(self, header, arrays=(), during=None):
        during = during or header.get("fn") or header["op"]
        self.last = during
        self._send(header, list(arrays), during)
        answer, out = self._receive(during)
        if not answer.get("ok"):
            raise StudentRaised(answer.get("error") or {}, during)
        return answer, out

    def call(self, fn, args):
        return self._call(fn, args, False)[0]

    def call_kept(self, fn, args):
        """``(result, handle of the result, handle of the arguments as the function left them)``."""
        value, answer = self._call(fn, args, True)
        handles = answer.get("keep"), answer.get("args")
        if not all(isinstance(h, int) and not isinstance(h, bool) for h in handles):
            raise ChildGone("the student's process did not keep what the grader asked it to")
        return (value, *handles)

    def _call(self, fn, args, keep):
        arrays = []
        header = {"op": "call", "fn": fn, "args": [self._encode(a, arrays) for a in args], "keep": keep,
                  "keep_args": keep}
        answer, out = self.request(header, arrays, during=fn.rpartition(".")[2])
        return self._decode(answer.get("result"), out), answer

    def fetch(self, handle):
        answer, out = self.request({"op": "fetch", "h": handle}, during="reading a result back")
        return self._decode(answer.get("result"), out)

    def snapshot(self, remote):
        answer, out = self.request({"op": "snapshot", "h": remote.handle}, during="reading a cache")
        names = answer.get("names")
        if not isinstance(names, list) or len(names) != len(out):
            raise ChildGone("the student's process described a cache the grader cannot read")
        return dict(zip(names, out, strict=True))

    def fill(self, handle, item, value):
        """Write ``value`` into every entry of item ``item`` of a kept result, as a caller may do."""
        self.request({"op": "fill", "h": handle, "item": item, "value": value}, during="writing into a result")

    def count(self, fn):
        self.request({"op": "count", "fn": fn}, during=f"counting the calls of {fn}")

    def calls(self, fn):
        n = self.request({"op": "calls", "fn": fn})[0].get("calls")
        if not isinstance(n, int) or isinstance(n, bool):
            raise ChildGone("the student's process sent a call count that is not a number")
        return n

    def _encode(self, value, arrays):
        if isinstance(value, Remote):
            return {"h": value.handle}
        if isinstance(value, np.ndarray):
            arrays.append(value)
            return {"a": len(arrays) - 1}
        if value is None:
            return {"none": True}
        if isinstance(value, (tuple, list)):
            return {"seq": [self._encode(v, arrays) for v in value]}
        if isinstance(value, (np.integer, np.floating)):
            return {"v": value.item()}
        return {"v": value}

    def _decode(self, spec, arrays, depth=0):
        if not isinstance(spec, dict) or depth > 8:
            raise ChildGone("the student's process sent a value the grader cannot read")
        if "a" in spec:
            k = spec["a"]
            if not isinstance(k, int) or not 0 <= k < len(arrays):
                raise ChildGone("the student's process referred to an array it did not send")
            return arrays[k][()] if spec.get("scalar") else arrays[k]
        if spec.get("none"):
            return None
        if "v" in spec:
            v = spec["v"]
            if not isinstance(v, (bool, int, float, str)):
                raise ChildGone("the student's process sent a value the grader cannot read")
            return v
        items = spec.get("seq")
        if items is not None:
            if not isinstance(items, list):
                raise ChildGone("the student's process sent a value the grader cannot read")
            items = [self._decode(v, arrays, depth + 1) for v in items]
        handle = spec.get("h")
        if handle is None:
            return Remote(self, None, str(spec.get("type", "tuple")), items)
        if not isinstance(handle, int):
            raise ChildGone("the student's process sent a value the grader cannot read")
        return Remote(self, handle, str(spec.get("type", "object"))[:60], items)


class _Module:
    def __init__(self, child, name):
        self._child, self._name = child, name

    def __getattr__(self, fn):
        name = f"{self._name}.{fn}"

        def call(*args):
            return self._child.call(name, args)
        call.__name__ = fn
        call.qualified = name
        return call


class Student:
    """The student's package, seen from the grader: ``s.scan.raster_scan_forward(U, W_up, W_left)``."""

    def __init__(self, child):
        self.child = child

    def __getattr__(self, module):
        if module.startswith("_"):
            raise AttributeError(module)
        return _Module(self.child, module)
