"""Run folders: a training configuration, the data and one trained model per variant.

```
RUN_DIR/module.py         the generated module used (written by the CLI)
RUN_DIR/data.npz          training data (a fixed data set; a stream is defined by the
                          configuration and the run's initial state instead)
RUN_DIR/run.json          run-wide settings: system, spec hash, module hash, data hash,
                          variants, configuration, and any override of a check
RUN_DIR/models/<variant>/config.json, checkpoint.eqx, checkpoint.json, losses.csv
RUN_DIR/.lock, .lock.json the writer lock (see `symnoether.lock`) and who holds it
```

A resume must match the run record: the whole configuration (only `checkpoint_every` may
change, `RESUMABLE`), the data (by hash) and the module (by `MODULE_HASH`).

The variants are `"invariant"` (the network sees the invariants) and `"unconstrained"` (it
sees `q` and `qdot`). Both start from the same seed and see the same batches.
"""

import dataclasses
import hashlib
import json
import math
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

from ..errors import ConfigError, IntegrityError, RunFolderError, format_problems
from ..files import import_file
from ..integrity import module_problems
from ..lock import run_lock
from .checkpoint import CHECKPOINT, load_checkpoint, read_json, read_losses, write_json
from .contract import check_module
from .data import Dataset, save_data, trajectory_data
from .dynamics import MASS_SOLVES, resolve_mass_solve
from .network import ACTIVATIONS, INITS, LagrangianNetwork, activation_name
from .position_loss import PositionLoss
from .positions import PositionData, position_trajectories, save_positions
from .stream import AbstractStream, kepler_orbit_sampler, state_stream, trajectory_stream
from .train import make_optimizer, train

__all__ = [
    "DATA_KINDS",
    "RESUMABLE",
    "VARIANTS",
    "Run",
    "TrainConfig",
    "check_run_module",
    "data_hash",
    "load_module",
    "load_run",
    "module_text_hash",
    "recorded_config",
    "recorded_variants",
    "resume_problems",
    "train_run",
]

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
_FLOATS = ("learning_rate", "final_learning_rate", "adam_eps", "dt", "sample_every", "t_final",
           "noise")  # fmt: skip
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
# What every run record (run.json) holds.
_RECORD = ("system", "variants", "config")
# optax's Adam epsilon, the default of `TrainConfig.adam_eps`.
_OPTAX_EPS = 1e-8
# Settings that may change when a run is resumed: they do not change what is trained.
RESUMABLE = frozenset({"checkpoint_every"})


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

    Two defaults are not the reference's: `init` (Equinox's; the reference's is
    `"reference"`) and `adam_eps`, Adam's epsilon: optax's 1e-8; the reference configurations
    (`examples/configs/reference*.json`) take Keras' 1e-7, the reference's. Keras adds it to
    $\\sqrt{v}$ before the bias correction, which is optax's form with
    $\\epsilon / \\sqrt{1 - 0.999^t}$ at step $t$: the two differ in the first few thousand
    of the 250,000 steps (by 26% at step 1000, 0.3% at step 5000).

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
    adam_eps: float = _OPTAX_EPS
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
        try:
            mass_solve = resolve_mass_solve(self.mass_solve, solver)
        except TypeError as error:  # both spellings, differing
            raise ConfigError(str(error)) from None
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
            raise ConfigError(types)
        values = self._value_problems()
        if values:
            raise ConfigError(values)

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

    def _value_problems(self) -> list[str]:
        problems = [
            f"{name} must be one of {choices}, got {getattr(self, name)!r}"
            for name, choices in _CHOICES.items()
            if getattr(self, name) not in choices
        ]
        infinite = [n for n in _FLOATS if not math.isfinite(getattr(self, n))]
        problems += [f"{n} must be a finite number, got {getattr(self, n)}" for n in infinite]
        positive = [n for n in _INTS + _FLOATS if n not in ("depth", "seed", "noise", *infinite)]
        problems += [
            f"{n} must be > 0, got {getattr(self, n)}" for n in positive if getattr(self, n) <= 0
        ]
        problems += [
            f"{n} must be >= 0, got {getattr(self, n)}"
            for n in ("depth", "seed", "noise")
            if n not in infinite and getattr(self, n) < 0
        ]
        if not problems:
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

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-compatible dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> "TrainConfig":
        """Build from a dict; missing keys take their defaults, unknown keys are an error.
        The deprecated `"solver"` is read as `"mass_solve"`, with a `DeprecationWarning`."""
        known = {field.name for field in dataclasses.fields(cls)} | set(_RENAMED)
        unknown = sorted(map(str, set(settings) - known))
        if unknown:
            raise ConfigError(
                f"unknown training setting(s) {unknown}; the known ones are {sorted(known)}"
            )
        return cls(**settings)

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


