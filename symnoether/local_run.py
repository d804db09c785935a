"""Train and evaluate a local particle model from an `sn.ParticleSystem` spec (issue 25).

What `symnoether train SPEC` and `symnoether evaluate RUN [--system BIGGER_SPEC]` do for a
local spec. A run folder holds `local.json` (the settings and the spec's path),
`module.py` (the generated module of the training spec), `data.npz` and `model.eqx`.
Evaluation generates the module of the evaluated spec (the same term structure, any N),
swaps it into the trained model (`LocalParticleNetwork.resized`), refits the neighbour
list to the bigger system's states and reports, for that system: the force error
(relative RMS of the acceleration), the energy error per particle, the drift of the
model's charges along RK4 and variational rollouts and of the true charges along the
learned flow; `metrics.json` and two plots that stay readable for any N (curves per
charge and the learned pair potential against the true one, never one entry per body).
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import ClassVar

from .errors import ConfigError, RunFolderError
from .files import atomic_write, import_file

__all__ = ["LocalConfig", "evaluate_local_run", "is_local_run", "train_local_run"]

RUN_FILE = "local.json"


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """The checks and the JSON loading shared by `LocalConfig` and the lattice runs'
    `LatticeConfig`: every field a positive number (`seed` and the noises may be 0)."""

    WHAT: ClassVar[str] = "run"  # in the error messages

    def __post_init__(self):
        problems = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = int if f.type in (int, "int") else float
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is int:
                ok = ok and isinstance(value, int)
            if (
                not ok
                or not math.isfinite(value)
                or (
                    value < 0
                    or (value == 0 and f.name not in ("seed", "position_noise", "velocity_noise"))
                )
            ):
                problems.append(f"{f.name} must be a positive {kind.__name__}, got {value!r}")
        expansion = getattr(self, "expansion", 1.0)
        if "expansion" not in [p.split()[0] for p in problems] and expansion < 1:
            problems.append(
                f"expansion must be >= 1 (a factor on the initial positions), got {expansion!r}"
            )
        if problems:
            raise ConfigError(f"invalid {self.WHAT} settings:\n  " + "\n  ".join(problems))

    @classmethod
    def load(cls, path) -> "RunSettings":
        """The settings of a JSON file (`None`: the defaults)."""
        if path is None:
            return cls()
        data = json.loads(Path(path).read_text())
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"{path}: unknown {cls.WHAT} setting(s) {unknown}; the settings are {sorted(names)}"
            )
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class LocalConfig(RunSettings):
    """Settings of a local run (a JSON object with any of these keys).

    **Fields:** `steps`, `batch_size`, `learning_rate` (training, float32 on accelerations);
    `width`, `depth` (the pair network); `trajectories`, `t_data`, `dt`, `sample_every`
    (the training data: true RK4 trajectories from the spec's initial state with
    `position_noise` and `velocity_noise` added, zero total momentum); `expansion` (>= 1:
    each training trajectory starts from the initial state's positions scaled about their
    centre by a factor drawn uniformly from [1, expansion], so that a small cluster's data
    also hold pairs out to the cutoff; evaluation states are never expanded); `t_final`,
    `seed`.
    """

    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    width: int = 64
    depth: int = 2
    trajectories: int = 16
    t_data: float = 2.0
    dt: float = 0.005
    sample_every: int = 10
    position_noise: float = 0.03
    velocity_noise: float = 0.3
    expansion: float = 1.0
    t_final: float = 2.0
    seed: int = 0
    WHAT: ClassVar[str] = "local run"


def is_local_run(run_dir) -> bool:
    """Whether `run_dir` is the folder of a local run (it holds `local.json`)."""
    return (Path(run_dir) / RUN_FILE).is_file()


def _states(module, system, config: LocalConfig, *, seed: int):
    """True trajectories of `system` from its initial state plus noise: `(q, qdot, qddot)`."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .numeric.integrate import integrate
    from .numeric.lagrangian import FunctionLagrangian

    if system.initial_state is None:
        raise ConfigError(
            f"{system.name}: the spec has no initial_state; give one "
            "(sn.ParticleSystem(..., initial_state=(q0, qdot0)))"
        )
    rng = np.random.default_rng(seed)
    q0, v0 = (np.asarray(s, dtype=np.float64) for s in system.initial_state)
    qs, vs = [], []
    x0 = q0.reshape(-1, system.dim)
    centre = x0.mean(axis=0)
    for _ in range(config.trajectories):
        factor = rng.uniform(1.0, config.expansion) if config.expansion > 1 else 1.0
        q = (centre + factor * (x0 - centre)).ravel()
        q = q + config.position_noise * rng.normal(size=q0.shape)
        v = (v0 + config.velocity_noise * rng.normal(size=v0.shape)).reshape(-1, system.dim)
        qs.append(q)
        vs.append((v - v.mean(axis=0)).ravel())
    truth = FunctionLagrangian(module.lagrangian, module.acceleration, module)
    steps = max(config.sample_every, round(config.t_data / config.dt))
    steps -= steps % config.sample_every
    q, v = integrate(
        truth,
        jnp.asarray(np.stack(qs)),
        jnp.asarray(np.stack(vs)),
        dt=config.dt,
        steps=steps,
        save_every=config.sample_every,
    )
    q, v = q.reshape(-1, q.shape[-1]), v.reshape(-1, v.shape[-1])
    return q, v, jax.vmap(module.acceleration)(q, v)


