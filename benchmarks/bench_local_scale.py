"""Cost per particle of the local family (issue 25): train small, run large.

Run: `XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
.venv/bin/python benchmarks/bench_local_scale.py [--sizes 64 512 4096]`

Prints the symbolic time (derive + verify + generate, once: it does not depend on N) and the
module's size, then for each N (Lennard-Jones, cutoff 2.5, jittered cubic block) the CPU
time (time.process_time) per particle of one acceleration-loss train step (batch 8) and one
RK4 step (float64), and the momentum / angular momentum drift of 20 variational steps at the
smallest size (the variational Newton solve forms a dense Jacobian: O(N^2) per step).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu(fn, repeats=3):
    fn()  # compile
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 512, 4096])
    args = parser.parse_args()
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    import symnoether as sn
    from examples.lennard_jones_local.spec import initial_state
    from symnoether.files import import_file

    folder = Path(tempfile.mkdtemp())
    start = time.process_time()
    system = sn.load_local_spec(ROOT / "examples" / "lennard_jones_local" / "spec.py")
    path = sn.generate_local(system, folder / "lj.py")
    print(f"derive+verify+generate {time.process_time() - start:.2f} s CPU, module "
          f"{path.stat().st_size} bytes (independent of N)")
    module = import_file(path)
    model = sn.LocalParticleNetwork(module, key=jax.random.key(0))
    optimizer = optax.adam(1e-3)
    state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def train_step(model, state, q, v, a):
        def loss(m):
            return jnp.mean((m.batched_acceleration(q, v) - a) ** 2)
        g = eqx.filter_grad(loss)(model)
        updates, state = optimizer.update(g, state)
        return eqx.apply_updates(model, updates), state

    @jax.jit
    def rk4(q, v):
        f = model.acceleration
        dt = 0.005
        k1v, k1q = f(q, v), v
        k2v, k2q = f(q + dt / 2 * k1q, v + dt / 2 * k1v), v + dt / 2 * k1v
        k3v, k3q = f(q + dt / 2 * k2q, v + dt / 2 * k2v), v + dt / 2 * k2v
        k4v, k4q = f(q + dt * k3q, v + dt * k3v), v + dt * k3v
        return (q + dt / 6 * (k1q + 2 * k2q + 2 * k3q + k4q),
                v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v))

    print(f"{'N':>6} {'train us/particle':>18} {'rk4 us/particle':>16}")
    for n in args.sizes:
        q, v = (jnp.asarray(s) for s in initial_state(n))
        qb, vb = jnp.stack([q] * 8), jnp.stack([v] * 8)
        t_train = _cpu(lambda qb=qb, vb=vb: jax.block_until_ready(
            train_step(model, state, qb, vb, vb)[0]))
        t_rk4 = _cpu(lambda q=q, v=v: jax.block_until_ready(rk4(q, v)))
        print(f"{n:>6} {1e6 * t_train / n:>18.2f} {1e6 * t_rk4 / n:>16.2f}", flush=True)
    n = args.sizes[0]
    q, v = (jnp.asarray(s) for s in initial_state(n))
    qs, vs = sn.integrate(model, q, v, dt=0.005, steps=20, method="variational")
    charges = jax.vmap(model.charges)(qs, vs)
    print(f"variational N={n}, 20 steps: max charge drift "
          f"{float(jnp.max(jnp.abs(charges - charges[0]))):.2e}")


if __name__ == "__main__":
    main()
