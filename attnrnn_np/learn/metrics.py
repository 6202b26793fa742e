"""How well a model answers, and whether it looks at the right digit.

Two numbers per model and split:

* **colour accuracy**: the share of samples whose arg-max logit is the
  queried digit's colour;
* **attention correctness**: the share of the normalised attention mass that
  falls inside the queried digit's box, measured on the attention map's own
  grid, averaged over samples.

How a pixel box maps to the attention grid. The trunk turns a canvas of
P×P pixels into an h×w map; cell (i, j) covers the pixel block of rows
[i·P/h, (i+1)·P/h) and columns [j·P/w, (j+1)·P/w) (for 32×32 → 8×8, a 4×4
block). A box (top, left, bottom, right) with exclusive ends covers rows
[top, bottom) and columns [left, right). **A cell counts as inside when its
pixel block overlaps the box** (shares at least one pixel)::

    inside[i, j] = (i·P/h < bottom) and ((i+1)·P/h > top)
               and (j·P/w < right)  and ((j+1)·P/w > left)

    correctness[n] = Σ_{i,j} A[n,i,j] · inside[n,i,j] / Σ_{i,j} A[n,i,j]

Overlap is generous on purpose: a 12–16 px digit covers 3–5 cells per side
whatever its sub-cell offset, and the cells it only grazes still hold
features computed from its pixels (the trunk's receptive field is larger
than a cell). A uniform mask scores the share of cells the box touches
(0.234 on the MREF test set, 8×8), the baseline to read any number against.

Tasks without a query and with a black canvas (``clutter``, ``recolour``)
measure attention against the digit's **ink** instead of its box: a cell
counts as inside when its pixel block holds at least one ink pixel
(:func:`ink_cells`). The recolour task adds the errors of an edit
(:func:`edit_error_sums`: mean absolute error inside the queried digit's
ink and outside it) and the mask's intersection over union with the ink
(:func:`mask_iou`).

Inputs may live on NumPy or CuPy; results are Python floats (host).
"""

from __future__ import annotations

from ..backend import array_module, to_numpy

__all__ = ["accuracy", "box_cells", "attention_correctness", "attention_inside_mass", "ink_cells",
           "ink_attention_correctness", "mask_iou", "edit_error_sums"]


def accuracy(logits, labels):
    """Share of samples whose arg-max logit is the label.

    Parameters
    ----------
    logits : array (N, M)
    labels : integer array (N,)

    Returns
    -------
    float in [0, 1]
    """
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"logits (N, M) and labels (N,) disagree: {logits.shape}, {labels.shape}")
    if logits.shape[0] == 0:
        raise ValueError("the accuracy of an empty set is undefined (N = 0)")
    return float(to_numpy((logits.argmax(axis=1) == labels).mean()))


def box_cells(box, canvas, grid):
    """Which cells of an attention grid overlap each pixel box.

    Parameters
    ----------
    box : integer array (N, 4)
        (top, left, bottom, right) in pixels, bottom/right exclusive.
    canvas : int or (int, int)
        P, the image's height and width in pixels.
    grid : (int, int)
        (h, w), the attention map's rows and columns; each must divide the
        canvas side.

    Returns
    -------
    inside : bool array (N, h, w)
        True where the cell's pixel block shares at least one pixel with the box.
    """
    xp = array_module(box)
    Ph, Pw = (canvas, canvas) if isinstance(canvas, int) else canvas
    h, w = grid
    if Ph % h or Pw % w:
        raise ValueError(f"the attention grid {h}×{w} must divide the canvas {Ph}×{Pw}")
    sh, sw = Ph // h, Pw // w
    top, left, bottom, right = (box[:, k, None, None] for k in range(4))     # (N, 1, 1) each
    rows = xp.arange(h)[None, :, None]                                       # (1, h, 1)
    cols = xp.arange(w)[None, None, :]                                       # (1, 1, w)
    return (rows * sh < bottom) & ((rows + 1) * sh > top) & (cols * sw < right) & ((cols + 1) * sw > left)


