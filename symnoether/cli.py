"""The `symnoether` command: derive, verify, symmetries, generate, train, evaluate, demo.

What is printed (tables, stages, messages) is printed here; the work is done by the
library and `pipeline.py`. Exit codes (docs/ERRORS.md): 0 success; 1 a check failed (a
verification check, or training diverged); 2 bad input (a spec, configuration, data file,
run folder or argument that cannot be used, or a file that cannot be read or written),
with a message that says what was wrong and how to fix it; 130 interrupted (Ctrl-C); 141
the output pipe was closed (`symnoether verify SPEC | head`). Every anticipated error is
a `SymnoetherError` with its exit code; `main` prints it as `error: ...`, never a
traceback.
"""

import argparse
import contextlib
import dataclasses
import errno
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

from .errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ConfigError,
    SpecError,
    SymnoetherError,
)
from .run_folder import RunFolder

__all__ = ["main", "print_table"]

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as the shell reports a process a closed pipe ended


def _load(spec: str, minimal: bool = False):
    """The spec's system; `minimal` (the `--minimal` switch) asks for a minimal invariant set.
    A local spec's `sn.ParticleSystem` or `sn.LatticeSystem` is returned as it is (the
    commands hand it to `local_run.py` or `lattice_run.py`)."""
    from .symbolic.lattice import LatticeSystem
    from .symbolic.local import ParticleSystem
    from .symbolic.system import as_system, load_declaration

    declared = load_declaration(spec)
    if isinstance(declared, (ParticleSystem, LatticeSystem)):
        return declared
    system = as_system(declared, spec)
    return dataclasses.replace(system, minimal_invariants=True) if minimal else system


def _is_local(system) -> bool:
    from .symbolic.local import ParticleSystem

    return isinstance(system, ParticleSystem)


def _is_lattice(system) -> bool:
    from .symbolic.lattice import LatticeSystem

    return isinstance(system, LatticeSystem)


def _print_system(system) -> None:
    c, G = system.coordinates, system.symmetry
    print(f"system      {system.name}")
    print(f"coordinates {', '.join(c.names)}")
    for block, members in c.blocks.items():
        print(f"  block {block}: ({', '.join(members)})")
    print(f"symmetry    {G.name}, {G.K} generator(s)")
    for name, xi in zip(G.names, G.generators):
        print(f"  {name}: xi = ({', '.join(map(str, xi))})")


def cmd_derive(args) -> int:
    """Print coordinates, generators, invariants with their certificate, and charges."""
    from .symbolic.invariants import derive_invariants
    from .symbolic.noether import energy, noether_charges

    system = _load(args.spec, args.minimal)
    if _is_local(system):
        from .local_run import print_local_derivation

        print_local_derivation(system)
        return EXIT_OK
    if _is_lattice(system):
        from .lattice_run import print_lattice_derivation

        print_lattice_derivation(system)
        return EXIT_OK
    _print_system(system)
    inv = derive_invariants(system)
    cert = inv.certificate
    print(f"invariants  {len(inv.exprs)} ({inv.route} route)")
    for name, expr in zip(inv.names, inv.exprs):
        print(f"  {name} = {expr}")
    print("certificate")
    print(f"  invariant: {cert.invariant}")
    print(f"  rank of dS/d(q, qdot): {cert.rank} (expected 2n - r = {cert.expected_rank}, "
          f"orbit dimension r = {cert.orbit_dimension})")
    print(f"  complete: {cert.complete}")
    for note in cert.notes:
        print(f"  note: {note}")
    if system.has_boundary:
        print("boundary terms F_a of quasi-symmetries (X_a L = dF_a/dt; I_a = p . xi_a - F_a)")
        for term in system.boundary:
            if term.value != 0:
                print(f"  {term.generator}: F = {term.value} ({term.origin})")
    if system.lagrangian is not None:
        print("noether charges of the true Lagrangian")
        for name, expr in noether_charges(system).items():
            print(f"  {name} = {expr}")
        print(f"  energy = {energy(system)}")
    if system.balanced:
        _print_balance(system)
    return EXIT_OK


def _print_balance(system) -> None:
    """The forces, the friction and the balance law of every charge and of the energy."""
    from .symbolic.balance import charge_rates, energy_rate

    if system.has_forces:
        print("non-conservative forces (d/dt dL/dqdot - dL/dq = Q - dR/dqdot)")
    if system.dissipation is not None:
        print(f"  R = {system.true_dissipation}")
    if system.learn_dissipation:
        print("  R learned: sum_k c_k(S) P_k >= 0 over the dissipation basis")
    if system.forces is not None:
        print(f"  Q = ({', '.join(map(str, system.true_forces))})")
    if system.explicit_time:
        print("explicit time: the equations of motion depend on t")
    print("balance laws under the known forces (0: exactly conserved)")
    for name, rate in charge_rates(system).items():
        print(f"  d {name}/dt = {rate}")
    print(f"  d energy/dt = {energy_rate(system)}")


