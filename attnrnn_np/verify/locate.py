"""Locating where a failing problem first goes wrong: the stage, the tensor, the cell.

For a scan stage the first wrong cell is searched in that direction's own
scan order (raster for ``fwd``, inverse raster for ``bwd``) across its
gates, c and h, so that the cell named is the one where the recurrence
first breaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .names import parse, stage_of

__all__ = ["GATE_BLOCKS", "Divergence", "locate", "locate_scan"]

GATE_BLOCKS = "ifgo"


@dataclass
class Divergence:
    """Where a problem's values first go wrong, in dependency order."""

    stage: str
    tensor: str
    where: str                      # human-readable location
    got: float | None = None
    want: float | None = None
    index: tuple | None = None      # index into the tensor, e.g. (n, i, j, channel)
    cell: tuple | None = None       # for a scan stage: (n, i, j), map coordinates
    hint: str = ""                  # e.g. that earlier stages were not supplied
    causes: list = field(default_factory=list)   # catalogue Bugs, most likely first


def _first_index(bad, reverse):
    """The first True entry of ``bad`` in C order, rows and columns walked backwards when ``reverse``."""
    view = bad[:, ::-1, ::-1] if reverse and bad.ndim >= 3 else bad
    index = tuple(int(v) for v in np.argwhere(view)[0])
    if reverse and bad.ndim >= 3:
        index = (index[0], bad.shape[1] - 1 - index[1], bad.shape[2] - 1 - index[2]) + index[3:]
    return index


def _channel_text(name, channel, K):
    if parse(name).kind in ("gates", "U"):
        return f"channel {channel} (gate {GATE_BLOCKS[channel // K]}, unit {channel % K})"
    return f"channel {channel}"


def locate(name, bad, got, want, K, scales=None):
    """A Divergence for a tensor that is not part of a scan stage."""
    n_ = parse(name)
    stage = stage_of(name, scales)
    if bad is None:
        return Divergence(stage, name, "the whole tensor (see its note)")
    index = _first_index(bad, n_.direction == "bwd")
    where = f"index {index}"
    if len(index) == 4 and n_.kind == "U":
        n, i, j, ch = index
        where = f"cell (n={n}, i={i}, j={j}), {_channel_text(name, ch, K)}"
        if n_.direction == "bwd":
            where += ", the first wrong in inverse raster order"
    elif len(index) >= 3 and n_.kind not in ("dq", "grads"):
        where = f"cell (n={index[0]}, i={index[1]}, j={index[2]})" + (
            f", channel {index[3]}" if len(index) == 4 else "")
    return Divergence(stage, name, where, float(got[index]), float(want[index]), index)


def locate_scan(prefix, d, checked, arrays, K):
    """The first wrong cell of direction ``d`` in its own scan order, across gates, c and h."""
    names = [f"{prefix}{kind}.{d}" for kind in ("gates", "c", "h")]
    bads = {n: checked[n][1] for n in names if n in checked}
    shape = next(iter(bads.values())).shape[:3] if bads and all(b is not None for b in bads.values()) else None
    if shape is None:
        name = next(n for n in names if n in checked and not checked[n][0].passed)
        return Divergence(f"scan.{d}", name, "the whole tensor (see its note)")
    any_bad = np.zeros(shape, dtype=bool)
    for bad in bads.values():
        any_bad |= bad.reshape(shape + (-1,)).any(axis=-1)
    cell = _first_index(any_bad, d == "bwd")
    for name, bad in bads.items():
        if bad[cell].any():
            ch = int(np.argwhere(bad[cell])[0][0])
            got, want = arrays[name]
            order = "inverse raster order" if d == "bwd" else "raster order"
            n, i, j = cell
            return Divergence(f"scan.{d}", name,
                              f"cell (n={n}, i={i}, j={j}), first wrong in {order}; {name} "
                              f"{_channel_text(name, ch, K)}",
                              float(got[cell + (ch,)]), float(want[cell + (ch,)]), cell + (ch,), cell)
    raise AssertionError("a failing scan tensor has no wrong cell")
