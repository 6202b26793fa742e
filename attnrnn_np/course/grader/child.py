"""The child process of the grader: it imports the student's package and calls its functions, nothing else.

Started by ``remote.py`` as ``python -I child.py REQ_FD RESP_FD WORKSPACE
WIRE_PY MODULES`` in a clean environment, with the workspace as its working
folder. It reads requests from ``REQ_FD`` and answers on ``RESP_FD`` in the
format of ``wire.py`` (JSON and raw arrays, no pickle). It computes no
verdict: the grading process compares every number it sends back. Whatever
this process says can be forged by the student's code, which runs in it;
the grader relies on it only for values it then checks itself.

Requests (``op``): ``call`` a student function on the given arguments
(``keep``: remember the result for a later ``fetch``); ``fetch`` the current
contents of a remembered value; ``snapshot`` every array reachable from a
remembered value (a cache); ``count`` the calls of a function from now on;
``calls``: how many. A non-array result (a cache, a tuple) is remembered
under a handle, so it can be passed back to the student's backward as it is.
"""

import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import traceback

HANDLES = {}
COUNTS = {}
STUDENT = "student"


class _Refuse(importlib.abc.MetaPathFinder):
    """The student's package may not import the package that holds the grader and its reference."""

    def find_spec(self, name, path=None, target=None):
        if name == "attnrnn_np" or name.startswith("attnrnn_np."):
            raise ImportError("the course's student package may not import attnrnn_np: write your own code")
        return None


def _read(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _encode(value, arrays, depth=0):
    import numpy as np

    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"a": len(arrays) - 1}
    if isinstance(value, np.generic):
        arrays.append(np.asarray(value))
        return {"a": len(arrays) - 1, "scalar": True}
    if value is None:
        return {"none": True}
    if isinstance(value, (bool, int, float, str)) and type(value) in (bool, int, float, str):
        return {"v": value}
    handle = len(HANDLES) + 1
    HANDLES[handle] = value
    out = {"h": handle, "type": type(value).__name__}
    if isinstance(value, (tuple, list)) and depth < 3 and len(value) <= 64:
        out["seq"] = [_encode(v, arrays, depth + 1) for v in value]
    return out


def _decode(spec, arrays):
    if "a" in spec:
        return arrays[spec["a"]]
    if "h" in spec:
        return HANDLES[spec["h"]]
    if "seq" in spec:
        return tuple(_decode(v, arrays) for v in spec["seq"])
    if spec.get("none"):
        return None
    return spec["v"]


def _walk(value, path, out, seen, depth=0):
    """Every array reachable from value (tuples, lists, dicts, attributes), by path."""
    import numpy as np

    if isinstance(value, np.ndarray):
        out[path] = value
        return
    if id(value) in seen or depth > 6 or len(out) > 20000:
        return
    seen.add(id(value))
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        items = zip(value._fields, value, strict=True)
        items = [(f".{k}", v) for k, v in items]
    elif isinstance(value, (tuple, list)):
        items = [(f"[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(f"[{k!r}]", v) for k, v in value.items()]
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        items = [(f".{k}", v) for k, v in vars(value).items()]
    else:
        return
    for key, v in items:
        _walk(v, path + key, out, seen, depth + 1)


def _function(name):
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(f"{STUDENT}.{module}"), attr)


def _counting(name):
    module_name, _, attr = name.rpartition(".")
    original = _function(name)
    COUNTS[name] = 0

    def counted(*args, **kwargs):
        COUNTS[name] += 1
        return original(*args, **kwargs)

    for mod_name, mod in list(sys.modules.items()):   # every name bound to it in the student's modules
        if mod_name == STUDENT or mod_name.startswith(STUDENT + "."):
            for key, val in list(vars(mod).items()):
                if val is original:
                    setattr(mod, key, counted)


def _error(err):
    frames = traceback.extract_tb(err.__traceback__)
    theirs = [f for f in frames if os.path.basename(os.path.dirname(f.filename)) == STUDENT]
    where = [os.path.basename(theirs[-1].filename), theirs[-1].lineno, theirs[-1].name] if theirs else None
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    return {"type": type(err).__name__, "message": str(err)[:2000], "text": text[:2000], "where": where,
            "code": repr(err.code)[:200] if isinstance(err, SystemExit) else None,
            "traceback": "".join(traceback.format_exception(err))[-4000:]}


def _serve(header, arrays):
    import numpy as np

    op = header["op"]
    if op == "call":
        fn = _function(header["fn"])
        args = [_decode(a, arrays) for a in header["args"]]
        result = fn(*args)
        out = []
        answer = {"ok": True, "result": _encode(result, out)}
        if header.get("keep_args"):
            HANDLES[len(HANDLES) + 1] = args
            answer["args"] = len(HANDLES)
        if header.get("keep"):
            HANDLES[len(HANDLES) + 1] = result
            answer["keep"] = len(HANDLES)
        return answer, out
    if op == "fetch":
        out = []
        value = HANDLES[header["h"]]
        if isinstance(value, (tuple, list)):
            return {"ok": True, "result": {"seq": [_encode(v, out) for v in value], "type": type(value).__name__}}, out
        return {"ok": True, "result": _encode(value, out)}, out
    if op == "snapshot":
        found = {}
        _walk(HANDLES[header["h"]], "", found, set())
        names = sorted(found)
        return {"ok": True, "names": names}, [np.asarray(found[k]) for k in names]
    if op == "fill":
        HANDLES[header["h"]][header["item"]][...] = header["value"]
        return {"ok": True}, []
    if op == "count":
        _counting(header["fn"])
        return {"ok": True}, []
    if op == "calls":
        return {"ok": True, "calls": COUNTS.get(header["fn"], 0)}, []
    raise ValueError(f"unknown request {op!r}")


def main(argv):
    req, resp, workspace, wire_path, modules = int(argv[1]), int(argv[2]), argv[3], argv[4], json.loads(argv[5])
    spec = importlib.util.spec_from_file_location("_grader_wire", wire_path)
    wire = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wire)
    sys.path.insert(0, workspace)
    sys.meta_path.insert(0, _Refuse())

    def send(answer, arrays):
        data = wire.pack(answer, arrays)
        view = memoryview(data)
        while view:
            view = view[os.write(resp, view):]

    try:
        importlib.import_module(STUDENT)
        for module in modules:
            importlib.import_module(f"{STUDENT}.{module}")
        hello = {"ok": True}
    except BaseException as err:  # noqa: B036 - the student's code may raise anything; it is reported
        hello = {"ok": False, "error": _error(err), "during": "import"}
    send(hello, [])
    while True:
        try:
            (n,) = __import__("struct").unpack(">Q", _read(req, 8))
            header, arrays = wire.unpack(_read(req, n))
        except EOFError:
            return
        try:
            answer, out = _serve(header, arrays)
            send(answer, out)
        except BaseException as err:  # noqa: B036 - reported to the grader, which fails the check
            try:
                send({"ok": False, "error": _error(err)}, [])
            except BaseException:  # noqa: B036
                os._exit(3)


if __name__ == "__main__":
    main(sys.argv)
