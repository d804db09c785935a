"""The glue of the `symnoether` command: spec -> generated module -> run folder -> metrics.

This module computes and returns; `cli.py` prints (tables, stages, messages). The two halves
still meet only through the generated file: this module writes it with the symbolic half,
then loads it by path for the numeric half.
"""

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .errors import ConfigError, DataError, RunFolderError, SpecError
from .files import atomic_write
from .lock import run_lock
from .processes import is_writer
from .run_folder import EnsembleFolder, RunFolder

__all__ = [
    "BUDGETS",
    "DEFAULT_SPEC",
    "PreparedRun",
    "check_seeds",
    "evaluate_run_folder",
    "format_seeds",
    "load_config",
    "prepare_run",
    "prepare_seed_runs",
    "recorded_seeds",
    "train_models",
    "train_seed_models",
]

# Training and evaluation budgets of the demo. "full" is the reference's 2500 x 100 steps.
# The demo's invariant model is the natural family (T - V with a definite mass matrix):
# docs/MODELS.md gives the figures that chose it.
BUDGETS = {
    "smoke": {"config": {"width": 32, "epochs": 8, "steps_per_epoch": 50, "t_final": 50.0,
                         "model": "natural"},
              "eval_steps": 400},
    "short": {"config": {"epochs": 150, "steps_per_epoch": 100, "t_final": 200.0,
                         "model": "natural"},
              "eval_steps": 6400},
    "full": {"config": {"epochs": 2500, "steps_per_epoch": 100, "model": "natural"},
             "eval_steps": 12800},
}
DEFAULT_SPEC = Path("examples/kepler/spec.py")


@dataclass(frozen=True)
class PreparedRun:
    """A run folder with its module, configuration and data, ready to train."""

    run_dir: Path
    system: object
    module: ModuleType
    config: object
    data: object
    overrides: tuple[str, ...] = ()


def _module_for(system, run_dir: Path, resume: bool, invariants=None, force: bool = False,
                trust: bool = False, copy_of=None) -> tuple[ModuleType, list[str]]:
    # The module and the checks overridden (`trust`) to use it. `copy_of`: (path, module)
    # of a module this system generated already (another member of a seed ensemble): its
    # file is copied byte for byte (generation is deterministic) instead of verifying and
    # generating again, and the module object is shared, so that programs compiled for
    # one member (the data's trajectory) serve every member.
    from .codegen.generate import generate
    from .numeric.run import check_run_module, load_module

    path = RunFolder(run_dir).module
    if resume and path.is_file():
        module, overrides = check_run_module(run_dir, trust=trust, when="training")
        if module.SPEC_HASH != system.spec_hash():
            raise RunFolderError(
                f"{path} was generated from another version of the spec (hash "
                f"{module.SPEC_HASH}, now {system.spec_hash()}); resume with the spec it was "
                "trained on, or start a new run folder"
            )
        return module, overrides
    if not is_writer():
        # Another process of a distributed run writes the run folder: this one generates
        # its own copy (byte-identical: generation is deterministic) in a private folder.
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="symnoether-")) / path.name
    if copy_of is not None:
        text = copy_of[0].read_bytes()
        atomic_write(path, lambda f: f.write(text))
        return copy_of[1], []
    generate(system, path, invariants=invariants, force=force, overwrite=True)
    return load_module(path), []


def load_config(config_path=None, run_dir=None, *, resume: bool = False,
                overrides: dict | None = None, epochs: int | None = None):
    """The training configuration of a run, validated; nothing is written.

    **Arguments:**

    - `config_path`: a JSON file of `TrainConfig` settings; defaults otherwise, or, when
      resuming without one, the configuration `RUN_DIR/run.json` records.
    - `run_dir`: the run folder (read only when resuming).
    - `resume`: whether the run is resumed.
    - `overrides`: settings that replace those of the configuration.
    - `epochs`: the epochs to train (`--epochs`); when resuming, the run is extended to
      them with its learning-rate schedule (`TrainConfig.extended`).

    **Returns:**

    A `TrainConfig`. Raises `ConfigError` (exit code 2) listing every problem. A float64
    configuration turns on JAX's 64-bit mode, which it needs.
    """
    from .numeric.run import TrainConfig, recorded_config

    recorded = None if run_dir is None or not resume else recorded_config(run_dir)
    if config_path:
        config = TrainConfig.from_file(config_path)
    else:
        config = TrainConfig() if recorded is None else recorded
    if overrides:  # unknown or invalid settings are a ConfigError, listing each
        config = TrainConfig.from_dict({**config.to_dict(), **overrides})
    if epochs is not None:
        config = (config.extended(epochs) if resume and recorded is not None
                  else TrainConfig.from_dict({**config.to_dict(), "epochs": epochs}))
    _enable_float64(config.dtype)
    return config


