"""The likely causes of a divergence: catalogue entries ranked by the evidence.

Every catalogue entry that the evidence can speak to has a rule here, in
the catalogue's order, registered with ``@rule(name)``. A rule reads the
:class:`Evidence` of one failing problem (where it first goes wrong, the
values there, which tensors agree, which other problems passed) and returns
a score: higher is more likely, 0 says nothing, and :data:`RULED_OUT` drops
the entry (the problem cannot show it, or the values contradict it). The
entries kept are those whose stage can produce the divergence (every stage
up to it when no earlier stage was supplied), plus those whose rule finds
their fingerprint wherever it shows; they are sorted by score, then in the
catalogue's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .catalogue import BUGS, STAGES
from .locate import GATE_BLOCKS
from .names import parse

__all__ = ["Evidence", "RULED_OUT", "RULES", "rule", "likely_causes", "layout_of"]

RULED_OUT = None
RULES = {}
FINGERPRINT = 50   # a score at which an entry is listed whatever the diverging stage


def rule(name):
    """Register the rule of catalogue entry ``name``."""
    def register(fn):
        RULES[name] = fn
        return fn
    return register


@dataclass
class Evidence:
    """What one failing problem shows."""

    div: object                     # the Divergence
    problem: object
    arrays: dict                    # name -> (got, want), float64, for every compared tensor of the right shape
    tensors: list                   # every TensorResult of the problem
    dtype: str = "float64"
    passing: set = field(default_factory=set)   # names of the other problems that passed (None: unknown)
    layout: str = ""                # filled by layout_of

    @property
    def dims(self):
        return self.problem.dims

    @property
    def single_pixel(self):
        return self.dims["H"] == 1 and self.dims["W"] == 1

    def failed(self, name):
        return any(t.name == name and not t.passed for t in self.tensors)

    def agreed(self, name):
        return any(t.name == name and t.passed for t in self.tensors)

    def scan_cell(self):
        """The first wrong cell in its scan's own coordinates (rotated back for ``bwd``), or None."""
        if not self.div.stage.startswith("scan.") or self.div.cell is None:
            return None
        n, i, j = self.div.cell
        if self.div.stage == "scan.bwd":
            H, W = self.dims["H"], self.dims["W"]
            i, j = H - 1 - i, W - 1 - j
        return n, i, j

    def at_cell(self, kind):
        """(got, want) of the diverging direction's ``kind`` (gates, c, h) at the first wrong cell, or None."""
        name = f"{parse(self.div.tensor).prefix}{kind}.{self.div.stage.split('.')[1]}"
        if name not in self.arrays or self.div.cell is None:
            return None
        got, want = self.arrays[name]
        return got[self.div.cell], want[self.div.cell]

    def passes(self, predicate):
        """True when some other problem with ``predicate(sizes)`` passed."""
        from .problems import PROBLEM_SIZES

        return any(predicate(PROBLEM_SIZES[n]) for n in self.passing if n in PROBLEM_SIZES)


def _padding_values(ev):
    """True when the first wrong cell holds a padding cell's values: gates 0.5 (g 0), or c and h exactly 0."""
    K = ev.dims["K"]
    gates, h = ev.at_cell("gates"), ev.at_cell("h")
    if gates is not None:
        got, want = gates
        pad = np.full(4 * K, 0.5)
        pad[2 * K:3 * K] = 0.0
        if np.array_equal(got, pad) and not np.allclose(want, pad):
            return True
    if h is not None:
        got, want = h
        if not np.any(got) and np.any(want):
            return True
    return False


def _neighbour_values(ev):
    """True when the first wrong cell holds the values of the next or previous cell along the row."""
    for kind in ("h", "c", "gates"):
        name = f"{parse(ev.div.tensor).prefix}{kind}.{ev.div.stage.split('.')[1]}"
        if name not in ev.arrays or ev.div.cell is None:
            continue
        got, want = ev.arrays[name]
        n, i, j = ev.div.cell
        for dj in (-1, 1):
            if 0 <= j + dj < want.shape[2] and np.allclose(got[n, i, j], want[n, i, j + dj], rtol=1e-9, atol=1e-12):
                return True
    return False


