"""Every hole of the grader, closed: each wrong solution fails on the exercise it breaks (and only there),
each right solution written differently from the reference passes."""

import shutil

import pytest

from attnrnn_np.course.grader import grade
from attnrnn_np.course.workspace import init_workspace


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("template") / "ws"
    init_workspace(folder, with_solutions=True)
    return folder


def edited(template, tmp_path, edits):
    ws = tmp_path / "ws"
    shutil.copytree(template, ws)
    for module, old, new in edits:
        path = ws / "student" / module
        source = path.read_text()
        assert source.count(old) == 1, (module, old)
        path.write_text(source.replace(old, new))
    return ws


# name: (edits, the exercise it breaks, words of the failing message)
WRONG = {
    "float64 zeros on the None path": (
        [("lstm_cell.py", "dh = np.zeros_like(tanh_c)", "dh = np.zeros(tanh_c.shape)")],
        "lstm_cell", "dh = dc = None)] dG has dtype float64 for float32 inputs"),
    "softmax backward changes dA in place": (
        [("softmax.py", "return A * (dA - inner[:, None, None])",
          "dA -= inner[:, None, None]\n    return A * dA")],
        "softmax", "your function spatial_softmax_backward changed its input dA"),
    "softmax shifted by the mean": (
        [("softmax.py", "E = np.exp(S2 - S2.max(axis=1, keepdims=True))",
          "E = np.exp(S2 - S2.mean(axis=1, keepdims=True))")],
        "softmax", "hint: exp overflows"),
    "softmax shifted by the first logit": (
        [("softmax.py", "E = np.exp(S2 - S2.max(axis=1, keepdims=True))", "E = np.exp(S2 - S2[:, :1])")],
        "softmax", "hint: exp overflows"),
    "softmax cache holds the returned mask": (
        [("softmax.py", "return A, SoftmaxCache(A.copy())", "return A, SoftmaxCache(A)")],
        "softmax", "keep a copy of the mask"),
    "cell backward destroys its cache": (
        [("lstm_cell.py", "K = a.shape[-1] // 4", "K = a.shape[-1] // 4\n    a = a.copy()\n    cache.tanh_c[...] = 0")],
        "lstm_cell", "changed its input cache (cache.tanh_c)"),
    "conv backward hands back a buffer it reuses": (
        [("conv.py", "    return col2im(dcols, (N, H, W, C)), dW_x",
          "    dX = col2im(dcols, (N, H, W, C))\n"
          "    buf = _BUF.setdefault(dX.shape + (dX.dtype.str,), np.empty_like(dX))\n"
          "    buf[...] = dX\n    return buf, dW_x\n\n\n_BUF = {}")],
        "conv", "returned changed when you called it again"),
    "col2im right only for k = 3": (
        [("conv.py", "p = (k - 1) // 2\n    dXp = np.zeros", "p = 1\n    dXp = np.zeros")],
        "conv", "col2im is the adjoint of im2col (k=1)"),
    "wavefront returns wrong cell states": (
        [("scan.py", "return hp[:, 1:, 1:], cp[:, 1:, 1:]", "return hp[:, 1:, 1:], 0 * cp[:, 1:, 1:]")],
        "wavefront", "c differs from your raster loop"),
    "an edited given im2col with a consistent col2im": (
        [("conv.py", "cols[:, :, :, a, b, :] = Xp[:, a:a + H, b:b + W, :]",
          "cols[:, :, :, b, a, :] = Xp[:, a:a + H, b:b + W, :]"),
         ("conv.py", "dXp[:, a:a + H, b:b + W, :] += dcols[:, :, :, a, b, :]",
          "dXp[:, a:a + H, b:b + W, :] += dcols[:, :, :, b, a, :]")],
        "conv", "im2col is given"),
    "an edited given cell forward with a consistent backward": (
        [("lstm_cell.py", "c = f * c_prev + i * g", "c = 0.5 * f * c_prev + i * g"),
         ("lstm_cell.py", "dc_prev = dc_tot * f", "dc_prev = 0.5 * dc_tot * f"),
         ("lstm_cell.py", "dG_f = dc_tot * c_prev * f * (1.0 - f)", "dG_f = 0.5 * dc_tot * c_prev * f * (1.0 - f)")],
        "lstm_cell", "lstm_cell_forward are given"),
    "a sigmoid that overflows": (
        [("lstm_cell.py", "return 0.5 * (1.0 + np.tanh(0.5 * x))", "return np.exp(x) / (1.0 + np.exp(x))")],
        "lstm_cell", "is stable for any x"),
    "rot180 only for 4-D arrays": (
        [("directions.py", "return a[:, ::-1, ::-1]", "return a[:, ::-1, ::-1, :]")],
        "inverse_raster", "too many indices for array: array is 3-dimensional"),
    "a cell backward with K = 3 hard-coded": (
        [("lstm_cell.py", "K = a.shape[-1] // 4", "K = 3")],
        "lstm_cell", "[lstm_cell: gradient_G] your code raised ValueError: operands could not be broadcast"),
    "a finite-difference cell backward": (
        [("lstm_cell.py", "    return np.concatenate([dG_i, dG_f, dG_g, dG_o], axis=-1), dc_prev", '''\
    G = _pre(a)
    def loss(G, c_prev):
        h, c, _ = lstm_cell_forward(G, c_prev)
        return (h * dh).sum() + (c * dc).sum()
    out = []
    for x in (G, c_prev.copy()):
        g = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            old = x[k]
            x[k] = old + 1e-6
            plus = loss(*((x, c_prev) if x is G else (G, x)))
            x[k] = old - 1e-6
            minus = loss(*((x, c_prev) if x is G else (G, x)))
            x[k] = old
            g[k] = (plus - minus) / 2e-6
        out.append(g)
    return out[0], out[1]


def _pre(a):
    K = a.shape[-1] // 4
    i, f, g, o = (np.clip(a[..., n * K:(n + 1) * K], 1e-300, 1 - 1e-16) for n in (0, 1, 2, 3))
    g = a[..., 2 * K:3 * K]
    return np.concatenate([np.log(i / (1 - i)), np.log(f / (1 - f)), np.arctanh(g), np.log(o / (1 - o))], axis=-1)''')],
        "lstm_cell", "exact gradients"),
}