def _enable_float64(dtype: str) -> None:
    # float64 networks and data need JAX's 64-bit mode, which must be on before arrays
    # are made; the command enables it rather than tell its user to call jax.config.
    if dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)


def _data(system, module, config, run_dir: Path, data_path, resume: bool):
    import jax

    from .numeric.data import load_data

    saved = RunFolder(run_dir).data
    if data_path and config.data != "fixed":
        raise SpecError(
            f"--data {data_path} is a fixed data set, but the configuration asks for "
            f'data={config.data!r}; set "data": "fixed" in the configuration, or leave '
            "--data out to stream from the spec's initial_state",
            what="training data",
        )
    if data_path or (resume and config.data in ("fixed", "positions") and saved.is_file()):
        return load_data(data_path or saved, module)  # a bad file is a DataError
    if system.lagrangian is None or system.initial_state is None:
        raise SpecError(
            f"system {system.name!r} has no true Lagrangian and initial_state to make "
            "training data from; pass --data FILE.npz with arrays q, qdot, qddot (or positions "
            "only: q with dt or t)",
            what="training data",
        )
    try:
        return config.make_data(module, *system.initial_state, key=jax.random.key(config.seed + 1))
    except DataError as error:  # data the spec's initial state cannot give; not a bug
        raise SpecError(error.problems, what="training data") from error


def _check_timed(system, module, data, data_path) -> None:
    # A Lagrangian L(q, qdot, t) trains on states with their times (`AbstractSource.timed`);
    # say so before training rather than inside it.
    if not module.__dict__.get("LAGRANGIAN_EXPLICIT_TIME", False):
        return
    try:
        data.timed()
    except ValueError as error:
        where = f"the data {data_path}" if data_path else "the training data"
        raise DataError(
            f"system {system.name!r} has a Lagrangian that depends on the time explicitly, so "
            f"its networks need each sample's time, but {where} carry none. Give a "
            ".npz with q, qdot, qddot and t (one time per sample), or leave "
            "--data out to sample the spec's initial_state with data 'fixed'; positions-only "
            "training of such a system is not supported yet"
        ) from error


def prepare_run(
    spec, run_dir, *, config_path=None, data_path=None, resume: bool = False,
    overrides: dict | None = None, invariants=None, force: bool = False, config=None,
    trust_module: bool = False,
) -> PreparedRun:
    """Load the spec, generate its module into the run folder, and make or load the data.

    **Arguments:**

    - `spec`: the spec file, or a `System`.
    - `run_dir`: the run folder (created when missing).
    - `config_path`: a JSON file of `TrainConfig` settings; defaults otherwise (when
      resuming: the configuration the run records). See `load_config`.
    - `data_path`: a `.npz` with `q`, `qdot`, `qddot`, or positions only (`q` with `dt` or
      `t`, docs/POSITIONS.md); by default the data that the
      configuration's `data` describes, from the spec's `initial_state`.
    - `resume`: reuse the folder's module and data (the spec must be unchanged).
    - `overrides`: settings that replace those of the configuration.
    - `invariants`: an `InvariantSet` already derived for this system (derived when None).
    - `force`: generate the module even when a verification check fails or is undecided
      (its header records them, as with `symnoether generate --force`).
    - `config`: a `TrainConfig` already made by `load_config` (then `config_path` and
      `overrides` are not read).
    - `trust_module`: when resuming, use the folder's module even when it fails its
      integrity checks; the override is recorded in `run.json` by `train_models`.

    **Returns:**

    A [`PreparedRun`][]. Raises `VerificationFailed` (nothing written) when a check fails
    and `force` is False. The run folder's writer lock is held while it is prepared; hold
    it around `prepare_run` and `train_models` too (`symnoether.lock.run_lock`), as the
    CLI does, so that no other trainer comes in between.
    """
    from .symbolic.system import System, load_spec

    system = spec if isinstance(spec, System) else load_spec(spec)
    run_dir = Path(run_dir)
    if config is None:
        config = load_config(config_path, run_dir, resume=resume, overrides=overrides)
    return _prepare(system, run_dir, config, data_path, resume, invariants, force,
                    trust_module)


