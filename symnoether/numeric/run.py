"""Run folders: a training configuration, the data and one trained model per variant.

```
RUN_DIR/module.py         the generated module used (written by the CLI)
RUN_DIR/data.npz          training data (a fixed data set; a stream is defined by the
                          configuration and the run's initial state instead)
RUN_DIR/run.json          run-wide settings: system, spec hash, variants, configuration
RUN_DIR/models/<variant>/config.json, checkpoint.eqx, checkpoint.json, losses.csv
```

The variants are `"invariant"` (the network sees the invariants) and `"unconstrained"` (it
sees `q` and `qdot`). Both start from the same seed and see the same batches.
"""

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import InitVar, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jaxtyping import PRNGKeyArray

from ..files import import_file
from .checkpoint import load_checkpoint, read_losses, write_json
from .contract import check_module
from .data import Dataset, save_data, trajectory_data
from .dynamics import MASS_SOLVES, resolve_mass_solve
from .network import ACTIVATIONS, INITS, LagrangianNetwork, activation_name
from .position_loss import PositionLoss
from .positions import PositionData, position_trajectories, save_positions
from .stream import AbstractStream, kepler_orbit_sampler, state_stream, trajectory_stream
from .train import make_optimizer, train

__all__ = ["DATA_KINDS", "VARIANTS", "Run", "TrainConfig", "load_module", "load_run", "train_run"]

#: How `TrainConfig.data` makes training data from the initial state: a fixed set of noisy
#: samples of one trajectory (`trajectory_data`), a stream along one trajectory
#: (`trajectory_stream`), the reference's Kepler stream (`kepler_orbit_sampler`), or noisy
#: positions only along one trajectory (`position_trajectories`).
DATA_KINDS = ("fixed", "stream", "kepler_orbit", "positions")
#: The losses on position data (`TrainConfig.position_loss`).
POSITION_LOSSES = ("one_step", "rollout")

VARIANTS: dict[str, bool] = {"invariant": True, "unconstrained": False}
_INTS = ("width", "depth", "epochs", "steps_per_epoch", "batch_size", "seed", "checkpoint_every",
         "stream_window", "rollout_steps")  # fmt: skip
_FLOATS = ("learning_rate", "final_learning_rate", "dt", "sample_every", "t_final", "noise")
_CHOICES = {
    "activation": tuple(ACTIVATIONS),
    "init": INITS,
    "dtype": ("float32", "float64"),
    "mass_solve": MASS_SOLVES,
    "data": DATA_KINDS,
    "position_loss": POSITION_LOSSES,
}
# Settings renamed since run folders were first written: old name -> new name.
_RENAMED = {"solver": "mass_solve"}


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
    from two), through the discrete Euler-Lagrange equations (docs/POSITIONS.md).

    `standardize=True` (not the reference's) standardises the MLP's inputs with the training
    data's mean and standard deviation, which the unconstrained baseline needs when raw
    coordinates are large (a coordinate time, a drifting centre of mass).

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
    solver: InitVar[str | None] = None

    def __post_init__(self, solver):
        mass_solve = resolve_mass_solve(self.mass_solve, solver)
        object.__setattr__(self, "mass_solve", mass_solve)
        self._name_activation()
        types = [
            f"{name} must be an integer, got {getattr(self, name)!r}"
            for name in _INTS
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int)
        ] + [
            f"{name} must be a number, got {getattr(self, name)!r}"
            for name in _FLOATS
            if isinstance(getattr(self, name), bool)
            or not isinstance(getattr(self, name), int | float)
        ]
        if not isinstance(self.standardize, bool):
            types.append(f"standardize must be true or false, got {self.standardize!r}")
        if types:
            raise TypeError("invalid training configuration:\n" + _bullets(types))
        values = self._value_problems()
        if values:
            raise ValueError("invalid training configuration:\n" + _bullets(values))

    def _name_activation(self) -> None:
        # One mapping (ACTIVATIONS) for names and functions; the name is what JSON holds.
        if callable(self.activation):
            name = activation_name(self.activation)
            if name is None:
                raise ValueError(
                    f"invalid training configuration: activation {self.activation!r} is not "
                    f"one of {tuple(ACTIVATIONS)}, and a TrainConfig is saved as JSON. For "
                    "another function build LagrangianNetwork(module, activation=fn) and "
                    "train it with sn.train"
                )
            object.__setattr__(self, "activation", name)

    def _value_problems(self) -> list[str]:
        problems = [
            f"{name} must be one of {choices}, got {getattr(self, name)!r}"
            for name, choices in _CHOICES.items()
            if getattr(self, name) not in choices
        ]
        positive = [n for n in _INTS + _FLOATS if n not in ("depth", "seed", "noise")]
        problems += [
            f"{n} must be > 0, got {getattr(self, n)}" for n in positive if getattr(self, n) <= 0
        ]
        problems += [
            f"{n} must be >= 0, got {getattr(self, n)}"
            for n in ("depth", "seed", "noise")
            if getattr(self, n) < 0
        ]
        return problems

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-compatible dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> "TrainConfig":
        """Build from a dict; missing keys take their defaults, unknown keys are an error.
        The deprecated `"solver"` is read as `"mass_solve"`, with a `DeprecationWarning`."""
        known = {field.name for field in dataclasses.fields(cls)} | set(_RENAMED)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(
                f"unknown training setting(s) {unknown}; the known ones are {sorted(known)}"
            )
        return cls(**settings)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "TrainConfig":
        """Read a JSON configuration file (an object of settings; missing ones default)."""
        try:
            settings = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{str(path)!r} is not valid JSON: {error}") from error
        if not isinstance(settings, dict):
            raise ValueError(f"{str(path)!r} must hold a JSON object of settings, got {settings!r}")
        return cls.from_dict(settings)

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the settings as JSON, atomically."""
        return write_json(path, self.to_dict())

    def make_data(
        self, module: ModuleType, q0, qdot0, *, key: PRNGKeyArray
    ) -> Dataset | AbstractStream:
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
        return PositionLoss(steps=1 if self.position_loss == "one_step" else self.rollout_steps)

    def make_network(
        self, module: ModuleType, *, invariant: bool = True, key: PRNGKeyArray
    ) -> LagrangianNetwork:
        """A `LagrangianNetwork` for `module` with this configuration's architecture."""
        return LagrangianNetwork(
            module, invariant=invariant, width=self.width, depth=self.depth,
            activation=self.activation, init=self.init, dtype=self.dtype,
            mass_solve=self.mass_solve, standardize=self.standardize, key=key,
        )  # fmt: skip


