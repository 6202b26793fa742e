"""What the scan exercises reason with: the forward equations of docs/model.md §3.2, the recurrence at
every cell, the receptive field of §4; independent of the student's code and of the reference's."""

import numpy as np

from ..base import CheckFailure, fail, sequence


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def cell(G, c_prev):
    """The cell's forward equations (§3.2), to test a scan's states against."""
    K = G.shape[-1] // 4
    c = sigmoid(G[..., K:2 * K]) * c_prev + sigmoid(G[..., :K]) * np.tanh(G[..., 2 * K:3 * K])
    return sigmoid(G[..., 3 * K:]) * np.tanh(c), c


def scan_problem(seed, N=2, H=3, W=4, K=2, dtype="float64"):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(N, H, W, 4 * K))
    W_up = rng.normal(0.0, 0.7, size=(K, 4 * K))
    W_left = rng.normal(0.0, 0.7, size=(K, 4 * K))
    return U.astype(dtype), W_up.astype(dtype), W_left.astype(dtype), rng


# The four neighbours a cell could read, in map coordinates, and how to say them.
NEIGHBOURS = {"above": (-1, 0), "below": (1, 0), "left": (0, -1), "right": (0, 1)}
SAY = {"above": "the cell above", "below": "the cell below", "left": "the cell to the left",
       "right": "the cell to the right"}


def state(a, n, i, j):
    """a[n, i, j], or zeros outside the map."""
    H, W = a.shape[1:3]
    return a[n, i, j] if 0 <= i < H and 0 <= j < W else np.zeros(a.shape[-1])


def cell_agrees(U, h, c, W_up, W_left, n, i, j, up, left, c_from):
    """Do the states at (i, j) follow the recurrence with these neighbours?"""
    (ui, uj), (li, lj), (ci, cj) = NEIGHBOURS[up], NEIGHBOURS[left], NEIGHBOURS[c_from]
    G = U[n, i, j] + state(h, n, i + ui, j + uj) @ W_up + state(h, n, i + li, j + lj) @ W_left
    h_want, c_want = cell(G, state(c, n, i + ci, j + cj))
    return np.allclose(h[n, i, j], h_want, rtol=1e-6, atol=1e-9) and \
        np.allclose(c[n, i, j], c_want, rtol=1e-6, atol=1e-9), h_want, c_want


def check_recurrence(where, U, h, c, W_up, W_left, *, up, left, order, hint):
    """Every cell's states follow §3.2 with the given neighbours; else the first wrong cell in scan order."""
    N, H, W = U.shape[:3]
    for i, j in order(H, W):
        for n in range(N):
            ok, h_want, c_want = cell_agrees(U, h, c, W_up, W_left, n, i, j, up, left, left)
            if ok:
                continue
            which = "h" if not np.allclose(h[n, i, j], h_want, rtol=1e-6, atol=1e-9) else "c"
            got, want = (h, h_want) if which == "h" else (c, c_want)
            k = int(np.argmax(np.abs(got[n, i, j] - want)))
            text = (f"cell ({i}, {j}) of sample {n} is the first, in scan order, whose states do not follow "
                    f"§3.2 from your own states of its neighbours: {which}[{n}, {i}, {j}, {k}] = "
                    f"{got[n, i, j, k]:+.6e}, the recurrence gives {want[k]:+.6e}")
            diagnosis = diagnose(U, h, c, W_up, W_left, (up, left))
            raise CheckFailure(f"[{where}] {text}{diagnosis}\n  hint: {hint}")


def diagnose(U, h, c, W_up, W_left, expected):
    """If the states follow the recurrence with other neighbours everywhere, say which."""
    N, H, W = U.shape[:3]
    names = list(NEIGHBOURS)
    for up in names:
        for left in names:
            for c_from in names:
                if (up, left, c_from) == (expected[0], expected[1], expected[1]) or up == left:
                    continue
                if all(cell_agrees(U, h, c, W_up, W_left, n, i, j, up, left, c_from)[0]
                       for n in range(N) for i in range(H) for j in range(W)):
                    return (f".\n  your states do follow the recurrence everywhere if each cell reads "
                            f"h · W_up from {SAY[up]}, h · W_left from {SAY[left]} and c from "
                            f"{SAY[c_from]}; the statement asks for h · W_up from {SAY[expected[0]]}, "
                            f"h · W_left and c from {SAY[expected[1]]}")
    return ""


def raster_order(H, W):
    return [(i, j) for i in range(H) for j in range(W)]


def inverse_order(H, W):
    return [(i, j) for i in reversed(range(H)) for j in reversed(range(W))]


def check_field(where, forward, U, W_up, W_left, *, reaches, hint):
    """Changing U at one cell changes h exactly where docs/model.md §4 says, and in no other sample."""
    N, H, W = U.shape[:3]
    h0 = forward(U, W_up, W_left)[0]
    rng = np.random.default_rng(7)
    for a, b in [(1, 1), (0, W - 2), (H - 1, 0), (H - 2, W - 1)]:
        U2 = U.copy()
        U2[0, a, b] += rng.normal(size=U.shape[-1])
        moved = np.abs(forward(U2, W_up, W_left)[0] - h0).max(axis=-1) > 1e-12   # (N, H, W)
        if moved[1:].any():
            fail(where, f"changing U[0, {a}, {b}] changed the states of sample 1: samples must "
                         "never influence each other", "every array op should keep the sample axis N apart")
        for i in range(H):
            for j in range(W):
                must = reaches(a, b, i, j)
                if moved[0, i, j] != must:
                    verb = "changed" if moved[0, i, j] else "did not change"
                    fail(where, f"changing U[0, {a}, {b}] {verb} h at cell ({i}, {j}); §4 says it "
                                 f"{'must' if must else 'cannot'} reach that cell", hint)


def scan_forward(fn, where, function):
    """A forward scan as a function of (U, W_up, W_left) returning (h, c, cache) as a list."""
    def run(U, W_up, W_left):
        return sequence(where, fn(U, W_up, W_left), ("h", "c", "cache"), function)
    return run


def gate_map(K4):
    """Describe an index (n, i, j, col) of a (N, H, W, 4K) array by cell and gate block."""
    K = K4 // 4

    def describe(idx):
        n, i, j, col = idx[:4]
        return f"sample {n}, cell ({i}, {j}), gate block {'ifgo'[col // K]}, unit {col % K}"
    return describe


def hidden_shapes(rng):
    """(N, H, W, K) for the hidden cases: N > 1, one map taller than wide, one wider than tall, K from 1 to 5."""
    N = int(rng.integers(2, 4))
    H, W = int(rng.integers(3, 6)), int(rng.integers(1, 3))
    return [(N, H, W, int(rng.integers(1, 4))), (1, W, H, int(rng.integers(3, 6))),
            tuple(int(v) for v in rng.integers(1, 5, size=4))]