def load_module(path: str | os.PathLike, *, trust: bool = False) -> ModuleType:
    """Import a generated module from its file (no SymPy needed).

    **Arguments:**

    - `path`: a `.py` file written by `sn.generate`.
    - `trust`: load it even when its text no longer matches the `MODULE_HASH` it carries
        (it was edited after generation); by default that raises `IntegrityError`.

    **Returns:**

    The module, checked against its hash and the generated-module contract. It is not
    added to `sys.modules`, so loading several runs' modules never clashes.
    """
    path = Path(path)
    if path.is_file() and not trust:
        problems = module_problems(path)
        if problems:
            raise IntegrityError(problems[0] + "; or load it anyway with --trust-module "
                                 "(trust=True), which a run folder records")
    return check_module(import_file(path))


@dataclass(frozen=True)
class Run:
    """A trained run folder, as `load_run` or `train_run` give it.

    **Fields:** `run_dir`, `module` (the generated module), `config` (`TrainConfig`),
    `models` (variant -> trained `LagrangianNetwork`), `losses` (variant -> mean loss per
    epoch), `initial_state` (`(q0, qdot0)` as float64 NumPy arrays, where evaluation
    starts: the spec's clean initial state, recorded by `symnoether train`; `None` when
    the run has none), `overrides` (the checks overridden for this run, e.g. a module
    trusted although it does not match the run, each a sentence; see `load_run`).
    """

    run_dir: Path
    module: ModuleType
    config: TrainConfig
    models: dict[str, LagrangianNetwork]
    losses: dict[str, np.ndarray]
    initial_state: tuple[np.ndarray, np.ndarray] | None = None
    overrides: tuple[str, ...] = ()


def _check_variants(variants) -> tuple[str, ...]:
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(
            f"variants must be a non-empty subset of {tuple(VARIANTS)}, got {variants}"
        )
    return tuple(variants)


def data_hash(data: Dataset | PositionData | AbstractStream) -> str | None:
    """A hash of what training sees of a dataset: `q`, `qdot` and `qddot` (of positions:
    `q`, `lengths` and `dt`), their shapes, dtypes and values, 16 hex digits. `run.json`
    records it; a resume must match it. None for a stream, which the configuration and the
    initial state define (a resume checks both)."""
    if isinstance(data, Dataset):
        names = ("q", "qdot", "qddot")
    elif isinstance(data, PositionData):
        names = ("q", "lengths", "dt")
    else:
        return None
    digest = hashlib.sha256()
    for name in names:
        x = np.ascontiguousarray(np.asarray(getattr(data, name)))
        digest.update(f"{name}{x.shape}{x.dtype.str}".encode())
        digest.update(x.tobytes())
    return digest.hexdigest()[:16]