def _check_kepler(module: ModuleType, sampler) -> None:
    # The analytic orbit is right only for xddot = -x / |x|^3: compare at a few of its points.
    q, qdot = jax.vmap(sampler)(jax.random.split(jax.random.key(0), 16))
    got = np.asarray(jax.vmap(module.acceleration)(q, qdot), np.float64)
    q = np.asarray(q, np.float64)
    want = -q / np.linalg.norm(q, axis=1, keepdims=True) ** 3
    if not np.allclose(got, want, rtol=1e-3, atol=1e-5):
        raise ValueError(
            f"data='kepler_orbit' needs the 3D Kepler problem L = |xdot|^2/2 + 1/|x| (GM = 1), "
            f"but the acceleration of system {module.SYSTEM_NAME!r} differs from -x/|x|^3 on "
            "the orbit; use data='stream' (one true trajectory) instead"
        )


def _bullets(problems: list[str]) -> str:
    return "\n".join(f"  - {p}" for p in problems)


def load_module(path: str | os.PathLike) -> ModuleType:
    """Import a generated module from its file (no SymPy needed).

    **Arguments:**

    - `path`: a `.py` file written by `sn.generate`.

    **Returns:**

    The module, checked against the generated-module contract. It is not added to
    `sys.modules`, so loading several runs' modules never clashes.
    """
    return check_module(import_file(path))


@dataclass(frozen=True)
class Run:
    """A trained run folder, as `load_run` or `train_run` give it.

    **Fields:** `run_dir`, `module` (the generated module), `config` (`TrainConfig`),
    `models` (variant -> trained `LagrangianNetwork`), `losses` (variant -> mean loss per
    epoch), `initial_state` (`(q0, qdot0)` as float64 NumPy arrays, where evaluation
    starts: the spec's clean initial state, recorded by `symnoether train`; `None` when
    the run has none).
    """

    run_dir: Path
    module: ModuleType
    config: TrainConfig
    models: dict[str, LagrangianNetwork]
    losses: dict[str, np.ndarray]
    initial_state: tuple[np.ndarray, np.ndarray] | None = None


def _check_variants(variants) -> tuple[str, ...]:
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(
            f"variants must be a non-empty subset of {tuple(VARIANTS)}, got {variants}"
        )
    return tuple(variants)


