"""Training one network on one task: Adam, evaluation, progress bar, safe checkpoints.

A run is fixed by a :class:`TrainConfig` (task, model, sizes, seed, steps,
learning rate, batch size, dtype) and is reproducible from it: the same
configuration gives the same numbers, and a run resumed from a checkpoint
continues bit for bit as if it had never stopped.

What decides the numbers:

* the network is :func:`attnrnn_np.learn.models.init_model` with ``seed``;
* the data are :func:`attnrnn_np.learn.tasks.load_task` with ``data_seed``;
* the batch order comes from one ``numpy.random.Generator`` seeded with
  ``seed``: each epoch draws a permutation of the training set and batches
  are consecutive slices of it (the last partial batch of an epoch is
  dropped);
* each step is one Adam step on the mean softmax cross-entropy.

Evaluation (test accuracy and attention correctness, :mod:`attnrnn_np.learn.metrics`)
runs after every epoch and at the last step; it draws no random numbers, so
it never changes the training trajectory.

Checkpoints are ``.npz`` files read back with ``allow_pickle=False``. One
holds the format version (:data:`FORMAT`), the configuration as a JSON
string, the step counter, the parameters (``param.<name>``), Adam's moments
and step count (``opt.<slot>.<name>``, ``opt.t``), the batch generator's
state (JSON) with the current epoch's permutation, and the evaluation
history. They are written to a temporary file in the same folder and moved
into place with ``os.replace``, so a reader (or a crash, or Ctrl-C) never
sees a half-written checkpoint: the previous one stays until the new one is
complete.

This module is the learning stack's edge: it touches files and the host
directly with NumPy.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from ..backend import get_xp, to_numpy
from .objectives import evaluate_split, headline, init_network, network_config, recipe, step_loss, task_kind
from .optim import Adam
from .run_lock import LOCK_NAME, RunLockedError, run_lock
from .safe_npz import NpzError, load_npz, save_npz_atomic
from .tasks import TaskData, load_task, resolve_cache_dir

__all__ = ["FORMAT", "TrainConfig", "CheckpointError", "NonFiniteLossError", "TrainResult",
           "RunState", "fresh_state", "train", "evaluate", "save_checkpoint", "load_checkpoint", "model_config",
           "blas_threads", "environment", "check_environment", "run_lock", "RunLockedError",
           "CheckpointWriteError", "LOCK_NAME"]

FORMAT = 1  # bump when the checkpoint layout changes

# Fields that may differ between a checkpoint and the run resuming it: none of
# them changes the trajectory of the steps already taken.
_RESUMABLE = ("steps", "backend", "eval_every")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that fixes a training run.

    Parameters
    ----------
    task : one of :data:`attnrnn_np.learn.tasks.TASKS`
    model : one of :func:`attnrnn_np.learn.objectives.models_for` the task
    steps : int or None
        Adam steps in total (a resumed run continues up to this number).
    batch_size : int or None
    lr : float or None
        Adam's step size α (β₁ = 0.9, β₂ = 0.999, ε = 1e-8).
    seed : int
        Network initialisation and batch order.
    data_seed : int
        Seed of the generated images (see :func:`attnrnn_np.learn.tasks.load_task`).
    n_train, n_test : int
    hidden : int
        K of the ARNN, D of the local attentions.
    kernel_size : int
        The ARNN's input-to-state kernel k.
    scales : tuple of int
        ``arnn-ms`` only.
    dtype : "float32" or "float64"
    backend : "numpy", "cupy" or "strict"
        "strict" is the test backend :mod:`attnrnn_np.testing.strict` (CuPy's
        rules on the CPU; import that module first).
    eval_every : int or None
        Steps between evaluations; None: once per epoch (n_train // batch_size).
    recon_weight : float or None
        recolour only: λ, the weight of the editor's reconstruction term
        (:mod:`attnrnn_np.learn.editing`); 0 on the other tasks.

    ``steps``, ``batch_size``, ``lr`` and ``recon_weight`` left at None take
    the task's :func:`~attnrnn_np.learn.objectives.recipe` (2000 steps of 64
    at lr 3e-3 on the query and categorisation tasks; recolour's in
    docs/learning.md §9); the configuration holds the resolved numbers.
    """

    task: str = "mref"
    model: str = "arnn"
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    data_seed: int = 0
    n_train: int = 20000
    n_test: int = 2000
    hidden: int = 16
    kernel_size: int = 1
    scales: tuple = (1, 2)
    dtype: str = "float32"
    backend: str = "numpy"
    eval_every: int | None = None
    recon_weight: float | None = None

    def __post_init__(self):
        for name in ("task", "model", "dtype", "backend"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string, got {getattr(self, name)!r}")
        defaults = recipe(self.task)
        for name in defaults._fields:
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(defaults, name))
        if self.recon_weight and task_kind(self.task) != "edit":
            raise ValueError(f"recon_weight applies to the recolour task only, got {self.recon_weight} "
                             f"for {self.task}")
        if isinstance(self.scales, (str, bytes)) or not all(_is_int(g) for g in self.scales):
            raise TypeError(f"scales must be a sequence of integers, got {self.scales!r}")
        object.__setattr__(self, "scales", tuple(int(g) for g in self.scales))
        for name, lowest in (("steps", 1), ("batch_size", 1), ("n_train", 1), ("n_test", 1), ("seed", 0),
                             ("data_seed", 0), ("hidden", 1), ("kernel_size", 1)):
            value = getattr(self, name)
            if not _is_int(value):
                raise TypeError(f"{name} must be an integer, got {value!r}")
            if value < lowest:
                raise ValueError(f"{name} must be >= {lowest}, got {value}")
        if self.eval_every is not None and not (_is_int(self.eval_every) and self.eval_every >= 1):
            raise ValueError(f"eval_every must be None or an integer >= 1, got {self.eval_every!r}")
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size {self.batch_size} exceeds the training set ({self.n_train})")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not (math.isfinite(self.lr)
                                                                                   and self.lr > 0):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.backend not in ("numpy", "cupy", "strict"):
            raise ValueError(f"backend must be numpy, cupy or strict (the test backend), got {self.backend!r}")
        model_config(self)  # validates the model's fields (recolour's recon_weight included)
        object.__setattr__(self, "recon_weight", float(self.recon_weight))

    @property
    def steps_per_epoch(self):
        return self.n_train // self.batch_size

    def to_json(self):
        d = asdict(self)
        d["scales"] = list(self.scales)
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        d = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise CheckpointError(f"the checkpoint's configuration has unknown fields {unknown}")
        d.setdefault("recon_weight", 0.0)  # a configuration without the field trained without the term
        return cls(**d)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def model_config(config: TrainConfig):
    """The network of a run: a :class:`~attnrnn_np.learn.models.ModelConfig` or, for recolour, an
    :class:`~attnrnn_np.learn.editing.EditConfig` (:func:`attnrnn_np.learn.objectives.network_config`)."""
    return network_config(config.task, config.model, hidden=config.hidden, kernel_size=config.kernel_size,
                          scales=config.scales, recon_weight=config.recon_weight)


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that belongs to another run."""


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message names the step."""


