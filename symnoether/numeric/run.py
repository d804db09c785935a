"""Run folders: a training configuration, the data and one trained model per variant.

The layout is `symnoether.run_folder.RunFolder`'s; this module trains into a run folder
(`train_run`) and loads one (`load_run`). The other concepts of a run folder have a module
each, whose public names are re-exported here: the configuration (`config.py`,
`TrainConfig`), the run record `run.json` (`record.py`), module trust (`trust.py`) and the
comparison of a resume with what was saved (`resume.py`).

A resume must match the run record: the whole configuration (only `checkpoint_every` may
change, `RESUMABLE`), the data (by hash) and the module (by `MODULE_HASH`).

The variants are `"invariant"` (the network sees the invariants) and `"unconstrained"` (it
sees `q` and `qdot`). Both start from the same seed and see the same batches.
"""

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import equinox as eqx
import jax
import numpy as np

from ..errors import ConfigError, RunFolderError, format_problems
from ..lock import run_lock
from ..processes import is_writer
from ..run_folder import BEST, RunFolder
from .averaging import averaged_parameters
from .checkpoint import load_checkpoint, read_json, read_losses, write_json
from .config import (
    DATA_KINDS,
    MODELS,
    OPTAX_EPS,
    POSITION_LOSSES,
    RESUMABLE,
    TrainConfig,
    saved_config,
)
from .ensemble import train_ensemble
from .network import LagrangianNetwork
from .record import (
    VARIANTS,
    check_variants,
    read_record,
    record_config,
    record_initial_state,
    record_variants,
    write_record,
)
from .resume import record_problems
from .source import AbstractSource
from .train import make_optimizer, train
from .trust import check_run_module, load_module, module_record_problems, module_text_hash

__all__ = [
    "DATA_KINDS",
    "MODELS",
    "POSITION_LOSSES",
    "RESUMABLE",
    "VARIANTS",
    "Run",
    "TrainConfig",
    "check_run_module",
    "data_hash",
    "describe_model",
    "load_module",
    "load_run",
    "module_record_problems",
    "module_text_hash",
    "recorded_config",
    "recorded_variants",
    "resume_problems",
    "train_run",
    "train_seed_runs",
]


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


def data_hash(data: AbstractSource) -> str | None:
    """`data.data_hash()`: a hash of what training sees of fixed data (shapes, dtypes and
    values), 16 hex digits, which `run.json` records and a resume must match; None for a
    stream, which the configuration and the initial state define (a resume checks both)."""
    return data.data_hash()


def resume_problems(run_dir: str | os.PathLike, config: TrainConfig, data: AbstractSource,
                    initial_state=None) -> list[str]:  # fmt: skip
    """What differs between a resume and the run record `RUN_DIR/run.json`: each setting of
    the configuration (except those of `RESUMABLE`), the data (by hash) and the initial
    state (where a stream starts and evaluation starts), when given. Empty when the resume
    matches, or when the folder has no run record yet.
    """
    return _resume_problems(read_record(run_dir), config, data, initial_state)


def _resume_problems(record, config, data, initial_state) -> list[str]:
    if record is None:
        return []
    return record_problems(record, record_config(record), config, data.data_hash(),
                           record_initial_state(initial_state), resumable=RESUMABLE)


