"""An independent AttentionRNN written with plain loops, and the classic bugs as switches.

The seeded wrong candidates of ``test_verify_seeded.py`` are this one
implementation with one switch on: each switch is named after the
catalogue entry it imitates (``attnrnn_np.verify.catalogue``) and changes
one or two lines, the way the bug looks in real code. With no switch on it
is a correct implementation, written from docs/model.md §3 and §5 pixel by
pixel, sharing no code with the package (no im2col, no scan schedule, no
LSTM cell).

It returns the forward values only, by the names of
``attnrnn_np.verify.trace``; the kit compares whatever a candidate returns.
It is also the tests' one pixel-loop oracle: ``tests/test_golden.py``
checks the package against it on drawn problems (``recurrent=False`` gives
the structure ablation) and pins its values.
"""

from __future__ import annotations

import numpy as np

SWITCHES = ("gate-order", "sigmoid-candidate", "wrong-neighbour-h", "wrong-neighbour-c", "skew-offset",
            "flip-axis", "reverse-flag", "reverse-kernel", "head-halves", "softmax-axis", "forget-bias",
            "query-placement", "combiner-axis", "float32-cast", "bias-after-skew", "skew-readout-offset",
            "kernel-flip", "diagonal-bounds")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _conv(X, W_x):
    """Cross-correlation with zero padding, one output pixel at a time. X (N, H, W, C) -> (N, H, W, F)."""
    N, H, W, _ = X.shape
    k = W_x.shape[0]
    p = (k - 1) // 2
    U = np.zeros((N, H, W, W_x.shape[3]))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for a in range(k):
                    for b in range(k):
                        r, s = i + a - p, j + b - p
                        if 0 <= r < H and 0 <= s < W:
                            U[n, i, j] += X[n, r, s] @ W_x[a, b]
    return U


def _cell(G, K):
    i_g, g_g, o_g = _sigmoid(G[:K]), np.tanh(G[2 * K:3 * K]), _sigmoid(G[3 * K:])
    c = i_g * g_g
    return c, o_g * np.tanh(c)


def _scan(U, W_up, W_left, query_term, bugs, pad_G=None, recurrent=True):
    """One raster-order diagonal LSTM, cell by cell. U (N, H, W, 4K) -> gates, c, h.

    ``pad_G`` (N, 4K): with ``bias-after-skew``, the pre-activation of the
    skew's padding cells (bias and query only), read as the left neighbour
    of every cell of column 0 below row 0.
    """
    N, H, W, K4 = U.shape
    K = K4 // 4
    gates = np.zeros((N, H, W, K4))
    c = np.zeros((N, H, W, K))
    h = np.zeros((N, H, W, K))
    zero = np.zeros(K)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                if "diagonal-bounds" in bugs and (i, j) == (H - 1, W - 1):
                    continue                     # the last diagonal (the corner alone) never computed
                h_up = h[n, i - 1, j] if i > 0 and recurrent else zero
                if "skew-offset" in bugs:        # the skewed map read one column too far left
                    h_up = h[n, i - 1, j - 1] if i > 0 and j > 0 else zero
                h_left = h[n, i, j - 1] if j > 0 and recurrent else zero
                c_left = c[n, i, j - 1] if j > 0 and recurrent else zero
                if "wrong-neighbour-c" in bugs:  # the cell state carried down instead of along the row
                    c_left = c[n, i - 1, j] if i > 0 else zero
                if "bias-after-skew" in bugs and j == 0 and i > 0:
                    c_left, h_left = _cell(pad_G[n], K)   # a padding cell with a state of its own
                if "wrong-neighbour-h" in bugs:
                    h_up, h_left = h_left, h_up
                G = U[n, i, j] + h_up @ W_up + h_left @ W_left
                if "gate-order" in bugs:         # split as f, i, g, o
                    f_in, i_in = G[:K], G[K:2 * K]
                else:
                    i_in, f_in = G[:K], G[K:2 * K]
                g_in, o_in = G[2 * K:3 * K], G[3 * K:]
                ig, fg, og = _sigmoid(i_in), _sigmoid(f_in), _sigmoid(o_in)
                gg = _sigmoid(g_in) if "sigmoid-candidate" in bugs else np.tanh(g_in)
                a = np.concatenate([ig, fg, gg, og])
                if query_term is not None:       # query-placement: added to the activated gates
                    a = a + query_term[n]
                    ig, fg, gg, og = a[:K], a[K:2 * K], a[2 * K:3 * K], a[3 * K:]
                gates[n, i, j] = a
                c[n, i, j] = fg * c_left + ig * gg
                h[n, i, j] = og * np.tanh(c[n, i, j])
    if "skew-readout-offset" in bugs:            # read back one skewed column early: the left cell, or padding
        pad = np.full(K4, 0.5)
        pad[2 * K:3 * K] = 0.0
        gates = np.concatenate([np.broadcast_to(pad, (N, H, 1, K4)), gates[:, :, :-1]], axis=2)
        c = np.concatenate([np.zeros((N, H, 1, K)), c[:, :, :-1]], axis=2)
        h = np.concatenate([np.zeros((N, H, 1, K)), h[:, :, :-1]], axis=2)
    return gates, c, h