def _own(a, d):
    """An array in the scan's own coordinates (the inverse direction rotated back)."""
    return a[:, ::-1, ::-1] if d == "bwd" else a


def _pre_activation(a, K):
    """The gate pre-activations behind activated gates ``a`` (…, 4K): logit for i, f, o; artanh for g."""
    s = np.clip(a, 1e-15, 1 - 1e-15)
    G = np.log(s) - np.log1p(-s)
    G[..., 2 * K:3 * K] = np.arctanh(np.clip(a[..., 2 * K:3 * K], -1 + 1e-15, 1 - 1e-15))
    return G


def _gate_jump(ev):
    """(n, i, j, dG, params of the direction, want h in own coordinates) at the first wrong cell, or None.

    ``dG`` is got − want of the pre-activations there, read back from the gates.
    """
    cell = ev.scan_cell()
    if cell is None:
        return None
    prefix, d = parse(ev.div.tensor).prefix, ev.div.stage.split(".")[1]
    gates, h = ev.arrays.get(f"{prefix}gates.{d}"), ev.arrays.get(f"{prefix}h.{d}")
    if gates is None or h is None:
        return None
    K = ev.dims["K"]
    n, i, j = cell
    got, want = _own(gates[0], d)[n, i, j], _own(gates[1], d)[n, i, j]
    dG = _pre_activation(got, K) - _pre_activation(want, K)
    P = {key[len(prefix) + len(d) + 1:]: v for key, v in ev.problem.params.items() if key.startswith(f"{prefix}{d}.")}
    return n, i, j, dG, P, _own(h[1], d)


def _explains(dG, predicted):
    return bool(np.all(np.isfinite(dG))) and np.allclose(dG, predicted, rtol=1e-5,
                                                         atol=1e-6 * max(1.0, float(np.abs(predicted).max())))


# --------------------------------------------------------------------------
# the rules, in the catalogue's order
# --------------------------------------------------------------------------

@rule("gate-order")
def _gate_order(ev):
    cell = ev.scan_cell()
    if cell is None:
        return 0
    return 30 if cell[1:] == (0, 0) else RULED_OUT      # the very first cell reads no neighbour


@rule("sigmoid-candidate")
def _sigmoid_candidate(ev):
    cell = ev.scan_cell()
    if cell is None:
        return 0
    if cell[1:] != (0, 0):
        return RULED_OUT
    gates_name = f"{parse(ev.div.tensor).prefix}gates.{ev.div.stage.split('.')[1]}"
    if gates_name in ev.arrays:
        K = ev.dims["K"]
        got_g = ev.arrays[gates_name][0][..., 2 * K:3 * K]
        want_g = ev.arrays[gates_name][1][..., 2 * K:3 * K]
        if (got_g < 0).any():
            return RULED_OUT                               # a sigmoid is never negative: g went through tanh
        if (want_g < 0).any():
            return 40                                     # g never negative where tanh makes it so
    score = 25
    if parse(ev.div.tensor).kind == "gates" and ev.div.index[-1] // ev.dims["K"] == GATE_BLOCKS.index("g"):
        score = 35
    return score


@rule("wrong-neighbour-h")
def _wrong_neighbour_h(ev):
    if ev.single_pixel:
        return RULED_OUT               # a 1×1 map: no neighbour, no skew
    cell = ev.scan_cell()
    if cell is None:
        return 0
    if cell[1:] == (0, 0):
        return RULED_OUT
    return 30 if cell[1] == 0 else 10


