"""Training: an optax optimiser (by default Adam with cosine decay) on the mean squared
error of accelerations.

The steps of an epoch run inside one jitted `lax.scan`; batches are drawn inside the scan,
either uniformly with replacement from a fixed `Dataset` held on the device, or afresh from
a stream (`numeric/stream.py`: new states and new noise for every batch, the reference's
set-up), whose state is carried through the scan and saved with the checkpoint. Epoch `e`
uses the key
`jax.random.fold_in(key, e)`, so a run resumed from its checkpoint after epoch `e` gives
bit-identical parameters to an uninterrupted one. With several devices the batch is split
across them (data parallel, parameters replicated); see docs/TRAINING.md.
"""

import functools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import Array, PRNGKeyArray, PyTree

from ..errors import CheckFailed, ConfigError, RunFolderError, format_problems
from ..files import atomic_write
from ..run_folder import BEST
from .averaging import averaged_parameters, tail_average
from .checkpoint import (
    CHECKPOINT,
    Checkpoint,
    append_loss,
    load_checkpoint,
    read_info,
    read_losses,
    read_settings,
    save_checkpoint,
    truncate_losses,
)
from .epoch_line import EpochLine
from .losses import AbstractLoss
from .network import LagrangianNetwork
from .resume import extension_ignored, settings_problems
from .source import AbstractBatches, AbstractSource

__all__ = ["TrainResult", "TrainingDivergedError", "make_optimizer", "train"]

# The default optimiser's learning rates: the reference's (Mueller 2023).
_LEARNING_RATE = 1e-3
_FINAL_LEARNING_RATE = 1e-5
# Folded into an epoch's key for a stream's noise ("nois"), apart from the batches' keys.
_NOISE = 0x6E6F6973


