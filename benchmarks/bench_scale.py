"""How the numeric cost grows with the number of particles (issue 13).

Run: `.venv/bin/python benchmarks/bench_scale.py [--sizes 2 4 8 16 32] [--minimal]`

For N particles in 3D with pairwise springs and translations x SO(3)
(`examples/n_particles/spec.py`), each size in a fresh process: the number of invariants,
the time to generate the module and its size, its import time, the first-call (compile)
and steady times of one training step (batch 128, float32, MLP 2 x 128 softplus, Adam), of
one RK4 step and of one variational step (float64, single trajectory), and the split of a
batched acceleration into the mass-matrix assembly (chain rule) and the n x n solve, with
LU and with Cholesky. `--minimal` uses the minimal invariant sets (exactly the rank).
Steady times are the best of `--repeats`. The networks are untrained (random weights), which
is what the cost per step depends on.

This is the flat model of one MLP over all invariants. The local family (issue 25: one pair
network summed over a neighbour list, cost linear in N) has its own scripts:
`bench_local_scale.py` (Lennard-Jones, N = 64 to 4,096, and the charges' drift at N = 512)
and `bench_lattice.py` (lattice fields).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(n_particles: int, minimal: bool, repeats: int) -> dict:
    """Every figure of one size, in this process (call it in a fresh one)."""
    os.environ.update(SYMNOETHER_N=str(n_particles), SYMNOETHER_DIM="3")
    import dataclasses
    import warnings

    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    jax.config.update("jax_enable_x64", True)
    import symnoether as sn
    from symnoether.files import import_file

    # The networks are untrained (random weights): a Newton solve that misses its tolerance
    # here costs max_iter iterations, which the variational step time includes.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    system = sn.load_spec(ROOT / "examples" / "n_particles" / "spec.py")
    if minimal:
        system = dataclasses.replace(system, minimal_invariants=True)
    out: dict = {"N": n_particles, "n": system.coordinates.n}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.py"
        start = time.perf_counter()
        sn.generate(system, path)
        out["generate_s"] = time.perf_counter() - start
        out["module_kb"] = path.stat().st_size / 1024
        start = time.perf_counter()
        module = import_file(path)
        out["import_s"] = time.perf_counter() - start
    out["invariants"] = len(module.INVARIANT_NAMES)
    n, batch = out["n"], 128
    rng = np.random.default_rng(0)
    q = jnp.asarray(rng.normal(size=(batch, n)), jnp.float32)
    v = jnp.asarray(rng.normal(size=(batch, n)), jnp.float32)
    target = jnp.asarray(rng.normal(size=(batch, n)), jnp.float32)
    model = sn.LagrangianNetwork(module, key=jax.random.key(0))  # float32
    optimizer = optax.adam(1e-3)

    @eqx.filter_jit
    def step(model, state):
        def loss(m):
            return jnp.mean((m.batched_acceleration(q, v) - target) ** 2)

        value, grads = eqx.filter_value_and_grad(loss)(model)
        updates, state = optimizer.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, value

    state = optimizer.init(eqx.filter(model, eqx.is_array))
    start = time.perf_counter()
    jax.block_until_ready(step(model, state))
    out["train_first_s"] = time.perf_counter() - start
    out["train_step_ms"] = 1e3 * _best(lambda: jax.block_until_ready(step(model, state)), repeats)

    model64 = sn.LagrangianNetwork(module, dtype=jnp.float64, key=jax.random.key(0))
    q0, qdot0 = (jnp.asarray(x, jnp.float64) for x in system.initial_state)
    for method, steps in (("rk4", 200), ("variational", 50)):
        def roll(method=method, steps=steps):
            return jax.block_until_ready(
                sn.integrate(model64, q0, qdot0, dt=0.01, steps=steps, method=method))

        start = time.perf_counter()
        roll()
        out[f"{method}_first_s"] = time.perf_counter() - start
        out[f"{method}_step_ms"] = 1e3 * _best(roll, repeats) / steps

    accel = eqx.filter_jit(lambda q, v: model.batched_acceleration(q, v))
    jax.block_until_ready(accel(q, v))
    out["acceleration_ms"] = 1e3 * _best(lambda: jax.block_until_ready(accel(q, v)), repeats)
    A = rng.normal(size=(batch, n, n))
    spd = jnp.asarray(A @ A.transpose(0, 2, 1) + n * np.eye(n), jnp.float32)
    rhs = jnp.asarray(rng.normal(size=(batch, n)), jnp.float32)
    lu = jax.jit(lambda m, b: jnp.linalg.solve(m, b[..., None])[..., 0])

    def cholesky_solve(m, b):
        factor = jnp.linalg.cholesky(m)
        return jax.scipy.linalg.cho_solve((factor, True), b[..., None])[..., 0]

    cholesky = jax.jit(cholesky_solve)
    for name, fn in (("solve_lu_ms", lu), ("solve_cholesky_ms", cholesky)):
        jax.block_until_ready(fn(spd, rhs))
        out[name] = 1e3 * _best(lambda fn=fn: jax.block_until_ready(fn(spd, rhs)), repeats)
    return out


COLUMNS = [
    ("N", "N", "{}"), ("n", "n", "{}"), ("invariants", "M", "{}"),
    ("generate_s", "generate s", "{:.1f}"), ("module_kb", "module KB", "{:.0f}"),
    ("import_s", "import s", "{:.2f}"), ("train_first_s", "train compile s", "{:.1f}"),
    ("train_step_ms", "train step ms", "{:.2f}"), ("rk4_first_s", "RK4 compile s", "{:.1f}"),
    ("rk4_step_ms", "RK4 step ms", "{:.3f}"), ("variational_first_s", "var. compile s", "{:.1f}"),
    ("variational_step_ms", "var. step ms", "{:.3f}"), ("acceleration_ms", "accel. ms", "{:.2f}"),
    ("solve_lu_ms", "LU solve ms", "{:.3f}"), ("solve_cholesky_ms", "Cholesky ms", "{:.3f}"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--minimal", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args.minimal, args.repeats)))
        return 0
    print(f"N particles in 3D, translations x SO(3), {'minimal' if args.minimal else 'full'} "
          "invariant sets; train: batch 128 float32; rollouts: float64, one trajectory")
    print(" | ".join(title for _, title, _ in COLUMNS))
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size), "--repeats", str(args.repeats)]
        command += ["--minimal"] if args.minimal else []
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(f"N = {size}: failed\n{done.stderr[-2000:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(" | ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
