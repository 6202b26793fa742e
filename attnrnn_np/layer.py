"""A thin stateful wrapper around the pure functions: parameters plus gradients."""

from __future__ import annotations

from .arnn import arnn_backward, arnn_dims, arnn_forward, init_arnn_params
from .backend import array_module

__all__ = ["AttentionRNN"]


class AttentionRNN:
    """Holds one ARNN's parameters and their gradients.

    ``forward`` keeps the cache of the last call; ``backward`` **accumulates**
    into ``self.grads`` (as PyTorch's ``.grad`` does), so gradients of several
    backward calls add up until :meth:`zero_grad`. The pure functions
    :func:`~attnrnn_np.arnn_forward` / :func:`~attnrnn_np.arnn_backward` do
    the math; this class only stores.

    Parameters
    ----------
    in_channels, hidden, query_dim, kernel_size, seed, dtype, xp
        As in :func:`~attnrnn_np.init_arnn_params`.
    normalize : {"sigmoid", "softmax"}
    recurrent : bool
        False gives the "independent" ablation (no state-to-state recurrence).
    params : dict, optional
        Use these arrays instead of drawing new ones (they are not copied).
    """

    def __init__(self, in_channels, hidden, *, query_dim=0, kernel_size=3, seed=0,
                 dtype="float64", xp=None, normalize="sigmoid", recurrent=True, params=None):
        if params is None:
            params = init_arnn_params(in_channels, hidden, query_dim=query_dim,
                                      kernel_size=kernel_size, seed=seed, dtype=dtype, xp=xp)
        arnn_dims(params)  # names a missing key, a non-array or a wrong shape now, not at the first forward
        self.params = params
        self.normalize = normalize
        self.recurrent = recurrent
        self.grads = {}
        self.zero_grad()
        self._cache = None

    def zero_grad(self):
        """Set every gradient to zero (arrays of the parameters' shapes)."""
        xp = array_module(*self.params.values())
        self.grads = {key: xp.zeros_like(value) for key, value in self.params.items()}

    def forward(self, X, q=None):
        """Mask A (N, H, W) of X (N, H, W, C); keeps the cache for :meth:`backward`."""
        A, self._cache = arnn_forward(X, self.params, q, normalize=self.normalize,
                                      recurrent=self.recurrent)
        return A

    __call__ = forward

    def backward(self, dA):
        """Add the parameter gradients to ``self.grads``; return ``(dX, dq)``."""
        if self._cache is None:
            raise RuntimeError("backward called before forward")
        dX, dq, grads = arnn_backward(dA, self._cache)
        for key, grad in grads.items():
            self.grads[key] += grad
        return dX, dq