@dataclass
class RunState:
    """What a checkpoint stores, live."""

    config: TrainConfig
    params: dict          # name -> array on the run's backend
    optimizer: Adam
    step: int             # steps completed
    rng: np.random.Generator
    order: np.ndarray     # permutation of the current epoch, int64 (n_train,)
    history: list         # evaluation records (dicts)
    environment: dict | None = None  # what :func:`environment` recorded in the checkpoint read back


class TrainResult(NamedTuple):
    state: RunState
    accuracy: float | None      # None for recolour, which has no labels to get right
    attention_correctness: float
    seconds: float        # wall time of this call's steps and evaluations (data loading excluded)
    checkpoint: Path | None
    metrics: dict | None = None  # the task's final metrics by name (attnrnn_np.learn.objectives.METRICS)


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(path, state: RunState):
    """Write ``state`` to ``path`` atomically (temporary file in the same folder, then ``os.replace``)."""
    path = Path(path)
    arrays = {
        "format": np.array(FORMAT),
        "config": np.array(state.config.to_json()),
        "step": np.array(state.step, dtype=np.int64),
        "rng": np.array(json.dumps(state.rng.bit_generator.state)),
        "order": state.order,
        "history": np.array(json.dumps(state.history)),
        "environment": np.array(json.dumps(environment(state.config), sort_keys=True)),
    }
    arrays.update({f"param.{k}": to_numpy(v) for k, v in state.params.items()})
    for k, v in state.optimizer.state_dict().items():
        arrays[f"opt.{k}"] = np.array(v, dtype=np.int64) if k == "t" else to_numpy(v)
    return save_npz_atomic(path, arrays)