def cmd_verify(args) -> int:
    """Run every verification check; exit 0 when all pass, 1 when one fails."""
    from .symbolic.verify import verify

    system = _load(args.spec, args.minimal)
    if _is_local(system) or _is_lattice(system):
        from .symbolic.lattice import verify_lattice
        from .symbolic.local import verify_local

        report = (verify_local if _is_local(system) else verify_lattice)(system)
        for check in report.checks:
            print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
        return EXIT_OK if report.ok else EXIT_FAILED
    report = verify(system)
    print(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_symmetries(args) -> int:
    """Find every Noether point symmetry of the spec's Lagrangian; exit 0 when the basis is
    proved complete, 1 when a part is undecided or a generator is not proved."""
    from .symbolic.symmetries import find_symmetries

    if args.from_run is not None:
        return _symmetries_from_run(args)
    result = find_symmetries(_load(args.spec))
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(result.table())
    return EXIT_OK if result.complete else EXIT_FAILED


def _x64_for_run(run_dir) -> None:
    """Turn on JAX's 64-bit mode when the run at `run_dir` trained in float64: its weights
    load only in that mode."""
    import jax

    from .numeric.checkpoint import read_json

    record = Path(run_dir) / "run.json"
    if record.is_file() and read_json(record, "run record").get("config", {}).get(
            "dtype") == "float64":
        jax.config.update("jax_enable_x64", True)


def _symmetries_from_run(args) -> int:
    """The affine symmetries a trained model learned, each proved or refuted on the spec's
    true Lagrangian; exit 0 when every candidate is proved, 1 otherwise."""
    from .errors import RunFolderError
    from .numeric.discover import data_states, run_states, symmetry_candidates
    from .numeric.run import load_run
    from .symbolic.symmetries.from_model import prove_candidates

    system = _load(args.spec)
    _x64_for_run(args.from_run)
    run = load_run(args.from_run, trust_module=args.trust_module)
    variant = args.variant or ("unconstrained" if "unconstrained" in run.models
                               else next(iter(run.models)))
    if variant not in run.models:
        raise RunFolderError(f"run folder {args.from_run!r} has no model {variant!r}; it "
                             f"has {', '.join(run.models)} (choose one with --variant)")
    try:
        q, qdot = (run_states(run, args.samples) if args.data is None
                   else data_states(args.data, run.module, args.samples))
        found = symmetry_candidates(run.models[variant], q, qdot, tol=args.tol)
    except ValueError as error:
        raise RunFolderError(str(error)) from None
    result = prove_candidates(system, found.as_json(),
                              source=f"the {variant} model of {args.from_run}")
    if args.json:
        print(json.dumps({**result.as_json(), "candidates": found.as_json()}, indent=2))
    else:
        gap = "-" if found.gap is None else f"{found.gap:.3g}"
        print(f"{variant} model of {args.from_run}: {len(found.generators)} candidate(s) "
              f"below tol {args.tol:g} of {found.samples} states (gap {gap}; smallest "
              "relative singular values " + ", ".join(
                  f"{s:.2g}" for s in found.singular_values[:len(found.generators) + 3]) + ")")
        if found.state_rank < 2 * found.n:
            print(f"warning: the training states span {found.state_rank} of the "
                  f"{2 * found.n} directions of (q, qdot); symmetries that move the states "
                  "out of that span cannot be identified from them"
                  + (f" (not constrained: {', '.join(found.unidentified)})"
                     if found.unidentified else ""))
        print(result.table())
    return EXIT_OK if all(g.proved for g in result.generators) else EXIT_FAILED


def cmd_generate(args) -> int:
    """Verify and generate the JAX module of a spec."""
    from .codegen.generate import generate

    system = _load(args.spec, args.minimal)
    if _is_local(system):
        from .codegen.local import generate_local

        generate_local(system, args.output)
        print(f"wrote {args.output} (a local module: any number of particles)")
        return EXIT_OK
    if _is_lattice(system):
        from .codegen.lattice import generate_lattice

        generate_lattice(system, args.output)
        print(f"wrote {args.output} (a lattice module: any lattice size)")
        return EXIT_OK
    generate(system, args.output, force=args.force, overwrite=args.force)
    print(f"wrote {args.output}")
    return EXIT_OK


def _variants(args, system, config, run_dir=None) -> tuple[str, ...]:
    # --models given: those. Otherwise a resume continues the variants the run (`run_dir`,
    # default --out) records (an invariant-only run stays one), and a new run trains both,
    # or only one for a system without symmetry.
    from .numeric.run import VARIANTS, recorded_variants

    if args.models is not None:
        return args.models
    recorded = recorded_variants(run_dir or args.out) if args.resume else None
    return _default_variants(system, config, tuple(VARIANTS)) if recorded is None else recorded


def _default_variants(system, config, variants: tuple[str, ...]) -> tuple[str, ...]:
    # Without a symmetry (nor a known part of L) the invariants are q and qdot themselves:
    # the invariant MLP is the unconstrained one, and training it twice would only double
    # the time. (The natural model, T - V, is another family: both are trained.)
    if system.symmetry.K > 0 or system.known_lagrangian is not None or config.model != "mlp":
        return variants
    print("note: the system has no symmetry, so the invariant and unconstrained networks "
          "are the same; training one (--models invariant,unconstrained trains both)",
          file=sys.stderr)
    return ("invariant",)


def cmd_train(args) -> int:
    """Generate the module into a run folder, make or load data, and train."""
    from .codegen.printer import VerificationFailed
    from .lock import run_lock
    from .pipeline import load_config, prepare_run, train_models

    _join_processes(args)  # before anything makes a JAX array
    system = _load(args.spec, args.minimal)
    if _is_local(system):
        _refuse_unused_train_flags(args, "local", data=True)
        if args.seed is not None or getattr(args, "seeds", None) is not None:
            raise ConfigError("--seed and --seeds are not supported for a local spec; "
                              "set \"seed\" in the --config file instead")
        from .local_run import LocalConfig, train_local_run

        config = LocalConfig.load(args.config)
        with run_lock(args.out):
            train_local_run(system, args.out, spec_path=args.spec, config=config,
                            progress=not args.quiet)
        print(f"run folder: {args.out}")
        return EXIT_OK
    if _is_lattice(system):
        return _train_lattice(args, system)
    seeds = _seeds_of(args)
    if seeds is not None:
        return _train_seeds(args, system, seeds)
    config = load_config(args.config, args.out, resume=args.resume, epochs=args.epochs,
                         overrides=None if args.seed is None else {"seed": args.seed})
    with run_lock(args.out):
        try:
            run = prepare_run(system, args.out, config=config, data_path=args.data,
                              resume=args.resume, force=args.force,
                              trust_module=args.trust_module)  # fmt: skip
        except VerificationFailed as error:
            return _refused_unverified(error)
        train_models(run, variants=_variants(args, system, run.config), resume=args.resume,
                     progress=not args.quiet)
    print(f"run folder: {args.out}")
    return EXIT_OK


def _refuse_unused_train_flags(args, kind: str, *, data: bool = False) -> None:
    # The local and lattice runs take their settings from --config alone: a flag of the
    # MLP runs' `train` would otherwise be ignored without a word.
    flags = [("--models", args.models), ("--epochs", args.epochs)]
    if data:
        flags += [("--data", args.data), ("--resume", args.resume)]
    used = [flag for flag, value in flags if value]
    if used:
        raise ConfigError(
            f"{', '.join(used)} {'is' if len(used) == 1 else 'are'} not supported for a "
            f"{kind} spec (one model, trained from the --config settings: \"steps\" for "
            "its length); leave the flag out"
        )


def _train_lattice(args, system) -> int:
    from .lattice_run import LatticeConfig, train_lattice_run
    from .lock import run_lock
    from .symbolic.lattice import verify_lattice

    _refuse_unused_train_flags(args, "lattice")
    if args.seed is not None or getattr(args, "seeds", None) is not None:
        raise ConfigError("--seed and --seeds are not supported for a lattice spec; "
                          "set \"seed\" in the --config file instead")
    if args.resume:
        raise ConfigError("--resume is not supported for a lattice spec; train again "
                          "with more \"steps\" in the --config file")
    config = LatticeConfig.load(args.config)
    report = verify_lattice(system)
    failed = [c.name for c in report.checks if not c.passed]
    if failed and not args.force:
        print(f"error: the spec failed verification ({', '.join(failed)} not proved), so "
              "nothing was trained; see `symnoether verify SPEC`, or pass --force to train "
              "anyway", file=sys.stderr)
        return EXIT_FAILED
    with run_lock(args.out):
        train_lattice_run(system, args.out, spec_path=args.spec, config=config,
                          data_path=args.data, progress=not args.quiet)
    print(f"run folder: {args.out}")
    return EXIT_OK


def _refused_unverified(error) -> int:
    # `train` (one run or a seed ensemble) of a spec that failed verification.
    print(f"error: the spec failed verification ({', '.join(error.checks)} not "
          "proved), so nothing was trained; see `symnoether verify SPEC`, or pass "
          "--force to train anyway", file=sys.stderr)
    return EXIT_FAILED


def _seeds_of(args) -> tuple[int, ...] | None:
    # --seeds, or with --resume the seeds of the ensemble the folder holds (its
    # ensemble.json); None for a single run.
    from .pipeline import recorded_seeds

    if args.seeds is not None or not args.resume or args.seed is not None:
        return args.seeds
    return recorded_seeds(args.out)


def _train_seeds(args, system, seeds: tuple[int, ...]) -> int:
    # A seed ensemble: one run folder OUT/seed-K per seed, trained as one vectorised
    # program per variant (docs/TRAINING.md, "Seed ensembles").
    from .codegen.printer import VerificationFailed
    from .lock import run_lock
    from .pipeline import prepare_seed_runs, train_seed_models
    from .run_folder import EnsembleFolder

    root = EnsembleFolder(args.out)
    with run_lock(root.path), contextlib.ExitStack() as stack:
        for seed in seeds:  # every member's lock, held for the whole run
            stack.enter_context(run_lock(root.member(seed)))
        try:
            runs = prepare_seed_runs(system, args.out, seeds, config_path=args.config,
                                     data_path=args.data, resume=args.resume,
                                     epochs=args.epochs, force=args.force,
                                     trust_module=args.trust_module)  # fmt: skip
        except VerificationFailed as error:
            return _refused_unverified(error)
        variants = _variants(args, system, runs[0].config, runs[0].run_dir)
        train_seed_models(runs, variants=variants, resume=args.resume,
                          progress=not args.quiet)
    print(f"run folders: {', '.join(str(run.run_dir) for run in runs)} (seed ensemble "
          f"{args.out}; evaluate each with `symnoether evaluate RUN_DIR`)")
    return EXIT_OK


def _join_processes(args) -> None:
    # One process of a multi-process run (jax.distributed): flags, else JAX_* variables,
    # else (--cluster) a cluster JAX detects (SLURM, Open MPI). Nothing otherwise.
    from .numeric.distributed import initialize

    count = initialize(args.coordinator, args.num_processes, args.process_id,
                       timeout=args.distributed_timeout,
                       heartbeat_timeout=args.heartbeat_timeout, detect=args.cluster)
    if count > 1:
        import jax

        print(f"process {jax.process_index()} of {count}: {jax.local_device_count()} local "
              f"device(s), {jax.device_count()} in all", file=sys.stderr)


def cmd_evaluate(args) -> int:
    """Roll out the trained models, write metrics.json and plots; print the table."""
    from .lattice_run import is_lattice_run
    from .local_run import is_local_run
    from .pipeline import evaluate_run_folder

    if is_local_run(args.run_dir):
        return _evaluate_local(args)
    if is_lattice_run(args.run_dir):
        return _evaluate_lattice(args)
    if args.system is not None:
        raise ConfigError(f"--system needs the run folder of a local model (trained on an "
                          f"sn.ParticleSystem or sn.LatticeSystem spec); {args.run_dir!r} "
                          "is not one")

    print_table(evaluate_run_folder(args.run_dir, t_final=args.t_final, dt=args.dt,
                                    method=args.method, dtype=args.dtype,
                                    trust_module=args.trust_module, data=args.data))
    return EXIT_OK


def _evaluate_local(args) -> int:
    from .local_run import evaluate_local_run, print_local_metrics
    from .symbolic.local import load_local_spec

    system = None if args.system is None else load_local_spec(args.system)
    methods = args.method or ("rk4", "variational")
    print_local_metrics(evaluate_local_run(args.run_dir, system=system, t_final=args.t_final,
                                           dt=args.dt, methods=methods))
    return EXIT_OK


def _evaluate_lattice(args) -> int:
    from .lattice_run import METHODS, evaluate_lattice_run, print_lattice_metrics
    from .symbolic.lattice import load_lattice_spec

    unused = [flag for flag, value in (("--data", args.data), ("--dtype", args.dtype))
              if value is not None]
    if unused:
        raise ConfigError(f"{' and '.join(unused)}: not supported for a lattice run (its "
                          "rollouts are float64 from the spec's initial state); evaluate "
                          "another lattice size with --system SPEC")
    system = None if args.system is None else load_lattice_spec(args.system)
    methods = args.method or METHODS
    print_lattice_metrics(evaluate_lattice_run(args.run_dir, system=system,
                                               t_final=args.t_final, dt=args.dt,
                                               methods=methods))
    return EXIT_OK


def cmd_export(args) -> int:
    """Write a trained model's Lagrangian and acceleration as `jax.export` artefacts."""
    from .errors import RunFolderError
    from .numeric.export import export_model
    from .numeric.run import load_run

    _x64_for_run(args.run_dir)
    run = load_run(args.run_dir, trust_module=args.trust_module)
    if args.model not in run.models:
        raise RunFolderError(f"run folder {args.run_dir!r} has no model {args.model!r}; it "
                              f"has {', '.join(run.models)} (choose one with --model)")
    out = Path(args.output or Path(args.run_dir) / "export" / args.model)
    platforms = tuple(p.strip() for p in args.platforms.split(",")) if args.platforms else None
    export_model(run.models[args.model], out, platforms=platforms)
    print(f"wrote {out}: lagrangian.jaxexport, acceleration.jaxexport, export.json "
          "(load with jax.export.deserialize; see export.json)")
    return EXIT_OK


_MISSING = object()


def _cell(x) -> str:
    if x is _MISSING:
        return "-"  # not measured: e.g. no true system to compare with
    return "diverged" if x is None else f"{x:.2e}"


def print_table(metrics: dict) -> None:
    """Print the comparison table of an evaluation's metrics (`evaluate_run`'s result)."""
    settings = metrics["settings"]
    print(f"\nrollouts of {settings['steps']} steps, dt = {settings['dt']} "
          f"(t = {settings['t_final']:g}), {settings['dtype']}; charge drift = max over t of "
          "|I(t) - I(0)| / |I(0)| for the vector I of all charges (metrics.json has each)")
    data = "data_trajectories" in settings
    balance = any("balance" in m for by in metrics["models"].values() for m in by.values()
                  if isinstance(m, dict))  # fmt: skip
    header = (f"{'model':<14}{'method':<13}{'final loss':>11}{'own charges':>13}"
              f"{'true charges':>14}{'own energy':>12}{'|q - q_true|':>14}"
              + (f"{'balance':>10}" if balance else "")
              + (f"{'|q - q_data|':>14}" if data else ""))
    print(header)
    print("-" * len(header))
    rows = dict(metrics["models"])
    if (data or balance) and "true_system" in metrics:  # its noise level, its balance laws
        rows["true system"] = metrics["true_system"]
    for name, by_method in rows.items():
        loss = by_method.get("final_training_loss")
        for method in settings["methods"]:
            m = by_method[method]
            energy = m["energy"].get("max_relative_drift", m["energy"].get("max_absolute_drift"))
            error = m.get("trajectory_error", {}).get("final", _MISSING)
            own = m["charge_vector"]["max_relative_drift"]
            true = m.get("true_charge_vector", {}).get("max_relative_drift", _MISSING)
            if not settings.get("charge_names"):  # no symmetry, no charges
                own = true = _MISSING
            against = m.get("data_error", {}).get("final", _MISSING)
            worst = m.get("balance", {}).get("max", _MISSING)
            print(f"{name:<14}{method:<13}{_cell(_MISSING if loss is None else loss):>11}"
                  f"{_cell(own):>13}{_cell(true):>14}{_cell(energy):>12}{_cell(error):>14}"
                  + (f"{_cell(worst):>10}" if balance else "")
                  + (f"{_cell(against):>14}" if data else ""))
    if balance:
        explicit = " + dL/dt" if "t0" in settings else ""  # (a system driven in time)
        print("balance: the largest |dI/dt - xi . Phi| over the charges and |dE/dt - qdot . "
              f"Phi{explicit}| along the rollout (metrics.json has each charge)")
    _print_friction(metrics.get("friction"))
    if data:
        print(f"|q - q_data|: mean over {settings['data_trajectories']} trajectories of the "
              "data of the final error, each rolled out from its first state")
    for warning in metrics.get("warnings", []):
        print(f"warning: {warning}")


def _print_friction(friction: dict | None) -> None:
    # The friction coefficient b of each model (and the true one), on the true rollout.
    if not friction:
        return
    true = friction.get("true")
    parts = []
    for name, entry in friction["models"].items():
        error = entry.get("relative_error")
        off = "" if error is None else f" ({error:.1%} off)"
        parts.append(f"{name} {_cell(entry.get('coefficient'))}{off}")
    truth = "" if true is None else f"; true {_cell(true)}"
    print(f"friction coefficient b = -qdot . M^-1 Phi / |qdot|^2 (median on the true "
          f"rollout): {', '.join(parts)}{truth}")


def _methods(text: str) -> tuple[str, ...]:
    # argparse `type`: the registry is read only when --method is given, so that commands
    # of the symbolic half never import JAX.
    from .numeric.integrate import INTEGRATORS

    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in methods if m not in INTEGRATORS]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(
            f"unknown integrator(s) {unknown or [text]}; choose from {', '.join(INTEGRATORS)} "
            "(comma-separated)"
        )
    return methods