def _prepare(system, run_dir: Path, config, data_path, resume: bool, invariants, force: bool,
             trust_module: bool, copy_of=None) -> PreparedRun:
    with run_lock(run_dir):
        if not resume and RunFolder(run_dir).checkpoints():
            raise RunFolderError(
                f"{str(run_dir)!r} already holds trained models; pass --resume to continue "
                "them, or choose another --out folder (nothing was overwritten)"
            )
        module, trusted = _module_for(system, run_dir, resume, invariants, force,
                                      trust_module, copy_of)
        problems = config.force_problems(module)  # before any data are made
        if problems:
            raise ConfigError(problems)
        data = _data(system, module, config, run_dir, data_path, resume)
        _check_timed(system, module, data, data_path)
    return PreparedRun(run_dir, system, module, config, data, tuple(trusted))


def train_models(run: PreparedRun, *, variants=("invariant", "unconstrained"),
                 resume: bool = False, progress: bool = True):
    """Train each variant of a prepared run into `RUN_DIR/models/<variant>/`; the spec's
    `initial_state` (where evaluation starts) goes into the run record."""
    from .numeric.record import check_variants
    from .numeric.run import train_run

    try:
        variants = check_variants(variants)
    except ValueError as error:  # the caller's variants, checked before anything runs
        raise RunFolderError(str(error)) from error
    # Anything else raised while training is either the project's own error (an
    # InputError is bad input, exit code 2) or a bug, whose traceback must show.
    return train_run(run.run_dir, run.module, run.data, run.config, variants=variants,
                     resume=resume, progress=progress, initial_state=run.system.initial_state,
                     metadata=_trusted(run), trust_module=bool(run.overrides))  # fmt: skip


def _trusted(run: PreparedRun) -> dict:
    # The overrides to record; a module trusted now is trusted again by its exact text.
    if not run.overrides:
        return {}
    from .numeric.run import module_text_hash

    return {"overrides": list(run.overrides),
            "trusted_module_hashes": [module_text_hash(RunFolder(run.run_dir).module)]}


def prepare_seed_runs(
    spec, out, seeds, *, config_path=None, data_path=None, resume: bool = False,
    overrides: dict | None = None, epochs: int | None = None, force: bool = False,
    trust_module: bool = False,
) -> list[PreparedRun]:
    """Prepare a seed ensemble: one run folder `OUT/seed-<k>` per seed, each as
    `prepare_run` prepares one, whose configuration differs only in its `seed`
    (`symnoether train SPEC --out OUT --seeds 0:10`; train them with `train_seed_models`).

    **Arguments:**

    - `spec`: the spec file, or a `System`.
    - `out`: the ensemble's folder; `OUT/ensemble.json` records its seeds.
    - `seeds`: the seeds, distinct whole numbers >= 0 (e.g. `range(10)`).
    - `config_path`, `overrides`, `epochs`: the configuration (see `load_config`; when
        resuming without a file, each member's recorded one); its `seed` is replaced.
    - the rest: as `prepare_run`'s.

    **Returns:**

    The members' [`PreparedRun`][]s, in the order of `seeds`. The module is generated
    (and verified) once and copied into every member.
    """
    from .symbolic.system import System, load_spec

    system = spec if isinstance(spec, System) else load_spec(spec)
    seeds = check_seeds(seeds)
    root = EnsembleFolder(out)
    configs = [_member_config(config_path, root.member(seed), seed, resume, overrides, epochs)
               for seed in seeds]  # fmt: skip
    runs = []
    with run_lock(root.path):
        _check_ensemble(root, seeds, resume)
        for seed, config in zip(seeds, configs):
            copy_of = (RunFolder(runs[0].run_dir).module, runs[0].module) if (
                runs and not resume) else None
            runs.append(_prepare(system, root.member(seed), config, data_path, resume, None,
                                 force, trust_module, copy_of))  # fmt: skip
        if is_writer():
            from .numeric.checkpoint import write_json

            write_json(root.record, {"seeds": list(seeds),
                                     "members": [root.member(s).name for s in seeds]})
    return runs


def _member_config(config_path, member: Path, seed: int, resume, overrides, epochs):
    config = load_config(config_path, member, resume=resume,
                         overrides={**(overrides or {}), "seed": seed}, epochs=epochs)
    return config


def check_seeds(seeds) -> tuple[int, ...]:
    """The seeds of an ensemble as a tuple; `RunFolderError` unless they are distinct whole
    numbers >= 0, at least one."""
    seeds = tuple(seeds)
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if not seeds or bad or len(set(seeds)) < len(seeds):
        raise RunFolderError(f"the seeds of an ensemble must be distinct whole numbers >= 0, "
                             f"at least one; got {list(seeds)}")
    return seeds