@rule("wrong-neighbour-c")
def _wrong_neighbour_c(ev):
    if ev.single_pixel:
        return RULED_OUT               # a 1×1 map: no neighbour, no skew
    cell = ev.scan_cell()
    if cell is None:
        return 0
    if cell[1:] == (0, 0):
        return RULED_OUT
    kind = parse(ev.div.tensor).kind
    if kind == "c":
        return 45                      # the gates read only h: right gates with a wrong c point at the carry
    if kind == "gates" and f"{parse(ev.div.tensor).prefix}c.{ev.div.stage.split('.')[1]}" in ev.arrays:
        return RULED_OUT
    return 20 if cell[1] == 0 else 15


@rule("skew-offset")
def _skew_offset(ev):
    if ev.single_pixel:
        return RULED_OUT               # a 1×1 map: no neighbour, no skew
    cell = ev.scan_cell()
    if cell is None:
        return 0
    if cell[1:] == (0, 0):
        return 5 if _padding_values(ev) else 1     # a read-out offset (skew-readout-offset) shows here
    jump = _gate_jump(ev)
    if jump is not None and jump[1] > 0:           # h_up read one column too far left: predict the jump
        n, i, j, dG, P, h = jump
        wrong_up = h[n, i - 1, j - 1] if j > 0 else np.zeros_like(h[n, i - 1, j])
        if _explains(dG, (wrong_up - h[n, i - 1, j]) @ P["W_up"]):
            return 58
    return 28 if cell[1] > 0 else 18


@rule("flip-axis")
def _flip_axis(ev):
    if ev.single_pixel:
        return RULED_OUT
    if ev.div.stage != "scan.bwd":
        return 2 if ev.scan_cell() is not None else 0
    # on a one-row or one-column map one flip is the whole rotation: a one-axis flip passes there
    if ev.passes(lambda s: (s[1] == 1) != (s[2] == 1)):
        return 40
    return 20


@rule("reverse-flag")
def _reverse_flag(ev):
    if ev.single_pixel:
        return RULED_OUT
    if ev.div.stage == "scan.bwd" and ev.passes(lambda s: (s[1] == 1) != (s[2] == 1)):
        return RULED_OUT               # running bwd in raster order shows on a one-row map too
    return 25 if ev.div.stage == "scan.bwd" else 0


def _kernel_evidence(ev):
    """A bonus when k = 1 problems pass while this k > 1 one fails."""
    return 10 if ev.passes(lambda s: s[6] == 1) else 0


@rule("reverse-kernel")
def _reverse_kernel(ev):
    if ev.dims["k"] == 1:
        return RULED_OUT                                  # a 1×1 kernel is its own rotation
    prefix = parse(ev.div.tensor).prefix
    if ev.failed(f"{prefix}U.fwd"):
        return RULED_OUT                                  # it changes only the inverse direction
    return (30 if ev.div.tensor.endswith("U.bwd") else 5) + _kernel_evidence(ev)


@rule("forget-bias")
def _forget_bias(ev):
    diff = _U_difference(ev)
    if diff is None:
        return 0
    blocks, same_everywhere, same_per_sample = diff
    if same_everywhere and blocks <= {"i", "f"}:
        return 40
    return 15 if same_per_sample else 0


@rule("query-placement")
def _query_placement(ev):
    if ev.dims["Q"] == 0:
        return RULED_OUT
    diff = _U_difference(ev)
    if diff is None:
        return 0
    blocks, same_everywhere, same_per_sample = diff
    if same_everywhere and blocks <= {"i", "f"}:
        return 10
    return 35 if same_per_sample else 0


def _U_difference(ev):
    if ev.div.stage != "U" or ev.div.tensor not in ev.arrays:
        return None
    got, want = ev.arrays[ev.div.tensor]
    diff = got - want
    K = ev.dims["K"]
    small = 1e-6 * max(1.0, float(np.abs(want).max()))      # far above round-off, far below any bug
    blocks = {GATE_BLOCKS[b] for b in range(4) if np.abs(diff[..., b * K:(b + 1) * K]).max() > small}
    same_everywhere = np.abs(diff - diff[:1, :1, :1]).max() <= small
    same_per_sample = np.abs(diff - diff[:, :1, :1]).max() <= small
    return blocks, same_everywhere, same_per_sample