def _positive(text: str) -> float:
    # argparse `type` of --dt and --t-final: a finite number > 0.
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _whole(text: str) -> int:
    # argparse `type` of --epochs: a whole number >= 1.
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _seed(text: str) -> int:
    # argparse `type` of --seed: a whole number >= 0.
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _seed_list(text: str) -> tuple[int, ...]:
    # argparse `type` of --seeds: START:STOP (Python's range, STOP excluded) or a
    # comma-separated list, distinct whole numbers >= 0.
    how = ("give START:STOP (seeds START to STOP - 1, e.g. 0:10) or a comma-separated list "
           "(e.g. 0,3,7)")
    parts = text.split(":")
    try:
        if len(parts) == 2:
            start, stop = (int(part) for part in parts)
            seeds = tuple(range(start, stop))
            if start < 0 or not seeds:
                raise argparse.ArgumentTypeError(
                    f"{text!r} is an empty or negative range: STOP must be greater than "
                    f"START >= 0; {how}")
            return seeds
        if len(parts) > 2:
            raise ValueError(text)
        seeds = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of seeds; {how}") from None
    if any(seed < 0 for seed in seeds) or len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(
            f"{text!r}: the seeds must be distinct whole numbers >= 0; {how}")
    return seeds


def cmd_demo(args) -> int:
    """The main job, end to end, on the default example (Kepler)."""
    return run_demo(spec=args.spec, out=args.out, budget=args.budget, quiet=args.quiet)


