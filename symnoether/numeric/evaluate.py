# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Evaluation of trained Lagrangian networks: rollouts, conservation and error metrics, plots.

Each model (and the true system, when the generated module has one) is rolled out from the
same initial state with each integration method. Along every trajectory:

- the drift $\\delta I(t) = |I(t) - I(0)| / |I(0)|$ of the model's own Noether charges
  (`module.noether_charges(model, q, qdot)`) and of the true charges (`module.true_charges`),
  boundary terms of quasi-symmetries included, at each state's time for time-dependent
  charges (Galilean boosts: `t=` the rollout's time);
  where $|I(0)|$ is negligible (below $10^{-8}$ of the largest charge) the absolute drift
  $|I(t) - I(0)|$ is used instead, and the metric is named `..._absolute_drift`;
- the same for the model's energy (`module.energy(model, ...)`) and the true energy;
- the trajectory error $|q(t) - q_{true}(t)|$ against the true system integrated with RK4.

`evaluate_models` writes every number to `metrics.json` and the figures as PNG files, each
atomically. It runs in float64 by default (inside `jax.enable_x64`, models cast), since the
variational integrator's exact conservation is only visible there.
"""

import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ..errors import ConfigError, RunFolderError, format_problems
from ..run_folder import METRICS, RunFolder
from .checkpoint import write_json
from .contract import time_keywords
from .curves import REFERENCE, REFERENCE_METHOD, TRUE, Curves
from .dynamics import default_max_condition
from .force_metrics import balance_entry, balanced, friction_metrics, true_system
from .integrate import (
    INTEGRATORS,
    AbstractIntegrator,
    as_integrator,
    integrate,
    integrator_name,
    is_method,
)
from .lagrangian import AbstractLagrangian, MixedPrecision, as_lagrangian
from .periodic import position_error

__all__ = ["Curves", "drift", "evaluate_models", "evaluate_run"]

Method = str | AbstractIntegrator

Lagrangian = Callable[[Float[Array, " n"], Float[Array, " n"]], Float[Array, ""]]

#: |I(0)| below this fraction of the family's scale counts as zero: absolute drift then.
ZERO_FRACTION = 1e-8
#: `dtype` of a float32 network evaluated from float64 states (the reference's precision).
MIXED = "mixed"
#: Fractions of t_final at which the trajectory error is reported (besides "final").
ERROR_FRACTIONS = (0.01, 0.1, 0.5)


def drift(values: ArrayLike, scale: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Drift of conserved quantities from their initial value.

    **Arguments:**

    - `values`: a quantity along a trajectory, shape `(T,)` or `(T, K)` for K quantities.
    - `scale`: the size against which $|I(0)|$ counts as zero; default the largest $|I_b(0)|$
        of the K quantities (so a charge that starts at zero while others do not gets the
        absolute drift).

    **Returns:**

    `(delta, relative)`: `delta` of the shape of `values`, equal to
    $|I(t) - I(0)| / |I(0)|$ where `relative` (shape `values.shape[1:]`) is true and to
    $|I(t) - I(0)|$ where $|I(0)| \\le 10^{-8}$ `scale`.
    """
    values = np.asarray(values, np.float64)
    initial = np.abs(values[0])
    if scale is None:
        scale = np.max(initial) if initial.size else 0.0
    relative = initial > ZERO_FRACTION * np.asarray(scale, np.float64)
    change = np.abs(values - values[0])
    return np.where(relative, change / np.where(relative, initial, 1.0), change), relative


def _precision(dtype: np.dtype):
    return jax.enable_x64(True) if dtype == np.float64 else contextlib.nullcontext()


def _cast(tree, dtype):
    return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)


def _energy_scale(lagrangian, q, qdot):
    # The size of the terms of E = qdot . p - L: E(0) below 1e-8 of it counts as zero. (A
    # learned L is only defined up to a factor, so no fixed scale would do.)
    return jnp.abs(qdot @ jax.grad(lagrangian, 1)(q, qdot)) + jnp.abs(lagrangian(q, qdot))