def module_record_problems(run_dir: Path, module: ModuleType, info: dict) -> list[str]:
    """How `module` differs from the module `run.json` (`info`) records; empty when it is
    the same one (or when the record predates module hashes)."""
    recorded = info.get("module_hash")
    current = getattr(module, "MODULE_HASH", None)
    if recorded is None or recorded == current:
        return []
    return [
        f"{str(run_dir / 'module.py')!r} is not the module this run was trained with: "
        f"run.json records MODULE_HASH {recorded} (system {info.get('system')!r}, spec hash "
        f"{info.get('spec_hash')}), the file has {current} (system "
        f"{getattr(module, 'SYSTEM_NAME', None)!r}, spec hash "
        f"{getattr(module, 'SPEC_HASH', None)}). Put the original back, or regenerate it "
        "from the spec the run was trained with (`symnoether generate SPEC -o "
        f"{run_dir / 'module.py'}`; another symnoether version may write another text)"
    ]


def check_run_module(run_dir: str | os.PathLike, *, trust: bool = False,
                     when: str = "evaluation") -> tuple[ModuleType, list[str]]:
    """Load `RUN_DIR/module.py` and check it: against the `MODULE_HASH` it carries (not
    edited since generation) and against the module `run.json` records (not swapped).

    **Arguments:**

    - `run_dir`: the run folder.
    - `trust`: when a check fails, use the module anyway and return the override.
    - `when`: the stage, for the override's sentence (`"training"`, `"evaluation"`).

    **Returns:**

    `(module, overrides)`: the overrides made (empty unless `trust` and a check failed),
    each a sentence for the run's record. Raises `IntegrityError` when a check fails
    without `trust`, unless the run was trained with this exact text trusted (its hash in
    `trusted_module_hashes`; `run.json` then lists that override, and `load_run` shows it).
    """
    run_dir = Path(run_dir)
    path = run_dir / "module.py"
    problems = module_problems(path) if path.is_file() else []
    module = load_module(path, trust=True)
    info = read_json(run_dir / "run.json", "run record", _RECORD) if (
        run_dir / "run.json").is_file() else {}
    problems += module_record_problems(run_dir, module, info)
    if problems and module_text_hash(path) in info.get("trusted_module_hashes", []):
        return module, []  # trusted when the run was trained: run.json lists the override
    if problems and not trust:
        raise IntegrityError(format_problems(
            f"the module of run folder {str(run_dir)!r} cannot be trusted, so nothing was "
            f"done; fix it as said, or pass --trust-module (trust_module=True) to use it "
            "anyway, which the run folder records", problems))
    return module, [f"module check overridden (--trust-module) at {when}: {p}"
                    for p in problems]


def module_text_hash(path: str | os.PathLike) -> str:
    """The hash of a module file's exact text, as a run records a module it was told to
    trust (`trusted_module_hashes` in `run.json`)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def resume_problems(run_dir: str | os.PathLike, config: TrainConfig,
                    data: Dataset | AbstractStream, initial_state=None) -> list[str]:
    """What differs between a resume and the run record `RUN_DIR/run.json`: each setting of
    the configuration (except those of `RESUMABLE`), the data (by hash) and the initial
    state (where a stream starts and evaluation starts), when given. Empty when the resume
    matches, or when the folder has no run record yet.
    """
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        return []
    info = read_json(path, "run record", _RECORD)
    saved = recorded_config(run_dir).to_dict()
    now = config.to_dict()
    problems = [
        f"{name} was {saved.get(name)!r}, now {now.get(name)!r}"
        for name in sorted(set(saved) | set(now))
        if name not in RESUMABLE and saved.get(name) != now.get(name)
    ]
    state = _initial_state(initial_state)
    if state is not None and "initial_state" in info and not all(
        np.array_equal(np.asarray(saved, np.float64), now)
        for saved, now in zip(info["initial_state"], state)
    ):
        problems.append(f"initial_state was {info['initial_state']}, now "
                        f"{[x.tolist() for x in state]}")
    recorded = info.get("data_hash")
    if recorded is not None and recorded != data_hash(data):
        problems.append(
            f"the training data differ from the run's (data hash {recorded}, now "
            f"{data_hash(data)}); resume without --data to use the run's own data.npz, or "
            "train the new data into a new folder"
        )
    return problems


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
    trust_module: bool = False,
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
    - `resume`: continue each variant from its checkpoint, if it has one. The configuration
        and the data must match `run.json` (see `resume_problems`), else `RunFolderError`.
    - `progress`: print a line per epoch.
    - `initial_state`: `(q0, qdot0)` where evaluation starts (e.g. the spec's clean state;
        the training data may be noisy), recorded in `run.json`; `None` for none.
    - `metadata`: more JSON-able entries for `run.json`; its `"overrides"` (a list of
        sentences) are added to those the run already records.
    - `trust_module`: resume even when `module` is not the one `run.json` records; the
        override is added to the record.

    **Returns:**

    The `Run`. The run folder is locked for the whole call (`symnoether.lock.run_lock`):
    a second trainer in the same folder gets a `RunFolderError`.
    """
    run_dir = Path(run_dir)
    variants = _check_variants(variants)
    with run_lock(run_dir):
        return _train_locked(run_dir, module, data, config, variants, resume, progress,
                             initial_state, dict(metadata or {}), trust_module)


