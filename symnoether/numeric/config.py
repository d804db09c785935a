"""The training configuration of a run (`TrainConfig`) and its JSON form.

A run folder records it twice: whole in `run.json` and per variant in
`models/<variant>/config.json` (see `symnoether.run_folder`). A resume must match it, except
the settings of `RESUMABLE`.
"""

import dataclasses
import difflib
import json
import math
import os
from collections.abc import Callable
from dataclasses import InitVar, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import numpy as np
from jaxtyping import PRNGKeyArray

from ..errors import ConfigError, DataError, RunFolderError
from .checkpoint import write_json
from .data import trajectory_data
from .dynamics import MASS_SOLVES, resolve_mass_solve
from .forced import ForcedLagrangian
from .forces import AbstractForce, DrivingForce, KnownForce, RayleighDissipation, SumForce
from .lagrangian import AbstractLagrangian
from .losses import AbstractLoss
from .natural import NaturalLagrangianNetwork
from .network import ACTIVATIONS, INITS, LagrangianNetwork, activation_name
from .position_loss import PositionLoss
from .positions import position_trajectories
from .smoothing import smoothing_problems
from .source import AbstractSource
from .stream import kepler_orbit_sampler, state_stream, trajectory_stream
from .timed import TimeLagrangianNetwork

__all__ = [
    "DATA_KINDS",
    "FRICTIONS",
    "MODELS",
    "POSITION_LOSSES",
    "RESUMABLE",
    "TrainConfig",
    "saved_config",
]


#: How `TrainConfig.data` makes training data from the initial state: a fixed set of noisy
#: samples of one trajectory (`trajectory_data`), a stream along one trajectory
#: (`trajectory_stream`), the reference's Kepler stream (`kepler_orbit_sampler`), or noisy
#: positions only along one trajectory (`position_trajectories`).
DATA_KINDS = ("fixed", "stream", "kepler_orbit", "positions")
#: The losses on position data (`TrainConfig.position_loss`).
POSITION_LOSSES = ("one_step", "rollout")
#: The model families of the invariant variant (`TrainConfig.model`): `"mlp"`, an MLP of
#: the invariants (`LagrangianNetwork`), or `"natural"`, T - V with a definite mass matrix
#: (`NaturalLagrangianNetwork`). The unconstrained baseline is always the MLP of (q, qdot).
MODELS = ("mlp", "natural")
#: The friction of a model (`TrainConfig.friction`): `"none"` (no friction), `"known"` (the
#: system's true Rayleigh function, `dissipation=`) or `"learned"` (a Rayleigh function
#: R = sum_k c_k(S) P_k >= 0 over the dissipation basis, `sn.RayleighDissipation`; the
#: System needs `learn_dissipation=True`). A system's known drive (`forces=`) is always part
#: of its models.
FRICTIONS = ("none", "known", "learned")
_INTS = ("width", "depth", "epochs", "steps_per_epoch", "batch_size", "seed", "checkpoint_every",
         "stream_window", "rollout_steps")  # fmt: skip
_FLOATS = ("learning_rate", "final_learning_rate", "adam_eps", "dt", "sample_every", "t_final",
           "noise", "time_scale")  # fmt: skip
