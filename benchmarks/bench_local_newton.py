"""Newton updates per variational step of the local family at several N (issue 25).

Run: `XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
.venv/bin/python benchmarks/bench_local_newton.py [--sizes 64 4096]`

The untrained `LocalParticleNetwork` of `bench_local_scale.py` (pair network 2 x 16,
Lennard-Jones block, neighbour sizes fitted to the initial state), two float64
variational steps of dt = 0.005 with `full_output=True`: prints, per saved point, the
largest number of Newton updates of a solve and the worst relative residual. With GMRES
the updates grew from 2 to 3 between N = 64 and 4,096; with the block sweeps
(`LocalParticleNetwork.linear_solver`) both take 3.
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 4096])
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    import symnoether as sn
    from examples.lennard_jones_local.spec import initial_state
    from symnoether.files import import_file

    system = sn.load_local_spec(ROOT / "examples" / "lennard_jones_local" / "spec.py")
    module = import_file(sn.generate_local(system, Path(tempfile.mkdtemp()) / "m.py"))
    model = sn.LocalParticleNetwork(module, width=args.width, key=jax.random.key(0))
    for n in args.sizes:
        q, v = (jnp.asarray(s) for s in initial_state(n))
        fitted = model.with_neighbour_sizes(q)
        r = sn.integrate(fitted, q, v, dt=0.005, steps=2, method="variational", full_output=True)
        print(
            f"N = {n:>5}: Newton updates per solve {r.iterations.tolist()}, worst relative "
            f"residuals {[f'{x:.1e}' for x in r.residuals.tolist()]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
