"""The likely causes of a divergence: catalogue entries ranked by the evidence.

:func:`likely_causes` keeps the catalogue entries whose stage can produce
the divergence and which the problem can show, and ranks them by what the
values say (the first wrong cell, the gate block, the pattern of a
difference).
"""

from __future__ import annotations

import numpy as np

from .catalogue import BUGS, STAGES
from .locate import GATE_BLOCKS
from .names import parse

__all__ = ["likely_causes"]


def likely_causes(div, problem, arrays):
    """Catalogue entries that fit the divergence, most likely first."""
    d = problem.dims
    stages = [div.stage]
    if div.hint:   # earlier stages were not compared: any of them may be wrong
        stages = list(STAGES[:STAGES.index(div.stage) + 1])
    ruled_out = set()
    if d["k"] == 1:
        ruled_out.add("reverse-kernel")            # a 1×1 kernel is its own rotation
    if d["Q"] == 0:
        ruled_out.add("query-placement")
    if problem.normalize != "softmax":
        ruled_out |= {"softmax-axis", "softmax-shift"}
    if problem.scales is None:
        ruled_out.add("combiner-axis")
    first = []
    if div.stage.startswith("scan.") and div.cell is not None:
        n, i, j = div.cell
        if div.stage == "scan.bwd":        # the cell in the scan's own (rotated) coordinates
            H, W = arrays[div.tensor][1].shape[1:3]
            i, j = H - 1 - i, W - 1 - j
        if (n, i, j) == (0, 0, 0):        # the scan's very first cell reads no neighbour
            first = ["gate-order", "sigmoid-candidate", "reverse-flag", "flip-axis"]
            if parse(div.tensor).kind == "gates" and div.index[-1] // d["K"] == GATE_BLOCKS.index("g"):
                first = ["sigmoid-candidate"] + first
            ruled_out |= {"wrong-neighbour-h", "wrong-neighbour-c", "skew-offset"}
        else:
            ruled_out |= {"gate-order", "sigmoid-candidate"}
            first = (["wrong-neighbour-h", "skew-offset", "wrong-neighbour-c"] if i == 0
                     else ["skew-offset", "wrong-neighbour-c", "wrong-neighbour-h"]) + ["flip-axis"]
        # The gates read only h; c also reads the carried cell state. Right
        # gates with a wrong c at the first wrong cell point at the carry.
        c_name = div.tensor.replace("gates.", "c.")
        if parse(div.tensor).kind == "c":
            first = ["wrong-neighbour-c"] + first
        elif parse(div.tensor).kind == "gates" and c_name in arrays:
            ruled_out.add("wrong-neighbour-c")
    if div.stage == "U" and div.tensor in arrays:
        got, want = arrays[div.tensor]
        diff = got - want
        K = d["K"]
        small = 1e-6 * max(1.0, float(np.abs(want).max()))      # far above round-off, far below any bug
        blocks = {GATE_BLOCKS[b] for b in range(4) if np.abs(diff[..., b * K:(b + 1) * K]).max() > small}
        same_everywhere = np.abs(diff - diff[:1, :1, :1]).max() <= small
        same_per_sample = np.abs(diff - diff[:, :1, :1]).max() <= small
        if same_everywhere and blocks <= {"i", "f"}:
            first = ["forget-bias"]
        elif same_per_sample:
            first = ["query-placement", "forget-bias"]
        elif div.tensor.endswith("bwd"):
            first = ["reverse-kernel"]
    fitting = [b for b in BUGS if b.stage in stages and b.name not in ruled_out]
    rank = {}
    for r, name in enumerate(first):
        rank.setdefault(name, r)
    return sorted(fitting, key=lambda b: rank.get(b.name, len(first)))
