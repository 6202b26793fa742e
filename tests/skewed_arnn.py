"""A PixelRNN-style AttentionRNN in NumPy, the way most people first write it, for the layout tests.

Channels first inside (N, C, H, W); one fused input-to-state convolution
for both directions (8K output channels, bias and query added before the
skew); the map skewed so that every anti-diagonal is one column; a
``Conv1d(K, 4K, 2)`` over the previous column for the state-to-state term,
its rows padded at the start, so tap 0 multiplies the cell above and tap 1
the cell to the left; the padding cells of the skew kept at zero state; the
inverse direction as rot180 → scan → rot180 on its input-to-state term; a
1×1 convolution as the head. It reads the tensors of
``pixelrnn_layout()`` and shares no code with the package.

``bugs``: ``"bias-after-skew"`` adds bias and query to the skewed map and
lets the padding cells keep their states; ``"skew-readout-offset"`` reads
the states back one skewed column early.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _fused_conv(X, weight):
    """X (N, C, H, W), weight (8K, C, k, k): the cross-correlation with zero padding, (N, 8K, H, W)."""
    N, C, H, W = X.shape
    k = weight.shape[2]
    p = (k - 1) // 2
    Xp = np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, weight.shape[0], H, W))
    for a in range(k):
        for b in range(k):
            out += np.einsum("nchw,oc->nohw", Xp[:, :, a:a + H, b:b + W], weight[:, :, a, b])
    return out


def _scan_skewed(U, extra, taps, bugs):
    """One raster scan on the skewed map. U (N, 4K, H, W) -> gates (N, 4K, H, W), c, h (N, K, H, W)."""
    N, K4, H, W = U.shape
    K = K4 // 4
    S = W + H - 1
    real = np.zeros((H, S), dtype=bool)
    skewed = np.zeros((N, K4, H, S))
    for i in range(H):
        skewed[:, :, i, i:i + W] = U[:, :, i]
        real[i, i:i + W] = True
    if "bias-after-skew" in bugs:
        skewed = skewed + extra[:, :, None, None]          # padding cells get the bias and query too
    else:
        skewed[:, :, real] += extra[:, :, None]
    g_s, c_s, h_s = np.zeros((N, K4, H, S)), np.zeros((N, K, H, S)), np.zeros((N, K, H, S))
    for s in range(S):
        h_prev = h_s[:, :, :, s - 1] if s > 0 else np.zeros((N, K, H))
        c_prev = c_s[:, :, :, s - 1] if s > 0 else np.zeros((N, K, H))
        padded = np.concatenate([np.zeros((N, K, 1)), h_prev], axis=2)        # rows padded at the start
        G = skewed[:, :, :, s] + (np.einsum("ok,nkh->noh", taps[:, :, 0], padded[:, :, :H])
                                  + np.einsum("ok,nkh->noh", taps[:, :, 1], padded[:, :, 1:]))
        i_g, f_g = _sigmoid(G[:, :K]), _sigmoid(G[:, K:2 * K])
        g_g, o_g = np.tanh(G[:, 2 * K:3 * K]), _sigmoid(G[:, 3 * K:])
        c = f_g * c_prev + i_g * g_g
        h = o_g * np.tanh(c)
        if "bias-after-skew" not in bugs:                 # the padding cells keep a zero state
            keep = real[:, s][None, None, :]
            c, h = c * keep, h * keep
        g_s[:, :, :, s] = np.concatenate([i_g, f_g, g_g, o_g], axis=1)
        c_s[:, :, :, s], h_s[:, :, :, s] = c, h
    off = 1 if "skew-readout-offset" in bugs else 0
    gates, c, h = np.zeros((N, K4, H, W)), np.zeros((N, K, H, W)), np.zeros((N, K, H, W))
    for i in range(H):
        cols = slice(i - off, i - off + W) if i - off >= 0 else None
        if cols is None:       # row 0 read one column early: the first column is a padding cell (σ(0), 0)
            gates[:, :, i, 1:], c[:, :, i, 1:], h[:, :, i, 1:] = g_s[:, :, i, :W - 1], c_s[:, :, i, :W - 1], \
                h_s[:, :, i, :W - 1]
            gates[:, :K, i, 0] = gates[:, K:2 * K, i, 0] = gates[:, 3 * K:, i, 0] = 0.5
        else:
            gates[:, :, i], c[:, :, i], h[:, :, i] = g_s[:, :, i, cols], c_s[:, :, i, cols], h_s[:, :, i, cols]
    return gates, c, h


def skewed_arnn(X, tensors, q=None, *, normalize, bugs=()):
    """Forward values by the names of ``attnrnn_np.verify.trace`` (channels last), from pixelrnn_layout tensors."""
    Xc = np.asarray(X, dtype=np.float64).transpose(0, 3, 1, 2)
    N = Xc.shape[0]
    K4 = tensors["fwd.s2s.weight"].shape[0]
    U_both = _fused_conv(Xc, tensors["i2s.weight"])                  # (N, 8K, H, W), no bias yet
    extra = np.broadcast_to(tensors["i2s.bias"], (N, 2 * K4)).copy()
    if q is not None:
        extra = extra + q @ tensors["query.weight"].T
    out, hs = {}, {}
    for idx, d in enumerate(("fwd", "bwd")):
        U = U_both[:, idx * K4:(idx + 1) * K4]
        e = extra[:, idx * K4:(idx + 1) * K4]
        flip = (lambda a: a) if d == "fwd" else (lambda a: a[:, :, ::-1, ::-1])
        gates, c, h = _scan_skewed(flip(U), e, tensors[f"{d}.s2s.weight"], bugs)
        last = lambda a: a.transpose(0, 2, 3, 1)  # noqa: E731
        out[f"U.{d}"] = last(U + e[:, :, None, None])
        out[f"gates.{d}"], out[f"c.{d}"], out[f"h.{d}"] = last(flip(gates)), last(flip(c)), last(flip(h))
        hs[d] = flip(h)
    both = np.concatenate([hs["fwd"], hs["bwd"]], axis=1)              # (N, 2K, H, W)
    S = np.einsum("nchw,c->nhw", both, tensors["head.weight"][0, :, 0, 0]) + tensors["head.bias"][0]
    out["S"] = S
    if normalize == "sigmoid":
        out["A"] = _sigmoid(S)
    else:
        Z = S.reshape(N, -1)
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        out["A"] = (E / E.sum(axis=1, keepdims=True)).reshape(S.shape)
    return out
