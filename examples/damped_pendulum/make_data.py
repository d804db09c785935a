"""Write noisy measurements of the damped pendulum: states and accelerations along one
true trajectory with friction.

    python examples/damped_pendulum/make_data.py runs/damped_pendulum.npz

The true system (spec.py: theta'' = -sin theta - 0.05 theta') is rolled out with RK4 and
its friction (`sn.true_model`, dt = 0.01) from theta = 2 at rest, sampled every
`--sample-every` up to `--t-final`; Gaussian noise of standard deviation `--noise` is added
to q, qdot and qddot. The file is the `.npz` that `sn.load_data` and
`symnoether train --data` read (q, qdot, qddot, t).
"""

import argparse
import tempfile
from pathlib import Path

import jax
import numpy as np

import symnoether as sn

SPEC = Path(__file__).resolve().parent / "spec.py"


def main() -> None:
    jax.config.update("jax_enable_x64", True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the .npz file to write")
    parser.add_argument("--sample-every", type=float, default=0.1)
    parser.add_argument("--t-final", type=float, default=100.0)
    parser.add_argument("--noise", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    system = sn.load_spec(SPEC)
    with tempfile.TemporaryDirectory() as folder:
        module = sn.generate(system, Path(folder) / "model.py")
    q0, qdot0 = (np.asarray(x, float) for x in system.initial_state)
    data = sn.forced_trajectory_data(
        module, q0, qdot0, dt=0.01, sample_every=args.sample_every, t_final=args.t_final,
        noise=args.noise, key=jax.random.key(args.seed),
    )  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sn.save_data(args.output, data)
    amplitude = np.abs(np.asarray(data.q[-100:, 0])).max()
    print(f"wrote {args.output}: {len(data)} samples, t in [0, {args.t_final:g}], noise "
          f"{args.noise}; amplitude {abs(q0[0]):.2f} at t = 0, {amplitude:.2f} at the end")


if __name__ == "__main__":
    main()