def train_run(
    run_dir: str | os.PathLike,
    module: ModuleType,
    data: AbstractSource,
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
    - `data`: the training data, a data source (`AbstractSource`, trained with
        `config.make_loss(data)`): a `Dataset` or `PositionData`, saved to
        `RUN_DIR/data.npz` (kept as it is when resuming), or a stream (`config.make_data`),
        which is not saved: the configuration and the initial state define it.
    - `config`: the `TrainConfig`.
    - `variants`: which of `"invariant"`, `"unconstrained"` to train.
    - `resume`: continue each variant from its checkpoint, if it has one. The configuration
        and the data must match `run.json` (see `resume_problems`), else `RunFolderError`.
    - `progress`: say which model trains (`describe_model`) and show its progress line
        (`train`'s `progress`, labelled with the variant).
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
    variants = check_variants(variants)
    with run_lock(run_dir):
        return _train_locked(run_dir, module, data, config, variants, resume, progress,
                             initial_state, dict(metadata or {}), trust_module)


def _train_locked(run_dir, module, data, config, variants, resume, progress, initial_state,
                  metadata, trust_module) -> Run:
    folder = RunFolder(run_dir)
    state, overrides = _open_run(run_dir, module, data, config, variants, resume, initial_state,
                                 metadata, trust_module)  # fmt: skip
    init_key, train_key = jax.random.split(jax.random.key(config.seed))
    validation = None
    if config.validation_fraction > 0:  # data.npz keeps all; the split is the seed's
        data, validation = data.split(config.validation_fraction, seed=config.seed)
    models, losses = {}, {}
    for variant in variants:
        model = _variant_model(folder, module, data, config, variant, init_key)
        if progress:
            _say(f"training {describe_model(variant, model, config)}")
        models[variant], losses[variant] = train(
            model, data, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
            batch_size=config.batch_size, **_optimizer_arguments(config),
            checkpoint_dir=folder.model(variant), checkpoint_every=config.checkpoint_every,
            resume=resume, progress=variant if progress else False,
            loss=config.make_loss(data), validation=validation,
            patience=config.patience or None, key=train_key,
        )  # fmt: skip
    return Run(run_dir, module, config, models, losses, state, tuple(overrides))


def _open_run(run_dir, module, data, config, variants, resume, initial_state, metadata,
              trust_module):  # fmt: skip
    # What comes before training a run folder: the resume checks against run.json, then
    # data.npz and the run record. Returns the recorded initial state and the overrides.
    folder = RunFolder(run_dir)
    old = (read_record(run_dir) or {}) if resume else {}  # the one read of run.json
    for name in ("overrides", "trusted_module_hashes"):  # kept from the run's record
        metadata[name] = list(dict.fromkeys([*old.get(name, []), *metadata.get(name, [])]))
    if resume:
        _check_resume(run_dir, module, data, config, initial_state, metadata, trust_module,
                      old)  # fmt: skip
    state = record_initial_state(initial_state)
    overrides = metadata.pop("overrides")
    if is_writer():  # in a distributed run, only process 0 writes
        folder.models.mkdir(parents=True, exist_ok=True)
        if not (resume and folder.data.exists()):
            data.save(folder.data)  # (a stream writes nothing)
        write_record(run_dir, _record(module, data, config, variants, old, metadata,
                                      overrides, state))  # fmt: skip
    return state, overrides


def _variant_model(folder: RunFolder, module, data, config, variant, init_key):
    # A variant's untrained model, its config.json written.
    if is_writer():
        folder.model(variant).mkdir(exist_ok=True)
        write_json(folder.config(variant), {"variant": variant, "config": config.to_dict()})
    model = config.make_network(module, invariant=VARIANTS[variant], key=init_key)
    if config.standardize:
        model = model.standardized(*data.preview(config.batch_size))
    if config.friction == "learned":  # a friction removes energy only under mass > 0
        model = model.normalized(*data.preview(config.batch_size))
    return model


def train_seed_runs(
    run_dirs: Sequence[str | os.PathLike],
    module: ModuleType,
    data: Sequence[AbstractSource],
    configs: Sequence[TrainConfig],
    *,
    variants: tuple[str, ...] = ("invariant", "unconstrained"),
    resume: bool = False,
    progress: bool = True,
    initial_state: tuple | None = None,
    metadata: dict | None = None,
    trust_module: bool = False,
) -> list[Run]:
    """Train K run folders of one configuration but the seed as a seed ensemble: each
    variant's K models in one vectorised program (`train_ensemble`).

    Each folder ends as `train_run` would have left it (run record, data, one checkpoint
    folder per variant, with the seed's keys), so it evaluates, resumes alone with
    `train_run` and plots like any other; seed by seed the losses are those of K separate
    `train_run` calls, up to float32 rounding (docs/TRAINING.md, "Seed ensembles").

    **Arguments:**

    - `run_dirs`: the K run folders.
    - `module`: the generated module (one module object for all: the models must have the
        same structure).
    - `data`: the K members' data sources (a fixed set's noise is the seed's).
    - `configs`: the K configurations; they may differ only in `seed`, and need
        `validation_fraction` 0 (an ensemble keeps no best model).
    - the rest: as `train_run`'s, the same for every member.

    **Returns:**

    The K `Run`s, in the order of `run_dirs`. Every folder is locked for the whole call.
    """
    run_dirs = [Path(d) for d in run_dirs]
    variants = check_variants(variants)
    configs, data = list(configs), list(data)
    _check_members(run_dirs, data, configs)
    with contextlib.ExitStack() as stack:
        for run_dir in run_dirs:
            stack.enter_context(run_lock(run_dir))
        opened = [_open_run(run_dir, module, source, config, variants, resume, initial_state,
                            dict(metadata or {}), trust_module)
                  for run_dir, source, config in zip(run_dirs, data, configs)]  # fmt: skip
        keys = [jax.random.split(jax.random.key(config.seed)) for config in configs]
        config = configs[0]
        trained = [({}, {}) for _ in run_dirs]
        seeds = ", ".join(str(c.seed) for c in configs)
        for variant in variants:
            models = [_variant_model(RunFolder(d), module, source, c, variant, k[0])
                      for d, source, c, k in zip(run_dirs, data, configs, keys)]  # fmt: skip
            if progress:
                _say(f"training {describe_model(variant, models[0], config)}; seeds {seeds} "
                     "as one vectorised ensemble")
            results = train_ensemble(
                models, data, keys=[k[1] for k in keys], epochs=config.epochs,
                steps_per_epoch=config.steps_per_epoch, batch_size=config.batch_size,
                **_optimizer_arguments(config),
                checkpoint_dirs=[RunFolder(d).model(variant) for d in run_dirs],
                checkpoint_every=config.checkpoint_every, resume=resume,
                progress=f"{variant}, {len(run_dirs)} seeds" if progress else False,
                loss=config.make_loss(data[0]),
            )  # fmt: skip
            for (models_, losses), result in zip(trained, results):
                models_[variant], losses[variant] = result
    return [Run(d, module, c, m, losses, state, tuple(overrides))
            for d, c, (m, losses), (state, overrides)
            in zip(run_dirs, configs, trained, opened)]  # fmt: skip


def _check_members(run_dirs, data, configs) -> None:
    # An ensemble's members: one data source and configuration each, alike but the seed.
    if not run_dirs or not len(run_dirs) == len(data) == len(configs):
        raise ValueError(f"a seed ensemble needs one data source and one configuration per "
                         f"run folder; got {len(run_dirs)} folders, {len(data)} sources, "
                         f"{len(configs)} configurations")
    differ = sorted({name for c in configs for name, value in c.to_dict().items()
                     if name != "seed" and value != configs[0].to_dict()[name]})
    problems = [f"the configurations differ in {differ}: an ensemble's members differ only in "
                "their seed (a member resumed or extended alone? then go on with the members "
                "one by one: symnoether train SPEC --out OUT/seed-K --resume)"] if differ else []
    seeds = [c.seed for c in configs]
    if len(set(seeds)) < len(seeds):
        problems.append(f"the seeds {seeds} repeat: each member needs its own")
    if configs[0].validation_fraction > 0:
        problems.append("a seed ensemble trains without a validation split (it keeps no best "
                        "model): set validation_fraction to 0, or train the seeds one by one "
                        "(symnoether train --seed K)")
    if problems:
        raise ConfigError(problems, what="seed ensemble")


def describe_model(variant: str, model, config: TrainConfig) -> str:
    """One line on what a variant trains: family, width, depth and parameter count, e.g.
    `"invariant: natural family (T - V), width 128, depth 2, 33,410 parameters"`."""
    family = config.model if VARIANTS[variant] else "mlp"
    family = {"mlp": "MLP family", "natural": "natural family (T - V)"}[family]
    sees = "the invariants" if VARIANTS[variant] else "q and qdot"
    if model.module.__dict__.get("LAGRANGIAN_EXPLICIT_TIME", False):  # TimeLagrangianNetwork
        family = "time-dependent family exp(a t) f"
        sees += f" and t/{config.time_scale:g}" if config.time_input else ""
    count = sum(int(np.size(x)) for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    averaged = (f"; the model is the mean of the iterates of the last "
                f"{config.average_epochs} epochs" if config.average_epochs else "")  # fmt: skip
    return (f"{variant}: {family} of {sees}, width {config.width}, depth {config.depth}, "
            f"{count:,} parameters{config.describe_force(model.module)}{averaged}")


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # a closed stream: progress is not worth a crash
        pass


def _optimizer_arguments(config: TrainConfig) -> dict[str, Any]:
    # With optax's epsilon, `train`'s default optimiser: its checkpoints record the two rates
    # as they always have, so older run folders resume. Another epsilon (the reference's)
    # is the same Adam and schedule passed built; the checkpoint then records a custom
    # optimiser, and run.json's configuration is what a resume must match.
    # Tail averaging (`average_epochs`) is the same Adam with the mean in its state, passed
    # built too.
    schedule = None if config.schedule_epochs is None else config.schedule_steps
    if config.adam_eps == OPTAX_EPS and not config.average_epochs:
        return {"learning_rate": config.learning_rate, "schedule_steps": schedule,
                "final_learning_rate": config.final_learning_rate}  # fmt: skip
    return {"optimizer": config_optimizer(config), "schedule_steps": schedule}


def config_optimizer(config: TrainConfig):
    """The optimiser a configuration trains with: `make_optimizer` of its rates, schedule,
    Adam epsilon and tail averaging."""
    return make_optimizer(config.learning_rate, config.final_learning_rate,
                          config.schedule_steps, eps=config.adam_eps,
                          average_from=config.average_start)  # fmt: skip


def _check_resume(run_dir, module, data, config, initial_state, metadata, trust_module,
                  record) -> None:  # fmt: skip
    problems = _resume_problems(record or None, config, data, initial_state)
    swapped = module_record_problems(run_dir, module, record)
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


def _record(module, data, config, variants, old, metadata, overrides, state) -> dict:
    known = [v for v in old.get("variants", []) if v in VARIANTS]
    info = {"system": module.SYSTEM_NAME, "spec_hash": getattr(module, "SPEC_HASH", None),
            "module_hash": getattr(module, "MODULE_HASH", None), "data_hash": data.data_hash(),
            "variants": [v for v in VARIANTS if v in variants or v in known],
            "config": config.to_dict(), **{k: v for k, v in metadata.items() if v != []}}
    if overrides:
        info["overrides"] = overrides
    if state is not None:
        info["initial_state"] = [state[0].tolist(), state[1].tolist()]
    return info


def recorded_config(run_dir: str | os.PathLike) -> TrainConfig | None:
    """The configuration `RUN_DIR/run.json` records, or None when there is no run record."""
    record = read_record(run_dir)
    return None if record is None else record_config(record)


def recorded_variants(run_dir: str | os.PathLike) -> tuple[str, ...] | None:
    """The variants `RUN_DIR/run.json` records, or None when there is no run record."""
    record = read_record(run_dir)
    return None if record is None else record_variants(record, run_dir)


def _load_model(folder: RunFolder, variant: str,
                module: ModuleType) -> tuple[LagrangianNetwork, TrainConfig]:  # fmt: skip
    path = folder.config(variant)
    settings = read_json(path, "model configuration", ("variant", "config"))
    if not isinstance(settings["variant"], str) or settings["variant"] not in VARIANTS:
        raise RunFolderError(f"the model configuration {str(path)!r} is "
                             f"damaged: unknown variant {settings['variant']!r}")
    config = saved_config(settings["config"])
    skeleton = config.make_network(
        module, invariant=VARIANTS[settings["variant"]], key=jax.random.key(0)
    )
    opt_state = config_optimizer(config).init(eqx.filter(skeleton, eqx.is_inexact_array))
    saved = load_checkpoint(folder.model(variant), skeleton, opt_state)
    model = saved.model
    best = folder.model(variant) / BEST
    if best.exists():  # trained with a validation split: the model of the lowest loss
        model = eqx.tree_deserialise_leaves(best, model)
    mean = averaged_parameters(saved.opt_state)
    if mean is not None:  # trained with tail averaging: the mean of the last iterates
        model = eqx.combine(mean, eqx.filter(model, eqx.is_inexact_array, inverse=True))
    return model, config


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
    folder = RunFolder(run_dir)
    info = read_record(run_dir)
    if info is None:
        raise RunFolderError(f"{str(run_dir)!r} is not a run folder: no run.json; train first "
                             "with `symnoether train SPEC --out RUN_DIR`")
    module, trusted = check_run_module(run_dir, trust=trust_module, record=info)
    overrides = [*info.get("overrides", []), *trusted]
    variants = record_variants(info, run_dir)
    missing = [v for v in variants if not folder.checkpoint(v).exists()]
    if missing:
        raise RunFolderError(
            f"run folder {str(run_dir)!r}: variant(s) {missing} of run.json have no "
            f"checkpoint ({folder.checkpoint(missing[0]).name}): training has not finished "
            "an epoch of them yet, or the file was removed. Resume training (`symnoether "
            f"train SPEC --out {run_dir} --resume`), or wait for the checkpoint"
        )
    models, losses = {}, {}
    for variant in variants:
        models[variant], _ = _load_model(folder, variant, module)
        losses[variant] = read_losses(folder.model(variant)).astype(models[variant].dtype)
    return Run(run_dir, module, record_config(info), models, losses,
               record_initial_state(info.get("initial_state")), tuple(overrides))  # fmt: skip
