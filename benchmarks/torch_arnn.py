"""The AttentionRNN layer of docs/model.md §3 in PyTorch, differentiated by autograd.

An independent implementation of the same function as ``attnrnn_np``, for
two uses: the float64 cross-check in ``tests/test_torch_oracle.py`` and the
CPU baseline in ``benchmarks/bench_arnn.py``. It reads the same parameter
dict (docs/model.md §2 key names and layouts), so one set of weights runs on both,
and shares no code with ``attnrnn_np``.

It is written the way a PyTorch user who cares about speed would write it,
so that the benchmark compares against a fair baseline, not a strawman:

- the input-to-state convolution of both directions is one ``conv2d`` with
  8K output channels (bias fused), the query term one matmul broadcast over the map;
- the diagonal scan uses the wavefront schedule with only the valid cells of
  each anti-diagonal, stored packed (no masked skew); both directions run in
  every step as one ``baddbmm`` of [h_up, h_left] against a stacked
  (2K, 4K) recurrent weight, with U added inside the same call;
- gate columns are reordered once to (i, f, o, g) so each step needs one
  ``sigmoid`` over 3K columns and one ``tanh`` over K;
- the inverse-raster direction's 180° rotation is folded into its gather
  permutation, and the head is applied in packed order, so only one logit
  per cell is scattered back to the map;
- autograd does the backward pass (no hand-written gradients here: that is
  the point of an independent check).

No Python loop runs over cells, only over the H + W − 1 anti-diagonals.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["params_to_torch", "torch_arnn_forward", "torch_arnn_vjp"]

DIRECTIONS = ("fwd", "bwd")


def params_to_torch(params, *, dtype=None, requires_grad=True):
    """Copy a dict of NumPy arrays (docs/model.md §2 keys) into leaf torch tensors."""
    out = {}
    for key, value in params.items():
        t = torch.as_tensor(value).clone()
        if dtype is not None:
            t = t.to(dtype)
        out[key] = t.requires_grad_(requires_grad)
    return out


def _diagonals(H, W):
    """(lo, hi) rows of anti-diagonal t = 0 … H+W−2; cell (i, t − i)."""
    return [(max(0, t - W + 1), min(t, H - 1)) for t in range(H + W - 1)]


def _diagonal_order(H, W):
    """Raster indices of all cells, diagonal by diagonal, and the diagonals' offsets."""
    perm, offsets = [], [0]
    for t, (lo, hi) in enumerate(_diagonals(H, W)):
        perm.extend(i * W + (t - i) for i in range(lo, hi + 1))
        offsets.append(len(perm))
    return perm, offsets


def _ifog(w, K):
    """Reorder the last axis (4K, gates i, f, g, o) to (i, f, o, g)."""
    return torch.cat([w[..., :2 * K], w[..., 3 * K:], w[..., 2 * K:3 * K]], dim=-1)