RIGHT = {
    "zeros_like on the None path": [("lstm_cell.py", "dh = np.zeros_like(tanh_c)", "dh = 0 * tanh_c")],
    "softmax backward on a copy": [("softmax.py", "return A * (dA - inner[:, None, None])",
                                    "out = dA.copy()\n    out -= inner[:, None, None]\n    return A * out")],
    "softmax by logsumexp": [("softmax.py", "E = np.exp(S2 - S2.max(axis=1, keepdims=True))\n"
                              "    A = (E / E.sum(axis=1, keepdims=True)).reshape(S.shape)",
                              "m = S2.max(axis=1, keepdims=True)\n"
                              "    lse = m + np.log(np.exp(S2 - m).sum(axis=1, keepdims=True))\n"
                              "    A = np.exp(S2 - lse).reshape(S.shape)")],
    "col2im with np.add.at": [("conv.py", "            dXp[:, a:a + H, b:b + W, :] += dcols[:, :, :, a, b, :]",
                               "            np.add.at(dXp, (slice(None), slice(a, a + H), slice(b, b + W)), "
                               "dcols[:, :, :, a, b, :])")],
    "rot180 by np.flip": [("directions.py", "return a[:, ::-1, ::-1]", "return np.flip(np.asarray(a), axis=(1, 2))"),
                          ("directions.py", "from .scan import", "import numpy as np\n\nfrom .scan import")],
    "combiner backward returns a list": [("combiner.py", "return dX, dUp, dV, dc", "return [dX, dUp, dV, dc]")],
    "wavefront calls the cell through its module": [
        ("scan.py", "h_t, c_t, _ = lstm_cell_forward(G, cp[:, i + 1, j])",
         "h_t, c_t, _ = lstm_cell.lstm_cell_forward(G, cp[:, i + 1, j])"),
        ("scan.py", "from .lstm_cell import lstm_cell_backward, lstm_cell_forward",
         "from . import lstm_cell\nfrom .lstm_cell import lstm_cell_backward, lstm_cell_forward")],
}

ALL = ["lstm_cell", "conv", "inverse_raster", "softmax", "combiner", "wavefront"]
USERS = {"lstm_cell.py": ["lstm_cell", "raster_backward", "wavefront"], "conv.py": ["conv"],
         "softmax.py": ["softmax"], "directions.py": ["inverse_raster"], "combiner.py": ["combiner"],
         "scan.py": ["wavefront"]}
DEPENDENTS = {"lstm_cell": {"raster_forward", "raster_backward", "inverse_raster", "wavefront"}}
BLAME = {"a cell backward with K = 3 hard-coded", "an edited given cell forward with a consistent backward"}


@pytest.mark.parametrize("name", list(WRONG))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_wrong_solution_fails_on_the_exercise_it_breaks(template, tmp_path, name):
    edits, exercise, words = WRONG[name]
    ws = edited(template, tmp_path, edits)
    results = grade(ws, ALL if name in BLAME else [exercise], hidden=True, seed=5)
    assert not results[exercise].passed, f"{name} passed {exercise}"
    messages = "\n".join(o.message for o in results[exercise].outcomes.values())
    assert words in messages, messages
    others = [n for n, r in results.items() if n != exercise and not r.passed]
    # the blame lands on the exercise that is wrong; the exercises that run its code may fail with it
    assert set(others) <= DEPENDENTS.get(exercise, set()), (name, others)


@pytest.mark.parametrize("name", list(RIGHT))
def test_a_right_solution_written_differently_passes(template, tmp_path, name):
    ws = edited(template, tmp_path, RIGHT[name])
    results = grade(ws, sorted({e for module, _, _ in RIGHT[name] for e in USERS[module]}), hidden=True, seed=5)
    failed = {f"{n}: {c}": o.message for n, r in results.items() for c, o in r.outcomes.items()
              if o.status != "passed"}
    assert not failed, failed


def test_a_solution_fitted_to_the_public_shapes_fails_only_the_hidden_check(template, tmp_path):
    """The public checks all use N = 2 for conv; a backward that is right only there passes them all."""
    ws = edited(template, tmp_path, [("conv.py", "    cols, W_x = cache.cols, cache.W_x\n",
                                      "    cols, W_x = cache.cols, cache.W_x\n    if dU.shape[0] != 2:\n"
                                      "        return np.zeros(cols.shape[:3] + cols.shape[5:], dU.dtype), "
                                      "np.zeros_like(W_x)\n")])
    public = grade(ws, ["conv"])["conv"]
    assert public.passed
    hidden = grade(ws, ["conv"], hidden=True, seed=5)["conv"]
    assert not hidden.passed
    assert [c for c, o in hidden.outcomes.items() if o.status != "passed"] == ["hidden_cases"]
    assert hidden.outcomes["hidden_cases"].hidden