_CHOICES = {
    "activation": tuple(ACTIVATIONS),
    "init": INITS,
    "dtype": ("float32", "float64"),
    "mass_solve": MASS_SOLVES,
    "data": DATA_KINDS,
    "position_loss": POSITION_LOSSES,
    "model": MODELS,
    "friction": FRICTIONS,
}
# Settings renamed since run folders were first written: old name -> new name.
_RENAMED = {"solver": "mass_solve"}
# Settings that may change when a run is resumed: they do not change what is trained.
RESUMABLE = frozenset({"checkpoint_every"})
# optax's Adam epsilon, the default of `TrainConfig.adam_eps`.
OPTAX_EPS = 1e-8


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run: network, optimiser, data generation and seed.

    The defaults are the reference's set-up (Mueller 2023): 2 hidden layers of 128 softplus
    units, Adam with cosine decay from 1e-3 to 1e-5, 2500 epochs of 100 steps of 128
    samples; data from one RK4 trajectory (dt 0.01) sampled every 0.1 with noise 1e-3.
    `data` chooses how training data are made from the initial state: `"fixed"` (default):
    `round(t_final / sample_every) + 1` noisy samples of one trajectory, drawn with
    replacement; `"stream"`: the reference's regime, fresh samples and fresh noise for every
    batch along one trajectory that keeps advancing (`trajectory_stream`; `t_final` is then
    unused, and the lanes initially span `stream_window` samples, the reference's shuffle
    buffer); `"kepler_orbit"`: the reference's Kepler data, fresh uniformly random angles on
    the analytic orbit through the initial state (a 3D Kepler system with GM = 1);
    `"positions"`: positions only, with noise `noise`, along one trajectory
    (`position_trajectories`). A data file given to the CLI is always a fixed set (of states
    and accelerations, or of positions only).

    Position data train with the loss `position_loss` picks: `"one_step"` (default; predict
    each position from the two before it) or `"rollout"` (predict `rollout_steps` positions
    from two), through the discrete Euler-Lagrange equations (docs/POSITIONS.md). Noisy
    positions are first smoothed when `smooth_window` > 1: local polynomials of
    `smooth_degree` over that many samples (`smoothed_positions`; e.g. 21 and 6 for noise
    1e-3 at 0.1 on an orbit of period ~16).

    `standardize=True` (not the reference's) standardises the MLP's inputs with the training
    data's mean and standard deviation, which the unconstrained baseline needs when raw
    coordinates are large (a coordinate time, a drifting centre of mass).

    Two defaults are not the reference's: `init` (Equinox's; the reference's is
    `"reference"`) and `adam_eps`, Adam's epsilon: optax's 1e-8; the reference configurations
    (`examples/configs/reference*.json`) take Keras' 1e-7, the reference's. Keras adds it to
    $\\sqrt{v}$ before the bias correction, which is optax's form with
    $\\epsilon / \\sqrt{1 - 0.999^t}$ at step $t$: the two differ in the first few thousand
    of the 250,000 steps (by 26% at step 1000, 0.3% at step 5000).

    `schedule_epochs` is the number of epochs the learning rate's cosine spans (None: all
    of them); a finished run extended with more epochs (`symnoether train --resume --epochs
    N`, `extended`) keeps its schedule, and the epochs beyond it train at
    `final_learning_rate`.

    `average_epochs` > 0 makes the model the mean of the parameters after every step of the
    last `average_epochs` epochs (tail averaging, `numeric/averaging.py`; not the
    reference's): on noisy data the last iterate wanders about the minimum, and the mean
    does not. The checkpoint keeps the last iterate, from which a resume continues.

    `validation_fraction` > 0 holds that part of fixed data out of training
    (`AbstractSource.split`: random rows of a `Dataset`, whole trajectories of
    `PositionData`, or the tail of a single one) and scores it after every epoch; the model
    of the lowest validation loss is kept (`best.eqx`) and is what `load_run` loads.
    `patience` > 0 stops a variant after that many epochs without a new best (early
    stopping).

    `friction` (`FRICTIONS`) is the models' friction: `"none"`, `"known"` (the System's
    `dissipation=`) or `"learned"` (`sn.RayleighDissipation`: R >= 0 and R = 0 at rest by
    construction; the System needs `learn_dissipation=True`; training starts from the
    network rescaled to mean mass +1, `ForcedLagrangian.normalized`). A System's known
    drive (`forces=`) is part of every model of it (`sn.DrivingForce`).

    A system whose Lagrangian depends on the time explicitly (`LAGRANGIAN_EXPLICIT_TIME`,
    e.g. Caldirola-Kanai) trains `sn.TimeLagrangianNetwork`s, $e^{a t} f(S, t/T) + K$, on
    fixed data with their sample times: `time_scale` is $T$ (about the data's span) and
    `time_input` whether $f$ sees $t/T$ at all. Streams, positions only, the natural model,
    `standardize` and a friction or drive are refused for such a system (`force_problems`).

    `activation` takes a name of `ACTIVATIONS` or one of its functions (`jax.nn.softplus`),
    held as the name: a configuration is written as JSON. `mass_solve` is how d2L/dqdot2 is
    solved (`"solve"`, `"cholesky"`, `"pinv"`); `solver=` is its deprecated spelling.
    """

    width: int = 128
    depth: int = 2
    activation: str | Callable = "softplus"
    init: str = "default"
    dtype: str = "float32"
    mass_solve: str = "solve"
    epochs: int = 2500
    steps_per_epoch: int = 100
    batch_size: int = 128
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-5
    adam_eps: float = OPTAX_EPS
    seed: int = 0
    checkpoint_every: int = 1
    dt: float = 0.01
    sample_every: float = 0.1
    t_final: float = 1000.0
    noise: float = 1e-3
    standardize: bool = False
    data: str = "fixed"
    stream_window: int = 16384
    position_loss: str = "one_step"
    rollout_steps: int = 8
    smooth_window: int = 1
    smooth_degree: int = 4
    model: str = "mlp"
    negative: tuple[str, ...] = ()
    friction: str = "none"
    schedule_epochs: int | None = None
    validation_fraction: float = 0.0
    patience: int = 0
    average_epochs: int = 0
    time_scale: float = 10.0
    time_input: bool = True
    solver: InitVar[str | None] = None

    def __post_init__(self, solver):
        try:
            mass_solve = resolve_mass_solve(self.mass_solve, solver)
        except TypeError as error:  # both spellings, differing
            raise ConfigError(str(error)) from None
        object.__setattr__(self, "mass_solve", mass_solve)
        self._name_activation()
        ints = [n for n in _INTS if isinstance(getattr(self, n), bool)
                or not isinstance(getattr(self, n), int)]
        floats = [n for n in _FLOATS if isinstance(getattr(self, n), bool)
                  or not isinstance(getattr(self, n), int | float)]
        types = [f"{n} must be an integer, got {getattr(self, n)!r}" for n in ints]
        types += [f"{n} must be a number, got {getattr(self, n)!r}" for n in floats]
        if self.schedule_epochs is not None and (
                isinstance(self.schedule_epochs, bool) or not isinstance(self.schedule_epochs, int)
                or not 1 <= self.schedule_epochs <= (self.epochs if _is_int(self.epochs) else 0)):
            types.append(f"schedule_epochs must be null or a whole number of epochs from 1 to "
                         f"epochs ({self.epochs}), got {self.schedule_epochs!r}")
        if isinstance(self.validation_fraction, bool) or not isinstance(
                self.validation_fraction, int | float) or not (
                0 <= self.validation_fraction <= 0.5):  # fmt: skip
            types.append(f"validation_fraction must be a number from 0 (no validation) to "
                         f"0.5, got {self.validation_fraction!r}")
        if not _is_int(self.patience) or self.patience < 0:
            types.append(f"patience must be a whole number >= 0 (0: no early stopping), got "
                         f"{self.patience!r}")
        elif self.patience and self.validation_fraction == 0:
            types.append("patience (early stopping) needs a validation split: set "
                         "validation_fraction, e.g. 0.1")
        if not _is_int(self.average_epochs) or not (
                0 <= self.average_epochs <= (self.epochs if _is_int(self.epochs) else 0)):
            types.append(f"average_epochs must be a whole number of epochs from 0 (no "
                         f"averaging) to epochs ({self.epochs}), got {self.average_epochs!r}")
        elif self.average_epochs and self.validation_fraction:
            types.append("average_epochs (the model is the mean of the last iterates) and "
                         "validation_fraction (the model is the epoch of the lowest "
                         "validation loss) each choose the model: set one of them")
        if not isinstance(self.standardize, bool):
            types.append(f"standardize must be true or false, got {self.standardize!r}")
        if not isinstance(self.time_input, bool):
            types.append(f"time_input must be true or false, got {self.time_input!r}")
        if not (isinstance(self.negative, list | tuple)
                and all(isinstance(name, str) for name in self.negative)):  # fmt: skip
            types.append(f"negative must be a list of coordinate names, got {self.negative!r}")
        else:
            object.__setattr__(self, "negative", tuple(self.negative))
        # Every problem at once: the values of the settings whose types are right, too.
        problems = types + self._value_problems(skip={*ints, *floats})
        if problems:
            raise ConfigError(problems)

    def _name_activation(self) -> None:
        # One mapping (ACTIVATIONS) for names and functions; the name is what JSON holds.
        if callable(self.activation):
            name = activation_name(self.activation)
            if name is None:
                raise ConfigError(
                    f"activation {self.activation!r} is not "
                    f"one of {tuple(ACTIVATIONS)}, and a TrainConfig is saved as JSON. For "
                    "another function build LagrangianNetwork(module, activation=fn) and "
                    "train it with sn.train"
                )
            object.__setattr__(self, "activation", name)

    def _value_problems(self, skip=frozenset()) -> list[str]:
        # `skip`: the numeric settings of the wrong type (reported already).
        problems = [
            f"{name} must be one of {choices}, got {getattr(self, name)!r}"
            for name, choices in _CHOICES.items()
            if getattr(self, name) not in choices
        ]
        floats = [n for n in _FLOATS if n not in skip]
        infinite = [n for n in floats if not math.isfinite(getattr(self, n))]
        problems += [f"{n} must be a finite number, got {getattr(self, n)}" for n in infinite]
        positive = [n for n in _INTS + _FLOATS
                    if n not in ("depth", "seed", "noise", *infinite, *skip)]
        problems += [
            f"{n} must be > 0, got {getattr(self, n)}" for n in positive if getattr(self, n) <= 0
        ]
        problems += [
            f"{n} must be >= 0, got {getattr(self, n)}"
            for n in ("depth", "seed", "noise")
            if n not in (*infinite, *skip) and getattr(self, n) < 0
        ]
        if self.model == "natural" and self.standardize:
            problems.append("standardize applies to the MLP's inputs: the natural model "
                            "takes none; leave standardize out with model 'natural'")
        problems += smoothing_problems(self.smooth_window, self.smooth_degree)
        if self.negative and self.model != "natural":
            problems.append("negative (coordinates with negative kinetic energy) is a setting "
                            "of model 'natural'")
        if not problems and not skip:
            problems += self._time_problems()
        return problems

    def _time_problems(self) -> list[str]:
        # The data's clock: samples every `sample_every`, a whole number of RK4 steps `dt`.
        ratio = self.sample_every / self.dt
        substeps = round(ratio) if math.isfinite(ratio) else 0
        if substeps < 1 or abs(substeps * self.dt - self.sample_every) > 1e-9 * self.sample_every:
            return [f"sample_every ({self.sample_every}) must be a whole multiple of dt "
                    f"({self.dt}): the data are sampled every few integration steps; e.g. "
                    "dt 0.01, sample_every 0.1"]
        if self.data == "fixed" and self.t_final < self.sample_every:  # a stream has no end
            return [f"t_final ({self.t_final}) must be >= sample_every ({self.sample_every}): "
                    "the data need at least two samples"]
        return []

    @property
    def schedule_steps(self) -> int:
        """The optimiser steps the learning-rate schedule spans."""
        return (self.schedule_epochs or self.epochs) * self.steps_per_epoch

    @property
    def average_start(self) -> int | None:
        """The first step whose parameters enter the model's mean with `average_epochs`
        (the last `average_epochs` epochs of the schedule, and every epoch of an extension
        beyond it), or None without averaging."""
        if not self.average_epochs:
            return None
        return max(self.schedule_steps - self.average_epochs * self.steps_per_epoch, 0)

    def extended(self, epochs: int) -> "TrainConfig":
        """This configuration trained for `epochs` epochs in all, more than `self.epochs`,
        with the same learning-rate schedule (the extra epochs at `final_learning_rate`).
        A `ConfigError` when `epochs` is fewer than the run has."""
        if not _is_int(epochs) or epochs < self.epochs:
            raise ConfigError(f"--epochs {epochs} would shorten the run: it has "
                              f"{self.epochs} epochs; give more to extend it")
        return dataclasses.replace(self, epochs=epochs,
                                   schedule_epochs=self.schedule_epochs or self.epochs)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-compatible dict."""
        return {**dataclasses.asdict(self), "negative": list(self.negative)}

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> "TrainConfig":
        """Build from a dict; missing keys take their defaults, unknown keys are an error.
        The deprecated `"solver"` is read as `"mass_solve"`, with a `DeprecationWarning`."""
        known = {field.name for field in dataclasses.fields(cls)} | set(_RENAMED)
        unknown = sorted(map(str, set(settings) - known))
        problems = [_unknown_setting(name, known) for name in unknown]
        try:  # the known settings are checked too, so that every problem is reported at once
            config = cls(**{k: v for k, v in settings.items() if k in known})
        except ConfigError as error:
            problems += error.problems
        if problems:
            raise ConfigError(problems)
        return config

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "TrainConfig":
        """Read a JSON configuration file (an object of settings; missing ones default)."""
        try:
            settings = json.loads(Path(path).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{str(path)!r} is not valid JSON: {error}") from error
        except OSError as error:
            raise ConfigError(f"cannot read the configuration file {str(path)!r}: "
                              f"{error.strerror or error}") from error
        if not isinstance(settings, dict):
            raise ConfigError(f"{str(path)!r} must hold a JSON object of settings, got "
                              f"{str(settings)[:80]}")
        return cls.from_dict(settings)

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the settings as JSON, atomically."""
        return write_json(path, self.to_dict())

    def make_data(
        self, module: ModuleType, q0, qdot0, *, key: PRNGKeyArray
    ) -> AbstractSource:
        """The training data this configuration describes (see `data`), from the initial
        state `(q0, qdot0)` of the true system of `module`; `key` draws a fixed set's noise
        (a stream's noise comes from the training key)."""
        dtype = np.float64 if self.dtype == "float64" else np.float32
        q0, qdot0 = np.asarray(q0, dtype), np.asarray(qdot0, dtype)
        if self.data == "stream":
            return trajectory_stream(
                module, q0, qdot0, dt=self.dt, sample_every=self.sample_every,
                window=self.stream_window, noise=self.noise, dtype=dtype,
            )  # fmt: skip
        if self.data == "positions":
            return position_trajectories(
                module, q0, qdot0, dt=self.dt, sample_every=self.sample_every,
                t_final=self.t_final, noise=self.noise, dtype=dtype, key=key,
            )  # fmt: skip
        if self.data == "kepler_orbit":
            sampler = kepler_orbit_sampler(q0, qdot0, dtype)
            _check_kepler(module, sampler)
            return state_stream(module, sampler, noise=self.noise, dtype=dtype)
        return trajectory_data(
            module, q0, qdot0, dt=self.dt, sample_every=self.sample_every,
            t_final=self.t_final, noise=self.noise, dtype=dtype, key=key,
        )  # fmt: skip

    def make_position_loss(self) -> PositionLoss:
        """The loss on position data: one step, or a rollout of `rollout_steps` (K)."""
        return PositionLoss().from_config(self)

    def make_loss(self, source: AbstractSource) -> AbstractLoss:
        """The loss `source` trains with (`source.default_loss()`), with this
        configuration's settings of it (`position_loss`, `rollout_steps`)."""
        return source.default_loss().from_config(self)

    def make_network(
        self, module: ModuleType, *, invariant: bool = True, key: PRNGKeyArray
    ) -> AbstractLagrangian:
        """The model for `module` with this configuration's architecture: the invariant
        variant of family `model`, or the unconstrained `LagrangianNetwork` baseline; a
        `ForcedLagrangian` of it and `make_force`'s force when there is one."""
        if _flag(module, "LAGRANGIAN_EXPLICIT_TIME"):
            problems = self.force_problems(module)
            if problems:
                raise ConfigError(problems)
            return TimeLagrangianNetwork(
                module, invariant=invariant, width=self.width, depth=self.depth,
                activation=self.activation, time_scale=self.time_scale,
                time_input=self.time_input, dtype=self.dtype, key=key,
            )  # fmt: skip
        force = self.make_force(module, key=jax.random.fold_in(key, 1))
        if invariant and self.model == "natural":
            network = NaturalLagrangianNetwork(
                module, width=self.width, depth=self.depth, activation=self.activation,
                negative=self.negative, dtype=self.dtype, key=key,
            )  # fmt: skip
        else:
            network = LagrangianNetwork(
                module, invariant=invariant, width=self.width, depth=self.depth,
                activation=self.activation, init=self.init, dtype=self.dtype,
                mass_solve=self.mass_solve, standardize=self.standardize, key=key,
            )  # fmt: skip
        return network if force is None else ForcedLagrangian(network, force)

    def force_problems(self, module: ModuleType) -> list[str]:
        """What `friction` needs of the generated module that `module` lacks (empty when
        nothing): a dissipation basis for `"learned"`, a Rayleigh function for `"known"`."""
        name = module.SYSTEM_NAME
        if _flag(module, "LAGRANGIAN_EXPLICIT_TIME"):
            return self._explicit_time_problems(module)
        if self.friction == "learned" and not _flag(module, "LEARNED_DISSIPATION"):
            return [f"friction 'learned' needs a dissipation basis, but system {name!r} has "
                    "none: declare learn_dissipation=True in its System "
                    "(docs/WRITING_A_SPEC.md), or set friction to 'none'"]
        if self.friction == "known" and not _flag(module, "HAS_DISSIPATION"):
            return [f"friction 'known' needs the true Rayleigh function, but system {name!r} "
                    "declares none: add dissipation=R to its System, or set friction to "
                    "'none' or 'learned'"]
        return []

    def _explicit_time_problems(self, module: ModuleType) -> list[str]:
        # What a model of an explicitly time-dependent Lagrangian (TimeLagrangianNetwork)
        # cannot do yet, each with the way that works.
        name, works = module.SYSTEM_NAME, "examples/caldirola_kanai/ shows what works"
        unsupported = {
            "friction": (self.friction != "none", f"friction {self.friction!r}",
                         "set friction to 'none'"),
            "forces": (_flag(module, "HAS_FORCES") or _flag(module, "HAS_DISSIPATION")
                       or _flag(module, "LEARNED_DISSIPATION"), "forces or a dissipation",
                       "drop forces=/dissipation= from the System, or make its Lagrangian "
                       "autonomous and the time dependence a drive forces=[...] "
                       "(examples/duffing/)"),
            "data": (self.data != "fixed", f"data {self.data!r}",
                     "use data 'fixed' (samples with their times t), or --data FILE.npz "
                     "with q, qdot, qddot and t"),
            "model": (self.model != "mlp", f"model {self.model!r}", "use model 'mlp'"),
            "standardize": (self.standardize, "standardize", "leave standardize out"),
        }  # fmt: skip
        return [f"system {name!r} has a Lagrangian that depends on the time explicitly; its "
                f"networks (TimeLagrangianNetwork) do not support {what} yet: {fix} ({works})"
                for refused, what, fix in unsupported.values() if refused]  # fmt: skip

    def make_force(self, module: ModuleType, *, key: PRNGKeyArray) -> AbstractForce | None:
        """The non-conservative force of this configuration's models: the system's known
        drive $Q$ (a module with `HAS_FORCES`, `DrivingForce`) plus the friction `friction`
        asks for (`KnownForce` holds both for `"known"`); `None` for a conservative model.
        A `ConfigError` when the module lacks what `friction` needs (`force_problems`)."""
        problems = self.force_problems(module)
        if problems:
            raise ConfigError(problems)
        if self.friction == "known":
            return KnownForce(module)
        forces = [DrivingForce(module)] if _flag(module, "HAS_FORCES") else []
        if self.friction == "learned":
            forces.append(RayleighDissipation(module, dtype=self.dtype, key=key))
        if not forces:
            return None
        return forces[0] if len(forces) == 1 else SumForce(tuple(forces))

    def describe_force(self, module: ModuleType) -> str:
        """The models' force in words, for the line that says what trains ("" for none)."""
        drive = _flag(module, "HAS_FORCES")
        friction = {"none": "", "known": "the known friction",
                    "learned": "a learned friction R >= 0"}[self.friction]  # fmt: skip
        parts = [p for p in ("the known drive Q" if drive else "", friction) if p]
        text = f", with {' and '.join(parts)}" if parts else ""
        declared = _flag(module, "HAS_DISSIPATION") or _flag(module, "LEARNED_DISSIPATION")
        if self.friction == "none" and declared:
            text += (", without friction although the system declares one (a conservative "
                     "control; \"friction\": \"learned\" or \"known\" gives the models one)")
        return text


def _flag(module: ModuleType, name: str) -> bool:
    # The force flags are optional module constants, present only when True.
    return bool(module.__dict__.get(name, False))


def _is_int(value) -> bool:
    # An integer setting (a bool is not one).
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown_setting(name: str, known) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the known ones are {sorted(known)}"
    return f"unknown training setting {name!r}; {hint}"


def _check_kepler(module: ModuleType, sampler) -> None:
    # The analytic orbit is right only for xddot = -x / |x|^3: compare at a few of its points.
    q, qdot = jax.vmap(sampler)(jax.random.split(jax.random.key(0), 16))
    got = np.asarray(jax.vmap(module.acceleration)(q, qdot), np.float64)
    q = np.asarray(q, np.float64)
    want = -q / np.linalg.norm(q, axis=1, keepdims=True) ** 3
    if not np.allclose(got, want, rtol=1e-3, atol=1e-5):
        raise DataError(
            f"data='kepler_orbit' needs the 3D Kepler problem L = |xdot|^2/2 + 1/|x| (GM = 1), "
            f"but the acceleration of system {module.SYSTEM_NAME!r} differs from -x/|x|^3 on "
            "the orbit; use data='stream' (one true trajectory) instead"
        )


def saved_config(settings: dict[str, Any]) -> TrainConfig:
    """A configuration this package wrote (`config.json`, `run.json`), perhaps under older
    names: renamed silently, since the user did not write it. `RunFolderError` when it is
    not an object of settings."""
    if not isinstance(settings, dict):
        raise RunFolderError(f"a run folder's recorded configuration is damaged (not an "
                             f"object of settings: {str(settings)[:60]}); restore it from a "
                             "copy, or start a new run folder")
    settings = {_RENAMED.get(k, k): v for k, v in settings.items()}
    if settings.get("init") == "reference" and "adam_eps" not in settings:
        # Recorded before "reference" named the reference's own initialisation (records of
        # that time have no adam_eps): it meant Cranmer et al.'s, now "cranmer".
        settings["init"] = "cranmer"
    return TrainConfig.from_dict(settings)
