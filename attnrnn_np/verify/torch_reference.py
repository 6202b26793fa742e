"""A reference AttentionRNN in PyTorch, in the layout of ``layout.py``.

Needs torch (``pip install "attnrnn_np[torch]"``); nothing else in the
package imports this module. It is written to be read beside a
researcher's own module, not to be fast: the scan is a plain loop over
cells, vectorised over the batch only, and autograd does the backward pass.
(``benchmarks/torch_arnn.py`` is the fast implementation.)

``AttentionRNN(C, K, Q=0, k=3, normalize="sigmoid")`` has submodules
``fwd`` and ``bwd`` (each ``conv``, ``query`` when Q > 0, ``up``, ``left``)
and ``head``, so its ``state_dict()`` has exactly the keys of
:func:`attnrnn_np.verify.to_torch_layout`. Its ``bwd`` direction follows
docs/model.md §3.3: the convolution runs on the map as it is, and the
recurrence on its output rotated by 180° (so ``bwd_flips_input=False``).

Usage with the verification kit::

    from attnrnn_np.verify import verify
    from attnrnn_np.verify.torch_reference import AttentionRNN, module_candidate

    report = verify(module_candidate(lambda p: AttentionRNN(p.dims["C"], p.dims["K"], Q=p.dims["Q"],
                                                            k=p.dims["k"], normalize=p.normalize)))
"""

from __future__ import annotations

import torch
from torch import nn

from .layout import from_torch_layout, to_torch_layout

__all__ = ["Direction", "AttentionRNN", "module_candidate"]