def torch_arnn_forward(X, params, q=None, *, normalize="sigmoid"):
    """AttentionRNN mask in PyTorch (docs/model.md §3), same function as ``arnn_forward``.

    Parameters
    ----------
    X : tensor (N, H, W, C)
        Channels last, as in ``attnrnn_np``.
    params : dict of tensors
        docs/model.md §2 keys and shapes (``fwd.W_x`` (k, k, C, 4K), …, ``head.b`` (1,)).
    q : tensor (N, Q) or None
    normalize : {"sigmoid", "softmax"}

    Returns
    -------
    A : tensor (N, H, W)

    Notes
    -----
    ::

        U_d = conv(X, d.W_x) + d.b + q·d.W_q
        G = U[i,j] + h[i−1,j]·W_up + h[i,j−1]·W_left;   i, f, o = σ(·), g = tanh(·)
        c = f ⊙ c[i,j−1] + i ⊙ g;   h = o ⊙ tanh(c)
        h_bwd = rot180(D_bwd(rot180(U_bwd)))
        S = h_fwd·head.w[:K] + h_bwd·head.w[K:] + head.b;   A = σ(S) or softmax(S)
    """
    if normalize not in ("sigmoid", "softmax"):
        raise ValueError(f"unknown normalize {normalize!r}")
    N, H, W, C = X.shape
    k, K = params["fwd.W_x"].shape[0], params["fwd.W_x"].shape[3] // 4
    HW = H * W
    has_q = "fwd.W_q" in params
    if has_q != (q is not None):
        raise ValueError("q must be given exactly when the parameters have W_q")

    # Input-to-state for both directions: one conv2d with 8K output channels.
    W_x = torch.cat([_ifog(params[f"{d}.W_x"], K) for d in DIRECTIONS], dim=-1)  # (k, k, C, 8K)
    b = torch.cat([_ifog(params[f"{d}.b"], K) for d in DIRECTIONS])              # (8K,)
    U = F.conv2d(X.permute(0, 3, 1, 2), W_x.permute(3, 2, 0, 1), b, padding=(k - 1) // 2)  # (N, 8K, H, W)
    U = U.permute(0, 2, 3, 1)                                                # (N, H, W, 8K)
    if has_q:
        W_q = torch.cat([_ifog(params[f"{d}.W_q"], K) for d in DIRECTIONS], dim=-1)  # (Q, 8K)
        U = U + (q @ W_q).reshape(N, 1, 1, 8 * K)
    # Pack the cells diagonal by diagonal with one row gather: packed row
    # (d, p, n) is U[n, cell perms[d][p], direction d]. The bwd scan runs on
    # the map rotated by 180°, whose raster index i·W + j is the map's
    # HW − 1 − (i·W + j), so the rotation is folded into its permutation.
    perm_list, offsets = _diagonal_order(H, W)
    perm = torch.tensor(perm_list, device=X.device)
    perms = (perm, HW - 1 - perm)
    n = torch.arange(N, device=X.device)
    rows = torch.stack([(n[None, :] * HW + perms[d][:, None]) * 2 + d for d in range(2)])  # (2, HW, N)
    Up = U.reshape(N * HW * 2, 4 * K).index_select(0, rows.reshape(-1)).reshape(2, HW, N, 4 * K)

    W_rec = torch.stack([torch.cat([_ifog(params[f"{d}.W_up"], K), _ifog(params[f"{d}.W_left"], K)])
                         for d in DIRECTIONS])                               # (2, 2K, 4K)
    # Split, not sliced per step: the backward of a slice would allocate a
    # zero tensor the size of Up at every step; split's backward is one cat.
    U_diag = Up.split([offsets[t + 1] - offsets[t] for t in range(H + W - 1)], dim=1)
    h_prev = c_prev = Up.new_zeros((2, 0, N, K))
    lo_prev, hi_prev = 0, -1
    h_list = []
    for t, (lo, hi) in enumerate(_diagonals(H, W)):
        L = hi - lo + 1
        # The previous diagonal holds rows lo_prev … hi_prev. Padding with
        # zeros (negative amounts crop) aligns it with rows lo−1 … hi−1 (the
        # cells above) and lo … hi (the cells to the left).
        h_up = F.pad(h_prev, (0, 0, 0, 0, lo_prev - lo + 1, hi - 1 - hi_prev))
        h_left = F.pad(h_prev, (0, 0, 0, 0, lo_prev - lo, hi - hi_prev))
        c_left = F.pad(c_prev, (0, 0, 0, 0, lo_prev - lo, hi - hi_prev))
        h_in = torch.cat([h_up, h_left], dim=-1)                             # (2, L, N, 2K)
        G = torch.baddbmm(U_diag[t].reshape(2, L * N, 4 * K),
                          h_in.reshape(2, L * N, 2 * K), W_rec).reshape(2, L, N, 4 * K)
        G_ifo, G_g = G.split([3 * K, K], dim=-1)
        i, f, o = torch.sigmoid(G_ifo).chunk(3, dim=-1)
        g = torch.tanh(G_g)
        c = torch.addcmul(f * c_left, i, g)
        h = o * torch.tanh(c)                                                # (2, L, N, K)
        h_list.append(h)
        h_prev, c_prev, lo_prev, hi_prev = h, c, lo, hi

    # Head in packed order, then scatter one logit per cell back to the map.
    hp_all = torch.cat(h_list, dim=1)                                        # (2, HW, N, K)
    s = torch.bmm(hp_all.reshape(2, HW * N, K), params["head.w"].reshape(2, K, 1)).reshape(2, HW, N)
    inv = [torch.empty_like(p).scatter_(0, p, torch.arange(HW, device=X.device)) for p in perms]
    S = (s[0].index_select(0, inv[0]) + s[1].index_select(0, inv[1]) + params["head.b"])  # (HW, N)
    S = S.t().reshape(N, H, W)
    if normalize == "sigmoid":
        return torch.sigmoid(S)
    return torch.softmax(S.reshape(N, HW), dim=1).reshape(N, H, W)


def torch_arnn_vjp(X, params, q, dA, *, normalize="sigmoid"):
    """Forward and autograd backward from NumPy arrays; returns NumPy ``(A, dX, dq, grads)``.

    ``dq`` is None without a query; ``grads`` has the keys of ``params``.
    """
    Xt = torch.tensor(X, requires_grad=True)
    qt = None if q is None else torch.tensor(q, requires_grad=True)
    pt = params_to_torch(params)
    A = torch_arnn_forward(Xt, pt, qt, normalize=normalize)
    A.backward(torch.as_tensor(dA))
    grads = {key: v.grad.numpy() for key, v in pt.items()}
    dq = None if qt is None else qt.grad.numpy()
    return A.detach().numpy(), Xt.grad.numpy(), dq, grads