def _generate(system, path):
    from .codegen.local import generate_local

    return import_file(generate_local(system, path))


def _as(model, dtype):
    import equinox as eqx
    import jax

    return jax.tree.map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, model)


def train_local_run(system, out, *, spec_path, config: LocalConfig, progress: bool = True) -> Path:
    """Generate, make data, train (float32) and save a local run; returns the run folder."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .numeric.data import Dataset
    from .numeric.local import LocalParticleNetwork
    from .numeric.train import train

    jax.config.update("jax_enable_x64", True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    module = _generate(system, out / "module.py")
    q, v, a = _states(module, system, config, seed=config.seed)
    np.savez(out / "data.npz", q=np.asarray(q), qdot=np.asarray(v), qddot=np.asarray(a))
    model = LocalParticleNetwork(
        module, width=config.width, depth=config.depth, key=jax.random.key(config.seed)
    )
    model = _as(model.with_neighbour_sizes(q), jnp.float32)
    data = Dataset(q.astype(jnp.float32), v.astype(jnp.float32), a.astype(jnp.float32))
    result = train(
        model,
        data,
        steps=config.steps,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        progress=progress,
        key=jax.random.key(config.seed + 1),
    )
    eqx.tree_serialise_leaves(out / "model.eqx", result.model)
    record = {
        "kind": "local_particles",
        "spec": str(Path(spec_path).resolve()),
        "count": system.count,
        "config": dataclasses.asdict(config),
        "final_loss": float(np.asarray(result.losses)[-1]),
    }
    text = json.dumps(record, indent=2).encode()
    atomic_write(out / RUN_FILE, lambda f: f.write(text))
    return out


def load_local_run(run_dir):
    """`(model, record)` of a local run folder: the trained model in float64."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from .numeric.local import LocalParticleNetwork

    jax.config.update("jax_enable_x64", True)
    run_dir = Path(run_dir)
    if not is_local_run(run_dir):
        raise RunFolderError(
            f"{str(run_dir)!r} is not a local run folder (no {RUN_FILE}); "
            "train one with `symnoether train LOCAL_SPEC --out RUN`"
        )
    record = json.loads((run_dir / RUN_FILE).read_text())
    config = LocalConfig(**record["config"])
    module = import_file(run_dir / "module.py")
    skeleton = _as(
        LocalParticleNetwork(module, width=config.width, depth=config.depth, key=jax.random.key(0)),
        jnp.float32,
    )
    model = eqx.tree_deserialise_leaves(run_dir / "model.eqx", skeleton)
    return _as(model, jnp.float64), record


