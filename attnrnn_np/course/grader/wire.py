"""The grader's wire format between the grading process and the student's child process: no pickle.

A message is ``8 bytes`` (big-endian total length), ``4 bytes`` (header
length), a JSON header, then the raw bytes of the arrays the header lists
(``{"dtype", "shape", "offset", "nbytes"}``). Values are JSON trees in which
an array is ``{"a": index}``. Decoding accepts only the plain numeric dtypes
of :data:`DTYPES` and checks every shape against its byte count, so a
message can carry numbers and nothing that runs code.

This module imports only the standard library and NumPy: the child process
(``child.py``) loads it by path, outside any package.
"""

import json
import struct

import numpy as np

DTYPES = frozenset(np.dtype(t).str for t in (
    "float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16",
    "uint8", "bool", "complex128", "complex64"))
MAX_MESSAGE = 1 << 28      # one message over 256 MiB is refused


class WireError(ValueError):
    """A message that does not follow the format (truncated, an unknown dtype, a shape that does not fit)."""


def pack(header, arrays):
    """The bytes of one message: ``header`` (JSON-able) and the arrays it refers to by index."""
    specs, chunks, offset = [], [], 0
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        data = a.tobytes(order="C")          # any layout, a 0-d array too, keeps its shape
        specs.append({"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset, "nbytes": len(data)})
        chunks.append(data)
        offset += len(data)
    head = json.dumps(dict(header, arrays=specs)).encode()
    body = struct.pack(">I", len(head)) + head + b"".join(chunks)
    return struct.pack(">Q", len(body)) + body


def unpack(body):
    """``(header, arrays)`` from a message's bytes (without its 8-byte length); :class:`WireError` if malformed."""
    if len(body) < 4:
        raise WireError("a message shorter than its header length")
    (n,) = struct.unpack(">I", body[:4])
    if n > len(body) - 4:
        raise WireError("a header longer than the message")
    try:
        header = json.loads(body[4:4 + n].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WireError(f"a header that is not JSON ({err})") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise WireError("a header that is not an object with a list of arrays")
    data = memoryview(body)[4 + n:]
    arrays = []
    for spec in header.pop("arrays", []):
        arrays.append(_array(spec, data))
    return header, arrays


def _array(spec, data):
    if not isinstance(spec, dict):
        raise WireError("an array description that is not an object")
    dtype, shape, offset, nbytes = (spec.get(k) for k in ("dtype", "shape", "offset", "nbytes"))
    if dtype not in DTYPES:
        raise WireError(f"an array of dtype {dtype!r}: only plain numeric arrays are accepted")
    if (not isinstance(shape, list) or len(shape) > 32
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise WireError(f"an array shape {shape!r} that is not a list of non-negative integers")
    if not all(isinstance(v, int) and v >= 0 for v in (offset, nbytes)) or offset + nbytes > len(data):
        raise WireError("an array that lies outside the message")
    dt = np.dtype(dtype)
    if int(np.prod(shape, dtype=np.int64)) * dt.itemsize != nbytes:
        raise WireError(f"an array of shape {tuple(shape)} and dtype {dtype} that does not fill {nbytes} bytes")
    return np.frombuffer(data[offset:offset + nbytes], dtype=dt).reshape(shape).copy()