def environment(config: TrainConfig):
    """What the numbers depend on beyond the configuration: the backend and BLAS's thread count.

    The thread count is the one NumPy's BLAS uses now (threadpoolctl's
    report; None when threadpoolctl is missing): a GEMM split over another number of
    threads sums in another order, so a resumed run must use the same count
    to continue bit for bit.
    """
    threads = None
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        own = [p for p in blas if "numpy" in str(p.get("filepath", ""))]  # NumPy's BLAS does the training's GEMMs
        counts = sorted({int(p["num_threads"]) for p in (own or blas)})
        threads = counts[0] if len(counts) == 1 else (counts or None)
    return {"backend": config.backend, "blas_threads": threads}


def check_environment(path, recorded, config: TrainConfig, *, accept=False):
    """Refuse to resume ``path`` where :func:`environment` differs from ``recorded`` (unless ``accept``)."""
    if accept or not recorded:
        return
    now = environment(config)
    differ = [k for k in sorted(set(recorded) | set(now)) if recorded.get(k) != now.get(k)]
    if differ:
        detail = ", ".join(f"{k}: checkpoint {recorded.get(k)!r} vs now {now.get(k)!r}" for k in differ)
        raise CheckpointError(f"checkpoint {path} was written with another environment ({detail}); the resumed "
                              f"run would not continue bit for bit (use the same settings, or "
                              f"--accept-environment to continue anyway)")