def run_demo(*, spec=None, out=None, budget: str = "short", quiet: bool = False) -> int:
    """The main job on one example: derive, verify, generate, train, integrate, evaluate,
    printing each stage.

    **Arguments:**

    - `spec`: the spec file (default `examples/kepler/spec.py`).
    - `out`: the run folder (default `runs/demo-<budget>`); a rerun resumes it.
    - `budget`: `"smoke"` (seconds), `"short"` (minutes) or `"full"` (the reference's).
    - `quiet`: no training progress lines.

    **Returns:**

    The exit code: 0, or 1 when verification fails.
    """
    from .lock import run_lock
    from .numeric.run import VARIANTS
    from .pipeline import BUDGETS, DEFAULT_SPEC, evaluate_run_folder, prepare_run, train_models
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
        return EXIT_FAILED
    start = _stage(f"generate: {RunFolder(out).module}; data: one true trajectory")
    resume = RunFolder(out).run_json.is_file()
    with run_lock(out):
        run = prepare_run(system, out, resume=resume, overrides=plan["config"],
                          invariants=invariants)
        if run.data.size() is not None:  # a fixed set (a stream has no count)
            print(f"   {run.data.size()} samples")
        _done(start)
        start = _stage(f"train: the invariant natural model (T - V, definite mass matrix) and "
                       f"the unconstrained network ({budget} budget)")
        train_models(run, variants=_default_variants(system, run.config, tuple(VARIANTS)),
                     resume=resume, progress=not quiet)
    _done(start)
    from .numeric.integrate import INTEGRATORS

    start = _stage(f"integrate with each integrator ({', '.join(INTEGRATORS)}); evaluate")
    print_table(evaluate_run_folder(out, t_final=plan["eval_steps"] * 0.01, dt=0.01))
    print(f"\nplots and metrics.json in {RunFolder(out).evaluation}")
    _done(start)
    return EXIT_OK