class TrainingDivergedError(CheckFailed, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left untouched.

    **Attributes:** `epoch` (1-based, the epoch that diverged), `step` (the global step of
    the first non-finite loss), `checkpoint` (the folder of the last good checkpoint, or
    `None`).
    """

    def __init__(self, message: str, *, epoch: int, step: int, checkpoint: Path | None):
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.checkpoint = checkpoint


class TrainResult(NamedTuple):
    """What `train` returns: the trained `model` and the mean loss of every epoch (`losses`,
    a NumPy array in the model's dtype, including epochs done before a resume)."""

    model: LagrangianNetwork
    losses: np.ndarray


@functools.lru_cache(maxsize=16)
def make_optimizer(
    learning_rate: float,
    final_learning_rate: float,
    total_steps: int,
    *,
    eps: float = 1e-8,
    average_from: int | None = None,
) -> optax.GradientTransformation:
    """Adam whose learning rate decays along a cosine from `learning_rate` to
    `final_learning_rate` over `total_steps` steps (the reference's schedule); `eps` is
    Adam's epsilon (optax's default; the reference's Keras Adam has 1e-7). With
    `average_from`, its state also holds the mean of the parameters from that step on
    ([`tail_average`][]), which `train` returns as the model.

    Cached: the same settings give the same optimiser, so compiled epochs are reused.
    """
    schedule = optax.cosine_decay_schedule(
        learning_rate, max(total_steps, 1), alpha=final_learning_rate / learning_rate
    )
    adam = optax.adam(schedule, eps=eps)
    return adam if average_from is None else tail_average(adam, average_from)


def _check_arguments(sizes: dict, rates: dict) -> None:
    # Bad arguments are bad input, reported as such: never left to show up as a NaN loss
    # that would then be blamed on divergence.
    problems = [
        f"{name} must be a positive integer, got {value!r}"
        for name, value in sizes.items()
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1
    ] + [
        f"{name} must be a finite number > 0, got {value!r}"
        for name, value in rates.items()
        if value is not None and (isinstance(value, bool) or not isinstance(
            value, int | float | np.floating) or not math.isfinite(value) or value <= 0)
    ]
    if problems:
        raise ConfigError(problems, what="training argument(s)")


def _epoch_lengths(epochs: int | None, steps: int | None, steps_per_epoch: int) -> list[int]:
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of `epochs` and `steps` (total optimiser steps)")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    total = steps if steps is not None else epochs * steps_per_epoch
    if total < 1:
        raise ValueError(f"need at least one step, got epochs={epochs}, steps={steps}")
    full, rest = divmod(total, steps_per_epoch)
    return [steps_per_epoch] * full + ([rest] if rest else [])


def _key_data(key: PRNGKeyArray) -> np.ndarray:
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key)


def _loss(params: PyTree, static: PyTree, objective, *batch: Array) -> Array:
    # `objective`: the loss's `objective(source)`, e.g. `AccelerationLoss` on
    # (q, qdot, qddot) or a `PositionLoss` bound to the data's dt on position windows.
    return objective(eqx.combine(params, static), *batch)


@eqx.filter_jit
def _run_epoch(params, opt_state, source, source_state, key, *, static, optimizer, batch_size,
               n_steps, sharding, objective):  # fmt: skip
    # Module-level and jitted on its static arguments (model skeleton, cached optimiser,
    # sizes), so that later calls with the same settings, a resume say, skip compilation.
    # filter_jit rather than jax.jit also makes eqx.error_if messages readable.
    def step(carry, xs):
        params, opt_state, source_state = carry
        k, noise = xs
        source_state, batch = source.sample_clean(source_state, k, batch_size)
        if noise is not None:
            batch = [x + e for x, e in zip(batch, noise, strict=True)]
        # Materialise the batch once: otherwise XLA may fuse a stream's sampling into every
        # consumer and compute it several times.
        batch = jax.lax.optimization_barrier(batch)
        # The batch axis is split across the mesh; XLA inserts the gradient all-reduce.
        batch = [jax.lax.with_sharding_constraint(x, sharding) for x in batch]
        loss, grads = jax.value_and_grad(_loss)(params, static, objective, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        project = getattr(objective, "project", None)  # e.g. PositionLoss: the scale
        if project is not None:
            params = eqx.filter(project(eqx.combine(params, static), *batch), eqx.is_inexact_array)
        return (params, opt_state, source_state), loss

    keys = jax.random.split(key, n_steps)
    noise = None
    if source.noise:
        # A stream's noise for the whole epoch in one draw (fresh for every batch): cheaper
        # than a random call inside each step.
        batch = jax.eval_shape(lambda: source.sample_clean(source_state, keys[0], batch_size))[1]
        noise_key = jax.random.fold_in(key, _NOISE)
        shape = (n_steps, len(batch), *batch[0].shape)
        noise = source.noise * jax.random.normal(noise_key, shape, batch[0].dtype)
    out = jax.lax.scan(step, (params, opt_state, source_state), (keys, noise))
    # Replicated results: every process holds them whole (see _host).
    replicated = NamedSharding(sharding.mesh, PartitionSpec())
    (params, opt_state, source_state), losses = jax.lax.with_sharding_constraint(out, replicated)
    return params, opt_state, source_state, losses


def _host(x):
    # The full value of a replicated array as NumPy, also when it spans several processes
    # (then it is not fully addressable, but each process holds a whole copy).
    return np.asarray(x if x.is_fully_addressable else x.addressable_data(0))


def _mesh(devices: Sequence[jax.Device] | None, batch_size: int) -> Mesh:
    devices = list(jax.devices() if devices is None else devices)
    if batch_size % len(devices):
        raise ConfigError(
            f"batch_size={batch_size} must be a multiple of the number of devices "
            f"({len(devices)}) for data-parallel training; change batch_size or pass `devices=`",
            what="training argument(s)",
        )
    return Mesh(np.array(devices), ("batch",))


def _source(data: AbstractSource, loss: AbstractLoss | None) -> tuple[AbstractSource, AbstractLoss]:
    # Validation of the user's input, with what to pass instead.
    if not isinstance(data, AbstractSource):
        raise TypeError(
            "expected a Dataset (trajectory_data, load_data), a stream (trajectory_stream, "
            f"state_stream) or PositionData (position_data, load_data), got {type(data)}"
        )
    loss = data.default_loss() if loss is None else loss
    if not isinstance(loss, AbstractLoss):
        raise TypeError(f"loss must be a loss such as AccelerationLoss() or "
                        f"PositionLoss(steps=4), got {type(loss).__name__}")  # fmt: skip
    return data, loss


class _Loop(NamedTuple):
    # Everything a training loop needs besides the evolving state.
    model: LagrangianNetwork  # the starting point (rescaled for position data)
    run_epoch: Callable
    optimizer: optax.GradientTransformation
    replicated: NamedSharding
    source: AbstractBatches
    static: PyTree
    lengths: list[int]
    key: PRNGKeyArray
    folder: Path | None
    settings: dict
    checkpoint_every: int
    validate: Callable | None = None  # model -> validation loss; None without validation


def _optimizer(
    optimizer: optax.GradientTransformation | None,
    learning_rate: float | None,
    final_learning_rate: float | None,
    total_steps: int,
) -> tuple[optax.GradientTransformation, dict]:
    # Returns the optimiser and what a resume must match about it. The default's entries are
    # the ones checkpoints have always recorded, so older checkpoints still resume.
    if optimizer is None:
        rate = _LEARNING_RATE if learning_rate is None else learning_rate
        final = _FINAL_LEARNING_RATE if final_learning_rate is None else final_learning_rate
        settings = {"learning_rate": rate, "final_learning_rate": final}
        return make_optimizer(rate, final, total_steps), settings
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            "optimizer must be an optax.GradientTransformation such as optax.adam(1e-3), or "
            f"None for the default cosine-decayed Adam; got {type(optimizer).__name__}"
        )
    rates = {"learning_rate": learning_rate, "final_learning_rate": final_learning_rate}
    given = [name for name, value in rates.items() if value is not None]
    if given:
        raise ValueError(
            f"the default optimiser's {' and '.join(given)} cannot be combined with "
            "optimizer=; leave them out and set the learning rate inside the optax optimiser, "
            "e.g. optax.adam(optax.cosine_decay_schedule(1e-3, steps))"
        )
    # An optax optimiser cannot be compared with the saved one; the state's structure is
    # checked when the checkpoint is read.
    return optimizer, {"optimizer": "custom"}


def _prepare(model, data, key, *, epochs, steps, steps_per_epoch, batch_size, learning_rate,
             final_learning_rate, optimizer, checkpoint_dir, checkpoint_every,
             devices, loss=None, resume=False, schedule_steps=None,
             validation=None) -> _Loop:  # fmt: skip
    _check_arguments(
        {"batch_size": batch_size, "steps_per_epoch": steps_per_epoch,
         "checkpoint_every": checkpoint_every},
        {"learning_rate": learning_rate, "final_learning_rate": final_learning_rate},
    )  # fmt: skip
    lengths = _epoch_lengths(epochs, steps, steps_per_epoch)
    schedule = sum(lengths) if schedule_steps is None else schedule_steps
    optimizer, optimizer_settings = _optimizer(
        optimizer, learning_rate, final_learning_rate, schedule
    )
    mesh = _mesh(devices, batch_size)
    replicated = NamedSharding(mesh, PartitionSpec())
    static = eqx.filter(model, eqx.is_inexact_array, inverse=True)
    data, loss = _source(data, loss)
    # The data follow the model: float64 training needs a float64 model (and x64 enabled).
    data = data.astype(model.dtype)
    # A model driven in time also sees each sample's time (`AbstractSource.timed`).
    source = data.timed() if model.explicit_time else loss.batches(data)
    data.check_coordinates(model.module)
    run_epoch = functools.partial(
        _run_epoch, static=static, optimizer=optimizer, batch_size=batch_size,
        sharding=NamedSharding(mesh, PartitionSpec("batch")), objective=loss.objective(data),
    )  # fmt: skip
    # What a resume must match.
    settings = {
        "epochs": len(lengths), "steps": sum(lengths), "steps_per_epoch": steps_per_epoch,
        "batch_size": batch_size, **optimizer_settings, "dtype": str(model.dtype),
    }  # fmt: skip
    # (Fixed data and the acceleration loss add nothing: the entries checkpoints always had.)
    if schedule != sum(lengths):  # an extended run (older checkpoints have no entry)
        settings["schedule_steps"] = schedule
    for name, entry in (("data", data.settings()), ("loss", loss.settings(data))):
        if entry is not None:
            settings[name] = entry
    model = loss.prepare(model, data, resume=resume)
    arrays, rest = eqx.partition(source, eqx.is_array)  # (a sampler may be a function)
    source = eqx.combine(jax.device_put(arrays, replicated), rest)
    folder = None if checkpoint_dir is None else Path(checkpoint_dir)
    validate = None if validation is None else _validator(validation, loss, model)
    return _Loop(model, run_epoch, optimizer, replicated, source, static, lengths, key, folder,
                 settings, checkpoint_every, validate)  # fmt: skip


#: The validation loss is the loss on one fixed draw of this many batch rows (or windows).
VALIDATION_SAMPLES = 1024


def _validator(validation: AbstractSource, loss: AbstractLoss, model) -> Callable:
    # model -> the loss on one fixed draw of the validation data (the same every epoch).
    data, loss = _source(validation, loss)
    data = data.astype(model.dtype)
    batches = data.timed() if model.explicit_time else loss.batches(data)
    n = min(VALIDATION_SAMPLES, data.size() or VALIDATION_SAMPLES)
    _, batch = batches.sample_clean(batches.init(n), jax.random.key(0), n)
    objective = loss.objective(data)
    return eqx.filter_jit(lambda m, batch: objective(m, *batch)), batch


def _start(loop: _Loop, model: LagrangianNetwork, resume: bool, batch_size: int):
    # Returns (params, opt_state, source state, epochs done, steps done, losses so far).
    params = eqx.filter(model, eqx.is_inexact_array)
    opt_state = loop.optimizer.init(params)
    source_state = loop.source.init(batch_size)
    folder = loop.folder
    if folder is not None and _writes():
        folder.mkdir(parents=True, exist_ok=True)
    if folder is None or not (folder / CHECKPOINT).exists():
        if folder is not None and _writes():
            truncate_losses(folder, 0)
        state = (params, opt_state, source_state)
        return *jax.device_put(state, loop.replicated), 0, 0, []
    if not resume:
        raise FileExistsError(
            f"{str(folder)!r} already holds a checkpoint; pass resume=True to continue it, "
            "or choose another checkpoint folder"
        )
    saved = _load_for_resume(loop, model, opt_state, source_state)
    if _writes():
        truncate_losses(folder, saved.epoch)
    state = (eqx.filter(saved.model, eqx.is_inexact_array), saved.opt_state, saved.extra)
    losses = list(read_losses(folder))
    return *jax.device_put(state, loop.replicated), saved.epoch, saved.step, losses


def _load_for_resume(
    loop: _Loop, model: LagrangianNetwork, opt_state: PyTree, source_state: PyTree
) -> Checkpoint:
    # Settings first: a different optimiser also makes the saved arrays unreadable, and
    # naming the setting is the more useful message.
    # Also the names only the checkpoint has: the optimiser entries differ in kind.
    saved_settings = read_settings(loop.folder)
    problems = settings_problems(saved_settings, loop.settings,
                                 ignore=extension_ignored(saved_settings, loop.settings))
    saved = None if problems else load_checkpoint(loop.folder, model, opt_state, source_state)
    if saved is not None and not np.array_equal(saved.key_data, _key_data(loop.key)):
        problems.append("the random key differs from the one the run started with")
    if problems:
        raise RunFolderError(format_problems(f"cannot resume from {str(loop.folder)!r}",
                                             problems))  # fmt: skip
    return saved


def _diverged(step_losses: np.ndarray, epoch: int, step: int, folder: Path | None):
    first = int(np.argmin(np.isfinite(step_losses)))
    kept = (
        f"the last good checkpoint is kept in {str(folder)!r}"
        if folder is not None and (folder / CHECKPOINT).exists()
        else "no checkpoint was written"
    )
    return TrainingDivergedError(
        f"training diverged: the loss is {step_losses[first]} at step {step + first + 1} "
        f"(epoch {epoch}); {kept}. Lower the learning rate, check the data for NaN or "
        "extreme values, or look for states where d2L/dqdot2 is singular "
        "(`model.count_ill_conditioned`)",
        epoch=epoch,
        step=step + first + 1,
        checkpoint=folder,
    )


def train(
    model: LagrangianNetwork,
    data: AbstractSource,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    steps_per_epoch: int = 100,
    batch_size: int = 128,
    learning_rate: float | None = None,
    final_learning_rate: float | None = None,
    optimizer: optax.GradientTransformation | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    progress: bool | str = True,
    callback: Callable[[int, float, LagrangianNetwork], None] | None = None,
    devices: Sequence[jax.Device] | None = None,
    loss: AbstractLoss | None = None,
    schedule_steps: int | None = None,
    validation: AbstractSource | None = None,
    patience: int | None = None,
    key: PRNGKeyArray,
) -> TrainResult:
    """Fit a Lagrangian network to target accelerations, or to observed positions.

    **Arguments:**

    - `model`: the `LagrangianNetwork` to train; float64 parameters train in float64 (enable
        `jax_enable_x64` first), and the data are converted to the model's dtype.
    - `data`: a data source (`AbstractSource`): a `Dataset` (batches drawn from it with
        replacement) or a stream (`trajectory_stream`, `state_stream`: fresh samples and
        noise for every batch); or `PositionData` (positions only: batches of windows of
        consecutive positions drawn with replacement, scored by `loss`; see
        docs/POSITIONS.md).
    - `epochs` or `steps`: the length of training, in epochs or in optimiser steps (the last
        epoch is shorter when `steps` is not a multiple of `steps_per_epoch`).
    - `steps_per_epoch`, `batch_size`: steps run in one jitted scan; samples per step.
    - `learning_rate`, `final_learning_rate`: the default optimiser's rate (default 1e-3),
        decayed along a cosine to the final rate (default 1e-5); see `make_optimizer`.
    - `optimizer`: any `optax.GradientTransformation` (e.g. `optax.sgd(1e-2)`,
        `optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))`), applied to the
        model's floating-point arrays; then leave `learning_rate` and
        `final_learning_rate` out. A [`tail_average`][] optimiser (`make_optimizer(...,
        average_from=)`) makes the returned model the mean of its iterates from that step
        on (without `validation`; the checkpoint keeps the last iterate, to resume from).
        `None`: cosine-decayed Adam from those two rates. To resume, pass an optimiser
        built the same way: its state's structure is checked,
        its hyperparameters cannot be.
    - `checkpoint_dir`: if given, write `losses.csv` each epoch and a checkpoint every
        `checkpoint_every` epochs (and after the last) into this folder.
    - `resume`: continue from the checkpoint in `checkpoint_dir` (settings and key must
        match); without one, start afresh. Without `resume`, an existing checkpoint is an
        error.
    - `progress`: show the progress on stderr (loss, steps/s, ETA; `numeric/epoch_line.py`):
        one line updated in place on a terminal, a line every few epochs otherwise; a
        string labels the line (e.g. the variant); False for none.
    - `callback`: called as `callback(epoch, loss, model)` after each epoch (1-based).
    - `devices`: the devices to split each batch across; default all (`jax.devices()`).
    - `loss`: an `AbstractLoss`; default the data's own (`data.default_loss()`):
        `AccelerationLoss()` for states, `PositionLoss()` (the one-step loss) for
        `PositionData`. With a [`PositionLoss`][] training starts from
        `normalize_scale(model, ...)`, the model's $L$ rescaled to mean mass 1 on the data.
    - `schedule_steps`: the steps the default optimiser's cosine spans (default all steps);
        after them the rate stays at `final_learning_rate`. A finished run resumed with
        more `epochs` and the same `schedule_steps` is extended (the resume checks allow it).
        With `optimizer=` it is only recorded (the optimiser holds its own schedule).
    - `validation`: held-out data of the same kind (`AbstractSource.split`), scored with
        the same loss after every epoch on one fixed draw of `VALIDATION_SAMPLES`; the
        model of the lowest validation loss is returned, and with `checkpoint_dir` kept in
        `best.eqx`; `checkpoint.json` records `"validation"` (`losses`, `best_epoch`,
        `best_loss`, `stopped`).
    - `patience`: with `validation`, stop after this many epochs without a new best
        (early stopping; a resumed run that stopped stays stopped). `None`: never.
    - `key`: a JAX random key for the batches.

    **Returns:**

    A `TrainResult(model, losses)`. A non-finite loss raises `TrainingDivergedError`.
    A `RuntimeWarning` when a trajectory `Dataset`'s energy decays and the system declares
    no friction or forces (`numeric/decay.py`).
    """
    if not resume and isinstance(data, AbstractSource):  # (else _prepare says what to pass)
        data.warn_if_energy_decays(model.module, stacklevel=3)
    loop = _prepare(
        model, data, key, epochs=epochs, steps=steps, steps_per_epoch=steps_per_epoch,
        batch_size=batch_size, learning_rate=learning_rate,
        final_learning_rate=final_learning_rate, optimizer=optimizer, checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every, devices=devices, loss=loss, resume=resume,
        schedule_steps=schedule_steps, validation=validation,
    )  # fmt: skip
    params, opt_state, source_state, done, step, losses = _start(
        loop, loop.model, resume, batch_size
    )
    best = _Best.restore(loop, done, params)
    line = EpochLine(len(loop.lengths), done, progress if isinstance(progress, str) else "")
    for epoch in range(done, len(loop.lengths)):
        if best.stopped:
            break
        params, opt_state, source_state, step, loss, seconds = _epoch(
            loop, params, opt_state, source_state, epoch, step
        )
        losses.append(loss)
        best.update(loop, epoch + 1, params, patience)
        _save(loop, params, opt_state, source_state, epoch + 1, step, loss, seconds,
              best.info(), force=best.stopped)  # fmt: skip
        if progress is True or isinstance(progress, str):
            line.update(epoch + 1, float(loss), loop.lengths[epoch] / seconds)
            if best.stopped:
                line.stop(epoch + 1)
        if callback is not None:
            callback(epoch + 1, float(loss), eqx.combine(params, loop.static))
    # The validation's best epoch, else a tail-averaging optimiser's mean, else the last.
    final = best.params if loop.validate is not None else _averaged_or(params, opt_state)
    return TrainResult(eqx.combine(final, loop.static), np.asarray(losses, dtype=model.dtype))


def _averaged_or(params, opt_state):
    # The mean of a `tail_average` optimiser's iterates (in the parameters' sharding and
    # dtypes), else the last iterate.
    mean = averaged_parameters(opt_state)
    return params if mean is None else mean


class _Best:
    # The validation record of a run: losses per epoch, the best epoch and its parameters,
    # whether early stopping ended the run. Without validation it records nothing.

    def __init__(self, losses, best_epoch, best_loss, stopped, params):
        self.losses, self.best_epoch, self.best_loss = losses, best_epoch, best_loss
        self.stopped, self.params = stopped, params

    @classmethod
    def restore(cls, loop: _Loop, done: int, params) -> "_Best":
        # From the checkpoint's record when resuming (and best.eqx), else empty.
        saved = {}
        if loop.validate is not None and done and loop.folder is not None:
            saved = read_info(loop.folder).get("validation") or {}
        best = cls(list(saved.get("losses", []))[:done], saved.get("best_epoch"),
                   saved.get("best_loss", math.inf), bool(saved.get("stopped")), params)
        path = None if loop.folder is None else loop.folder / BEST
        if best.best_epoch is not None and path is not None and path.exists():
            like = eqx.combine(params, loop.static)
            best.params = eqx.filter(eqx.tree_deserialise_leaves(path, like), eqx.is_inexact_array)
        return best

    def update(self, loop: _Loop, epoch: int, params, patience: int | None) -> None:
        if loop.validate is None:
            return
        validate, batch = loop.validate
        value = float(validate(eqx.combine(params, loop.static), batch))
        self.losses.append(value)
        if value < self.best_loss:
            self.best_epoch, self.best_loss, self.params = epoch, value, params
            if loop.folder is not None and _writes():
                model = eqx.combine(jax.tree.map(_host, params), loop.static)
                atomic_write(loop.folder / BEST, lambda f: eqx.tree_serialise_leaves(f, model))
        self.stopped = bool(patience) and epoch - self.best_epoch >= patience

    def info(self) -> dict | None:
        if self.best_epoch is None:
            return None
        return {"validation": {"losses": self.losses, "best_epoch": self.best_epoch,
                               "best_loss": self.best_loss, "stopped": self.stopped}}


def _epoch(loop: _Loop, params, opt_state, source_state, epoch: int, step: int):
    # One epoch (0-based `epoch`): run and check. Returns the new state, the mean loss and
    # the seconds it took.
    start = time.perf_counter()
    key = jax.random.fold_in(loop.key, epoch)
    n_steps = loop.lengths[epoch]
    params, opt_state, source_state, step_losses = loop.run_epoch(
        params, opt_state, loop.source, source_state, key, n_steps=n_steps
    )
    step_losses = _host(step_losses)
    seconds = time.perf_counter() - start
    if not np.all(np.isfinite(step_losses)):
        raise _diverged(step_losses, epoch + 1, step, loop.folder)
    loss = step_losses.mean(dtype=step_losses.dtype)
    return params, opt_state, source_state, step + n_steps, loss, seconds


def _writes() -> bool:
    # With several processes (jax.distributed) only the first one writes files.
    return jax.process_index() == 0


def _save(loop: _Loop, params, opt_state, source_state, epoch: int, step: int, loss,
          seconds: float, info: dict | None = None, force: bool = False):  # fmt: skip
    if loop.folder is None or not _writes():
        return
    append_loss(loop.folder, epoch, step, loss, seconds)
    if force or epoch % loop.checkpoint_every == 0 or epoch == len(loop.lengths):
        params, opt_state, source_state = jax.tree.map(_host, (params, opt_state, source_state))
        model = eqx.combine(params, loop.static)
        save_checkpoint(
            loop.folder, model, opt_state, _key_data(loop.key), step, epoch, loop.settings,
            extra=source_state, info=info,
        )  # fmt: skip