def load_checkpoint(path, *, expect: TrainConfig | None = None, xp=None):
    """Read a checkpoint back into a :class:`RunState`.

    Parameters
    ----------
    path : path
    expect : TrainConfig or None
        When given, the checkpoint must have been written by a run of this
        configuration (fields in ``steps``, ``backend``, ``eval_every`` may
        differ); otherwise :class:`CheckpointError` names the fields that differ.
    xp : module or None
        Backend to put the parameters and optimiser state on (None: NumPy).

    Raises
    ------
    CheckpointError
        Missing, truncated or corrupt file; another format version; a
        configuration that differs from ``expect``; missing or mis-shaped
        arrays.
    """
    path = Path(path)
    xp = np if xp is None else xp
    try:
        data = load_npz(path)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except (OSError, NpzError) as err:
        raise CheckpointError(f"checkpoint {path} cannot be read: {err}") from err
    for key in ("format", "config", "step", "rng", "order", "history", "opt.t"):
        if key not in data:
            raise CheckpointError(f"checkpoint {path} lacks {key!r}; it is not an attnrnn-np training checkpoint")
    if int(data["format"]) != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {int(data['format'])}, this version reads {FORMAT}")
    try:
        config = TrainConfig.from_json(str(data["config"]))
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"checkpoint {path} has an invalid configuration: {err}") from err
    if expect is not None:
        differ = [f.name for f in fields(TrainConfig)
                  if f.name not in _RESUMABLE and getattr(config, f.name) != getattr(expect, f.name)]
        if differ:
            detail = ", ".join(f"{k}: checkpoint {getattr(config, k)!r} vs run {getattr(expect, k)!r}" for k in differ)
            raise CheckpointError(f"checkpoint {path} belongs to another run ({detail})")
        config = replace(config, **{k: getattr(expect, k) for k in _RESUMABLE})
    reference = init_network(model_config(config), seed=config.seed, dtype=config.dtype)  # shapes to check against
    params = {}
    for key, ref in reference.items():
        arr = data.get(f"param.{key}")
        if arr is None or arr.shape != ref.shape or arr.dtype != ref.dtype:
            got = None if arr is None else f"{arr.dtype}{arr.shape}"
            raise CheckpointError(f"checkpoint {path}: parameter {key!r} is {got}, expected {ref.dtype}{ref.shape}")
        params[key] = xp.array(arr)
    extra = sorted(k for k in data if k.startswith("param.") and k[len("param."):] not in reference)
    if extra:
        raise CheckpointError(f"checkpoint {path} is corrupt: parameters {extra} belong to no layer of this model")
    opt = Adam(lr=config.lr)
    opt_state = {k[len("opt."):]: v for k, v in data.items() if k.startswith("opt.")}
    expected = {f"{slot}.{key}" for slot in opt.slots for key in reference}
    missing = sorted(expected - set(opt_state) - {"t"})
    unknown = sorted(set(opt_state) - expected - {"t"})
    if missing or unknown:
        raise CheckpointError(f"checkpoint {path} is corrupt: optimiser state "
                              + (f"lacks {['opt.' + k for k in missing]}" if missing else "")
                              + (" and " if missing and unknown else "")
                              + (f"has unknown {['opt.' + k for k in unknown]}" if unknown else ""))
    for name in sorted(expected):
        ref = reference[name.split(".", 1)[1]]
        arr = opt_state[name]
        if arr.shape != ref.shape or arr.dtype != ref.dtype:
            raise CheckpointError(f"checkpoint {path} is corrupt: optimiser slot 'opt.{name}' is "
                                  f"{arr.dtype}{arr.shape}, expected {ref.dtype}{ref.shape}")
    step = data["step"]
    if step.shape != () or step.dtype.kind not in "iu" or int(step) < 0:
        raise CheckpointError(f"checkpoint {path} is corrupt: step is {step.dtype}{step.shape}")
    step = int(step)
    if data["opt.t"].shape != () or int(data["opt.t"]) != step:
        raise CheckpointError(f"checkpoint {path} is corrupt: the optimiser counted {data['opt.t']} steps, "
                              f"the run {step}")
    try:
        history = json.loads(str(data["history"]))
        environment_record = json.loads(str(data["environment"])) if "environment" in data else {}
    except ValueError as err:
        raise CheckpointError(f"checkpoint {path} is corrupt: {err}") from err
    if not isinstance(history, list) or not all(isinstance(r, dict) and _is_int(r.get("step")) for r in history):
        raise CheckpointError(f"checkpoint {path} is corrupt: the evaluation history is not a list of records")
    steps_seen = [r["step"] for r in history]
    if steps_seen != sorted(set(steps_seen)) or (steps_seen and steps_seen[-1] > step):
        raise CheckpointError(f"checkpoint {path} is corrupt: the history's steps {steps_seen} do not fit "
                              f"step {step}")
    opt_state["t"] = int(opt_state["t"])
    try:
        opt.load_state_dict(opt_state, xp=xp)
    except KeyError as err:
        raise CheckpointError(f"checkpoint {path}: optimiser state is invalid ({err})") from err
    rng = np.random.default_rng()
    try:
        rng.bit_generator.state = json.loads(str(data["rng"]))
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"checkpoint {path}: the generator state is invalid ({err})") from err
    order = data["order"]
    if order.shape != (config.n_train,) or order.dtype.kind not in "iu":
        raise CheckpointError(f"checkpoint {path}: batch order has {order.dtype}{order.shape}, "
                              f"expected int ({config.n_train},)")
    return RunState(config, params, opt, step, rng, order.astype(np.int64), history, environment_record)


