"""A thin stateful wrapper around the pure functions: parameters plus gradients.

The boundary rule (docs/contributing.md): the constructor checks its
arguments once (sizes, flags, ``normalize``, the parameters and their
agreement with the sizes given); ``forward`` and ``backward`` are the public
functions :func:`~attnrnn_np.arnn_forward` / :func:`~attnrnn_np.arnn_backward`,
which check their inputs once more, as every public call does.
"""

from __future__ import annotations

from .arnn import arnn_backward, arnn_dims, arnn_forward, init_arnn_params
from .backend import array_module
from .normalize import check_normalize
from .validate import check_flag, check_size

__all__ = ["AttentionRNN"]


class _Default(int):
    """A default size: equal to its value, but told apart from the same number passed explicitly."""


_QUERY_DIM, _KERNEL_SIZE = _Default(0), _Default(3)


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
        The sizes read from their shapes must agree with ``in_channels``
        and ``hidden`` (``None``: whatever the params say) and with
        ``query_dim`` and ``kernel_size`` when those are given.

    Raises
    ------
    TypeError, ValueError, KeyError
        At construction: a size that is not an integer or too small, a flag
        that is not a bool, an unknown ``normalize``, params that are not a
        valid ARNN or that contradict the sizes given.
    """

    def __init__(self, in_channels, hidden, *, query_dim=_QUERY_DIM, kernel_size=_KERNEL_SIZE, seed=0,
                 dtype="float64", xp=None, normalize="sigmoid", recurrent=True, params=None):
        check_normalize(normalize)
        check_flag(recurrent, "recurrent")
        if params is None:
            params = init_arnn_params(in_channels, hidden, query_dim=query_dim,
                                      kernel_size=kernel_size, seed=seed, dtype=dtype, xp=xp)
        dims = arnn_dims(params)  # names a missing key, a non-array or a wrong shape now, not at the first forward
        given = (("in_channels", in_channels, dims.C, 1), ("hidden", hidden, dims.K, 1),
                 ("query_dim", query_dim, dims.Q, 0), ("kernel_size", kernel_size, dims.k, 1))
        for name, value, read, lo in given:
            if value is not None and not isinstance(value, _Default) and check_size(value, name, lo) != read:
                raise ValueError(f"{name}={value} contradicts the params, whose shapes give {name}={read}; "
                                 f"pass {name}={read} (or None) with these params")
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