def _force_and_energy_errors(model, module, q, v, a):
    import jax
    import jax.numpy as jnp

    learned = jax.lax.map(lambda s: model.acceleration(*s), (q, v), batch_size=16)
    force = float(jnp.sqrt(jnp.sum((learned - a) ** 2) / jnp.sum(a**2)))
    # Energies in the true units: L is learned up to a factor, fixed by the mass (the true
    # kinetic term is |v|^2 / 2), and up to a constant (accelerations do not see it).
    unit = model.scale * model.mass
    e_model = jax.lax.map(lambda s: model.energy(*s), (q, v), batch_size=16) / unit
    e_true = jax.lax.map(lambda s: module.true_energy(*s), (q, v), batch_size=16)
    diff = e_model - e_true
    n = q.shape[-1] // module.DIM
    energy = float(jnp.sqrt(jnp.mean((diff - jnp.mean(diff)) ** 2)) / n)
    return force, energy, float(unit)


def _rollout_metrics(model, module, q0, v0, *, dt, steps, method):
    import jax
    import jax.numpy as jnp

    save = max(1, steps // 100)
    steps -= steps % save
    # In chunks, the neighbour list refitted between them: atoms move over a long rollout.
    (qs, vs), model = model.rollout(
        q0, v0, dt=dt, steps=steps, save_every=save, method=method, return_model=True
    )
    charges = jax.vmap(model.charges)(qs, vs)  # with the sizes the rollout ended with
    true = jax.vmap(module.true_charges)(qs, vs)
    true_e = jax.vmap(module.true_energy)(qs, vs)
    finite = bool(jnp.all(jnp.isfinite(qs)))
    return {
        "finite": finite,
        "charge_drift": [float(x) for x in jnp.max(jnp.abs(charges - charges[0]), axis=0)],
        "true_charge_drift": [float(x) for x in jnp.max(jnp.abs(true - true[0]), axis=0)],
        "true_energy_drift": float(jnp.max(jnp.abs(true_e - true_e[0])) / jnp.abs(true_e[0])),
    }, (jnp.arange(qs.shape[0]) * save * dt, charges - charges[0])


def charges_plot(path, curves, names) -> None:
    """`|I(t) - I(0)|` of every charge, one panel per method and one line per charge
    (whatever the number of bodies or sites); written atomically. `curves` maps a method to
    `(ts, drift)` with `drift` of shape `(times, charges)`. Shared with `lattice_run.py`."""
    import numpy as np
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5 * len(curves), 3.5))
    axes = figure.subplots(1, len(curves), squeeze=False)[0]
    for ax, (method, (ts, drift)) in zip(axes, curves.items()):
        for k, name in enumerate(names):
            ax.semilogy(ts, np.abs(np.asarray(drift[:, k])) + 1e-18, label=name)
        ax.set(title=f"{method}: |I(t) - I(0)|", xlabel="t")
        ax.legend(fontsize=7)
    figure.tight_layout()
    atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=120))


def _plots(folder, model, module, curves, names):
    import jax
    import jax.numpy as jnp
    from matplotlib.figure import Figure

    charges_plot(folder / "charges.png", curves, names)
    # The learned pair term against the true one, as a function of the distance.
    r = jnp.linspace(0.9, model.cutoff or 3.0, 200)
    x0 = jnp.zeros(module.DIM)
    points = jnp.zeros((r.size, module.DIM)).at[:, 0].set(r)
    learned = jax.vmap(lambda x: model.pair_energy(x0, x))(points) / (model.scale * model.mass)
    zero = jnp.zeros(module.DIM)
    true = -jax.vmap(lambda x: module.pair_lagrangian(x0, zero, x, zero)[0])(points)
    figure = Figure(figsize=(5, 3.5))
    ax = figure.subplots()
    ax.plot(r, true, "k", label="true")
    ax.plot(r, learned, "--", label="learned")
    ax.set(xlabel="r", ylabel="pair energy", ylim=(float(jnp.min(true)) - 0.5, 2.0))
    ax.legend()
    figure.tight_layout()
    atomic_write(folder / "pair_potential.png",
                 lambda f: figure.savefig(f, format="png", dpi=120))  # fmt: skip