# --------------------------------------------------------------------------- evaluation

def evaluate(params, config: TrainConfig, split, *, batch_size=500, xp=None):
    """The task's metrics of a network on a split (:func:`attnrnn_np.learn.objectives.evaluate_split`).

    Returns
    -------
    dict with the task's metrics (floats: ``accuracy`` and ``attention_correctness``, or for recolour
    ``edit_error``, ``preservation_error``, ``mask_iou``, ``attention_correctness``) and ``n``.
    """
    return evaluate_split(params, model_config(config), split, dtype=config.dtype, batch_size=batch_size, xp=xp)


# --------------------------------------------------------------------------- training

def fresh_state(config: TrainConfig, xp=None):
    """The state of a run before its first step."""
    xp = np if xp is None else xp
    params = init_network(model_config(config), seed=config.seed, dtype=config.dtype, xp=xp)
    rng = np.random.default_rng([config.seed, 1])  # the network's init uses seed alone; keep the streams apart
    return RunState(config, params, Adam(lr=config.lr), 0, rng,
                    rng.permutation(config.n_train), [])


@contextlib.contextmanager
def blas_threads(n):
    """Limit BLAS to ``n`` threads inside the block (None: leave it alone).

    On this project's 2-core, shared machine one thread per process was
    measured faster for the small GEMMs of a training step than two (see
    docs/learning.md).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn depends on it, so it is normally there
        if n is not None:
            import warnings

            warnings.warn("threadpoolctl is not installed: BLAS keeps its default thread count", stacklevel=3)
        n = None
    if n is None:
        yield
        return
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the message names the path and the checkpoint that is kept."""


def train(config: TrainConfig, *, data: TaskData | None = None, out=None, resume=None,
          checkpoint_every=250, progress=True, callback: Callable | None = None, cache_dir="default",
          log=print, accept_environment=False):
    """Train one network; evaluate each epoch; checkpoint to ``out/checkpoint.npz``.

    Parameters
    ----------
    config : TrainConfig
    data : TaskData or None
        The task's splits; None loads them with :func:`attnrnn_np.learn.tasks.load_task`
        (``config.task``, sizes, ``data_seed``), cached in ``cache_dir``.
    out : path or None
        Folder of ``checkpoint.npz`` (None: no checkpoints).
    resume : path or None
        A checkpoint of this configuration to continue from.
    checkpoint_every : int
        Steps between checkpoints; one is also written after the last step.
    progress : bool
        Show a tqdm progress bar.
    callback : callable or None
        ``callback(state)`` after every completed step (tests use it to
        interrupt a run).
    cache_dir : path, None or "default"
        Task cache folder ("default": :func:`attnrnn_np.learn.tasks.default_cache_dir`).
    log : callable
        Where messages go.
    accept_environment : bool
        Resume even where the checkpoint's :func:`environment` (backend, BLAS
        threads) differs from this process's; otherwise that refuses with
        :class:`CheckpointError`.

    The folder ``out`` is locked for the whole run (:func:`run_lock`).

    Returns
    -------
    TrainResult

    Raises
    ------
    NonFiniteLossError
        The loss became NaN or infinite; the message names the step. The last
        checkpoint (if any) is kept.
    CheckpointError
        ``resume`` is corrupt, belongs to another configuration or another
        environment.
    RunLockedError
        Another running process trains into ``out``.
    CheckpointWriteError
        A checkpoint could not be written (a full disk); the previous one is
        intact and named in the message.
    KeyboardInterrupt
        Re-raised after a message; the last complete checkpoint is kept.
    """
    if out is None:
        return _train(config, data, None, resume, checkpoint_every, progress, callback, cache_dir, log,
                      accept_environment)
    with run_lock(out):
        return _train(config, data, out, resume, checkpoint_every, progress, callback, cache_dir, log,
                      accept_environment)


