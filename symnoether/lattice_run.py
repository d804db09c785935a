"""Train and evaluate a lattice field model from an `sn.LatticeSystem` spec (issue 25).

What `symnoether train SPEC` and `symnoether evaluate RUN [--system BIGGER_SPEC]` do for a
lattice spec, the lattice counterpart of `local_run.py`. A run folder holds `lattice.json`
(the settings and the spec's path), `module.py` (the generated module of the training
spec), `data.npz` and `model.eqx` (an `sn.LatticeNetwork`, float64). Evaluation generates
the module of the evaluated spec (the same site and stencil, any lattice size), runs the
same weights on its shape (`LatticeNetwork.resized`) and reports, for that lattice: the
acceleration error on true states, the trajectory error against the true system (angles
wrapped), the drift of the model's charges along RK4 and matrix-free variational rollouts
and of the true charges along the learned flow; `metrics.json`, `field.png` (the field as
an image: time x site for a chain, |field| snapshots in 2D; never one curve per site) and
`charges.png` (one curve per charge).
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np

from .errors import ConfigError, RunFolderError
from .files import atomic_write, import_file
from .local_run import RunSettings, charges_plot

__all__ = [
    "LatticeConfig",
    "evaluate_lattice_run",
    "is_lattice_run",
    "load_lattice_run",
    "train_lattice_run",
]

RUN_FILE = "lattice.json"
METHODS = ("rk4", "variational")


@dataclasses.dataclass(frozen=True)
class LatticeConfig(RunSettings):
    """Settings of a lattice run (a JSON object with any of these keys; unknown keys are an
    error naming these).

    **Fields:** `steps`, `batch_size`, `learning_rate` (training on accelerations,
    float64); `width`, `depth` (the stencil network and the per-site mass network);
    `trajectories`, `t_data`, `dt`, `sample_every` (the training data: true RK4
    trajectories from the spec's initial state with `position_noise` and
    `velocity_noise` added to every field and velocity; ignored with `train --data`);
    `t_final` (of `evaluate`'s rollouts), `seed`.
    """

    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    width: int = 32
    depth: int = 2
    trajectories: int = 16
    t_data: float = 5.0
    dt: float = 0.01
    sample_every: int = 10
    position_noise: float = 0.3
    velocity_noise: float = 0.3
    t_final: float = 5.0
    seed: int = 0
    WHAT: ClassVar[str] = "lattice run"


def is_lattice_run(run_dir) -> bool:
    """Whether `run_dir` is the folder of a lattice run (it holds `lattice.json`)."""
    return (Path(run_dir) / RUN_FILE).is_file()


def _generate(system, path):
    from .codegen.lattice import generate_lattice

    return import_file(generate_lattice(system, path))


def _needs_truth(module, system, what: str):
    if not hasattr(module, "lattice_acceleration"):
        raise ConfigError(
            f"{system.name}: the spec has no coupling (no true system), so {what}; "
            "declare coupling=... in the sn.LatticeSystem, or give train --data FILE"
        )


def _initial_states(system, config: LatticeConfig, *, seed: int, count: int):
    """`count` copies of the spec's initial state with noise on every field and velocity."""
    if system.initial_state is None:
        raise ConfigError(
            f"{system.name}: the spec has no initial_state; give one "
            "(sn.LatticeSystem(..., initial_state=(q0, qdot0))) or train --data FILE"
        )
    rng = np.random.default_rng(seed)
    q0, v0 = (np.asarray(s, dtype=np.float64) for s in system.initial_state)
    qs = q0 + config.position_noise * rng.normal(size=(count,) + q0.shape)
    vs = v0 + config.velocity_noise * rng.normal(size=(count,) + v0.shape)
    return qs, vs


def _make_data(module, system, config: LatticeConfig, *, seed: int, count: int):
    """A `Dataset` of true states and accelerations along noisy rollouts of `system`."""
    import jax.numpy as jnp

    from .numeric.lattice_data import lattice_trajectories

    _needs_truth(module, system, "train cannot make training data")
    qs, vs = _initial_states(system, config, seed=seed, count=count)
    steps = max(config.sample_every, round(config.t_data / config.dt))
    steps -= steps % config.sample_every
    return lattice_trajectories(
        module,
        jnp.asarray(qs),
        jnp.asarray(vs),
        shape=system.shape,
        dt=config.dt,
        steps=steps,
        save_every=config.sample_every,
    )


def _load_data(path, system):
    """The `Dataset` of an `.npz` file with `q`, `qdot`, `qddot` of `system`'s lattice."""
    import jax.numpy as jnp

    from .numeric.data import Dataset

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--data: {str(path)!r} does not exist")
    with np.load(path) as f:
        missing = [k for k in ("q", "qdot", "qddot") if k not in f.files]
        if missing:
            raise ConfigError(
                f"--data {path}: a lattice run needs arrays q, qdot and qddot (states and "
                f"accelerations), {', '.join(missing)} missing; it has {sorted(f.files)}"
            )
        q, v, a = (np.asarray(f[k], dtype=np.float64) for k in ("q", "qdot", "qddot"))
    n = math.prod(system.shape) * len(system.fields)
    if not (q.ndim == 2 and q.shape[1] == n and v.shape == q.shape and a.shape == q.shape):
        raise ConfigError(
            f"--data {path}: q, qdot and qddot must have shape (samples, {n}) for the "
            f"{'x'.join(map(str, system.shape))} lattice of {len(system.fields)} field(s) of "
            f"{system.name}; got {q.shape}, {v.shape}, {a.shape} (make the data on the "
            "spec's lattice size)"
        )
    return Dataset(jnp.asarray(q), jnp.asarray(v), jnp.asarray(a))


def _network(module, config: LatticeConfig, key):
    from .numeric.lattice import LatticeNetwork

    return LatticeNetwork(module, width=config.width, depth=config.depth, key=key)


def train_lattice_run(
    system, out, *, spec_path, config: LatticeConfig, data_path=None, progress: bool = True
) -> Path:
    """Generate, make (or load) data, train (float64) and save a lattice run; returns the
    run folder."""
    import equinox as eqx
    import jax

    from .numeric.train import train

    jax.config.update("jax_enable_x64", True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    module = _generate(system, out / "module.py")
    if data_path is None:
        data = _make_data(module, system, config, seed=config.seed, count=config.trajectories)
    else:
        data = _load_data(data_path, system)
    arrays = {"q": data.q, "qdot": data.qdot, "qddot": data.qddot}
    atomic_write(
        out / "data.npz", lambda f: np.savez(f, **{k: np.asarray(x) for k, x in arrays.items()})
    )
    model = _network(module, config, jax.random.key(config.seed))
    result = train(
        model,
        data,
        steps=config.steps,
        batch_size=min(config.batch_size, len(data)),
        learning_rate=config.learning_rate,
        progress=progress,
        key=jax.random.key(config.seed + 1),
    )
    atomic_write(out / "model.eqx", lambda f: eqx.tree_serialise_leaves(f, result.model))
    record = {
        "kind": "lattice_field",
        "spec": str(Path(spec_path).resolve()),
        "shape": list(system.shape),
        "data": None if data_path is None else str(Path(data_path).resolve()),
        "samples": len(data),
        "config": dataclasses.asdict(config),
        "final_loss": float(np.asarray(result.losses)[-1]),
    }
    text = json.dumps(record, indent=2).encode()
    atomic_write(out / RUN_FILE, lambda f: f.write(text))
    return out


def load_lattice_run(run_dir):
    """`(model, record)` of a lattice run folder: the trained `LatticeNetwork` on the
    training lattice, float64."""
    import equinox as eqx
    import jax

    jax.config.update("jax_enable_x64", True)
    run_dir = Path(run_dir)
    if not is_lattice_run(run_dir):
        raise RunFolderError(
            f"{str(run_dir)!r} is not a lattice run folder (no {RUN_FILE}); "
            "train one with `symnoether train LATTICE_SPEC --out RUN`"
        )
    record = json.loads((run_dir / RUN_FILE).read_text())
    config = LatticeConfig(**record["config"])
    module = import_file(run_dir / "module.py")
    skeleton = _network(module, config, jax.random.key(0))
    return eqx.tree_deserialise_leaves(run_dir / "model.eqx", skeleton), record


_STRUCTURE = (
    "FIELD_NAMES",
    "STENCIL",
    "PERIODIC",
    "SITE_INVARIANT_NAMES",
    "SITE_POSITION_NAMES",
    "SITE_LINEAR_NAMES",
    "SITE_FORM_NAMES",
    "STENCIL_INVARIANT_NAMES",
    "CHARGE_NAMES",
)


def _same_structure(trained, module) -> list[str]:
    """The module constants (other than the shape) in which `module` differs."""
    differ = [k for k in _STRUCTURE if getattr(trained, k) != getattr(module, k)]
    if len(trained.SHAPE) != len(module.SHAPE):
        differ.insert(0, f"dimension ({len(trained.SHAPE)}D, not {len(module.SHAPE)}D)")
    return differ


def _integrator(method: str, fields: int):
    from .numeric.integrate import RK4, MatrixFreeVariational

    if method == "rk4":
        return RK4()
    if method == "variational":
        return MatrixFreeVariational(block=fields)
    raise ConfigError(
        f"--method {method!r}: a lattice run is evaluated with {' or '.join(METHODS)} "
        "(variational is the matrix-free midpoint method)"
    )


def _acceleration_error(model, module, shape, data) -> float:
    import jax
    import jax.numpy as jnp

    from .numeric.lattice_data import lattice_truth

    truth = lattice_truth(module, shape)
    states = (data.q, data.qdot)
    learned = jax.lax.map(lambda s: model.acceleration(*s), states, batch_size=16)
    true = jax.lax.map(lambda s: truth.acceleration(*s), states, batch_size=16)
    return float(jnp.sqrt(jnp.sum((learned - true) ** 2) / jnp.sum(true**2)))


def _drift(values):
    import jax.numpy as jnp

    absolute = jnp.max(jnp.abs(values - values[0]), axis=0)
    scale = jnp.abs(values[0])
    relative = jnp.where(scale > 0, absolute / jnp.where(scale > 0, scale, 1.0), jnp.nan)
    return [float(x) for x in absolute], [
        None if not math.isfinite(float(x)) else float(x) for x in relative
    ]


def evaluate_lattice_run(run_dir, *, system=None, t_final=None, dt=None, methods=METHODS) -> dict:
    """Evaluate a lattice run on its own spec or on `system` (another lattice size, the
    same site and stencil); returns the metrics, also written with the plots to
    `RUN/evaluate_<name>_<shape>/`."""
    import jax
    import jax.numpy as jnp

    from .numeric.integrate import integrate
    from .numeric.lattice_data import lattice_error, lattice_truth, plot_lattice_field
    from .symbolic.lattice import load_lattice_spec

    model, record = load_lattice_run(run_dir)
    config = LatticeConfig(**record["config"])
    system = system or load_lattice_spec(record["spec"])
    integrators = {m: _integrator(m, len(system.fields)) for m in methods}
    label = "x".join(map(str, system.shape))
    folder = Path(run_dir) / f"evaluate_{system.name}_{label}"
    folder.mkdir(exist_ok=True)
    module = _generate(system, folder / "module.py")
    differ = _same_structure(model.module, module)
    if differ:
        raise ConfigError(
            f"--system: {system.name} has another site or stencil than the trained "
            f"{model.module.SYSTEM_NAME} (differs in {', '.join(differ)}); the same weights "
            "run on another lattice size of the same spec (e.g. SYMNOETHER_SITES=256)"
        )
    if system.initial_state is None:
        raise ConfigError(
            f"{system.name}: the spec has no initial_state to roll out from; give one "
            "(sn.LatticeSystem(..., initial_state=(q0, qdot0)))"
        )
    shape = tuple(system.shape)
    big = model.resized(shape)
    dt = dt or config.dt
    steps = max(1, round((t_final or config.t_final) / dt))
    save = max(1, steps // 100)
    steps -= steps % save
    q0, v0 = (jnp.asarray(s, jnp.float64) for s in system.initial_state)
    truth = hasattr(module, "lattice_acceleration")
    metrics = {
        "system": system.name,
        "shape": list(shape),
        "sites": math.prod(shape),
        "trained_shape": record["shape"],
        "charge_names": list(module.CHARGE_NAMES),
        "dt": dt,
        "steps": steps,
        "t_final": steps * dt,
        "acceleration_error": None,
        "rollouts": {},
    }
    reference = None
    if truth:
        data = _make_data(module, system, config, seed=config.seed + 1000, count=2)
        metrics["acceleration_error"] = _acceleration_error(big, module, shape, data)
        reference, reference_v = integrate(
            lattice_truth(module, shape), q0, v0, dt=dt, steps=steps, save_every=save
        )
    curves, last = {}, None
    for method, integrator in integrators.items():
        qs, vs = integrate(big, q0, v0, dt=dt, steps=steps, save_every=save, method=integrator)
        own = jax.vmap(big.charges)(qs, vs)
        absolute, relative = _drift(own)
        entry = {
            "finite": bool(jnp.all(jnp.isfinite(qs))),
            "charge_drift": absolute,
            "charge_relative_drift": relative,
        }
        if truth:
            true_abs, true_rel = _drift(jax.vmap(module.true_charges)(qs, vs))
            error = lattice_error(module, qs, reference)
            entry |= {
                "true_charge_drift": true_abs,
                "true_charge_relative_drift": true_rel,
                "trajectory_error_max": float(jnp.max(error)),
                "trajectory_error_final": float(error[-1]),
            }
        metrics["rollouts"][method] = entry
        curves[method] = (np.arange(qs.shape[0]) * save * dt, own - own[0])
        last = (method, qs)
    text = json.dumps(metrics, indent=2).encode()
    atomic_write(folder / "metrics.json", lambda f: f.write(text))
    charges_plot(folder / "charges.png", curves, module.CHARGE_NAMES)
    trained = "x".join(map(str, record["shape"]))
    plot_lattice_field(
        module,
        np.asarray(last[1]),
        shape,
        folder / "field.png",
        dt=save * dt,
        reference=None if reference is None else np.asarray(reference),
        title=f"{system.name}, lattice {label} ({last[0]}), model trained on {trained}",
    )
    metrics["folder"] = str(folder)
    return metrics


def print_lattice_metrics(metrics: dict) -> None:
    """The evaluation of a lattice run as a short table."""
    shape = "x".join(map(str, metrics["shape"]))
    trained = "x".join(map(str, metrics["trained_shape"]))
    print(f"{metrics['system']}: lattice {shape}, {metrics['sites']} sites (trained on {trained})")
    if metrics["acceleration_error"] is not None:
        print(
            "  acceleration error (relative RMS on true states) "
            f"{metrics['acceleration_error']:.3e}"
        )
    print(f"  rollouts of {metrics['steps']} steps, dt = {metrics['dt']:g}:")
    for method, r in metrics["rollouts"].items():
        line = f"  {method:>11}: model charges max |I(t) - I(0)| {max(r['charge_drift']):.2e}"
        if "true_charge_drift" in r:
            rel = [x for x in r["true_charge_relative_drift"] if x is not None]
            true = f"{max(rel):.2e} relative" if rel else f"{max(r['true_charge_drift']):.2e}"
            line += (
                f"; true charges along the learned flow {true}; |q - q_true| max "
                f"{r['trajectory_error_max']:.2e}"
            )
        print(line + ("" if r["finite"] else " (diverged)"))
    print(f"  charges: {', '.join(metrics['charge_names'])}; written to {metrics['folder']}")


def print_lattice_derivation(system) -> None:
    """What `symnoether derive` prints for a lattice spec: the invariants of one site and of
    one stencil with their certificate, and the charges of the whole lattice."""
    from .symbolic.lattice import derive_lattice

    d = derive_lattice(system)
    shape = "x".join(map(str, system.shape))
    print(
        f"system      {system.name}: fields ({', '.join(system.fields)}) on a periodic "
        f"{shape} lattice (the module serves any size); stencil {list(system.stencil)}"
    )
    print(f"symmetry    {system.symmetry} acting on every site alike")
    cert = d.site.certificate
    print(
        f"invariants of one site: {len(d.site.exprs)} (invariant: {cert.invariant}, rank "
        f"{cert.rank} of {cert.expected_rank}, complete: {cert.complete})"
    )
    for name, expr in zip(d.site.names, d.site.exprs):
        print(f"  {name} = {expr}")
    print(
        f"position invariants of one stencil: {len(d.stencil_exprs)} (rank expected "
        f"{d.stencil_expected_rank})"
    )
    for name, expr in zip(d.stencil_names, d.stencil_exprs):
        print(f"  {name} = {expr}")
    print("charges of the lattice: I_a = sum_x p_x . xi_a(phi_x)")
    for name, xi in zip(d.charge_names, d.generators):
        print(f"  {name}: xi(phi) = ({', '.join(map(str, xi))})")
