"""The glue of the `symnoether` command: spec -> generated module -> run folder -> metrics.

The two halves still meet only through the generated file: this module writes it with the
symbolic half, then loads it by path for the numeric half.
"""

import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from .errors import SpecError

__all__ = ["BUDGETS", "PreparedRun", "prepare_run", "run_demo", "train_models"]

# Training and evaluation budgets of the demo. "full" is the reference's 2500 x 100 steps.
BUDGETS = {
    "smoke": {"config": {"width": 32, "epochs": 8, "steps_per_epoch": 50, "t_final": 50.0},
              "eval_steps": 400},
    "short": {"config": {"epochs": 150, "steps_per_epoch": 100, "t_final": 200.0},
              "eval_steps": 6400},
    "full": {"config": {"epochs": 2500, "steps_per_epoch": 100}, "eval_steps": 12800},
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


def _module_for(system, run_dir: Path, resume: bool, invariants=None,
                force: bool = False) -> ModuleType:
    from .codegen.generate import generate
    from .numeric.run import load_module

    path = run_dir / "module.py"
    if resume and path.is_file():
        module = load_module(path)
        if module.SPEC_HASH != system.spec_hash():
            raise SpecError(
                f"{path} was generated from another version of the spec (hash "
                f"{module.SPEC_HASH}, now {system.spec_hash()}); resume with the spec it was "
                "trained on, or start a new run folder",
                what="resume",
            )
        return module
    generate(system, path, invariants=invariants, force=force)
    return load_module(path)


def _config(config_path, overrides: dict | None):
    from .numeric.run import TrainConfig

    try:
        config = TrainConfig.from_file(config_path) if config_path else TrainConfig()
        return replace(config, **(overrides or {}))
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise SpecError(str(error), what="training configuration") from error


def _data(system, module, config, run_dir: Path, data_path, resume: bool):
    import jax
    import jax.numpy as jnp

    from .numeric.data import load_data, trajectory_data

    saved = run_dir / "data.npz"
    if data_path or (resume and saved.is_file()):
        try:
            return load_data(data_path or saved, module)
        except (ValueError, TypeError, FileNotFoundError) as error:
            raise SpecError(str(error), what="data file") from error
    if system.lagrangian is None or system.initial_state is None:
        raise SpecError(
            f"system {system.name!r} has no true Lagrangian and initial_state to make "
            "training data from; pass --data FILE.npz with arrays q, qdot, qddot",
            what="training data",
        )
    q0, qdot0 = system.initial_state
    dtype = jnp.float64 if config.dtype == "float64" else jnp.float32
    return trajectory_data(
        module, jnp.asarray(q0), jnp.asarray(qdot0), dt=config.dt,
        sample_every=config.sample_every, t_final=config.t_final, noise=config.noise,
        dtype=dtype, key=jax.random.key(config.seed + 1),
    )  # fmt: skip


def prepare_run(
    spec, run_dir, *, config_path=None, data_path=None, resume: bool = False,
    overrides: dict | None = None, invariants=None, force: bool = False,
) -> PreparedRun:
    """Load the spec, generate its module into the run folder, and make or load the data.

    **Arguments:**

    - `spec`: the spec file, or a `System`.
    - `run_dir`: the run folder (created when missing).
    - `config_path`: a JSON file of `TrainConfig` settings; defaults otherwise.
    - `data_path`: a `.npz` with `q`, `qdot`, `qddot`; by default one true trajectory.
    - `resume`: reuse the folder's module and data (the spec must be unchanged).
    - `overrides`: settings that replace those of the configuration.
    - `invariants`: an `InvariantSet` already derived for this system (derived when None).
    - `force`: generate the module even when a verification check fails or is undecided
      (its header records them, as with `symnoether generate --force`).

    **Returns:**

    A [`PreparedRun`][]. Raises `VerificationFailed` (nothing written) when a check fails
    and `force` is False.
    """
    from .symbolic.system import System, load_spec

    system = spec if isinstance(spec, System) else load_spec(spec)
    run_dir = Path(run_dir)
    if not resume and any(run_dir.glob("models/*/checkpoint.eqx")):
        raise SpecError(
            f"{str(run_dir)!r} already holds trained models; pass --resume to continue them, "
            "or choose another --out folder (nothing was overwritten)",
            what="run folder",
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    module = _module_for(system, run_dir, resume, invariants, force)
    config = _config(config_path, overrides)
    data = _data(system, module, config, run_dir, data_path, resume)
    return PreparedRun(run_dir, system, module, config, data)


def train_models(run: PreparedRun, *, variants=("invariant", "unconstrained"),
                 resume: bool = False, progress: bool = True):
    """Train each variant of a prepared run into `RUN_DIR/models/<variant>/`."""
    from .numeric.run import train_run

    state = run.system.initial_state
    metadata = {"initial_state": [list(state[0]), list(state[1])]} if state else None
    try:
        return train_run(run.run_dir, run.module, run.data, run.config, variants=variants,
                         resume=resume, progress=progress, metadata=metadata)
    except ValueError as error:  # unknown variants, or a checkpoint that cannot be resumed
        raise SpecError(str(error), what="training run") from error


def evaluate_run_folder(run_dir, *, t_final: float | None = None, dt: float | None = None,
                        out_dir=None, method=None) -> dict:
    """Evaluate a trained run folder: `metrics.json` and plots in `RUN_DIR/evaluation`."""
    from .numeric.evaluate import evaluate_run

    if not (Path(run_dir) / "run.json").is_file():
        raise SpecError(f"{str(run_dir)!r} is not a run folder (no run.json); train first with "
                        "`symnoether train SPEC --out RUN_DIR`", what="run folder")
    kwargs = {k: v for k, v in (("t_final", t_final), ("dt", dt), ("out_dir", out_dir),
                                ("method", method)) if v is not None}
    metrics = evaluate_run(run_dir, **kwargs)
    print_table(metrics)
    return metrics


_MISSING = object()


def _cell(x) -> str:
    if x is _MISSING:
        return "-"  # not measured: e.g. no true system to compare with
    return "diverged" if x is None else f"{x:.2e}"


def print_table(metrics: dict) -> None:
    """Print the comparison table of an evaluation's metrics."""
    settings = metrics["settings"]
    print(f"\nrollouts of {settings['steps']} steps, dt = {settings['dt']} "
          f"(t = {settings['t_final']:g}), {settings['dtype']}; charge drift = max over t of "
          "|I(t) - I(0)| / |I(0)| for the vector I of all charges (metrics.json has each)")
    header = (f"{'model':<14}{'method':<13}{'final loss':>11}{'own charges':>13}"
              f"{'true charges':>14}{'own energy':>12}{'|q - q_true|':>14}")
    print(header)
    print("-" * len(header))
    for name, by_method in metrics["models"].items():
        loss = by_method.get("final_training_loss")
        for method in settings["methods"]:
            m = by_method[method]
            energy = m["energy"].get("max_relative_drift", m["energy"].get("max_absolute_drift"))
            error = m.get("trajectory_error", {}).get("final", _MISSING)
            own = m["charge_vector"]["max_relative_drift"]
            true = m.get("true_charge_vector", {}).get("max_relative_drift", _MISSING)
            if not settings.get("charge_names"):  # no symmetry, no charges
                own = true = _MISSING
            print(f"{name:<14}{method:<13}{_cell(_MISSING if loss is None else loss):>11}"
                  f"{_cell(own):>13}{_cell(true):>14}{_cell(energy):>12}{_cell(error):>14}")
    for warning in metrics.get("warnings", []):
        print(f"warning: {warning}")


def run_demo(*, spec=None, out=None, budget: str = "short") -> int:
    """The main job on one example: derive, verify, generate, train, integrate, evaluate.

    **Arguments:**

    - `spec`: the spec file (default `examples/kepler/spec.py`).
    - `out`: the run folder (default `runs/demo-<budget>`); a rerun resumes it.
    - `budget`: `"smoke"` (seconds), `"short"` (minutes) or `"full"` (the reference's).

    **Returns:**

    The exit code: 0, or 1 when verification fails.
    """
    from .symbolic.invariants import derive_invariants
    from .symbolic.system import load_spec
    from .symbolic.verify import verify

    spec = Path(spec) if spec else DEFAULT_SPEC
    if not spec.is_file():
        raise SpecError(f"spec file {str(spec)!r} not found; run from the repository root or "
                        "pass --spec FILE", what="demo")
    plan, out = BUDGETS[budget], Path(out or f"runs/demo-{budget}")
    start = _stage(f"derive: {spec}")
    system = load_spec(spec)
    invariants = derive_invariants(system)
    for name, expr in zip(invariants.names, invariants.exprs):
        print(f"   {name} = {expr}")
    print(f"   complete: {invariants.certificate.complete} (rank {invariants.certificate.rank} "
          f"of {invariants.certificate.expected_rank})")
    _done(start)
    start = _stage("verify")
    report = verify(system, invariants=invariants)
    for check in report.checks:
        print(f"   {'PASS' if check.passed else 'FAIL'}  {check.name}")
    _done(start)
    if not report.ok:
        return 1
    start = _stage(f"generate: {out / 'module.py'}; data: one true trajectory")
    resume = (out / "run.json").is_file()
    run = prepare_run(system, out, resume=resume, overrides=plan["config"],
                      invariants=invariants)
    print(f"   {len(run.data.q)} samples")
    _done(start)
    start = _stage(f"train: invariant and unconstrained networks ({budget} budget)")
    train_models(run, resume=resume)
    _done(start)
    start = _stage("integrate with RK4 and the variational integrator; evaluate")
    evaluate_run_folder(out, t_final=plan["eval_steps"] * 0.01, dt=0.01)
    print(f"\nplots and metrics.json in {out / 'evaluation'}")
    _done(start)
    return 0


def _stage(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def _done(start: float) -> None:
    print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
