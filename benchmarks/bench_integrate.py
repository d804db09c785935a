"""Integrator benchmarks: exact conservation (float64) and rollout speed (float32).

Run: `.venv/bin/python benchmarks/bench_integrate.py [--section conservation|speed|all]
[--steps 100000] [--repeats 2]`

Conservation. Kepler (SO(3)), an invariant network $L = f(x\\cdot x, x\\cdot\\dot x,
\\dot x\\cdot\\dot x)$ with $f$ an MLP 2 x 128 softplus (`LagrangianNetwork`, untrained), and a
stand-in for a trained one: the true Kepler Lagrangian plus 0.1 times that network (the same
architecture and smoothness with Kepler-like dynamics; it was *not* trained). Each is rolled
out for `--steps` steps at dt = 0.01 from one generic 3-D state with the variational
integrator and with RK4, in float64 and in float32 (the same weights, cast), and the largest
relative drift of every charge is printed. Two ablations of the variational integrator show
where its digits come from: the textbook formulation (Newton on $q_{k+1}$, $p_{k+1} = D_2
L_d$) and the shipped one without compensated sums. Target: max relative drift <= 1e-12 over
1e5 steps in float64.

Speed. A Schwarzschild-sized invariant network (n = 4: t, x, y, z; invariants tdot, x.x,
x.xdot, xdot.xdot; MLP 2 x 128; float32), RK4: one trajectory of `--steps` steps, and 1000
trajectories of 1000 steps batched. Accelerations: the default, the batch-first closed form
(`LagrangianNetwork.batched_acceleration`: the MLP's gradient and Hessian for the whole batch
as a few large matrix products); the per-state chain rule through the module's closed-form
invariant derivatives (`LagrangianNetwork.acceleration`, `vmap`ped); and automatic
differentiation of L (`dynamics.acceleration`). Each case runs in a fresh Python process.
Times are wall-clock: "first call" includes compilation, "run" is the best of `--repeats`
further calls (the machine may be shared). Target: <= 10 s each on the 2-core development
machine.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from handwritten import kepler_contract as kepler  # noqa: E402

from symnoether.numeric import dynamics  # noqa: E402
from symnoether.numeric.integrate import _variational, integrate  # noqa: E402
from symnoether.numeric.network import LagrangianNetwork  # noqa: E402
from symnoether.numeric.newton import newton  # noqa: E402

Q0 = np.array([1.0, 0.0, 0.2])
QDOT0 = np.array([0.0, 1.1, 0.1])
DT = 0.01


# --- conservation -----------------------------------------------------------------------


class TrainedLike(eqx.Module):
    """Kepler's Lagrangian plus a small invariant network: a stand-in for a trained model."""

    net: LagrangianNetwork

    def __call__(self, q, qdot):
        return kepler.lagrangian(q, qdot) + 0.1 * self.net(q, qdot)


def _cast(tree, dtype):
    return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)


@eqx.filter_jit
def _charges(lagrangian, qs, qdots):
    return jax.vmap(lambda q, v: kepler.noether_charges(lagrangian, q, v))(qs, qdots)


def _max_drift(lagrangian, qs, qdots) -> float:
    # Charges evaluated in float64 whatever the rollout's dtype, so only the rollout's
    # rounding shows.
    charges = np.asarray(_charges(_cast(lagrangian, jnp.float64), qs.astype(jnp.float64),
                                  qdots.astype(jnp.float64)))  # fmt: skip
    return float(np.max(np.abs(charges - charges[0]) / np.abs(charges[0])))