@rule("softmax-axis")
def _softmax_axis(ev):
    return RULED_OUT if ev.problem.normalize != "softmax" else 0


@rule("softmax-shift")
def _softmax_shift(ev):
    return RULED_OUT if ev.problem.normalize != "softmax" else 0


@rule("col2im-offset")
def _col2im_offset(ev):
    return RULED_OUT if ev.dims["k"] == 1 else _kernel_evidence(ev)


@rule("block-boundary")
def _block_boundary(ev):
    return RULED_OUT if ev.dims["N"] == 1 else 0


@rule("pool-tie")
def _pool_tie(ev):
    return RULED_OUT if ev.problem.scales is None else 0


@rule("combiner-axis")
def _combiner_axis(ev):
    return RULED_OUT if ev.problem.scales is None else 0


@rule("diagonal-bounds")
def _diagonal_bounds(ev):
    if ev.single_pixel:
        return RULED_OUT
    if not ev.div.stage.startswith("scan."):
        return 0
    d = ev.div.stage.split(".")[1]
    name = f"{parse(ev.div.tensor).prefix}h.{d}"
    if name in ev.arrays:
        got, want = ev.arrays[name]
        last = (slice(None), -1, -1) if d == "fwd" else (slice(None), 0, 0)   # the scan's last cell
        if not np.any(got[last]) and np.any(want[last]):
            return 60                  # the last diagonal never computed: its cell still holds zeros
    return 3


@rule("kernel-flip")
def _kernel_flip(ev):
    if ev.dims["k"] == 1:
        return RULED_OUT
    prefix = parse(ev.div.tensor).prefix
    both = ev.failed(f"{prefix}U.fwd") and ev.failed(f"{prefix}U.bwd")
    return (35 if both else 0) + _kernel_evidence(ev)


@rule("direction-halves")
def _direction_halves(ev):
    if ev.div.stage != "U":
        return 0
    prefix = parse(ev.div.tensor).prefix
    fwd, bwd = ev.arrays.get(f"{prefix}U.fwd"), ev.arrays.get(f"{prefix}U.bwd")
    if fwd is not None and bwd is not None and np.allclose(fwd[0], bwd[1]) and np.allclose(bwd[0], fwd[1]):
        return 60                      # each direction holds the other's values
    return 0


@rule("upsample-block")
def _upsample_block(ev):
    return RULED_OUT if ev.problem.scales is None else 0


@rule("float32-cast")
def _float32_cast(ev):
    if ev.dtype != "float64":
        return RULED_OUT
    if any(t.got_dtype == "float32" for t in ev.tensors):
        return 100                     # float32 arrays under a float64 run
    sized = [t for t in ev.tensors if t.max_rel == t.max_rel and t.size]
    failing = [t for t in sized if not t.passed]
    if failing and all(t.max_rel <= 1e-5 for t in failing) and sum(1e-10 <= t.max_rel for t in sized) >= \
            0.8 * len(sized):
        return 100                     # round-off of float32 everywhere, nothing larger
    return RULED_OUT


@rule("inverse-gradient-not-rotated")
def _bwd_grad_not_rotated(ev):
    if ev.div.stage != "backward" or ev.dims["k"] == 1 and not ev.failed("dX"):
        return 0 if ev.div.stage == "backward" else RULED_OUT
    grads = [t for t in ev.tensors if parse(t.name).kind == "grads"]
    fwd = [t for t in grads if ".fwd." in t.name or t.name.startswith("grads.fwd.")]
    bwd = [t for t in grads if ".bwd." in t.name or t.name.startswith("grads.bwd.")]
    if fwd and all(t.passed for t in fwd) and bwd and any(not t.passed for t in bwd):
        return 45
    return RULED_OUT if fwd and any(not t.passed for t in fwd) else 0