def _stage(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def _done(start: float) -> None:
    print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)


def _minimal_flag(parser) -> None:
    parser.add_argument("--minimal", action="store_true",
                        help="a minimal invariant set: exactly the rank, complete only locally "
                             "(see docs/WRITING_A_SPEC.md)")


def _trust_flag(parser) -> None:
    parser.add_argument("--trust-module", action="store_true",
                        help="use the run folder's module.py even if it was edited after "
                             "generation or is not the one the run was trained with "
                             "(recorded in the run folder and shown by evaluate)")


def _quiet_flag(parser) -> None:
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines while training (errors and warnings still "
                             "show)")


def _cache_flags(parser) -> None:
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="JAX's compilation cache folder, for fast restarts (default "
                             "$SYMNOETHER_CACHE_DIR, else ~/.cache/symnoether/jax)")
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="no compilation cache (or SYMNOETHER_CACHE_DIR=off)")


def _distributed_flags(parser) -> None:
    group = parser.add_argument_group(
        "several processes (jax.distributed; docs/TRAINING.md, \"Several machines\")")
    group.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help="process 0's address (default $JAX_COORDINATOR_ADDRESS)")
    group.add_argument("--num-processes", default=None, metavar="N",
                       help="number of processes (default $JAX_NUM_PROCESSES)")
    group.add_argument("--process-id", default=None, metavar="I",
                       help="this process's index, 0..N-1 (default $JAX_PROCESS_ID); "
                            "process 0 writes the run folder")
    group.add_argument("--cluster", action="store_true",
                       help="let JAX find the processes (SLURM srun, Open MPI)")
    group.add_argument("--distributed-timeout", type=_positive, default=300, metavar="S",
                       help="seconds to wait for every process to join (default 300)")
    group.add_argument("--heartbeat-timeout", type=_positive, default=100, metavar="S",
                       help="seconds of silence after which a process counts as dead "
                            "(default 100)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symnoether",
        description="Symmetries -> invariant Lagrangian networks with exact Noether charges.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("derive", help="print invariants, charges and the certificate")
    p.add_argument("spec", help="spec file defining `system`")
    _minimal_flag(p)
    p.set_defaults(func=cmd_derive)
    p = sub.add_parser("verify", help="prove closure, invariance and conservation")
    p.add_argument("spec")
    _minimal_flag(p)
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("symmetries", help="find every Noether point symmetry of the "
                       "Lagrangian, with charges and proofs")
    p.add_argument("spec")
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON (for scripts) instead of the table")
    p.add_argument("--from-run", metavar="RUN_DIR",
                   help="instead: the affine symmetries a trained model of RUN_DIR learned "
                   "(least squares on its Lagrangian at its training states), each proved "
                   "or refuted on the spec's true Lagrangian")
    p.add_argument("--variant", choices=["invariant", "unconstrained"],
                   help="with --from-run: the model to examine (default: unconstrained)")
    p.add_argument("--samples", type=int, default=512,
                   help="with --from-run: the number of training states (default 512)")
    p.add_argument("--tol", type=float, default=1e-2,
                   help="with --from-run: the relative singular value below which a "
                   "direction is a symmetry (default 1e-2)")
    p.add_argument("--data", metavar="FILE.npz",
                   help="with --from-run: take the states from this data file (the one the "
                   "run was trained on with train --data) instead of rebuilding them")
    p.add_argument("--trust-module", action="store_true",
                   help="with --from-run: use the run's module.py even if edited")
    p.set_defaults(func=cmd_symmetries)
    p = sub.add_parser("generate", help="write the JAX module of a spec")
    p.add_argument("spec")
    _minimal_flag(p)
    p.add_argument("-o", "--output", required=True, help="the module file to write")
    p.add_argument("--force", action="store_true",
                   help="write even if a check fails (recorded in the header), and replace "
                        "an output file that is not a generated module")
    p.set_defaults(func=cmd_generate)
    p = sub.add_parser("train", help="train invariant and unconstrained networks")
    p.add_argument("spec")
    _minimal_flag(p)
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--config", help="JSON file of training settings")
    p.add_argument("--data", help=".npz with q, qdot, qddot (default: made from the true "
                   "Lagrangian)")
    p.add_argument("--models",
                   help="comma-separated variants to train (invariant, unconstrained; "
                        "default both, or with --resume the ones the run folder records)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint "
                   "(of every member, for the folder of a seed ensemble)")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, default=None, metavar="K",
                       help="the random seed (default: the configuration's, 0)")
    seeds.add_argument("--seeds", type=_seed_list, default=None, metavar="SEEDS",
                       help="a seed ensemble: train these seeds (START:STOP, STOP excluded, "
                            "or a list 0,3,7) of the same configuration as one vectorised "
                            "program, into the run folders OUT/seed-K")
    p.add_argument("--epochs", type=_whole, default=None, metavar="N",
                   help="train N epochs in all; with --resume, extends a finished run (its "
                        "learning-rate schedule is kept: the extra epochs run at the final "
                        "rate)")
    _quiet_flag(p)
    p.add_argument("--force", action="store_true",
                   help="train even if a verification check fails or is undecided (recorded "
                        "in the generated module's header)")
    _trust_flag(p)
    _cache_flags(p)
    _distributed_flags(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="metrics.json and plots for a run folder")
    p.add_argument("run_dir")
    p.add_argument("--t-final", type=_positive, default=None,
                   help="rollout length (default 100)")
    p.add_argument("--dt", type=_positive, default=None,
                   help="rollout time step (default 0.01)")
    p.add_argument("--method", type=_methods, default=None,
                   help="comma-separated integrators, e.g. rk4,variational (default: all)")
    p.add_argument("--dtype", choices=("float64", "float32", "mixed"), default=None,
                   help="precision of the rollouts (default float64: the model's behaviour "
                        "rather than float32 rounding; float32 is the precision of training; "
                        "mixed: a float32 network called from float64 states)")
    p.add_argument("--data", default=None, metavar="FILE",
                   help="also compare with the trajectories of a data file (.npz of states "
                        "with times t, or positions; as train --data)")
    p.add_argument("--system", default=None, metavar="SPEC",
                   help="a local run only: evaluate the trained model on the system of this "
                        "sn.ParticleSystem spec (another number of particles) or "
                        "sn.LatticeSystem spec (another lattice size)")
    _trust_flag(p)
    _cache_flags(p)
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("export", help="a trained model as jax.export programs (StableHLO)")
    p.add_argument("run_dir")
    p.add_argument("--model", default="invariant", help="the variant (default invariant)")
    p.add_argument("-o", "--output", default=None,
                   help="the folder to write (default RUN_DIR/export/MODEL)")
    p.add_argument("--platforms", default=None,
                   help="comma-separated, e.g. cpu,cuda (default: the platform JAX runs on)")
    _trust_flag(p)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("demo", help="the main job, end to end, on the Kepler example")
    p.add_argument("--spec", default=None, help="spec file (default: examples/kepler/spec.py)")
    p.add_argument("--out", default=None, help="run folder (default: runs/demo-<budget>)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--smoke", dest="budget", action="store_const", const="smoke",
                        help="tiny budget, well under a minute (for tests)")
    budget.add_argument("--full", dest="budget", action="store_const", const="full",
                        help="the reference budget: 2500 epochs x 100 steps (hours)")
    _quiet_flag(p)
    _cache_flags(p)
    p.set_defaults(func=cmd_demo, budget="short")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `symnoether` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return EXIT_OK
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    from .progress import enable

    enable()  # one line per long stage on stderr
    if hasattr(args, "cache"):  # the commands that compile: before anything imports JAX
        from .compilation_cache import enable_cache

        enable_cache(args.cache_dir, enabled=args.cache)
    if getattr(args, "models", None) is not None:
        args.models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    try:
        with warnings.catch_warnings():  # restores Python's own display afterwards
            warnings.showwarning = _show_warning
            code = args.func(args)
        sys.stdout.flush()  # a closed pipe is reported here, not at interpreter exit
        return code
    except SymnoetherError as error:
        return _error(str(error), error.exit_code)
    except OSError as error:  # an unreadable or unwritable file, a full disk, ...
        if isinstance(error, BrokenPipeError):
            return _broken_pipe()
        return _error(_os_message(error, args), EXIT_BAD_INPUT)
    except json.JSONDecodeError as error:  # a JSON file that no reader above recognised
        return _error(f"a JSON file is damaged ({error}); restore it or start afresh",
                      EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        _error(_interrupted(args), EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One `warning: ...` line, as errors are shown: the source path and line that Python
    # adds read like a traceback to a user of the command.
    text = " ".join(str(message).split())
    try:
        print(f"warning: {text}", file=sys.stderr if file is None else file, flush=True)
    except (OSError, ValueError):
        pass


def _error(message: str, code: int) -> int:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    print(f"error: {message}", file=sys.stderr)
    return code


def _os_message(error: OSError, args) -> str:
    where = f" {str(error.filename)!r}" if error.filename else ""
    text = f"{error.strerror or error}{':' if where else ''}{where}"
    if error.errno == errno.ENOSPC:
        return (f"{text}: the disk is full; free some space and rerun"
                + (" with --resume (the last checkpoint is kept)"
                   if args.command in ("train", "demo") else ""))
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{text}: choose a file or folder you can write to (or read, for inputs)"
    return text


def _interrupted(args) -> str:
    if args.command == "train":
        resume = ["symnoether", "train", args.spec, "--out", args.out, "--resume"]
        resume += ["--config", args.config] if args.config else []
        if args.seed is not None:
            resume += ["--seed", str(args.seed)]
        if args.seeds is not None:
            from .pipeline import format_seeds

            resume += ["--seeds", format_seeds(args.seeds)]
        resume += ["--data", args.data] if args.data else []
        return ("interrupted; the checkpoints written so far are kept. Continue with: "
                + " ".join(resume))
    if args.command == "demo":
        return "interrupted; rerun the same command to resume from the last checkpoint"
    return "interrupted"


def _broken_pipe() -> int:
    # The reader of our output went away (`symnoether verify SPEC | head`): stop quietly.
    # Python would report the failed flush at exit, so stdout is pointed at /dev/null.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
