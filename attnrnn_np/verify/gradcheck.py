"""The candidate's own gradients against finite differences of the candidate's own forward pass.

No reference is involved: for each input and parameter T of a problem, a
direction V is drawn (fixed by the problem's and the tensor's names), and
the candidate's directional derivative ⟨grad_T, V⟩ of L = Σ A ⊙ dA is
compared with the central difference (L(T + εV) − L(T − εV)) / 2ε of the A
it returns for the perturbed problems, in float64. It checks hand-written
backward passes, and variants of the layer the kit has no reference for.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np

from .compare import TensorResult
from .layout import to_torch_layout

__all__ = ["GRADCHECK_RTOL", "direction", "perturbed", "gradcheck_problem"]

# central differences in float64 with ε = 1e-5 of the tensor's size: truncation ~1e-10 and
# round-off ~1e-11 relative; every bug of the catalogue moves a gradient by far more than 1e-6
GRADCHECK_RTOL = 1e-6
_EPS = 1e-5


def _tensors(problem):
    names = ["X"] + (["q"] if problem.q is not None else [])
    return names + [f"params.{key}" for key in problem.params]


def _get(problem, name):
    if name.startswith("params."):
        return problem.params[name[len("params."):]]
    return getattr(problem, name)


def direction(problem, name):
    """The fixed direction V for tensor ``name`` (``X``, ``q`` or ``params.{key}``), largest entry 1."""
    value = _get(problem, name)
    rng = np.random.default_rng(zlib.crc32(f"{problem.name}/{name}".encode()))
    v = rng.normal(size=value.shape)
    return v / max(np.abs(v).max(), 1e-300)


def step(problem, name):
    return _EPS * max(1.0, float(np.abs(_get(problem, name)).max()))


def perturbed(problem, name, sign):
    """``problem`` with tensor ``name`` moved by ``sign · ε · V`` (the PyTorch layout moved with it)."""
    value = np.asarray(_get(problem, name), dtype=np.float64)
    moved = value + sign * step(problem, name) * direction(problem, name)
    if name.startswith("params."):
        params = dict(problem.params)
        params[name[len("params."):]] = moved
        return replace(problem, params=params, torch_params=to_torch_layout(params))
    return replace(problem, **{name: moved})


def _loss(payload, dA):
    A = payload.get("A")
    if A is None:
        raise ValueError("the candidate returned no A for a perturbed problem")
    return float(np.sum(np.asarray(A, dtype=np.float64) * dA))


def gradcheck_problem(call, problem):
    """``(tensors, message)`` for one problem: one TensorResult per gradient the candidate returned.

    ``call(problem, perturb=None) -> (status, payload)`` runs the candidate
    (``perturb`` is ``{"name": ..., "sign": ±1}``). A gradient the
    candidate does not return is not checked and not listed.
    """
    status, base = call(problem)
    if status != "ok":
        return None, status, base
    grad_of = {"X": "dX", "q": "dq"}
    dA = np.asarray(problem.dA, dtype=np.float64)
    tensors = []
    for name in _tensors(problem):
        key = grad_of.get(name, "grads." + name[len("params."):])
        grad = base.get(key)
        if grad is None:
            continue
        value = _get(problem, name)
        if np.shape(grad) != np.shape(value):
            tensors.append(TensorResult(key, "backward", np.shape(value), False,
                                        note=f"shape {np.shape(grad)} instead of {np.shape(value)}"))
            continue
        losses = []
        for sign in (1, -1):
            s, payload = call(perturbed(problem, name, sign), {"name": name, "sign": sign})
            if s != "ok":
                return None, "error", f"on the problem with {name} perturbed: {payload}"
            losses.append(_loss(payload, dA))
        numeric = (losses[0] - losses[1]) / (2 * step(problem, name))
        analytic = float(np.sum(np.asarray(grad, dtype=np.float64) * direction(problem, name)))
        err = abs(numeric - analytic)
        top = max(abs(numeric), abs(analytic))
        rel = err / top if top > 1e-12 else 0.0
        passed = bool(np.isfinite(err)) and (rel <= GRADCHECK_RTOL or err <= 1e-10)
        tensors.append(TensorResult(key, "backward", np.shape(value), passed, err, rel, int(not passed),
                                    f"⟨grad, V⟩ {analytic:.10g}, finite differences {numeric:.10g}",
                                    str(np.asarray(grad).dtype)))
    return tensors, "ok", ""


def run_gradcheck(call, problems, *, source):
    """A Report of :func:`gradcheck_problem` over ``problems`` (float64)."""
    from .report import ProblemResult, Report

    results = []
    for p in problems:
        p = p.astype("float64")
        try:
            tensors, status, message = gradcheck_problem(call, p)
        except ValueError as err:
            tensors, status, message = None, "error", str(err)
        if tensors is None:
            results.append(ProblemResult(p.name, status, message=message, problem=p))
        elif not tensors:
            results.append(ProblemResult(p.name, "fail", problem=p,
                                         message="the candidate returned no gradient (dX, dq, grads) to check"))
        else:
            ok = all(t.passed for t in tensors)
            results.append(ProblemResult(p.name, "pass" if ok else "fail", tensors, problem=p))
    return Report(f"{source}: its gradients against finite differences of its own forward", "float64", results)


def gradcheck_candidate(candidate, problems=None):
    """Check ``candidate(problem) -> dict``'s gradients against its own forward, in this process.

    Needs ``A`` and the gradients (``dX``, ``dq``, ``grads``) from the
    candidate; returns a Report whose tensors are the gradients checked.
    """
    from .report import _problem_list, call_in_process

    source = getattr(candidate, "__qualname__", None) or type(candidate).__name__
    return run_gradcheck(lambda p, perturb=None: call_in_process(candidate, p), _problem_list(problems),
                         source=source)