@rule("bias-after-skew")
def _bias_after_skew(ev):
    if ev.single_pixel:
        return RULED_OUT               # a 1×1 map: no neighbour, no skew
    cell = ev.scan_cell()
    if cell is None:
        return 0
    if cell[1] == 0:
        return RULED_OUT               # row 0 (the first cell included) reads no padding cell
    jump = _gate_jump(ev)
    if jump is not None and cell[2] == 0:          # the padding cell's state, from bias and query alone
        n, i, j, dG, P, _ = jump
        G_pad = P["b"] + (ev.problem.q[n] @ P["W_q"] if ev.problem.q is not None else 0.0)
        K = ev.dims["K"]
        i_g, g_g, o_g = 1 / (1 + np.exp(-G_pad[:K])), np.tanh(G_pad[2 * K:3 * K]), 1 / (1 + np.exp(-G_pad[3 * K:]))
        if _explains(dG, (o_g * np.tanh(i_g * g_g)) @ P["W_left"]):
            return 58
    return 27 if cell[2] == 0 else 2


@rule("skew-readout-offset")
def _skew_readout(ev):
    if ev.single_pixel:
        return RULED_OUT               # a 1×1 map: no neighbour, no skew
    cell = ev.scan_cell()
    if cell is None:
        return 0
    if _padding_values(ev) or _neighbour_values(ev):
        return 55
    return 1 if cell[1:] == (0, 0) else 0


@rule("tensor-layout")
def _tensor_layout(ev):
    return 200 if ev.layout else RULED_OUT


# --------------------------------------------------------------------------
# layouts, and the ranking
# --------------------------------------------------------------------------

def layout_of(got, want):
    """How ``got`` is ``want`` in another layout of the same shape, as advice; ``""`` when it is not."""
    if got.shape != want.shape or got.ndim < 3 or not np.any(want) or np.allclose(got, want):
        return ""
    close = lambda a: a.shape == got.shape and np.allclose(got, a, rtol=1e-7, atol=1e-10)  # noqa: E731
    if got.ndim == 4:
        N, H, W, C = want.shape
        if C > 1 and close(want.transpose(0, 3, 1, 2).reshape(want.shape)):
            return "looks channels-first: permute(0, 2, 3, 1) before returning it"
    if close(want[:, ::-1, ::-1]):
        return "looks rotated by 180°: a direction's values left in the rotated map (flip both axes back)"
    if want.shape[1] == want.shape[2] and close(np.swapaxes(want, 1, 2)):
        return "looks transposed: H and W swapped (transpose the spatial axes)"
    return ""


def likely_causes(div, problem, arrays, tensors=(), *, dtype="float64", passing=frozenset()):
    """Catalogue entries that fit the divergence, most likely first."""
    ev = Evidence(div, problem, arrays, list(tensors), dtype, set(passing))
    if div.tensor in arrays:
        ev.layout = layout_of(*arrays[div.tensor])
    stages = [div.stage]
    if div.hint:   # earlier stages were not compared: any of them may be wrong
        stages = list(STAGES[:STAGES.index(div.stage) + 1])
    scored = []
    for order, b in enumerate(BUGS):
        rule_of = RULES.get(b.name)
        score = 0 if rule_of is None else rule_of(ev)
        if score is RULED_OUT:
            continue
        if b.stage in stages or score >= FINGERPRINT:
            scored.append((-score, order, b))
    return [b for _, _, b in sorted(scored, key=lambda t: t[:2])]


def hint_for(ev_layout, causes):
    """Advice the evidence gives beyond the ranking, or ``""``."""
    if ev_layout:
        return ev_layout
    if causes and causes[0].name == "float32-cast":
        return "a float32 cast somewhere — or, for a float32 implementation, run with --dtype float32"
    return ""