def _mass_matrix_metrics(eigenvalues: np.ndarray) -> dict:
    """Where the learned dynamics are ill-posed: d2L/dqdot2 singular or changing signature.

    The Euler-Lagrange equations determine qddot only where the mass matrix is invertible;
    a trajectory that crosses a state where an eigenvalue changes sign is not conserved by
    any integrator (the acceleration blows up there).
    """
    negative = np.sum(eigenvalues < 0, axis=-1)
    size = np.abs(eigenvalues)
    smallest = np.min(size, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        condition = np.where(smallest > 0, np.max(size, axis=-1) / smallest, np.inf)
    limit = default_max_condition(eigenvalues.dtype)
    finite = np.all(np.isfinite(eigenvalues), axis=-1)
    return {
        "signature_changes": int(np.sum(finite & (negative != negative[0]))),
        "ill_conditioned_states": int(np.sum(~(condition <= limit))),
        "max_condition": _number(np.max(np.where(finite, condition, np.inf))),
    }


@eqx.filter_jit
def _along(module: ModuleType, lagrangian, qs, qdots, ts):
    # An explicitly time-dependent L (and the true one of such a module) at each state's time.
    explicit = bool(module.__dict__.get("LAGRANGIAN_EXPLICIT_TIME", False))

    def one(q, qdot, t):
        at = time_keywords(module, t)
        model = lagrangian.lagrangian_at(t)
        timed = {"t": t} if lagrangian.lagrangian_explicit_time else {}
        values = {
            "charges": module.noether_charges(model, q, qdot, **at),
            "energy": module.energy(model, q, qdot),
            "energy_scale": _energy_scale(model, q, qdot),
            "mass_eigenvalues": jnp.linalg.eigvalsh(lagrangian.mass_matrix(q, qdot, **timed)),
        }
        if module.HAS_LAGRANGIAN:
            true_timed = {"t": t} if explicit else {}
            values["true_charges"] = module.true_charges(q, qdot, **at)
            values["true_energy"] = module.true_energy(q, qdot, **true_timed)
            values["true_energy_scale"] = _energy_scale(
                lambda q, v: module.lagrangian(q, v, **true_timed), q, qdot)
        return values

    return jax.vmap(one)(qs, qdots, ts)


def _roll(lagrangian: AbstractLagrangian, q0, qdot0, *, dt, steps, method, t0=0.0):
    start = time.perf_counter()
    result = integrate(lagrangian, q0, qdot0, dt=dt, steps=steps, method=method,
                       full_output=True, t0=t0)  # fmt: skip
    jax.block_until_ready(result.qs)
    seconds = time.perf_counter() - start
    newton = None
    if result.residuals is not None:
        newton = {
            "max_residual": float(jnp.max(result.residuals)),
            "max_iterations": int(jnp.max(result.iterations)),
            "failed_solves": int(jnp.sum(result.failures)),
        }
    return result, newton, seconds


def _vector_drift(values: np.ndarray) -> np.ndarray:
    initial = np.linalg.norm(values[0])
    change = np.linalg.norm(values - values[0], axis=-1)
    return change / initial if initial > 0 else change


def _curves(module, lagrangian, result, newton, seconds, reference) -> Curves:
    ts = jnp.asarray(result.ts, dtype=result.qs.dtype)
    values = jax.tree.map(np.asarray, _along(module, lagrangian, result.qs, result.qdots, ts))
    charge_drift, charge_relative = drift(values["charges"])
    energy_drift, energy_relative = drift(values["energy"], values["energy_scale"][0])
    true_charge, true_energy, error = (None, None), (None, None), None
    if module.HAS_LAGRANGIAN:
        true_charge = drift(values["true_charges"])
        true_energy = drift(values["true_energy"], values["true_energy_scale"][0])
    if reference is not None:
        error = position_error(module, result.qs, reference)
    return Curves(
        ts=np.asarray(result.ts),
        qs=np.asarray(result.qs),
        qdots=np.asarray(result.qdots),
        charge_drift=charge_drift,
        charge_relative=charge_relative,
        true_charge_drift=true_charge[0],
        true_charge_relative=true_charge[1],
        energy_drift=energy_drift,
        energy_relative=bool(energy_relative),
        true_energy_drift=true_energy[0],
        true_energy_relative=None if true_energy[1] is None else bool(true_energy[1]),
        error=error,
        charges0=values["charges"][0],
        energy0=float(values["energy"][0]),
        newton=newton,
        seconds=seconds,
        vector_drift=_vector_drift(values["charges"]),
        true_vector_drift=(
            _vector_drift(values["true_charges"]) if module.HAS_LAGRANGIAN else None
        ),
        mass_matrix=_mass_matrix_metrics(values["mass_eigenvalues"]),
    )


def _number(x) -> float | None:
    # JSON has no NaN or infinity: a diverged rollout reads `null` (and is listed in
    # "warnings").
    x = float(x)
    return x if math.isfinite(x) else None


def _drift_metrics(delta: np.ndarray, relative: bool, initial: float | None = None) -> dict:
    kind = "relative" if relative else "absolute"
    metrics = {
        f"max_{kind}_drift": _number(np.max(delta)) if np.all(np.isfinite(delta)) else None,
        f"final_{kind}_drift": _number(delta[-1]),
    }
    if initial is not None:
        metrics["initial_value"] = _number(initial)
    return metrics


def _error_metrics(ts: np.ndarray, error: np.ndarray) -> dict:
    metrics = {}
    for fraction in ERROR_FRACTIONS:
        index = round(fraction * (len(ts) - 1))
        metrics[f"t={ts[index]:g}"] = _number(error[index])
        head = error[: index + 1]
        metrics[f"max_to_t={ts[index]:g}"] = (
            _number(np.max(head)) if np.all(np.isfinite(head)) else None
        )
    metrics["final"] = _number(error[-1])
    metrics["max"] = _number(np.max(error)) if np.all(np.isfinite(error)) else None
    # When the rollout leaves the true one (error above 0.1 and 1, in units of q) and when it
    # stops being finite; None: never within the rollout.
    for name, bad in (("first_t_above_0.1", ~(error <= 0.1)), ("first_t_above_1", ~(error <= 1)),
                      ("diverged_at", ~np.isfinite(error))):  # fmt: skip
        metrics[name] = float(ts[np.argmax(bad)]) if np.any(bad) else None
    return metrics


def _rollout_metrics(module: ModuleType, curves: Curves) -> dict:
    names, linear = module.CHARGE_NAMES, module.LINEAR_GENERATORS
    metrics: dict[str, Any] = {
        "charges": {
            name: {
                **_drift_metrics(
                    curves.charge_drift[:, a], curves.charge_relative[a], curves.charges0[a]
                ),
                "affine_generator": bool(linear[a]),
            }  # fmt: skip
            for a, name in enumerate(names)
        },
        "charge_vector": _drift_metrics(curves.vector_drift, True),
        "energy": _drift_metrics(curves.energy_drift, curves.energy_relative, curves.energy0),
        "rollout_seconds": curves.seconds,
        "mass_matrix": curves.mass_matrix,
    }
    if curves.true_charge_drift is not None:
        metrics["true_charges"] = {
            name: _drift_metrics(curves.true_charge_drift[:, a], curves.true_charge_relative[a])
            for a, name in enumerate(names)
        }
        metrics["true_charge_vector"] = _drift_metrics(curves.true_vector_drift, True)
        metrics["true_energy"] = _drift_metrics(
            curves.true_energy_drift, curves.true_energy_relative
        )
    if curves.error is not None:
        metrics["trajectory_error"] = _error_metrics(curves.ts, curves.error)
    if curves.newton is not None:
        metrics["newton"] = {
            **curves.newton,
            "max_residual": _number(curves.newton["max_residual"]),
        }
    return metrics


def _problems(name: str, method: str, curves: Curves) -> list[str]:
    problems = []
    finite = np.all(np.isfinite(curves.qs), axis=-1) & np.all(np.isfinite(curves.qdots), axis=-1)
    if not np.all(finite):
        t = curves.ts[np.argmin(finite)]
        problems.append(f"{name}/{method}: the rollout is not finite from t = {t:g} on")
    if curves.newton is not None and curves.newton["failed_solves"]:
        problems.append(
            f"{name}/{method}: {curves.newton['failed_solves']} Newton solve(s) missed the "
            f"tolerance (worst relative residual {curves.newton['max_residual']:.2e})"
        )
    changes = curves.mass_matrix["signature_changes"]
    ill = curves.mass_matrix["ill_conditioned_states"]
    if changes or ill:
        problems.append(
            f"{name}/{method}: d2L/dqdot2 changes signature at {changes} and is singular or "
            f"badly conditioned at {ill} saved state(s): the dynamics are ill-posed there, "
            "and no integrator conserves the charges across such states"
        )
    return problems


def _integrators(methods) -> dict[str, AbstractIntegrator]:
    # Name -> integrator: names are the keys of the metrics and of the figures.
    integrators = {}
    for method in methods:
        integrator = as_integrator(method)
        name = integrator_name(method)
        if name in integrators:
            raise ValueError(f"evaluate_models: two methods are named {name!r}; pass one")
        integrators[name] = integrator
    return integrators


def _check_inputs(module, models, methods, dt, steps) -> None:
    problems = []
    if not isinstance(module, ModuleType):
        problems.append(f"module must be a generated module, got {type(module).__name__}")
    if not models:
        problems.append("models is empty: pass {'invariant': model, ...}")
    if TRUE in models:
        problems.append(f"the model name {TRUE!r} is reserved for the true system")
    bad = [m for m in methods if not is_method(m)]
    if bad or not methods:
        problems.append(
            f"methods must be a non-empty sequence of integrators (sn.RK4(), "
            f"sn.MidpointVariational(), ...) or their names {tuple(INTEGRATORS)}, got {methods}"
        )
    if not (isinstance(steps, int) and steps >= 2):
        problems.append(f"steps must be an int >= 2, got {steps!r}")
    if not (isinstance(dt, int | float) and dt > 0):
        problems.append(f"dt must be a positive number, got {dt!r}")
    if problems:
        raise ValueError(format_problems("invalid arguments to evaluate_models", problems))


def _settings(module, q0, qdot0, dt, steps, methods, dtype) -> dict:
    return {
        "system": module.SYSTEM_NAME,
        "dt": dt,
        "steps": steps,
        "t_final": dt * steps,
        "methods": list(methods),
        "dtype": str(dtype),
        "q0": [float(x) for x in np.asarray(q0)],
        "qdot0": [float(x) for x in np.asarray(qdot0)],
        "charge_names": list(module.CHARGE_NAMES),
        "reference": f"true system, {REFERENCE_METHOD} with the closed-form acceleration"
        if module.HAS_LAGRANGIAN
        else None,
        "drift": "|I(t) - I(0)| / |I(0)|, or |I(t) - I(0)| where |I(0)| <= 1e-8 of the largest "
        "charge (metrics named *_absolute_drift)",
    }


def _rollouts(module, models, q0, qdot0, dt, steps, integrators, t0=0.0
              ) -> dict[str, dict[str, Curves]]:  # fmt: skip
    systems: dict[str, AbstractLagrangian] = dict(models)
    runs = {}
    if module.HAS_LAGRANGIAN:
        # The true system first: its reference rollout (closed-form acceleration) is what
        # trajectory errors are measured against.
        true = true_system(module)
        systems = {TRUE: true, **systems}
        runs[TRUE, REFERENCE_METHOD] = _roll(true, q0, qdot0, dt=dt, steps=steps,
                                             method=REFERENCE, t0=t0)  # fmt: skip
    reference = np.asarray(runs[TRUE, REFERENCE_METHOD][0].qs) if runs else None
    curves: dict[str, dict[str, Curves]] = {}
    for name, lagrangian in systems.items():
        curves[name] = {}
        for method, integrator in integrators.items():
            if (name, method) not in runs:
                runs[name, method] = _roll(
                    lagrangian, q0, qdot0, dt=dt, steps=steps, method=integrator, t0=t0
                )
            curves[name][method] = _curves(module, lagrangian, *runs[name, method], reference)
    # Models first, the true system last (the order of the figures' columns).
    return {name: curves[name] for name in [*models, TRUE] if name in curves}


#: At most this many of the data's trajectories are rolled out by `evaluate_models(data=)`.
MAX_DATA_TRAJECTORIES = 8


def _against(module, lagrangian, observed, dt: float, integrator, dtype) -> np.ndarray:
    # |q(t_k) - q_data(t_k)| at the data's sample times: a rollout from the trajectory's
    # initial state with a whole number of steps (near `dt`) between two samples.
    substeps = max(1, round(observed.dt / dt))
    qs, _ = integrate(lagrangian, jnp.asarray(observed.q0, dtype),
                      jnp.asarray(observed.qdot0, dtype), dt=observed.dt / substeps,
                      steps=substeps * (len(observed.t) - 1), method=integrator,
                      save_every=substeps, t0=observed.t0)  # fmt: skip
    return position_error(module, qs, observed.q)


def _data_metrics(errors: list[np.ndarray]) -> dict:
    # Over the trajectories: the mean of their final errors, the largest error, the RMS.
    finals = np.array([e[-1] for e in errors])
    values = np.concatenate(errors)
    finite = bool(np.all(np.isfinite(values)))
    return {
        "trajectories": len(errors),
        "final": _number(np.mean(finals)) if np.all(np.isfinite(finals)) else None,
        "max": _number(np.max(values)) if finite else None,
        "rms": _number(np.sqrt(np.mean(values**2))) if finite else None,
    }


def _data_errors(module, systems, observed, dt, integrators, dtype) -> dict[str, dict]:
    # name -> method -> metrics of the rollouts against the data's trajectories.
    return {
        name: {method: _data_metrics([_against(module, lagrangian, o, dt, integrator, dtype)
                                      for o in observed])
               for method, integrator in integrators.items()}
        for name, lagrangian in systems.items()
    }  # fmt: skip


def evaluate_models(
    module: ModuleType,
    models: Mapping[str, Lagrangian],
    q0: Float[ArrayLike, " n"],
    qdot0: Float[ArrayLike, " n"],
    *,
    dt: float,
    steps: int,
    losses: Mapping[str, ArrayLike] | None = None,
    out_dir: str | os.PathLike | None = None,
    methods: Sequence[Method] = tuple(INTEGRATORS),
    dtype: str = "float64",
    plots: bool = True,
    warnings: Sequence[str] = (),
    data=None,
    t0: float = 0.0,
) -> dict[str, Any]:
    """Roll out models and the true system from one state; measure conservation and error.

    **Arguments:**

    - `module`: the generated module (charges, energy and, with `HAS_LAGRANGIAN`, the true
        system).
    - `models`: name -> Lagrangian (a `LagrangianNetwork` or any `lagrangian(q, qdot)`),
        e.g. `{"invariant": ..., "unconstrained": ...}`; `"true"` is reserved.
    - `q0`, `qdot0`: the initial state, shape `(n,)`.
    - `dt`, `steps`: the time step and number of steps of every rollout.
    - `losses`: name -> training loss history, for the final loss and the loss plot.
    - `out_dir`: where to write `metrics.json` and the PNG figures; `None` writes nothing.
    - `methods`: the integrators, objects (`sn.RK4()`, `sn.MidpointVariational(tol=...)`) or
        names of `INTEGRATORS`; default every registered one (`"rk4"`, `"variational"`).
        Metrics and figures name each by `integrator_name` (an object of a registered class
        by its registered name).
    - `dtype`: `"float64"` (default; models are cast and `jax.enable_x64` is on for the
        evaluation only), `"float32"`, or `"mixed"`: float32 models evaluated from float64
        states (each call casts the state to float32 and the result back; the
        integrators' arithmetic stays in float64), which is the reference code's set-up.
    - `plots`: write the figures (with `out_dir`).
    - `warnings`: sentences to record first among the metrics' warnings (e.g. the checks
        overridden for a run folder).
    - `data`: a data source whose trajectories the models (and the true system) are also
        compared with (`AbstractSource.trajectories()`: a `Dataset` with times `t`, or
        `PositionData`); each of the first `MAX_DATA_TRAJECTORIES` is rolled out from its
        own initial state to its last sample (`dt` rounded to divide its spacing), and
        `"data_error"` (mean final, max and RMS of $|q(t_k) - q_{data}(t_k)|$) is added
        to each model's and method's metrics. This works without a true system.
    - `t0`: the time of the initial state, for a system that depends on the time (a drive
        or an explicitly time-dependent Lagrangian); every rollout starts there.

    **Returns:**

    The metrics (what `metrics.json` holds): `"settings"`; `"models"`, name -> method ->
    `{"charges", "charge_vector", "energy", "true_charges", "true_charge_vector",
    "true_energy", "trajectory_error", "newton", "mass_matrix", "rollout_seconds"}` plus
    `"final_training_loss"`; `"true_system"`, method -> the same for the true Lagrangian;
    for a module with forces, friction or an explicit time, `"balance"` in each of these
    (the largest residual of each charge's balance law and of the energy's along the
    rollout) and, with a friction, `"friction"` (the friction coefficient of each model and
    of the true system, `numeric/force_metrics.py`); `"warnings"`; `"files"`, the files
    written.
    """
    methods = tuple(methods)
    _check_inputs(module, models, methods, dt, steps)
    integrators = _integrators(methods)
    mixed = dtype == MIXED
    dtype = np.dtype(np.float64 if mixed else dtype)
    losses = {name: np.asarray(values, np.float64) for name, values in (losses or {}).items()}
    models = {name: as_lagrangian(m, module=module) for name, m in models.items()}
    timed = [name for name, m in models.items() if m.lagrangian_explicit_time]
    if mixed and timed:
        raise ConfigError(f"dtype 'mixed' does not cover a Lagrangian that depends on the time "
                          f"explicitly (models {timed}) yet; evaluate in float64 (the default) "
                          "or float32")  # fmt: skip
    with _precision(dtype):
        if mixed:
            cast = {name: MixedPrecision(_cast(m, np.float32)) for name, m in models.items()}
        else:
            cast = {name: _cast(model, dtype) for name, model in models.items()}
        q0, qdot0 = jnp.asarray(q0, dtype), jnp.asarray(qdot0, dtype)
        curves = _rollouts(module, cast, q0, qdot0, dt, steps, integrators, float(t0))
        against, data_qs = None, None
        if data is not None:
            observed = data.trajectories()[:MAX_DATA_TRAJECTORIES]
            data_qs = np.concatenate([np.asarray(o.q, np.float64) for o in observed])
            systems = dict(cast)
            if module.HAS_LAGRANGIAN:  # how close the true system comes: the data's noise
                systems[TRUE] = true_system(module)
            against = _data_errors(module, systems, observed, dt, integrators, dtype)
        forced = _force_metrics(module, cast, curves)
    settings = _settings(module, q0, qdot0, dt, steps, integrators, MIXED if mixed else dtype)
    if module.__dict__.get("EXPLICIT_TIME", False):
        settings["t0"] = float(t0)  # where the rollouts of a system driven in time start
    metrics = _metrics(module, curves, losses, settings)
    balances, friction = forced
    for name, by_method in balances.items():
        entry = metrics["true_system"] if name == TRUE else metrics["models"][name]
        for method, values in by_method.items():
            entry[method]["balance"] = values
    if friction:
        metrics["friction"] = friction
    if against is not None:
        settings["data_trajectories"] = len(observed)
        for name, by_method in against.items():
            entry = metrics["true_system"] if name == TRUE else metrics["models"][name]
            for method, values in by_method.items():
                entry[method]["data_error"] = values
    metrics["warnings"] = [*map(str, warnings), *metrics["warnings"]]
    if out_dir is not None:
        metrics["files"] = _write(Path(out_dir), module, curves, losses, metrics, plots,
                                  data_qs)  # fmt: skip
    return metrics


def _force_metrics(module, models, curves) -> tuple[dict, dict]:
    # The balance law of every charge along each rollout, and the friction coefficients on
    # the true rollout's states (`numeric/force_metrics.py`); nothing for a conservative,
    # autonomous module.
    if not balanced(module):
        return {}, {}
    balances = {
        name: {method: balance_entry(module, models.get(name), c.qs, c.qdots, c.ts)
               for method, c in by_method.items()}
        for name, by_method in curves.items()
    }  # fmt: skip
    friction = {}
    if TRUE in curves:
        by_method = curves[TRUE]
        reference = by_method.get(REFERENCE_METHOD, next(iter(by_method.values())))
        friction = friction_metrics(module, models, reference.qs, reference.qdots, reference.ts)
    return balances, friction


def _metrics(module, curves, losses, settings) -> dict[str, Any]:
    metrics: dict[str, Any] = {"settings": settings, "models": {}, "warnings": []}
    for name, by_method in curves.items():
        entry = {method: _rollout_metrics(module, c) for method, c in by_method.items()}
        for method, c in by_method.items():
            metrics["warnings"] += _problems(name, method, c)
        if name == TRUE:
            metrics["true_system"] = entry
            continue
        if name in losses and losses[name].size:
            entry["final_training_loss"] = _number(losses[name][-1])
        metrics["models"][name] = entry
    return metrics


def _write(out_dir: Path, module, curves, losses, metrics, plots: bool,
           data_qs=None) -> list[str]:  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    if plots:
        from .plots import write_figures  # matplotlib only when figures are wanted

        files = write_figures(out_dir, module, curves, losses, data_qs)
    files.append(METRICS)
    metrics["files"] = files
    write_json(out_dir / METRICS, metrics)
    return files


def _initial_state(run) -> tuple[np.ndarray, np.ndarray]:
    if run.initial_state is not None:  # the spec's clean initial state, from the CLI
        return run.initial_state
    path = RunFolder(run.run_dir).data
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(path)!r} not found: evaluate_run starts from the first training state; "
            "pass q0= and qdot0= instead"
        )
    with np.load(path) as data:
        if "qdot" in data:
            return data["q"][0], data["qdot"][0]
        return _first_position_state(data, path)