def _arnn(X, P, q, prefix, bugs, recurrent=True):
    out = {}
    hs = {}
    K = P[prefix + "fwd.W_x"].shape[3] // 4
    for d in ("fwd", "bwd"):
        W_x, b = P[f"{prefix}{d}.W_x"], P[f"{prefix}{d}.b"].copy()
        if "forget-bias" in bugs:
            b[K:2 * K] = 0.0
        if d == "bwd" and "reverse-kernel" in bugs:
            # flip(LSTM(flip(X))): the convolution runs on the rotated map, kernel as it is
            U = _conv(X[:, ::-1, ::-1], W_x)[:, ::-1, ::-1] + b
        elif "kernel-flip" in bugs:              # a true convolution: the kernel applied rotated
            U = _conv(X, W_x[::-1, ::-1]) + b
        else:
            U = _conv(X, W_x) + b
        pad_G = np.broadcast_to(b, (X.shape[0], b.shape[0])).copy()
        if q is not None:
            pad_G = pad_G + q @ P[f"{prefix}{d}.W_q"]
        query_term = None
        if q is not None:
            qW = q @ P[f"{prefix}{d}.W_q"]                                      # (N, 4K)
            if "query-placement" in bugs:
                query_term = qW
            else:
                U = U + qW[:, None, None, :]
        if d == "fwd":
            flip = lambda a: a  # noqa: E731
        elif "reverse-flag" in bugs:
            flip = lambda a: a  # noqa: E731
        elif "flip-axis" in bugs:
            flip = lambda a: a[:, ::-1]  # noqa: E731
        else:
            flip = lambda a: a[:, ::-1, ::-1]  # noqa: E731
        gates, c, h = _scan(flip(U), P[f"{prefix}{d}.W_up"], P[f"{prefix}{d}.W_left"], query_term, bugs, pad_G,
                            recurrent)
        out[f"U.{d}"] = U
        out[f"gates.{d}"], out[f"c.{d}"], out[f"h.{d}"] = flip(gates), flip(c), flip(h)
        hs[d] = flip(h)
    w = P[prefix + "head.w"]
    w_fwd, w_bwd = (w[K:], w[:K]) if "head-halves" in bugs else (w[:K], w[K:])
    out["S"] = hs["fwd"] @ w_fwd + hs["bwd"] @ w_bwd + P[prefix + "head.b"][0]
    return out


def _softmax(Z, axis):
    E = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def loop_arnn(X, params, q=None, *, normalize, scales=None, bugs=(), recurrent=True):
    """Forward values of the layer (names of ``attnrnn_np.verify.trace``), with the given bugs switched on.

    ``recurrent=False``: no state-to-state term (each cell sees only its
    input-to-state window), the layer's structure ablation.
    """
    unknown = set(bugs) - set(SWITCHES)
    assert not unknown, f"no switch for {unknown}"
    real = np.float32 if "float32-cast" in bugs else np.float64   # every input cast, as torch's default dtype does
    X = np.asarray(X, dtype=real)
    P = {key: np.asarray(v, dtype=real) for key, v in params.items()}
    q = None if q is None else np.asarray(q, dtype=real)
    N, H, W, C = X.shape
    if scales is None:
        out = _arnn(X, P, q, "", bugs, recurrent)
        S = out["S"]
    else:
        out, ups = {}, []
        for g in scales:
            # max over each g×g window, then each coarse logit repeated over its window
            X_g = X.reshape(N, H // g, g, W // g, g, C).max(axis=(2, 4))
            sub = _arnn(X_g, P, q, f"scale{g}.", bugs, recurrent)
            out.update({f"scale{g}.{name}": v for name, v in sub.items()})
            ups.append(np.repeat(np.repeat(sub["S"], g, axis=1), g, axis=2))
        Z = X @ P["comb.V"] + P["comb.c"]                                     # (N, H, W, scales)
        if "combiner-axis" in bugs:               # softmax over the positions instead of the scales
            beta = _softmax(Z.reshape(N, H * W, -1), axis=1).reshape(Z.shape)
        else:
            beta = _softmax(Z, axis=-1)
        out["beta"] = beta
        S = (beta * np.stack(ups, axis=-1)).sum(axis=-1)
        out["S"] = S
    if normalize == "sigmoid":
        out["A"] = _sigmoid(S)
    elif "softmax-axis" in bugs:                  # over each row's W positions only
        out["A"] = _softmax(S, axis=2)
    else:
        out["A"] = _softmax(S.reshape(N, H * W), axis=1).reshape(N, H, W)
    return out


def loop_candidate(*bugs):
    """A candidate for ``attnrnn_np.verify.verify``: the loop implementation with ``bugs`` on."""
    def candidate(problem):
        return loop_arnn(problem.X, problem.params, problem.q, normalize=problem.normalize,
                         scales=problem.scales, bugs=bugs)
    candidate.__qualname__ = "loop_arnn" + (f"[{', '.join(bugs)}]" if bugs else "")
    return candidate
