"""Write noisy measurements of the forced Duffing oscillator (spec.py), with their times.

    python examples/duffing/make_data.py runs/duffing.npz

RK4 (dt = 0.01) on the true system with its friction and drive gamma cos(omega t)
(`sn.forced_trajectory_data`), from x = 1 at rest, sampled every `--sample-every` up to
`--t-final`, noise `--noise` on q, qdot and qddot. The file (q, qdot, qddot, t) is what
`sn.load_data` reads; the times are needed, since the drive depends on them.
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
    parser.add_argument("--t-final", type=float, default=60.0)
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
    print(f"wrote {args.output}: {len(data)} samples, t in [0, {args.t_final:g}], noise "
          f"{args.noise}")


if __name__ == "__main__":
    main()