def recorded_seeds(out) -> tuple[int, ...] | None:
    """The seeds `OUT/ensemble.json` records, or None when `out` holds no seed ensemble."""
    from .numeric.checkpoint import read_json

    record = EnsembleFolder(out).record
    if not record.is_file():
        return None
    seeds = read_json(record, "seed ensemble record", ("seeds",))["seeds"]
    if not isinstance(seeds, list):
        raise RunFolderError(f"{record} is damaged (its seeds are not a list); restore it, "
                             "or pass --seeds")
    return check_seeds(seeds)


def _check_ensemble(root: EnsembleFolder, seeds: tuple[int, ...], resume: bool) -> None:
    if RunFolder(root.path).run_json.is_file():
        raise RunFolderError(f"{str(root.path)!r} is the run folder of a single run; a seed "
                             "ensemble needs a folder of its own: choose another --out")
    recorded = recorded_seeds(root.path)
    if recorded is None:
        return
    if resume and recorded != seeds:
        raise RunFolderError(f"{str(root.path)!r} holds the seed ensemble of seeds "
                             f"{format_seeds(recorded)}, not {format_seeds(seeds)}; resume "
                             f"it with --seeds {format_seeds(recorded)} (or no --seeds), or "
                             "resume one member alone with --out OUT/seed-K")
    trained = [s for s in recorded if RunFolder(root.member(s)).checkpoints()]
    if not resume and trained:
        raise RunFolderError(f"{str(root.path)!r} already holds a trained seed ensemble "
                             f"(seeds {format_seeds(recorded)}); pass --resume to continue "
                             "it, or choose another --out folder (nothing was overwritten)")


def format_seeds(seeds) -> str:
    """Seeds as `--seeds` takes them: `"0:4"` for a range, else `"0,3,7"`."""
    seeds = list(seeds)
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}:{seeds[-1] + 1}"
    return ",".join(map(str, seeds))


def train_seed_models(runs: list[PreparedRun], *, variants=("invariant", "unconstrained"),
                      resume: bool = False, progress: bool = True):
    """Train the members of a seed ensemble (`prepare_seed_runs`) as one vectorised
    program per variant (`numeric.run.train_seed_runs`); returns their `Run`s."""
    from .numeric.record import check_variants
    from .numeric.run import train_seed_runs

    try:
        variants = check_variants(variants)
    except ValueError as error:
        raise RunFolderError(str(error)) from error
    return train_seed_runs([run.run_dir for run in runs], runs[0].module,
                           [run.data for run in runs], [run.config for run in runs],
                           variants=variants, resume=resume, progress=progress,
                           initial_state=runs[0].system.initial_state,
                           metadata=_trusted(runs[0]),
                           trust_module=any(run.overrides for run in runs))  # fmt: skip


def evaluate_run_folder(run_dir, *, t_final: float | None = None, dt: float | None = None,
                        out_dir=None, method=None, dtype: str | None = None,
                        trust_module: bool = False, data=None) -> dict:
    """Evaluate a trained run folder: `metrics.json` and plots in `RUN_DIR/evaluation`.

    **Returns:**

    The metrics (`numeric.evaluate.evaluate_run`); `cli.print_table` prints them.
    """
    from .numeric.checkpoint import read_json
    from .numeric.evaluate import evaluate_run

    record = RunFolder(run_dir).run_json
    if not record.is_file():
        seeds = recorded_seeds(run_dir)
        if seeds is not None:
            raise RunFolderError(
                f"{str(run_dir)!r} is a seed ensemble (seeds {format_seeds(seeds)}), whose "
                "members are run folders: evaluate each, e.g. `symnoether evaluate "
                f"{EnsembleFolder(run_dir).member(seeds[0])}`")
        raise RunFolderError(f"{str(run_dir)!r} is not a run folder (no run.json); train "
                             "first with `symnoether train SPEC --out RUN_DIR`")
    config = read_json(record, "run record", ("config",))["config"]
    _enable_float64(config.get("dtype") if isinstance(config, dict) else None)
    kwargs = {k: v for k, v in (("t_final", t_final), ("dt", dt), ("out_dir", out_dir),
                                ("method", method), ("dtype", dtype), ("data", data))
              if v is not None}  # fmt: skip
    return evaluate_run(run_dir, trust_module=trust_module, **kwargs)