def attention_inside_mass(A, box, canvas):
    """Per sample, the share of the attention mass inside the box's cells.

    Parameters
    ----------
    A : array (N, h, w)
        Non-negative attention mask (any normalisation; it is renormalised).
    box : integer array (N, 4)
    canvas : int or (int, int)

    Returns
    -------
    array (N,) on A's backend
    """
    xp = array_module(A)
    inside = box_cells(xp.asarray(box), canvas, A.shape[1:])
    total = A.sum(axis=(1, 2))
    return (A * inside).sum(axis=(1, 2)) / total


def attention_correctness(A, box, canvas):
    """Mean over samples of :func:`attention_inside_mass` (a float in [0, 1])."""
    if A.shape[0] == 0:
        raise ValueError("the attention correctness of an empty set is undefined (N = 0)")
    return float(to_numpy(attention_inside_mass(A, box, canvas).mean()))


def ink_cells(ink, grid):
    """Which cells of an attention grid hold ink: (N, P, P) bool -> (N, h, w) bool (any pixel of the block)."""
    N, Ph, Pw = ink.shape
    h, w = grid
    if Ph % h or Pw % w:
        raise ValueError(f"the attention grid {h}×{w} must divide the canvas {Ph}×{Pw}")
    return ink.reshape(N, h, Ph // h, w, Pw // w).any(axis=(2, 4))


def ink_attention_correctness(A, ink):
    """Mean over samples of the share of the attention mass on cells holding the digit's ink.

    Parameters
    ----------
    A : array (N, h, w)
        Non-negative mask (renormalised per sample); h, w divide the canvas.
    ink : bool array (N, P, P)

    Returns
    -------
    float in [0, 1]
    """
    xp = array_module(A)
    if A.shape[0] == 0:
        raise ValueError("the attention correctness of an empty set is undefined (N = 0)")
    cells = ink_cells(xp.asarray(ink), A.shape[1:])
    return float(to_numpy(((A * cells).sum(axis=(1, 2)) / A.sum(axis=(1, 2))).mean()))


def mask_iou(A, ink, threshold=0.5):
    """Mean over samples of ``|{A > threshold} ∩ ink| / |{A > threshold} ∪ ink|`` (A and ink both (N, P, P)).

    A sample whose union is empty (no ink, nothing selected) counts as 1.
    """
    xp = array_module(A)
    if A.shape != ink.shape:
        raise ValueError(f"mask {A.shape} and ink {ink.shape} differ in shape")
    sel, ink = A > threshold, xp.asarray(ink, dtype=bool)
    inter = (sel & ink).sum(axis=(1, 2))
    union = (sel | ink).sum(axis=(1, 2))
    return float(to_numpy(xp.where(union > 0, inter / xp.maximum(union, 1), 1.0).mean()))


def edit_error_sums(Y, Z, ink):
    """Absolute errors of an edit, summed inside and outside the queried digit's ink.

    Parameters
    ----------
    Y, Z : arrays (N, P, P, 3)
        Output and target images.
    ink : bool array (N, P, P)

    Returns
    -------
    (sum inside, entries inside, sum outside, entries outside) as Python
    numbers; the edit error is sum / entries inside (a mean absolute error
    per channel value, in intensity units of [0, 1]), the preservation
    error the same outside. Sums let batches be pooled exactly.
    """
    xp = array_module(Y, Z)
    err = xp.abs(Y - Z).sum(axis=-1)                                         # (N, P, P)
    inside = xp.asarray(ink, dtype=bool)
    channels = Y.shape[-1]
    n_in = int(to_numpy(inside.sum()))
    return (float(to_numpy((err * inside).sum())), n_in * channels,
            float(to_numpy((err * ~inside).sum())), (inside.size - n_in) * channels)
