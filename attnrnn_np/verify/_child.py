"""The child process of ``attnrnn-np verify --against``: it imports the candidate and runs it, nothing else.

Started as ``python -m attnrnn_np.verify._child MODULE:FUNCTION REPLY_FD``
by :mod:`attnrnn_np.verify.isolate`. It reads one JSON request per line on
standard input (``{"problem": NAME, "dtype": ..., "out": PATH}``, optionally
``"perturb"``), runs the candidate on that problem and writes its arrays to
``PATH`` as an ``.npz`` (no pickle), then one JSON line on the reply pipe.
Every comparison and every verdict is made by the parent.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np


def _reply(fd, **message):
    os.write(fd, (json.dumps(message) + "\n").encode())


def _load(target):
    module_name, _, function = target.rpartition(":")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise ImportError(f"no such file {module_name}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    candidate = getattr(module, function, None)
    if candidate is None:
        raise LookupError(f"module {module_name} has no attribute {function!r}")
    if not callable(candidate):
        raise LookupError(f"{module_name}:{function} is not callable (it is a {type(candidate).__name__})")
    return candidate


def _where(err):
    frames = traceback.extract_tb(err.__traceback__)
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


def main(argv):
    target, fd = argv[0], int(argv[1])
    sys.path.insert(0, os.getcwd())   # as `python -m` does: modules of the current folder import
    try:
        candidate = _load(target)
    except SystemExit as err:
        _reply(fd, ready=False, exit=True, message=f"the candidate's module called sys.exit({err.code!r}) on import")
        return 0
    except BaseException as err:  # noqa: B036  whatever the import raised is the user's to read
        _reply(fd, ready=False, message=f"cannot import {target.rpartition(':')[0]}: "
                                        f"{type(err).__name__}: {err}{_where(err)}")
        return 0
    _reply(fd, ready=True)
    from attnrnn_np.verify.compare import flatten
    from attnrnn_np.verify.gradcheck import perturbed
    from attnrnn_np.verify.problems import problems

    for line in sys.stdin:
        request = json.loads(line)
        problem = problems([request["problem"]])[0].astype(request["dtype"])
        if request.get("perturb"):
            problem = perturbed(problem, **request["perturb"])
        try:
            out = candidate(problem)
        except SystemExit as err:
            _reply(fd, status="error", message=f"the candidate called sys.exit({err.code!r}) during the call")
            return 0
        except BaseException as err:  # noqa: B036
            _reply(fd, status="error", message=f"{type(err).__name__}: {err}{_where(err)}")
            continue
        if out is None:
            _reply(fd, status="skipped", message="the candidate returned None")
            continue
        if not hasattr(out, "items"):
            _reply(fd, status="error", message=f"the candidate returned {type(out).__name__}, "
                                               "expected a dict of arrays")
            continue
        try:
            flat = flatten(out)
            arrays = {k: v for k, v in flat.items() if v is not None}
            bad = [k for k, v in arrays.items() if v.dtype == object]
            if bad:
                raise TypeError(f"{', '.join(bad)} hold Python objects, not numbers")
            with open(request["out"], "wb") as f:
                np.savez(f, allow_pickle=False, **arrays)
        except Exception as err:
            _reply(fd, status="error", message=f"cannot read the candidate's values: {type(err).__name__}: {err}")
            continue
        _reply(fd, status="ok", none=[k for k, v in flat.items() if v is None])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
