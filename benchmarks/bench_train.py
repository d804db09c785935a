"""Training-step speed of the invariant Lagrangian network, against a `jax.hessian` baseline.

Rows: the chain-rule network (`LagrangianNetwork`), the same with the full `jax.hessian`,
the unconstrained network, and the natural family (`NaturalLagrangianNetwork`: T - V with
a definite mass matrix, closed-form Euler-Lagrange equations).

Run: `.venv/bin/python benchmarks/bench_train.py [--epochs 5] [--repeats 3] [--clock cpu]
[--systems kepler,two_particle_4d,particles_8x3d]`

Systems: Kepler and two particles in 4D (the hand-written modules of the tests), and 8
particles in 3D with springs (`examples/n_particles/spec.py`, N = 8, D = 3, generated into a
temporary folder: 48 coordinates). `--clock cpu` times by the process's CPU time, which a
shared machine disturbs less; run it single-threaded
(`XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"`).

For each system it times `sn.train`'s real path (one jitted `lax.scan` per epoch of 100
steps, batch 128, float32, 2 x 128 softplus) after a warm-up epoch that compiles, and the
same with a "straightforward" model whose acceleration takes the full $2n \\times 2n$
`jax.hessian` of $L(q, \\dot q)$ (Cranmer et al.'s formulation). Targets on the 2-core
development machine: Kepler <= 3.5 ms/step, two particles in 4D <= 9 ms/step, and at
least 2x faster than the baseline. The best of `--repeats` runs is reported, since the
machine may be shared.

`--data` times the same chain-rule network on a fixed data set and on the streams of
`numeric/stream.py` (fresh samples and noise for every batch: the Kepler orbit sampler, and
one trajectory advanced by RK4 inside the step for the two particles), alternating the two
in each repeat, by wall time and by CPU time. Target: the stream costs at most 10% more
per step.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from handwritten import kepler_contract, two_particle_4d_contract  # noqa: E402

import symnoether as sn  # noqa: E402
from symnoether.numeric.data import trajectory_data  # noqa: E402
from symnoether.numeric.network import LagrangianNetwork  # noqa: E402
from symnoether.numeric.stream import (  # noqa: E402
    kepler_orbit_sampler,
    state_stream,
    trajectory_stream,
)
from symnoether.numeric.train import train  # noqa: E402

TARGETS_MS = {"kepler": 3.5, "two_particle_4d": 9.0}
HANDWRITTEN = {"kepler": kepler_contract, "two_particle_4d": two_particle_4d_contract}
SYSTEMS = (*HANDWRITTEN, "particles_8x3d")
# Wall time, and the process's CPU time, which a shared machine disturbs less (meaningful
# when XLA runs on one thread: XLA_FLAGS=--xla_cpu_multi_thread_eigen=false).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


class HessianBaseline(sn.AbstractLagrangian):
    """The same network, with the acceleration from the full Hessian of L(q, qdot)."""

    net: LagrangianNetwork

    @property
    def module(self) -> ModuleType:
        return self.net.module

    @property
    def dtype(self):
        return self.net.dtype

    def __call__(self, q, qdot):
        return self.net(q, qdot)

    def acceleration(self, q, qdot):
        n = q.shape[0]

        def lagrangian(x):
            return self.net(x[:n], x[n:])

        x = jnp.concatenate([q, qdot])
        hessian = jax.hessian(lagrangian)(x)
        rhs = jax.grad(lagrangian)(x)[:n] - hessian[n:, :n] @ qdot
        return jnp.linalg.solve(hessian[n:, n:], rhs)


def _module(name: str) -> ModuleType:
    if name in HANDWRITTEN:
        return HANDWRITTEN[name]
    if name != "particles_8x3d":
        raise SystemExit(f"unknown system {name!r}; known: {', '.join(SYSTEMS)}")
    os.environ.update(SYMNOETHER_N="8", SYMNOETHER_DIM="3")
    system = sn.load_spec(ROOT / "examples" / "n_particles" / "spec.py")
    folder = Path(tempfile.mkdtemp(prefix="bench_train_"))
    return sn.generate(system, folder / "particles_8x3d.py")


def _initial_state(module: ModuleType) -> tuple[np.ndarray, np.ndarray]:
    if module is kepler_contract:
        return np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.1, 0.1])
    if module.SYSTEM_NAME == "particles_8x3d":  # the spec's ring, slightly perturbed
        rng = np.random.default_rng(0)
        n = len(module.COORDINATE_NAMES)
        base = [[np.cos(2 * np.pi * i / 8), np.sin(2 * np.pi * i / 8), 0.1] for i in range(8)]
        turn = [[-np.sin(2 * np.pi * i / 8) / 2, np.cos(2 * np.pi * i / 8) / 2, 0.0]
                for i in range(8)]  # fmt: skip
        return (np.ravel(base) + 0.05 * rng.normal(size=n),
                np.ravel(turn) + 0.05 * rng.normal(size=n))  # fmt: skip
    # The reference's two-particle set-up: random positions, zero total momentum.
    rng = np.random.default_rng(0)
    r = rng.normal(size=4)
    return rng.normal(size=8), np.concatenate([r / 1.0, -r / 0.8])


def _ms_per_step(model, data, epochs: int, steps: int, batch: int, clock=time.perf_counter):
    stamps = []

    def callback(epoch, loss, model):
        stamps.append(clock())

    train(
        model, data, epochs=epochs + 1, steps_per_epoch=steps, batch_size=batch,
        progress=False, callback=callback, key=jax.random.key(1),
    )  # fmt: skip
    # The first epoch compiles; time the ones after it.
    return 1e3 * (stamps[-1] - stamps[0]) / (epochs * steps)


def _stream(module: ModuleType, q0, qdot0):
    if module is kepler_contract:
        return state_stream(module, kepler_orbit_sampler([1 / 1.8, 0, 0], [0, 1.8, 0]))
    return trajectory_stream(module, q0, qdot0)


def _data_overhead(args) -> bool:
    ok = True
    for module in (kepler_contract, two_particle_4d_contract):
        q0, qdot0 = _initial_state(module)
        sources = {
            "fixed": trajectory_data(module, q0, qdot0, t_final=1000.0, key=jax.random.key(0)),
            "stream": _stream(module, q0, qdot0),
        }
        net = LagrangianNetwork(module, key=jax.random.key(2))
        times = {(name, clock): [] for name in sources for clock in CLOCKS}
        for _ in range(args.repeats):  # alternating, so that both see the same load
            for name, data in sources.items():
                for clock, fn in CLOCKS.items():
                    times[name, clock].append(_ms_per_step(
                        net, data, args.epochs, args.steps_per_epoch, args.batch_size, fn
                    ))  # fmt: skip
        best = {key: min(t) for key, t in times.items()}
        print(f"\n{module.SYSTEM_NAME}: data source, chain-rule network")
        for clock in CLOCKS:
            for name in sources:
                ms = best[name, clock]
                print(f"  {name:8s} {ms:7.3f} ms/step  {1e3 / ms:8.0f} steps/s  ({clock})")
            overhead = best["stream", clock] / best["fixed", clock] - 1
            ok &= overhead <= 0.10
            print(f"  stream overhead {100 * overhead:+.1f}% ({clock}); target <= +10%: "
                  f"{'met' if overhead <= 0.10 else 'NOT met'}")  # fmt: skip
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per run")
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="runs; the best is reported")
    parser.add_argument("--data", action="store_true", help="fixed data against streams")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall")
    parser.add_argument("--systems", default="kepler,two_particle_4d,particles_8x3d")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}, {os.cpu_count()} CPUs")
    print(f"load average {os.getloadavg()[0]:.1f}; batch {args.batch_size}, float32, 2 x 128")
    if args.data:
        sys.exit(0 if _data_overhead(args) else 1)
    ok = True
    print(f"clock: {args.clock}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    for name in args.systems.split(","):
        module = _module(name)
        q0, qdot0 = _initial_state(module)
        data = trajectory_data(module, q0, qdot0, t_final=1000.0, key=jax.random.key(0))
        net = LagrangianNetwork(module, key=jax.random.key(2))
        models = {
            "chain rule": net,
            "jax.hessian": HessianBaseline(net),
            "unconstrained": LagrangianNetwork(module, invariant=False, key=jax.random.key(2)),
            "natural": sn.NaturalLagrangianNetwork(module, key=jax.random.key(2)),
        }
        clock = CLOCKS[args.clock]
        times = {
            name: min(
                _ms_per_step(model, data, args.epochs, args.steps_per_epoch, args.batch_size,
                             clock)  # fmt: skip
                for _ in range(args.repeats)
            )
            for name, model in models.items()
        }
        ratio = times["jax.hessian"] / times["chain rule"]
        target = TARGETS_MS.get(module.SYSTEM_NAME)
        passed = (target is None or times["chain rule"] <= target) and ratio >= 2
        ok &= passed
        print(f"\n{module.SYSTEM_NAME} (n = {len(q0)}, M = {len(module.INVARIANT_NAMES)})")
        for name, ms in times.items():
            print(f"  {name:14s} {ms:7.3f} ms/step  {1e3 / ms:8.0f} steps/s")
        print(f"  natural / chain rule: {times['natural'] / times['chain rule']:.2f}x")
        goal = f"<= {target} ms/step and >= 2x" if target is not None else ">= 2x"
        print(f"  speed-up over jax.hessian: {ratio:.2f}x; target {goal}: "
              f"{'met' if passed else 'NOT met'}")  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