def evaluate_local_run(
    run_dir, *, system=None, t_final=None, dt=None, methods=("rk4", "variational")
) -> dict:
    """Evaluate a local run on its own spec or on `system` (another N); returns the
    metrics, also written to `RUN/evaluate_<name>_<N>/metrics.json` with plots."""
    import jax.numpy as jnp

    from .symbolic.local import load_local_spec

    model, record = load_local_run(run_dir)
    config = LocalConfig(**record["config"])
    system = system or load_local_spec(record["spec"])
    folder = Path(run_dir) / f"evaluate_{system.name}_{system.count}"
    folder.mkdir(exist_ok=True)
    module = _generate(system, folder / "module.py")
    try:
        model = model.resized(module)
    except ValueError as error:
        raise ConfigError(f"--system: {error}") from error
    # The spec's own state with noise, never expanded: the same test states whatever the
    # training data were.
    test = dataclasses.replace(config, trajectories=4, expansion=1.0)
    q, v, a = _states(module, system, test, seed=config.seed + 1000)
    model = model.with_neighbour_sizes(q)
    force, energy, unit = _force_and_energy_errors(model, module, q, v, a)
    dt = dt or config.dt
    steps = max(1, round((t_final or config.t_final) / dt))
    q0, v0 = (jnp.asarray(s, jnp.float64) for s in system.initial_state)
    rollouts, curves = {}, {}
    for method in methods:
        rollouts[method], curves[method] = _rollout_metrics(
            model, module, q0, v0, dt=dt, steps=steps, method=method
        )
    metrics = {
        "system": system.name,
        "count": system.count,
        "trained_count": record["count"],
        "force_error": force,
        "energy_error_per_particle": energy,
        "learned_unit": unit,
        "charge_names": list(module.CHARGE_NAMES),
        "dt": dt,
        "steps": steps,
        "rollouts": rollouts,
        "neighbour_sizes": list(model.sizes),
    }
    text = json.dumps(metrics, indent=2).encode()
    atomic_write(folder / "metrics.json", lambda f: f.write(text))
    _plots(folder, model, module, curves, module.CHARGE_NAMES)
    metrics["folder"] = str(folder)
    return metrics


def print_local_metrics(metrics: dict) -> None:
    """The evaluation of a local run as a short table."""
    print(f"{metrics['system']}: N = {metrics['count']} (trained on {metrics['trained_count']})")
    print(f"  force error (relative RMS of the acceleration) {metrics['force_error']:.3e}")
    print(
        f"  energy error per particle (RMS, offset removed) "
        f"{metrics['energy_error_per_particle']:.3e}"
    )
    names = metrics["charge_names"]
    for method, r in metrics["rollouts"].items():
        worst = max(r["charge_drift"])
        true = max(r["true_charge_drift"])
        print(
            f"  {method:>11}: model charges max |I(t) - I(0)| {worst:.2e}; true charges "
            f"along the learned flow {true:.2e}; true energy relative drift "
            f"{r['true_energy_drift']:.2e}" + ("" if r["finite"] else " (diverged)")
        )
    print(f"  charges: {', '.join(names)}; written to {metrics['folder']}")


def print_local_derivation(system) -> None:
    """What `symnoether derive` prints for a local spec: the invariants of one body and one
    pair with their certificates, and the charges of the whole system."""
    from .symbolic.local import derive_local

    d = derive_local(system)
    cutoff = "none" if system.cutoff is None else f"{system.cutoff}"
    print(
        f"system      {system.name}: {system.count} identical particles in {system.dim}D "
        f"(the module serves any N), cutoff {cutoff}"
    )
    print(f"symmetry    {', '.join(system.symmetry)} acting on every particle alike")
    for label, inv in (("one body", d.body), ("one pair", d.pair)):
        cert = inv.certificate
        print(
            f"invariants of {label}: {len(inv.exprs)} (invariant: {cert.invariant}, "
            f"rank {cert.rank} of {cert.expected_rank}, complete: {cert.complete})"
        )
        for name, expr in zip(inv.names, inv.exprs):
            print(f"  {name} = {expr}")
    print("charges of the system: I_a = sum_i p_i . xi_a(x_i)")
    for name, xi in zip(d.charge_names, d.generators):
        print(f"  {name}: xi(x) = ({', '.join(map(str, xi))})")
