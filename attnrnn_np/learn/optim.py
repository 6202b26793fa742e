"""Optimisers over a dict of parameters: SGD with momentum, and Adam.

A network's parameters are a flat dict ``{name: array}`` and its backward
pass returns gradients under the same names. An optimiser step updates every
parameter **in place** (``p -= ...``), so any other reference to the same
arrays, a layer object's for instance, sees the new values. The optimiser's
own state (velocities, moment estimates) is a dict per slot keyed by the
parameter names, created as zeros on the parameters' backend and dtype at
the first step.

Each optimiser exists twice: as a pure step function over explicit state
dicts (:func:`sgd_momentum_step`, :func:`adam_step`), which is what the
equations describe, and as a small class that owns that state and can hand
it out as flat arrays for a checkpoint (:meth:`state_dict`) and take it back
(:meth:`load_state_dict`).

Nothing here imports NumPy: the array module comes from the parameters.
"""

from __future__ import annotations

from ..backend import array_module
from ..validate import resolve_xp

__all__ = ["sgd_momentum_step", "adam_step", "SGD", "Adam"]


def _check_params_and_grads(params, grads):
    """Same keys, same shapes, one backend; name whatever disagrees."""
    missing = sorted(set(params) - set(grads))
    extra = sorted(set(grads) - set(params))
    if missing or extra:
        raise KeyError(f"grads must have exactly the keys of params; missing {missing}, unexpected {extra}")
    for key, p in params.items():
        g = grads[key]
        array_module(p, g)
        if g.shape != p.shape:
            raise ValueError(f"grads[{key!r}] has shape {g.shape} but params[{key!r}] has shape {p.shape}")


def _slot(state, params, key):
    if key not in state:
        state[key] = array_module(params[key]).zeros_like(params[key])
    return state[key]


def sgd_momentum_step(params, grads, velocity, *, lr, momentum=0.9):
    """One step of SGD with heavy-ball momentum, in place.

    Parameters
    ----------
    params : dict name -> array
        Updated in place.
    grads : dict name -> array
        Exactly the keys and shapes of ``params``; not modified.
    velocity : dict name -> array
        The momentum buffers v, updated in place; missing entries start at 0.
    lr : float
        η, the learning rate.
    momentum : float
        μ in [0, 1); 0 gives plain SGD.

    Notes
    -----
    For every parameter θ with gradient g (PyTorch's form of momentum)::

        v ← μ · v + g
        θ ← θ − η · v

    With a constant η this is the same trajectory as the form
    v ← μ v − η g, θ ← θ + v.
    """
    _check_params_and_grads(params, grads)
    for key, p in params.items():
        v = _slot(velocity, params, key)
        v *= momentum
        v += grads[key]
        p -= lr * v


def adam_step(params, grads, m, v, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam (Kingma & Ba, 2015, Algorithm 1), in place.

    Parameters
    ----------
    params : dict name -> array
        Updated in place.
    grads : dict name -> array
        Exactly the keys and shapes of ``params``; not modified.
    m, v : dict name -> array
        First and second moment estimates, updated in place; missing entries
        start at 0.
    t : int
        The number of this step, counting from 1 (it sets the bias correction).
    lr : float
        α, the step size.
    beta1, beta2 : float
        Decay rates of the moment estimates, in [0, 1).
    eps : float
        ε, added to the denominator.

    Notes
    -----
    For every parameter θ with gradient g::

        m ← β₁ · m + (1 − β₁) · g
        v ← β₂ · v + (1 − β₂) · g²
        m̂ = m / (1 − β₁ᵗ)          v̂ = v / (1 − β₂ᵗ)
        θ ← θ − α · m̂ / (√v̂ + ε)

    The bias corrections undo the pull of the zero initial moments towards 0
    in the first steps. This is also what ``torch.optim.Adam`` computes.
    """
    _check_params_and_grads(params, grads)
    t = int(t)
    if t < 1:
        raise ValueError(f"the Adam step number t counts from 1, got {t}")
    bias1 = 1.0 - beta1 ** t
    bias2 = 1.0 - beta2 ** t
    for key, p in params.items():
        g = grads[key]
        xp = array_module(p, g)
        m_k = _slot(m, params, key)
        v_k = _slot(v, params, key)
        m_k *= beta1
        m_k += (1.0 - beta1) * g
        v_k *= beta2
        v_k += (1.0 - beta2) * (g * g)
        p -= (lr / bias1) * m_k / (xp.sqrt(v_k / bias2) + eps)


class _Optimizer:
    """What both optimisers share: the step count and the state as flat arrays."""

    slots: tuple = ()

    def state_dict(self):
        """The state as flat arrays, for a checkpoint.

        Returns
        -------
        dict with ``"t"`` (the step count, an int) and ``"{slot}.{param name}"``
        for every buffer. The arrays are the optimiser's own (not copies), on
        the parameters' backend.
        """
        state = {"t": self.t}
        for slot in self.slots:
            for key, arr in getattr(self, slot).items():
                state[f"{slot}.{key}"] = arr
        return state

    def load_state_dict(self, state, xp=None):
        """Restore a state produced by :meth:`state_dict` (e.g. read back from an ``.npz``).

        The arrays are copied onto backend ``xp`` (None: NumPy). A key that
        belongs to no slot of this optimiser, or a missing ``"t"``, raises
        ``KeyError``.
        """
        xp = resolve_xp(xp)
        if "t" not in state:
            raise KeyError(f"{type(self).__name__} state lacks the step count 't'")
        buffers = {slot: {} for slot in self.slots}
        for name, arr in state.items():
            if name == "t":
                continue
            slot, _, key = name.partition(".")
            if slot not in buffers or not key:
                raise KeyError(f"{type(self).__name__} state has no slot for {name!r}; slots are {self.slots}")
            buffers[slot][key] = xp.array(arr)  # a copy: the buffers are updated in place later
        for slot, d in buffers.items():
            setattr(self, slot, d)
        self.t = int(state["t"])


class SGD(_Optimizer):
    """SGD with momentum over a dict of parameters (see :func:`sgd_momentum_step`).

    Parameters
    ----------
    lr : float
        η; may be changed between steps (``opt.lr = ...``).
    momentum : float
        μ in [0, 1).

    Attributes
    ----------
    velocity : dict name -> array
        Momentum buffers, created at the first step.
    t : int
        Steps taken.
    """

    slots = ("velocity",)

    def __init__(self, lr, momentum=0.9):
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.velocity = {}
        self.t = 0

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        sgd_momentum_step(params, grads, self.velocity, lr=self.lr, momentum=self.momentum)
        self.t += 1


class Adam(_Optimizer):
    """Adam over a dict of parameters (see :func:`adam_step`).

    Parameters
    ----------
    lr : float
        α; may be changed between steps (``opt.lr = ...``).
    beta1, beta2 : float
        In [0, 1).
    eps : float
        > 0.

    Attributes
    ----------
    m, v : dict name -> array
        Moment estimates, created at the first step.
    t : int
        Steps taken; the next step is number t + 1.
    """

    slots = ("m", "v")

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {b}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)
        self.m, self.v = {}, {}
        self.t = 0

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        adam_step(params, grads, self.m, self.v, self.t + 1, lr=self.lr,
                  beta1=self.beta1, beta2=self.beta2, eps=self.eps)
        self.t += 1