class Direction(nn.Module):
    """One direction's weights and its raster-order diagonal LSTM.

    Parameters
    ----------
    C, K, Q, k : int
        Input channels, hidden size, query size (0: no ``query``), odd kernel size.
    """

    def __init__(self, C, K, Q=0, k=3):
        super().__init__()
        if k % 2 == 0:
            raise ValueError(f"k must be odd for a 'same' convolution, got {k}")
        self.K = K
        self.conv = nn.Conv2d(C, 4 * K, k, padding=(k - 1) // 2)    # weight (4K, C, k, k), bias (4K,)
        if Q > 0:
            self.query = nn.Linear(Q, 4 * K, bias=False)            # weight (4K, Q)
        self.up = nn.Linear(K, 4 * K, bias=False)                   # weight (4K, K)
        self.left = nn.Linear(K, 4 * K, bias=False)

    def pre_activations(self, X, q=None):
        """U (N, H, W, 4K) from X (N, C, H, W) and q (N, Q): conv + bias + q·W_q (docs/model.md §3.1)."""
        U = self.conv(X).permute(0, 2, 3, 1)                        # (N, H, W, 4K)
        if q is not None:
            U = U + self.query(q)[:, None, None, :]
        return U

    def scan(self, U):
        """Raster-order diagonal LSTM (docs/model.md §3.2) on U (N, H, W, 4K).

        Returns gates (N, H, W, 4K), c and h (N, H, W, K)::

            G = U[i,j] + h[i−1,j]·W_up + h[i,j−1]·W_left
            i, f, o = σ(G_i), σ(G_f), σ(G_o);  g = tanh(G_g)
            c[i,j] = f ⊙ c[i,j−1] + i ⊙ g;     h[i,j] = o ⊙ tanh(c[i,j])
        """
        N, H, W, _ = U.shape
        K = self.K
        zero = U.new_zeros(N, K)
        gates, c, h = ([[None] * W for _ in range(H)] for _ in range(3))   # [i][j] -> (N, ·) per cell
        for i in range(H):
            for j in range(W):
                h_up = h[i - 1][j] if i > 0 else zero
                h_left = h[i][j - 1] if j > 0 else zero
                c_left = c[i][j - 1] if j > 0 else zero
                G = U[:, i, j] + self.up(h_up) + self.left(h_left)
                i_g, f_g, g_g, o_g = G.split(K, dim=1)
                a = torch.cat([torch.sigmoid(i_g), torch.sigmoid(f_g), torch.tanh(g_g), torch.sigmoid(o_g)], dim=1)
                c[i][j] = a[:, K:2 * K] * c_left + a[:, :K] * a[:, 2 * K:3 * K]
                h[i][j] = a[:, 3 * K:] * torch.tanh(c[i][j])
                gates[i][j] = a
        stack = lambda rows: torch.stack([torch.stack(r, dim=1) for r in rows], dim=1)  # noqa: E731
        return stack(gates), stack(c), stack(h)


def _rot180(a):
    """Flip rows and columns of (N, H, W, ...) maps."""
    return a.flip(1, 2)


class AttentionRNN(nn.Module):
    """The single-scale AttentionRNN layer, parameters in the PyTorch layout.

    Parameters
    ----------
    C : int
        Input channels.
    K : int
        Hidden size of each direction.
    Q : int
        Query size (0: no query, no ``query`` submodules).
    k : int
        Odd input-to-state kernel size.
    normalize : {"sigmoid", "softmax"}
        Per-position sigmoid or softmax over the H·W positions of each sample.
    """

    def __init__(self, C, K, Q=0, k=3, normalize="sigmoid"):
        super().__init__()
        if normalize not in ("sigmoid", "softmax"):
            raise ValueError(f"unknown normalize {normalize!r}; expected 'sigmoid' or 'softmax'")
        self.K, self.normalize = K, normalize
        self.fwd = Direction(C, K, Q, k)
        self.bwd = Direction(C, K, Q, k)
        self.head = nn.Linear(2 * K, 1)                             # weight (1, 2K), bias (1,)

    def trace(self, X, q=None):
        """Every intermediate, by the names of :func:`attnrnn_np.verify.trace`.

        Parameters
        ----------
        X : tensor (N, C, H, W)
            Channels first, as ``nn.Conv2d`` takes it.
        q : tensor (N, Q) or None

        Returns
        -------
        dict of tensors
            ``U.d``, ``gates.d`` (N, H, W, 4K), ``c.d``, ``h.d`` (N, H, W, K)
            in map coordinates, channels last; ``S``, ``A`` (N, H, W).
        """
        out = {}
        for d, direction in (("fwd", self.fwd), ("bwd", self.bwd)):
            U = direction.pre_activations(X, q)
            out[f"U.{d}"] = U
            if d == "fwd":
                gates, c, h = direction.scan(U)
            else:   # §3.3: the same scan on the map rotated by 180°, rotated back
                gates, c, h = (_rot180(a) for a in direction.scan(_rot180(U)))
            out[f"gates.{d}"], out[f"c.{d}"], out[f"h.{d}"] = gates, c, h
        S = self.head(torch.cat([out["h.fwd"], out["h.bwd"]], dim=-1))[..., 0]   # (N, H, W)
        out["S"] = S
        if self.normalize == "sigmoid":
            out["A"] = torch.sigmoid(S)
        else:
            N, H, W = S.shape
            out["A"] = torch.softmax(S.reshape(N, H * W), dim=1).reshape(N, H, W)
        return out

    def forward(self, X, q=None):
        """The mask A (N, H, W) of X (N, C, H, W) and q (N, Q) or None."""
        return self.trace(X, q)["A"]


def module_candidate(make_module, *, bwd_flips_input=False, intermediates=True):
    """A candidate for :func:`attnrnn_np.verify.verify` from a PyTorch module.

    Parameters
    ----------
    make_module : callable
        ``make_module(problem) -> nn.Module`` whose ``state_dict()`` has the
        keys of :func:`attnrnn_np.verify.to_torch_layout`, whose
        ``forward(X, q)`` takes X channels first (N, C, H, W) and returns A
        (N, H, W). Multi-scale problems are skipped (the callable is not asked).
    bwd_flips_input : bool
        True for a module whose ``bwd`` direction convolves the rotated map.
    intermediates : bool
        Also compare the module's ``trace(X, q)`` when it has one.

    Returns
    -------
    callable
        ``candidate(problem) -> dict``: loads the problem's parameters, runs
        forward and backward with ``problem.dA``, and returns A, dX (channels
        last), dq, the gradients in this package's names and, if asked, the
        intermediates.
    """
    def candidate(problem):
        if problem.scales is not None:
            return None
        dtype = torch.float64 if problem.X.dtype.name == "float64" else torch.float32
        module = make_module(problem).to(dtype)
        state = to_torch_layout(problem.params, bwd_flips_input=bwd_flips_input)
        module.load_state_dict({key: torch.as_tensor(v) for key, v in state.items()})
        X = torch.tensor(problem.X).permute(0, 3, 1, 2).requires_grad_()      # (N, C, H, W)
        q = None if problem.q is None else torch.tensor(problem.q).requires_grad_()
        if intermediates and hasattr(module, "trace"):
            out = dict(module.trace(X, q))
        else:
            out = {"A": module(X, q)}
        out["A"].backward(torch.tensor(problem.dA))
        grads = {name: p.grad for name, p in module.named_parameters()}
        out["dX"] = X.grad.permute(0, 2, 3, 1)                               # (N, H, W, C)
        if q is not None:
            out["dq"] = q.grad
        out["grads"] = from_torch_layout(grads, bwd_flips_input=bwd_flips_input)
        return out

    candidate.__qualname__ = f"module_candidate({getattr(make_module, '__qualname__', 'make_module')})"
    return candidate
