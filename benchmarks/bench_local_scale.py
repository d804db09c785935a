"""Cost per particle of the local family (issue 25): linear in N, exact at scale.

Run: `XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
.venv/bin/python benchmarks/bench_local_scale.py [--sizes 64 512 4096] [--drift-size 512]`

Prints the symbolic time (derive + verify + generate, for a small and a large N: it does
not depend on N) and the module's size, then for each N (Lennard-Jones, cutoff 2.5,
jittered cubic block, neighbour list fitted with `with_neighbour_sizes`, an untrained pair
network of `--width`, depth 2) the CPU time (`time.process_time`, after a compiling call)
per particle of one acceleration-loss train step (batch 8, float32), one RK4 step and one
variational step (float64, matrix-free Newton), and finally the drift of the total
momentum and angular momentum over a float64 variational rollout at `--drift-size`
particles (`LocalParticleNetwork.rollout`: chunks of `--chunk` steps, the neighbour list
refitted between them).
"""

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu(fn, repeats):
    fn()  # compile
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - start) / repeats


def _symbolic(sn, system, folder):
    sizes = []
    for n in (8, 4096):
        start = time.process_time()
        s = dataclasses.replace(system, count=n, initial_state=None)
        path = sn.generate_local(s, folder / f"lj{n}.py")
        sizes.append(path.stat().st_size)
        print(
            f"N = {n:>5}: derive+verify+generate {time.process_time() - start:.2f} s CPU, "
            f"module {path.stat().st_size} bytes",
            flush=True,
        )
    return path


def _train_step(model, optimizer):
    import equinox as eqx
    import jax.numpy as jnp

    @eqx.filter_jit
    def step(model, state, q, v, a):
        def loss(m):
            return jnp.mean((m.batched_acceleration(q, v) - a) ** 2)

        g = eqx.filter_grad(loss)(model)
        updates, state = optimizer.update(g, state)
        return eqx.apply_updates(model, updates), state

    return step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 512, 4096])
    parser.add_argument("--width", type=int, default=64, help="of the pair network (depth 2)")
    parser.add_argument("--steps", type=int, default=10, help="rollout steps timed")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after compiling")
    parser.add_argument("--drift-size", type=int, default=512, help="0: no drift run")
    parser.add_argument("--drift-steps", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=50, help="drift run: steps per refit")
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
    system = sn.load_local_spec(ROOT / "examples" / "lennard_jones_local" / "spec.py")
    module = import_file(_symbolic(sn, system, folder))
    model64 = sn.LocalParticleNetwork(module, width=args.width, key=jax.random.key(0))
    model32 = jax.tree.map(
        lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, model64
    )
    optimizer = optax.adam(1e-3)
    step = _train_step(model32, optimizer)

    print(
        f"{'N':>6} {'sizes (cell, K)':>16} {'train us/particle':>18} "
        f"{'rk4 us/particle':>16} {'variational us/particle':>24}",
        flush=True,
    )
    for n in args.sizes:
        q, v = (jnp.asarray(s) for s in initial_state(n))
        fitted = model64.with_neighbour_sizes(q)
        m32 = model32.with_neighbour_sizes(q)
        state = optimizer.init(eqx.filter(m32, eqx.is_inexact_array))
        qb, vb = jnp.stack([q] * 8).astype(jnp.float32), jnp.stack([v] * 8).astype(jnp.float32)
        k, r = args.steps, args.repeats

        def train(qb=qb, vb=vb, m=m32, s=state):
            return jax.block_until_ready(step(m, s, qb, vb, vb)[0])

        def roll(method, q=q, v=v, m=fitted, k=k):
            return jax.block_until_ready(sn.integrate(m, q, v, dt=0.005, steps=k, method=method))

        t_train = _cpu(train, r)
        t_rk4 = _cpu(lambda: roll("rk4"), r) / k
        t_var = _cpu(lambda: roll("variational"), r) / k
        print(
            f"{n:>6} {str(tuple(fitted.sizes)):>16} {1e6 * t_train / n:>18.1f} "
            f"{1e6 * t_rk4 / n:>16.1f} {1e6 * t_var / n:>24.1f}",
            flush=True,
        )

    n = args.drift_size
    if n == 0:
        return
    q, v = (jnp.asarray(s) for s in initial_state(n))
    fitted = model64.with_neighbour_sizes(q)
    # In chunks of 50 steps, the neighbour list refitted between them (atoms move).
    result, last = fitted.rollout(
        q,
        v,
        dt=0.005,
        steps=args.drift_steps,
        save_every=10,
        chunk=args.chunk,
        method="variational",
        full_output=True,
        return_model=True,
    )
    # The charges with the sizes the last chunk ran with (those fitted to the first state
    # would overflow on the later states).
    charges = jax.vmap(last.charges)(result.qs, result.qdots)
    drift = jnp.max(jnp.abs(charges - charges[0]), axis=0)
    names = module.CHARGE_NAMES
    print(
        f"variational, N = {n}, {args.drift_steps} steps of dt = 0.005 (float64): "
        f"worst Newton residual {float(jnp.max(result.residuals)):.1e}, failed solves "
        f"{int(jnp.sum(result.failures))}; neighbour sizes {tuple(fitted.sizes)} at the "
        f"start, {tuple(last.sizes)} at the end"
    )
    for name, d, c in zip(names, drift, charges[0]):
        print(f"  {name:>12}: |I(0)| = {abs(float(c)):.3e}, max |I(t) - I(0)| = {float(d):.1e}")


if __name__ == "__main__":
    main()
