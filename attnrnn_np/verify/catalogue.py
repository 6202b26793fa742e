"""The catalogue of classic AttentionRNN bugs: one list, three uses.

Each entry is a mistake that real implementations of the layer (or of the
diagonal LSTM it builds on) make, with the stage where it first shows and
what it looks like in code. The same names serve

- the verification kit's seeded wrong candidates and its symptom table
  (``attnrnn_np.verify``: the report's "likely cause" column),
- the course kit's seeded wrong solutions,
- the mutation check of the package's own tests (``benchmarks/mutation.py``),
  whose mutants each name the bug they imitate.

Stages follow the order in which the layer computes (docs/model.md):
``U`` (input-to-state pre-activations with bias and query), ``scan.fwd``
and ``scan.bwd`` (the two directions' gates, cell and hidden states),
``head`` (logits), ``normalize`` (the mask), ``combiner`` (multi-scale
weights β) and ``backward`` (gradients only; every forward value agrees).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STAGES", "Bug", "BUGS", "bug"]

STAGES = ("U", "scan.fwd", "scan.bwd", "head", "normalize", "combiner", "backward")


@dataclass(frozen=True)
class Bug:
    """One classic bug.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"gate-order"``.
    stage : str
        The first stage (one of :data:`STAGES`) whose values differ from a
        correct layer's.
    looks_like : str
        One line: what the mistake looks like in real code.
    symptom : str
        What a comparison stage by stage shows.
    """

    name: str
    stage: str
    looks_like: str
    symptom: str


BUGS = (
    Bug("gate-order", "scan.fwd",
        "the 4K pre-activation split as f, i, g, o (or i, f, o, g) instead of i, f, g, o",
        "U agrees; the gates differ from the very first cell (0, 0) of both directions"),
    Bug("sigmoid-candidate", "scan.fwd",
        "g = sigmoid(G_g) instead of tanh(G_g) for the cell candidate",
        "U agrees; gates block g and every state differ from the first cell, in both directions"),
    Bug("wrong-neighbour-h", "scan.fwd",
        "W_up applied to h[i, j−1] and W_left to h[i−1, j] (taps swapped), or h read from the diagonal",
        "the first cell of row 0 agrees; the first wrong cell is (0, 1) or (1, 0) in scan order"),
    Bug("wrong-neighbour-c", "scan.fwd",
        "c carried from the cell above, c[i−1, j], instead of the cell to the left, c[i, j−1]",
        "gates agree at the first wrong cell but c does not: (0, 1), where row 0 loses its carry "
        "from the left ((1, 0) on a one-column map)"),
    Bug("skew-offset", "scan.fwd",
        "row r of the skewed map shifted by r + 1 (or r − 1), so a cell reads another diagonal's states",
        "the first cell agrees; the first wrong cell is the first one that reads a neighbour"),
    Bug("flip-axis", "scan.bwd",
        "the inverse-raster direction flips one spatial axis (rows or columns) instead of both",
        "the raster direction agrees; scan.bwd differs, from a corner other than the bottom-right"),
    Bug("reverse-flag", "scan.bwd",
        "the second direction runs in raster order too (its reverse flag ignored or flipped twice)",
        "scan.fwd agrees; scan.bwd differs at its first cell, the bottom-right corner"),
    Bug("reverse-kernel", "U",
        "bwd computed as flip(LSTM(flip(X))) with bwd.W_x used as it is, not rotated by 180°",
        "U.bwd differs for k > 1 only: with k = 1 every number agrees"),
    Bug("head-halves", "head",
        "the head reads h_fwd with head.w[K:] and h_bwd with head.w[:K]",
        "every state agrees; the logits S differ"),
    Bug("softmax-axis", "normalize",
        "the spatial softmax taken over one axis (rows or columns) instead of all H·W positions",
        "S agrees; A differs under normalize='softmax' only (invisible to a sigmoid-only test)"),
    Bug("softmax-shift", "normalize",
        "the softmax shifted by the batch-wide maximum instead of each sample's (or position's) own",
        "agrees for moderate logits; A underflows to 0 or NaN when logits lie far apart"),
    Bug("forget-bias", "U",
        "the forget gate's +1 bias dropped, or placed on the input gate",
        "U differs in the f block (or the i block) by exactly 1"),
    Bug("query-placement", "U",
        "q · W_q added after the gate activation (or only to some gates) instead of inside every pre-activation",
        "U differs by q · W_q; without a query (Q = 0) every number agrees"),
    Bug("accumulate-assign", "backward",
        "`=` where `+=` accumulates a gradient (the recurrent weights over diagonals, dh from two cells)",
        "every forward value agrees; some parameter gradients or dX differ"),
    Bug("col2im-offset", "backward",
        "col2im adds each patch gradient one pixel off (offset a − p + 1 instead of a − p)",
        "every forward value agrees; dX differs near the borders first, for k > 1 only"),
    Bug("block-boundary", "backward",
        "a loop over sample blocks slices [start:start + B] wrong at a block's edge",
        "every forward value agrees; dX differs only for batches larger than one block"),
    Bug("pool-tie", "backward",
        "the max-pool gradient goes to the last maximal element of a window (or to every tie)",
        "every forward value agrees; dX differs only where a pooling window has ties"),
    Bug("combiner-axis", "combiner",
        "the combiner's softmax taken over positions instead of over the scales at each position",
        "every scale's logits agree; β and then S differ"),
    Bug("derivative-sign", "backward",
        "a derivative's sign flipped: σ(1 + σ) for σ(1 − σ), 1 + tanh² for 1 − tanh², "
        "a softmax backward's − Σ as +",
        "every forward value agrees; the gradients of everything upstream of that piece differ"),
    Bug("aliased-buffer", "backward",
        "a cache or a result that is a view of a buffer later overwritten (a missing .copy()), "
        "or an output that is its input",
        "the first values agree; the gradients (or the caller's input) change once the buffer is written"),
    Bug("diagonal-bounds", "scan.fwd",
        "the anti-diagonals' row range or walk off by one at a corner: max(0, t − W) for max(0, t − W + 1), "
        "the last diagonal dropped, a negative slice stop that wraps",
        "the first diagonals agree; cells near the right edge or the last corner differ"),
    Bug("init-values", "U",
        "a parameter initialised other than documented: a variance passed as the standard deviation, "
        "N(0, 1) for N(0, 1/fan_in), a bias that should start at 0 does not",
        "every function of given parameters agrees; freshly initialised layers differ (trains worse, silently)"),
    Bug("kernel-flip", "U",
        "the k×k kernel applied flipped (a true convolution instead of the cross-correlation) "
        "or transposed (taps a, b swapped)",
        "U differs for k > 1 only, in both directions; with k = 1 every number agrees"),
    Bug("direction-halves", "U",
        "the [fwd, bwd] halves of a stacked array (the 8K channels of U, their biases or gradients) "
        "swapped or interleaved",
        "U differs from the very first cell (only the gradients differ when the swap is in the backward)"),
    Bug("upsample-block", "combiner",
        "nearest upsampling that tiles the coarse map instead of repeating each value over its γ×γ block, "
        "or whose backward averages each block's gradient instead of summing it",
        "every scale's logits agree; the upsampled logits (or only the coarse scales' gradients) differ"),
    Bug("float32-cast", "U",
        "a float32 cast somewhere in a float64 run: a tensor made with torch's default dtype, a .float(), "
        "an np.float32 buffer",
        "every tensor differs by about 1e-9 to 1e-5 of its size, from U on, or comes back as float32"),
    Bug("inverse-gradient-not-rotated", "backward",
        "the inverse direction run on the rotated map, and its kernel gradient (or its share of dX) not "
        "rotated back by 180°",
        "every forward value and every fwd.* gradient agree; the bwd.* gradients (and dX, for k > 1) differ"),
    Bug("bias-after-skew", "scan.fwd",
        "the bias and q · W_q added to the skewed map, so the skew's padding cells get non-zero states",
        "U agrees; the first wrong cell is (1, 0), the first that reads a padding cell, and column 0 stays wrong"),
    Bug("skew-readout-offset", "scan.fwd",
        "the states read back from the skewed map one column off (or from its padding cells)",
        "the first cell is wrong, with a padding cell's values: gates exactly σ(0) = 0.5 (g exactly 0), c and h "
        "exactly 0, or the values of the neighbouring cell"),
    Bug("tensor-layout", "U",
        "a tensor returned in another layout of the same shape: channels first reshaped, H and W swapped, "
        "or a direction's states left in the rotated map",
        "the tensor's values are right but sit elsewhere: got equals want after a permutation or a rotation"),
)


def bug(name):
    """The :class:`Bug` called ``name``; ``KeyError`` naming the known ones otherwise."""
    for b in BUGS:
        if b.name == name:
            return b
    raise KeyError(f"no bug named {name!r} in the catalogue; known: {', '.join(b.name for b in BUGS)}")
