"""The reference PyTorch module equals this layer; the PyTorch workflow of docs/verify.md runs as written.

Skipped when torch is missing; nothing in ``import attnrnn_np.verify`` needs it.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attnrnn_np import arnn_backward, arnn_forward
from attnrnn_np.verify import from_torch_layout, problems, to_torch_layout, verify

torch = pytest.importorskip("torch")
from attnrnn_np.verify.torch_reference import AttentionRNN, Direction, module_candidate  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SINGLE = [p for p in problems() if p.scales is None]
TOL = 1e-10


def _make(p):
    d = p.dims
    return AttentionRNN(d["C"], d["K"], Q=d["Q"], k=d["k"], normalize=p.normalize)


class FlipInputARNN(AttentionRNN):
    """The natural PyTorch way: the inverse-raster direction is rot180(LSTM(rot180(X)))."""

    def trace(self, X, q=None):
        out = super().trace(X, q)
        rotated = self.bwd.pre_activations(X.flip(2, 3), q)             # conv on the rotated map
        gates, c, h = self.bwd.scan(rotated)
        out["U.bwd"] = rotated.flip(1, 2)
        out["gates.bwd"], out["c.bwd"], out["h.bwd"] = gates.flip(1, 2), c.flip(1, 2), h.flip(1, 2)
        S = self.head(torch.cat([out["h.fwd"], out["h.bwd"]], dim=-1))[..., 0]
        out["S"] = S
        out["A"] = torch.sigmoid(S) if self.normalize == "sigmoid" else \
            torch.softmax(S.reshape(S.shape[0], -1), dim=1).reshape(S.shape)
        return out


def test_the_state_dict_has_exactly_the_layout_keys():
    for Q in (0, 3):
        m = AttentionRNN(4, 2, Q=Q, k=3)
        ours = from_torch_layout(m.state_dict())
        assert list(m.state_dict()) == list(to_torch_layout(ours))
        assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == \
            {k: v.shape for k, v in to_torch_layout(ours).items()}
    assert isinstance(m.fwd, Direction) and m.fwd.query.weight.shape == (8, 3)


@pytest.mark.parametrize("p", SINGLE, ids=lambda p: p.name)
def test_the_module_equals_this_layer_in_float64(p):
    m = _make(p).double()
    m.load_state_dict({k: torch.tensor(v) for k, v in p.torch_params.items()})
    X = torch.tensor(p.X).permute(0, 3, 1, 2).requires_grad_()
    q = None if p.q is None else torch.tensor(p.q).requires_grad_()
    A_t = m(X, q)
    A_t.backward(torch.tensor(p.dA))
    A, cache = arnn_forward(p.X, p.params, p.q, normalize=p.normalize)
    dX, dq, grads = arnn_backward(p.dA, cache)
    theirs = {"A": A_t.detach().numpy(), "dX": X.grad.permute(0, 2, 3, 1).numpy(),
              **from_torch_layout({n: w.grad for n, w in m.named_parameters()})}
    ours = {"A": A, "dX": dX, **grads}
    if q is not None:
        theirs["dq"], ours["dq"] = q.grad.numpy(), dq
    assert set(theirs) == set(ours)
    for key in ours:
        scale = max(1.0, np.abs(ours[key]).max())
        assert np.abs(theirs[key] - ours[key]).max() <= TOL * scale, key


def test_module_candidate_passes_verify_with_intermediates():
    report = verify(module_candidate(_make))
    assert report.passed, str(report)
    assert [r.status for r in report.results].count("skipped") == 3          # the multi-scale problems
    assert all(len(r.tensors) >= 20 for r in report.results if r.status == "pass")


def test_the_flip_input_convention_needs_the_rotated_kernel_and_k1_hides_it():
    make = lambda p: FlipInputARNN(p.dims["C"], p.dims["K"], Q=p.dims["Q"], k=p.dims["k"],  # noqa: E731
                                   normalize=p.normalize)
    assert verify(module_candidate(make, bwd_flips_input=True), ["k3-q3-sigmoid-4x5", "row-1x6"]).passed
    wrong = verify(module_candidate(make), ["k3-q3-sigmoid-4x5", "k1-q2-sigmoid-3x4", "k1-q0-softmax-4x3"])
    k3, *k1 = wrong.results
    assert k3.status == "fail" and k3.divergence.stage == "U" and k3.divergence.tensor == "U.bwd"
    assert k3.divergence.causes[0].name == "reverse-kernel"
    assert all(r.status == "pass" for r in k1)                               # k = 1: every number agrees


def test_float32_module_passes_at_the_float32_tolerance():
    assert verify(module_candidate(_make), ["k3-q3-sigmoid-4x5", "k3-q0-softmax-5x4"], dtype="float32").passed


def test_the_pytorch_example_of_the_docs_runs(capsys):
    text = (ROOT / "docs" / "verify.md").read_text()
    section = text.split("## The same workflow for a PyTorch module", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "docs/verify.md", "exec"), {})
    assert "AGREES: 9 of 12 problems pass, 3 skipped" in capsys.readouterr().out


def test_importing_the_kit_does_not_import_torch():
    code = "import sys, attnrnn_np.verify, attnrnn_np.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_module_with_its_own_weights_passes_through_from_torch_layout():
    """No weights loaded: the problem is built around the module's state_dict."""
    from attnrnn_np.verify import custom_problem

    torch.manual_seed(0)
    module = AttentionRNN(3, 2, Q=2, k=3, normalize="softmax").double()
    mine = [custom_problem(from_torch_layout(module.state_dict()), H=3, W=5, normalize="softmax", name="mine")]

    def run_module(p):
        X = torch.tensor(p.X).permute(0, 3, 1, 2).requires_grad_()
        q = torch.tensor(p.q).requires_grad_()
        A = module(X, q)
        module.zero_grad()
        A.backward(torch.tensor(p.dA))
        return {"A": A, "dX": X.grad.permute(0, 2, 3, 1), "dq": q.grad,
                "grads": from_torch_layout({n: w.grad for n, w in module.named_parameters()})}

    report = verify(run_module, mine)
    assert report.passed, str(report)
    assert len(report.results[0].tensors) == 3 + len(mine[0].params)