def _train_locked(run_dir, module, data, config, variants, resume, progress, initial_state,
                  metadata, trust_module) -> Run:
    old = read_json(run_dir / "run.json", "run record", _RECORD) if (
        resume and (run_dir / "run.json").is_file()) else {}
    for name in ("overrides", "trusted_module_hashes"):  # kept from the run's record
        metadata[name] = list(dict.fromkeys([*old.get(name, []), *metadata.get(name, [])]))
    if resume:
        problems = resume_problems(run_dir, config, data, initial_state)
        swapped = module_record_problems(run_dir, module, old)
        if trust_module:
            metadata["overrides"] += [f"module check overridden (--trust-module) at "
                                      f"training: {p}" for p in swapped
                                      if not any(p in o for o in metadata["overrides"])]
        else:
            problems += swapped
        if problems:
            raise RunFolderError(format_problems(
                f"cannot resume {str(run_dir)!r}: it differs from the run record run.json "
                f"({len(problems)} difference(s); only {sorted(RESUMABLE)} may change)",
                problems))
    (run_dir / "models").mkdir(parents=True, exist_ok=True)
    if not (resume and (run_dir / "data.npz").exists()):
        if isinstance(data, Dataset):
            save_data(run_dir / "data.npz", data)
        elif isinstance(data, PositionData):
            save_positions(run_dir / "data.npz", data)
    state = _initial_state(initial_state)
    overrides = metadata.pop("overrides")
    known = [v for v in old.get("variants", []) if v in VARIANTS]
    info = {"system": module.SYSTEM_NAME, "spec_hash": getattr(module, "SPEC_HASH", None),
            "module_hash": getattr(module, "MODULE_HASH", None), "data_hash": data_hash(data),
            "variants": [v for v in VARIANTS if v in variants or v in known],
            "config": config.to_dict(), **{k: v for k, v in metadata.items() if v != []}}
    if overrides:
        info["overrides"] = overrides
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
            batch_size=config.batch_size, **_optimizer_arguments(config), checkpoint_dir=folder,
            checkpoint_every=config.checkpoint_every, resume=resume, progress=progress,
            loss=config.make_position_loss() if isinstance(data, PositionData) else None,
            key=train_key,
        )  # fmt: skip
    return Run(run_dir, module, config, models, losses, state, tuple(overrides))


def _optimizer_arguments(config: TrainConfig) -> dict[str, Any]:
    # With optax's epsilon, `train`'s default optimiser: its checkpoints record the two rates
    # as they always have, so older run folders resume. Another epsilon (the reference's)
    # is the same Adam and schedule passed built; the checkpoint then records a custom
    # optimiser, and run.json's configuration is what a resume must match.
    if config.adam_eps == _OPTAX_EPS:
        return {"learning_rate": config.learning_rate,
                "final_learning_rate": config.final_learning_rate}  # fmt: skip
    total = config.epochs * config.steps_per_epoch
    return {"optimizer": make_optimizer(config.learning_rate, config.final_learning_rate, total,
                                        eps=config.adam_eps)}  # fmt: skip


