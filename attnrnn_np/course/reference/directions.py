"""The inverse-raster direction (docs/model.md §3.3), through the 180° rotation.

The second direction of AttentionRNN scans from the bottom-right corner. By
definition it is the raster scan, with its own weights, on the map rotated
by 180° (both spatial axes flipped), rotated back::

    h_bwd = rot180( D( rot180(U) ) )        rot180(a)[n,i,j] = a[n, H−1−i, W−1−j]

so in map coordinates a cell reads the hidden states below and to its
right, and the cell state to its right.

Exercise ``inverse_raster``: ``rot180``, ``inverse_raster_forward``,
``inverse_raster_backward`` (built on your raster scan).
"""

from .scan import raster_scan_backward, raster_scan_forward


def rot180(a):
    """Rotate maps by 180°. ``a``: (N, H, W, ...); returns the same shape."""
    # BEGIN SOLUTION inverse_raster: a 180° rotation reverses both spatial axes, rows and columns; NumPy slicing with step −1 does it without a copy
    return a[:, ::-1, ::-1]
    # END SOLUTION


def inverse_raster_forward(U, W_up, W_left):
    """The scan in inverse-raster order, from the bottom-right corner.

    Parameters
    ----------
    U : array (N, H, W, 4K)
        Pre-activations in map coordinates.
    W_up, W_left : array (K, 4K)
        The direction's state-to-state weights (they read "above" and "left"
        in the rotated map: below and right in map coordinates).

    Returns
    -------
    h, c : arrays (N, H, W, K)
        In map coordinates.
    cache : whatever your backward needs
    """
    # BEGIN SOLUTION inverse_raster: rotate U, run your raster_scan_forward, rotate its outputs back; nothing else
    h_rot, c_rot, cache = raster_scan_forward(rot180(U), W_up, W_left)
    return rot180(h_rot), rot180(c_rot), cache
    # END SOLUTION


def inverse_raster_backward(dh, cache):
    """Backward of :func:`inverse_raster_forward`.

    Parameters
    ----------
    dh : array (N, H, W, K)
        In map coordinates.

    Returns
    -------
    dU : array (N, H, W, 4K)
        In map coordinates.
    dW_up, dW_left : array (K, 4K)
    """
    # BEGIN SOLUTION inverse_raster: the rotation is a permutation of the cells, so its backward is the inverse permutation, and rot180 is its own inverse; rotate, run your raster_scan_backward, rotate back
    dU_rot, dW_up, dW_left = raster_scan_backward(rot180(dh), cache)
    return rot180(dU_rot), dW_up, dW_left
    # END SOLUTION