def _train(config, data, out, resume, checkpoint_every, progress, callback, cache_dir, log, accept_environment):
    xp = get_xp(config.backend)
    if resume is not None:  # checked before the data are generated
        state = load_checkpoint(resume, expect=config, xp=xp)
        check_environment(resume, state.environment, config, accept=accept_environment)
    if data is None:
        data = load_task(config.task, n_train=config.n_train, n_test=config.n_test, seed=config.data_seed,
                         cache_dir=resolve_cache_dir(cache_dir))
    if len(data.train) != config.n_train or len(data.test) != config.n_test:
        raise ValueError(f"data has {len(data.train)}/{len(data.test)} train/test images, "
                         f"the configuration says {config.n_train}/{config.n_test}")
    if resume is None:
        state = fresh_state(config, xp)
    ckpt = Path(out) / "checkpoint.npz" if out is not None else None
    mconfig = model_config(config)
    eval_every = config.eval_every or config.steps_per_epoch
    spe = config.steps_per_epoch
    B = config.batch_size

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, initial=state.step, desc=f"{config.model} on {config.task}",
                   unit="step", dynamic_ncols=True)
    t0 = time.perf_counter()
    last_saved = state.step if resume is not None else None
    try:
        while state.step < config.steps:
            slot = state.step % spe
            if slot == 0 and state.step > 0:
                state.order = state.rng.permutation(config.n_train)
            b = data.train.batch(state.order[slot * B:(slot + 1) * B], xp=xp, dtype=config.dtype)
            loss, grads_of = step_loss(state.params, b, mconfig)
            loss = float(to_numpy(loss))
            if not math.isfinite(loss):
                kept = f"the last checkpoint (step {last_saved}) is kept" if last_saved is not None else \
                    "no checkpoint was written"
                raise NonFiniteLossError(f"the loss is {loss} at step {state.step + 1} of {config.model} on "
                                         f"{config.task} (lr {config.lr}); {kept}")
            grads = grads_of()
            state.optimizer.step(state.params, grads)
            state.step += 1
            if bar is not None:
                bar.update(1)
                if state.step % 10 == 0:
                    bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if state.step % eval_every == 0 or state.step == config.steps:
                record = {"step": state.step, "loss": loss, **evaluate(state.params, config, data.test, xp=xp)}
                state.history.append(record)
                if bar is not None:
                    bar.set_postfix_str(f"loss {loss:.3f}; {headline(record)}")
                else:
                    log(f"step {state.step}: loss {loss:.4f}, test {headline(record)}")
            if ckpt is not None and (state.step % checkpoint_every == 0 or state.step == config.steps):
                try:
                    save_checkpoint(ckpt, state)
                except OSError as err:
                    kept = f"the last checkpoint, step {last_saved}, is intact" if last_saved is not None else \
                        "no checkpoint was written"
                    raise CheckpointWriteError(f"cannot write {ckpt} at step {state.step}: "
                                                          f"{err.strerror or err}; {kept}") from err
                last_saved = state.step
            if callback is not None:
                callback(state)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None
        where = f"the checkpoint of step {last_saved} in {ckpt} is kept" if last_saved is not None else \
            "no checkpoint was written"
        log(f"interrupted after step {state.step}; {where}"
            + (f" (continue with --resume {ckpt})" if last_saved is not None else ""))
        raise
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    final = state.history[-1] if state.history and state.history[-1]["step"] == state.step else \
        evaluate(state.params, config, data.test, xp=xp)
    metrics = {k: v for k, v in final.items() if k not in ("step", "loss", "n")}
    return TrainResult(state, final.get("accuracy"), final["attention_correctness"], seconds, ckpt, metrics)