def train_run(
    run_dir: str | os.PathLike,
    module: ModuleType,
    data: Dataset,
    config: TrainConfig,
    *,
    variants: tuple[str, ...] = ("invariant", "unconstrained"),
    resume: bool = False,
    progress: bool = True,
    initial_state: tuple | None = None,
    metadata: dict | None = None,
) -> Run:
    """Train each variant into `RUN_DIR/models/<variant>/`.

    **Arguments:**

    - `run_dir`: the run folder (created if needed); `module.py` is the CLI's to write.
    - `module`: the generated module.
    - `data`: the training data: a `Dataset` or `PositionData` (trained with
        `config.make_position_loss()`), saved to `RUN_DIR/data.npz` (kept as it is when
        resuming), or a stream (`config.make_data`), which is not saved: the
        configuration and the initial state define it.
    - `config`: the `TrainConfig`.
    - `variants`: which of `"invariant"`, `"unconstrained"` to train.
    - `resume`: continue each variant from its checkpoint, if it has one.
    - `progress`: print a line per epoch.
    - `initial_state`: `(q0, qdot0)` where evaluation starts (e.g. the spec's clean state;
        the training data may be noisy), recorded in `run.json`; `None` for none.
    - `metadata`: more JSON-able entries for `run.json`.

    **Returns:**

    The `Run`.
    """
    run_dir = Path(run_dir)
    variants = _check_variants(variants)
    (run_dir / "models").mkdir(parents=True, exist_ok=True)
    if not (resume and (run_dir / "data.npz").exists()):
        if isinstance(data, Dataset):
            save_data(run_dir / "data.npz", data)
        elif isinstance(data, PositionData):
            save_positions(run_dir / "data.npz", data)
    state = _initial_state(initial_state)
    info = {"system": module.SYSTEM_NAME, "spec_hash": getattr(module, "SPEC_HASH", None),
            "variants": list(variants), "config": config.to_dict(), **(metadata or {})}  # fmt: skip
    if state is not None:
        info["initial_state"] = [state[0].tolist(), state[1].tolist()]
    write_json(run_dir / "run.json", info)
    init_key, train_key = jax.random.split(jax.random.key(config.seed))
    models, losses = {}, {}
    for variant in variants:
        folder = run_dir / "models" / variant
        folder.mkdir(exist_ok=True)
        write_json(folder / "config.json", {"variant": variant, "config": config.to_dict()})
        model = config.make_network(module, invariant=VARIANTS[variant], key=init_key)
        if config.standardize:
            q, qdot = (
                (data.q, data.qdot) if isinstance(data, Dataset)
                else data.states() if isinstance(data, PositionData)
                else data.preview(config.batch_size)
            )  # fmt: skip
            model = model.standardized(q, qdot)
        models[variant], losses[variant] = train(
            model, data, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
            batch_size=config.batch_size, learning_rate=config.learning_rate,
            final_learning_rate=config.final_learning_rate, checkpoint_dir=folder,
            checkpoint_every=config.checkpoint_every, resume=resume, progress=progress,
            loss=config.make_position_loss() if isinstance(data, PositionData) else None,
            key=train_key,
        )  # fmt: skip
    return Run(run_dir, module, config, models, losses, state)


def _initial_state(state) -> tuple[np.ndarray, np.ndarray] | None:
    if state is None:
        return None
    q0, qdot0 = (np.asarray(x, np.float64) for x in state)
    return q0, qdot0


def _saved_config(settings: dict[str, Any]) -> TrainConfig:
    # A configuration this package wrote (config.json, run.json), perhaps under older names:
    # renamed silently, since the user did not write it.
    return TrainConfig.from_dict({_RENAMED.get(k, k): v for k, v in settings.items()})


def _load_model(folder: Path, module: ModuleType) -> tuple[LagrangianNetwork, TrainConfig]:
    settings = json.loads((folder / "config.json").read_text())
    config = _saved_config(settings["config"])
    skeleton = config.make_network(
        module, invariant=VARIANTS[settings["variant"]], key=jax.random.key(0)
    )
    total = config.epochs * config.steps_per_epoch
    optimizer = make_optimizer(config.learning_rate, config.final_learning_rate, total)
    opt_state = optimizer.init(eqx.filter(skeleton, eqx.is_inexact_array))
    return load_checkpoint(folder, skeleton, opt_state).model, config


def load_run(run_dir: str | os.PathLike) -> Run:
    """Load a run folder written by `train_run` (see the module docstring for its layout).

    **Arguments:**

    - `run_dir`: the run folder.

    **Returns:**

    The `Run`, each model rebuilt from its `config.json` and filled from its checkpoint.
    Variants without a checkpoint yet are left out.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise FileNotFoundError(f"{str(run_dir)!r} is not a run folder: no run.json")
    module = load_module(run_dir / "module.py")
    info = json.loads((run_dir / "run.json").read_text())
    models, losses = {}, {}
    for variant in _check_variants(info["variants"]):
        folder = run_dir / "models" / variant
        if (folder / "checkpoint.eqx").exists():
            models[variant], _ = _load_model(folder, module)
            losses[variant] = read_losses(folder).astype(models[variant].dtype)
    return Run(run_dir, module, _saved_config(info["config"]), models, losses,
               _initial_state(info.get("initial_state")))  # fmt: skip