def _naive_variational(lagrangian, q0, qdot0, dt, steps, save_every):
    """The textbook midpoint integrator: Newton on q_{k+1}, p_{k+1} = D2 L_d, plain sums."""
    grad = jax.grad(lagrangian, argnums=(0, 1))
    tol = 256 * float(jnp.finfo(q0.dtype).eps)

    def size(*xs):
        return jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in xs]))

    def step(carry, _):
        q, p, q_prev = carry

        def residual(q1):
            l_q, l_v = grad(0.5 * (q + q1), (q1 - q) / dt)
            return 0.5 * dt * l_q - l_v + p, size(l_v, p), None

        q1 = newton(residual, 2 * q - q_prev, tol=tol, max_iter=20).x
        l_q, l_v = grad(0.5 * (q + q1), (q1 - q) / dt)
        return (q1, 0.5 * dt * l_q + l_v, q), None

    def block(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=save_every)
        q, p, q_prev = carry

        def legendre(v):
            l_v = jax.grad(lagrangian, argnums=1)(q, v)
            return l_v - p, size(l_v, p), None

        qdot = newton(legendre, (q - q_prev) / dt, tol=tol, max_iter=20).x
        return carry, (q, qdot)

    p0 = jax.grad(lagrangian, argnums=1)(q0, qdot0)
    carry = (q0, p0, q0 - dt * qdot0)
    _, (qs, qdots) = jax.lax.scan(block, carry, None, length=steps // save_every)
    return jnp.concatenate([q0[None], qs]), jnp.concatenate([qdot0[None], qdots])


def _plain_sums(hi, lo, x):
    return hi + x, jnp.zeros_like(hi)


def _rollout(label, run):
    start = time.perf_counter()
    qs, qdots = jax.block_until_ready(run())
    return qs, qdots, time.perf_counter() - start


def conservation(steps: int, trained: str | None = None) -> list[tuple]:
    save_every = 10
    net = LagrangianNetwork(kepler, dtype=jnp.float64, key=jax.random.key(0))
    rows = []
    models = [("untrained invariant network", net),
              ("Kepler + 0.1 x invariant network", TrainedLike(net))]  # fmt: skip
    if trained:
        from symnoether.numeric.run import load_run

        run = load_run(trained)
        models.append((f"trained invariant network ({trained})",
                       _cast(run.models["invariant"], jnp.float64)))  # fmt: skip
    for name, model in models:
        for dtype in (jnp.float64, jnp.float32):
            lagrangian = _cast(model, dtype)
            q0, qdot0 = jnp.asarray(Q0, dtype), jnp.asarray(QDOT0, dtype)
            for method in ("variational", "rk4"):
                qs, qdots, seconds = _rollout(method, lambda: integrate(  # noqa: B023
                    lagrangian, q0, qdot0, dt=DT, steps=steps, method=method,  # noqa: B023
                    save_every=save_every))  # fmt: skip
                rows.append((name, jnp.dtype(dtype).name, method, _max_drift(model, qs, qdots),
                             seconds))  # fmt: skip
                print(*rows[-1], sep=" | ", flush=True)
    rows += _ablations(net, steps, save_every)
    return rows


def _ablations(net, steps, save_every) -> list[tuple]:
    name = "untrained invariant network"
    q0, qdot0 = jnp.asarray(Q0), jnp.asarray(QDOT0)
    naive = eqx.filter_jit(_naive_variational)  # Python numbers are static
    qs, qdots, seconds = _rollout("naive", lambda: naive(net, q0, qdot0, DT, steps, save_every))
    rows = [(name, "float64", "variational, textbook (Newton on q_k+1, plain sums)",
             _max_drift(net, qs, qdots), seconds)]  # fmt: skip
    print(*rows[-1], sep=" | ", flush=True)
    shipped = _variational._two_sum
    _variational._two_sum = _plain_sums
    jax.clear_caches()  # the jitted rollout above was traced with the compensated sums
    try:
        qs, qdots, seconds = _rollout("plain", lambda: integrate(
            net, q0, qdot0, dt=DT, steps=steps, method="variational", save_every=save_every
        ))  # fmt: skip
    finally:
        _variational._two_sum = shipped
        jax.clear_caches()
    rows.append((name, "float64", "variational, increments but plain sums",
                 _max_drift(net, qs, qdots), seconds))  # fmt: skip
    print(*rows[-1], sep=" | ", flush=True)
    return rows


# --- speed ------------------------------------------------------------------------------


def schwarzschild_sized_module() -> types.ModuleType:
    """A hand-written generated-module stand-in: q = (t, x, y, z), translations of t x SO(3)."""
    module = types.ModuleType("schwarzschild_sized")
    module.SYSTEM_NAME = "schwarzschild_sized"
    module.COORDINATE_NAMES = ("t", "x", "y", "z")
    module.VELOCITY_NAMES = ("tdot", "xdot", "ydot", "zdot")
    module.INVARIANT_NAMES = ("tdot", "x_x", "x_xdot", "xdot_xdot")
    module.CHARGE_NAMES = ("energy_t", "angular_momentum_xy", "angular_momentum_xz",
                           "angular_momentum_yz")  # fmt: skip
    module.GENERATOR_NAMES = module.CHARGE_NAMES
    module.LINEAR_GENERATORS = (True,) * 4
    module.HAS_LAGRANGIAN = False

    def invariants(q, qdot):
        x, v = q[1:], qdot[1:]
        return jnp.stack([qdot[0], x @ x, x @ v, v @ v])

    def invariant_derivatives(q, qdot):
        x, v = q[1:], qdot[1:]
        zero = jnp.zeros_like(q)
        pad = jnp.zeros_like(q[:1])
        space = jnp.diag(jnp.array([0.0, 1.0, 1.0, 1.0], q.dtype))
        ds_dq = jnp.stack([zero, jnp.concatenate([pad, 2 * x]), jnp.concatenate([pad, v]), zero])
        ds_dqdot = jnp.stack([zero.at[0].set(1.0), zero, jnp.concatenate([pad, x]),
                              jnp.concatenate([pad, 2 * v])])  # fmt: skip
        d2s = jnp.stack([0 * space, 0 * space, 0 * space, 2 * space])
        mixed = jnp.stack([zero, zero, jnp.concatenate([pad, v]), zero])
        return invariants(q, qdot), ds_dq, ds_dqdot, d2s, mixed

    def generators(q):
        t, x, y, z = q
        o, one = jnp.zeros_like(t), jnp.ones_like(t)
        return jnp.stack([jnp.stack([one, o, o, o]), jnp.stack([o, -y, x, o]),
                          jnp.stack([o, -z, o, x]), jnp.stack([o, o, -z, y])])  # fmt: skip

    def noether_charges(lagrangian, q, qdot):
        return generators(q) @ jax.grad(lagrangian, argnums=1)(q, qdot)

    def energy(lagrangian, q, qdot):
        value, p = jax.value_and_grad(lagrangian, argnums=1)(q, qdot)
        return qdot @ p - value

    for f in (invariants, invariant_derivatives, generators, noether_charges, energy):
        setattr(module, f.__name__, f)
    return module


def _timed(run, repeats: int) -> tuple[float, float]:
    start = time.perf_counter()
    jax.block_until_ready(run())
    first = time.perf_counter() - start
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(run())
        best = min(best, time.perf_counter() - start)
    return first, best


def _speed_initial_states(batch: int):
    q0 = np.array([0.0, 1.0, 0.0, 0.0], np.float32)
    qdot0 = np.array([1.0, 0.0, 0.3, 0.05], np.float32)
    if batch == 0:
        return jnp.asarray(q0), jnp.asarray(qdot0)
    rng = np.random.default_rng(0)
    return (jnp.asarray(q0 + 0.1 * rng.normal(size=(batch, 4)), jnp.float32),
            jnp.asarray(qdot0 + 0.01 * rng.normal(size=(batch, 4)), jnp.float32))  # fmt: skip


ACCELERATIONS = (
    "batch-first closed form (batched_acceleration, the default)",
    "chain rule per state (LagrangianNetwork.acceleration)",
    "autodiff (dynamics.acceleration)",
)


def _speed_cases(steps: int) -> list[tuple[str, int, int, str]]:
    return [(label, batch, n_steps, name)
            for label, batch, n_steps in (("1 trajectory", 0, steps),
                                          ("1000 trajectories", 1000, 1000))
            for name in ACCELERATIONS]  # fmt: skip


def speed_case(index: int, steps: int, repeats: int) -> tuple:
    """One row of the speed table, timed in this (fresh) process."""
    label, batch, n_steps, name = _speed_cases(steps)[index]
    # float32 throughout, as a user would run it: the speed cases need no 64-bit mode.
    jax.config.update("jax_enable_x64", False)
    # Seed 1: an untrained network whose mass matrix stays far from singular near these
    # states, so every rollout stays finite (seeds 0, 2, 3 send some of them to infinity).
    net = LagrangianNetwork(schwarzschild_sized_module(), dtype=jnp.float32,
                            key=jax.random.key(1))  # fmt: skip
    acceleration = {
        ACCELERATIONS[0]: None,
        ACCELERATIONS[1]: net.acceleration,
        ACCELERATIONS[2]: jax.tree_util.Partial(dynamics.acceleration, net),
    }[name]
    q0, qdot0 = _speed_initial_states(batch)

    def run():
        return integrate(net, q0, qdot0, dt=DT, steps=n_steps, acceleration=acceleration)

    first, best = _timed(run, repeats)
    qs, _ = run()
    return (f"{label} x {n_steps} steps", name, first, best, bool(jnp.all(jnp.isfinite(qs))))


def speed(steps: int, repeats: int) -> list[tuple]:
    # Each case in a fresh process: its "first call" is what a user's script pays
    # (compilation included), not what a process warmed up by the other cases pays.
    rows = []
    for index in range(len(_speed_cases(steps))):
        command = [sys.executable, __file__, "--speed-case", str(index), "--steps", str(steps),
                   "--repeats", str(repeats)]  # fmt: skip
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(tuple(json.loads(out.splitlines()[-1])))
        print(*rows[-1], sep=" | ", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("conservation", "speed", "all"), default="all")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--trained", metavar="RUN_DIR", default=None,
                        help="also measure the trained invariant Kepler network of a run folder")
    parser.add_argument("--speed-case", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_case is not None:  # one speed row, in the subprocess `speed` starts
        print(json.dumps(speed_case(args.speed_case, args.steps, args.repeats)))
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"jax {jax.__version__}, {os.cpu_count()} CPU cores, backend {jax.default_backend()}, "
          f"load average {load} (other processes slow the timings)")  # fmt: skip
    if args.section in ("conservation", "all"):
        print(f"\nConservation, Kepler, dt = {DT}, {args.steps} steps: max relative drift "
              "of the charges\nmodel | dtype | method | max drift | seconds")  # fmt: skip
        rows = conservation(args.steps, args.trained)
        print("\n| model | dtype | method | max rel. drift of the 3 charges | s |")
        print("|---|---|---|---|---|")
        for name, dtype, method, value, seconds in rows:
            print(f"| {name} | {dtype} | {method} | {value:.1e} | {seconds:.1f} |")
    if args.section in ("speed", "all"):
        print("\nSpeed, Schwarzschild-sized network (n = 4, MLP 2 x 128), RK4, float32\n"
              "rollout | acceleration | first call s | run s | finite")  # fmt: skip
        rows = speed(args.steps, args.repeats)
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("\n| rollout | acceleration | first call (s) | run (s) |")
        print("|---|---|---|---|")
        for label, name, first, best, finite in rows:
            note = "" if finite else " (non-finite!)"
            print(f"| {label} | {name} | {first:.1f} | {best:.1f}{note} |")


if __name__ == "__main__":
    main()