def _initial_state(state) -> tuple[np.ndarray, np.ndarray] | None:
    if state is None:
        return None
    q0, qdot0 = (np.asarray(x, np.float64) for x in state)
    return q0, qdot0


def _saved_config(settings: dict[str, Any]) -> TrainConfig:
    # A configuration this package wrote (config.json, run.json), perhaps under older names:
    # renamed silently, since the user did not write it.
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


def recorded_config(run_dir: str | os.PathLike) -> TrainConfig | None:
    """The configuration `RUN_DIR/run.json` records, or None when there is no run record."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        return None
    return _saved_config(read_json(path, "run record", _RECORD)["config"])


def recorded_variants(run_dir: str | os.PathLike) -> tuple[str, ...] | None:
    """The variants `RUN_DIR/run.json` records, or None when there is no run record."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        return None
    variants = read_json(path, "run record", _RECORD)["variants"]
    try:
        return _check_variants(variants)
    except (TypeError, ValueError) as error:
        raise RunFolderError(f"the run record {str(path)!r} is damaged: {error}") from None


def _load_model(folder: Path, module: ModuleType) -> tuple[LagrangianNetwork, TrainConfig]:
    settings = read_json(folder / "config.json", "model configuration", ("variant", "config"))
    if not isinstance(settings["variant"], str) or settings["variant"] not in VARIANTS:
        raise RunFolderError(f"the model configuration {str(folder / 'config.json')!r} is "
                             f"damaged: unknown variant {settings['variant']!r}")
    config = _saved_config(settings["config"])
    skeleton = config.make_network(
        module, invariant=VARIANTS[settings["variant"]], key=jax.random.key(0)
    )
    total = config.epochs * config.steps_per_epoch
    optimizer = make_optimizer(config.learning_rate, config.final_learning_rate, total)
    opt_state = optimizer.init(eqx.filter(skeleton, eqx.is_inexact_array))
    return load_checkpoint(folder, skeleton, opt_state).model, config


def load_run(run_dir: str | os.PathLike, *, trust_module: bool = False) -> Run:
    """Load a run folder written by `train_run` (see the module docstring for its layout).

    **Arguments:**

    - `run_dir`: the run folder.
    - `trust_module`: use `module.py` even when it was edited after generation or is not
        the module `run.json` records; the override is then listed in `Run.overrides`
        (with those recorded at training). By default that raises `IntegrityError`.

    **Returns:**

    The `Run`, each model rebuilt from its `config.json` and filled from its checkpoint.
    A variant of `run.json` without a checkpoint is a `RunFolderError` (its training
    has not finished an epoch yet, or the file was removed).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise RunFolderError(f"{str(run_dir)!r} is not a run folder: no run.json; train first "
                             "with `symnoether train SPEC --out RUN_DIR`")
    info = read_json(run_dir / "run.json", "run record", _RECORD)
    module, trusted = check_run_module(run_dir, trust=trust_module)
    overrides = [*info.get("overrides", []), *trusted]
    try:
        variants = _check_variants(info["variants"])
    except (ValueError, TypeError) as error:
        raise RunFolderError(f"the run record {str(run_dir / 'run.json')!r} is damaged: "
                             f"{error}") from None
    missing = [v for v in variants if not (run_dir / "models" / v / CHECKPOINT).exists()]
    if missing:
        raise RunFolderError(
            f"run folder {str(run_dir)!r}: variant(s) {missing} of run.json have no "
            f"checkpoint ({CHECKPOINT}): training has not finished an epoch of them yet, "
            "or the file was removed. Resume training (`symnoether train SPEC --out "
            f"{run_dir} --resume`), or wait for the checkpoint"
        )
    models, losses = {}, {}
    for variant in variants:
        folder = run_dir / "models" / variant
        models[variant], _ = _load_model(folder, module)
        losses[variant] = read_losses(folder).astype(models[variant].dtype)
    return Run(run_dir, module, _saved_config(info["config"]), models, losses,
               _initial_state(info.get("initial_state")), tuple(overrides))  # fmt: skip