def _initial_time(run) -> float:
    # The spec's initial state is at t = 0 (training data made from it start there); the
    # first state of a data file is at the file's first time, where it records one.
    if run.initial_state is not None:
        return 0.0
    path = RunFolder(run.run_dir).data
    if not path.is_file():
        return 0.0
    with np.load(path) as data:
        if "t" in data and "qdot" in data and np.size(data["t"]):
            return float(np.ravel(data["t"])[0])
    return 0.0


def _first_position_state(data, path: Path) -> tuple[np.ndarray, np.ndarray]:
    # Positions only (trajectories, T, n) sampled every dt (or at times t): the first
    # position and its velocity by the second-order one-sided difference
    # (-3 q0 + 4 q1 - q2) / (2 dt).
    q = np.asarray(data["q"])
    times = np.asarray(data["t"]) if "t" in data else None
    if q.ndim != 3 or q.shape[1] < 3:
        raise RunFolderError(
            f"{str(path)!r} holds neither velocities nor at least 3 positions per trajectory; "
            "pass q0= and qdot0= (symnoether evaluate --q0 ... --qdot0 ...)"
        )
    dt = float(data["dt"]) if times is None else float(np.ravel(times[..., 1] - times[..., 0])[0])
    q0 = q[0, 0]
    return q0, (-3 * q0 + 4 * q[0, 1] - q[0, 2]) / (2 * dt)


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    t_final: float = 100.0,
    dt: float = 0.01,
    method: Method | Sequence[Method] = tuple(INTEGRATORS),
    out_dir: str | os.PathLike | None = None,
    q0: Float[ArrayLike, " n"] | None = None,
    qdot0: Float[ArrayLike, " n"] | None = None,
    dtype: str = "float64",
    trust_module: bool = False,
    data: str | os.PathLike | None = None,
    t0: float | None = None,
) -> dict[str, Any]:
    """Evaluate the trained models of a run folder (`symnoether evaluate RUN_DIR`).

    **Arguments:**

    - `run_dir`: a run folder written by training (see `symnoether.numeric.run`).
    - `t_final`, `dt`: length and step of the rollouts (`round(t_final / dt)` steps).
    - `method`: an integrator (object or name) or several; default every registered one.
    - `out_dir`: where to write `metrics.json` and the figures; default `RUN_DIR/evaluation`.
    - `q0`, `qdot0`: the initial state; default the `initial_state` recorded in `run.json`
        (the spec's, when trained by `symnoether train`), else the first state of the
        run's training data (`RUN_DIR/data.npz`, its noise included; for positions only,
        the first position with its velocity by a second-order finite difference).
    - `dtype`: `"float64"` (default), `"float32"` or `"mixed"` (see `evaluate_models`).
    - `trust_module`: evaluate even when the run's module fails its integrity checks
        (see `load_run`); the override is recorded among the metrics' warnings.
    - `data`: a data file (states with times `t`, or positions; what `load_data` reads)
        whose trajectories the models are also compared with (`evaluate_models`' `data`).
    - `t0`: the time of the initial state, for a system that depends on the time; default
        the run's initial time: 0 for the spec's `initial_state`, else the first time `t`
        of the run's training data.

    **Returns:**

    The metrics dict of [`evaluate_models`][], also written to `out_dir/metrics.json`;
    its warnings start with every check overridden for the run.
    """
    from .run import load_run  # the training stack is only needed here

    _check_rollout(t_final, dt)
    run = load_run(run_dir, trust_module=trust_module)
    if not run.models:
        raise ValueError(f"run folder {str(run_dir)!r} has no trained model (no checkpoint yet)")
    if (q0 is None) != (qdot0 is None):
        raise ValueError("pass both q0 and qdot0, or neither (to start from the training data)")
    if q0 is None:
        q0, qdot0 = _initial_state(run)
    t0 = _initial_time(run) if t0 is None else float(t0)
    steps = round(t_final / dt)
    methods = (method,) if isinstance(method, str | AbstractIntegrator) else tuple(method)
    out_dir = RunFolder(run_dir).evaluation if out_dir is None else out_dir
    observed = None
    if data is not None:
        from .data import load_data

        observed = load_data(data, run.module)  # a bad file is a DataError
        observed.trajectories()  # (data that are not trajectories: said before rolling out)
    return evaluate_models(
        run.module, run.models, q0, qdot0, dt=dt, steps=steps, losses=run.losses,
        out_dir=out_dir, methods=methods, dtype=dtype, warnings=run.overrides, data=observed,
        t0=t0,
    )  # fmt: skip


def _check_rollout(t_final, dt) -> None:
    problems = [
        f"{name} must be a finite number > 0, got {value!r}"
        for name, value in (("t_final", t_final), ("dt", dt))
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating)
        or not math.isfinite(value) or value <= 0
    ]
    if not problems and not (math.isfinite(t_final / dt) and round(t_final / dt) >= 2):
        problems.append(f"t_final ({t_final}) must be at least 2 steps of dt ({dt})")
    if problems:
        raise ConfigError(problems, what="evaluation settings")
