"""Lattice fields (issue 25): symbolic cost, cost per site, exact charges at 32 x 32.

Run: `XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
.venv/bin/python benchmarks/bench_lattice.py [--chains 64 1024] [--sides 16 32]
[--drift-steps 200]`

Prints, all in single-thread CPU time (`time.process_time`):

- derive + verify + generate of the XY chain and of the 2D complex field, at two lattice
  sizes each, and the module's size (independent of the size but for its SHAPE line);
- per site, for `sn.LatticeNetwork` (width 32, float64): one acceleration-loss train step
  (batch 8), one RK4 step and one matrix-free variational step (`MatrixFreeVariational`),
  on XY chains and on side x side complex fields;
- the U(1) charge drift of the complex field's model on a 32 x 32 lattice along
  `--drift-steps` variational steps (dt = 0.01), and RK4's for contrast. The weights are
  random (softly perturbed): the exactness holds for every weight; the trained model's
  figure is in examples/complex_field_local (run.py).
"""

import argparse
import os
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


def _symbolic(sn, spec, env, sizes, folder):
    import sympy

    for size in sizes:
        # A fresh SymPy cache for each size: the second would otherwise reuse the first's.
        sympy.core.cache.clear_cache()
        os.environ[env] = str(size)
        start = time.process_time()
        system = sn.load_lattice_spec(spec)
        path = sn.generate_lattice(system, folder / f"{system.name}_{size}.py")
        print(
            f"  {system.name} shape {system.shape}: derive+verify+generate "
            f"{time.process_time() - start:.2f} s CPU, module {path.stat().st_size} bytes"
        )
    return path


def _row(sn, m, fields, jax, jnp, eqx, optax):
    """CPU seconds of one train step (batch 8), one RK4 and one variational step."""
    optimizer = optax.adam(1e-3)
    n = m.sites * fields
    q = 0.3 * jax.random.normal(jax.random.key(1), (n,)) + (0.6 if fields == 2 else 0)
    v = 0.3 * jax.random.normal(jax.random.key(2), (n,))
    qb, vb = jnp.stack([q] * 8), jnp.stack([v] * 8)
    state = optimizer.init(eqx.filter(m, eqx.is_inexact_array))

    @eqx.filter_jit
    def train_step(m, state, q, v, a):
        g = eqx.filter_grad(lambda m: jnp.mean((m.batched_acceleration(q, v) - a) ** 2))(m)
        updates, state = optimizer.update(g, state)
        return eqx.apply_updates(m, updates), state

    steps = 10
    method = sn.MatrixFreeVariational(block=fields)
    t_train = _cpu(lambda: jax.block_until_ready(train_step(m, state, qb, vb, vb)[0]))
    t_rk4 = _cpu(lambda: jax.block_until_ready(sn.integrate(m, q, v, dt=0.01, steps=steps)[0]))
    t_var = _cpu(
        lambda: jax.block_until_ready(
            sn.integrate(m, q, v, dt=0.01, steps=steps, method=method)[0]
        ),
        repeats=1,
    )
    return t_train, t_rk4 / steps, t_var / steps


def _costs(sn, module, shapes, jax, jnp, eqx, optax):
    model = sn.LatticeNetwork(module, width=32, key=jax.random.key(0))
    print(f"  {'shape':>10} {'train us/site':>14} {'rk4 us/site':>12} {'variational us/site':>20}")
    for shape in shapes:
        m = model.resized(shape)
        times = _row(sn, m, module.FIELDS, jax, jnp, eqx, optax)
        per_site = "".join(f"{1e6 * t / m.sites:>{w}.2f}" for t, w in zip(times, (15, 13, 21)))
        print(f"  {'x'.join(map(str, shape)):>10}{per_site}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--sides", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--drift-steps", type=int, default=200)
    args = parser.parse_args()
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    import symnoether as sn
    from examples.complex_field_local.spec import initial_state
    from symnoether.files import import_file

    folder = Path(tempfile.mkdtemp())
    print("symbolic stages (once; independent of the lattice size):")
    xy = import_file(
        _symbolic(
            sn, ROOT / "examples/xy_chain_local/spec.py", "SYMNOETHER_SITES", (16, 4096), folder
        )
    )
    field = import_file(
        _symbolic(
            sn, ROOT / "examples/complex_field_local/spec.py", "SYMNOETHER_SIDE", (8, 64), folder
        )
    )
    print("XY chain, cost per site:")
    _costs(sn, xy, [(n,) for n in args.chains], jax, jnp, eqx, optax)
    print("2D complex field, cost per site:")
    _costs(sn, field, [(s, s) for s in args.sides], jax, jnp, eqx, optax)
    model = sn.LatticeNetwork(field, width=32, shape=(32, 32), key=jax.random.key(0))
    q0, v0 = (jnp.asarray(x) for x in initial_state(32))
    for name, method in (("variational", sn.MatrixFreeVariational(block=2)), ("rk4", sn.RK4())):
        start = time.process_time()
        out = sn.integrate(
            model,
            q0,
            v0,
            dt=0.01,
            steps=args.drift_steps,
            save_every=10,
            method=method,
            full_output=True,
        )
        charges = jax.vmap(model.charges)(out.qs, out.qdots)[:, 0]
        drift = float(jnp.max(jnp.abs(charges - charges[0])))
        failures = 0 if out.failures is None else int(jnp.sum(out.failures))
        print(
            f"32x32 U(1) charge, {name}: |Q| = {float(charges[0]):.4f}, drift {drift:.2e} "
            f"(relative {drift / abs(float(charges[0])):.2e}) over {args.drift_steps} steps, "
            f"Newton failures {failures}, {time.process_time() - start:.1f} s CPU"
        )


if __name__ == "__main__":
    main()
