"""Write "measured" Kepler positions: noisy positions along true orbits, nothing else.

    python examples/kepler_positions/make_data.py runs/kepler_positions.npz

Several orbits start near the spec's initial state (spec.py here: an orbit of eccentricity
0.44 and period about 15), perturbed by `--spread`; each is sampled every `--sample-every`
for `--t-final`, and Gaussian noise of standard deviation `--noise` is added to the
positions. The file holds `q` (B, T, 3) and `dt`, the format
`symnoether train --data` reads as positions only (docs/POSITIONS.md).
"""

import argparse
import tempfile
from pathlib import Path

import jax

import symnoether as sn

SPEC = Path(__file__).resolve().parent / "spec.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the .npz file to write")
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--spread", type=float, default=0.05)
    parser.add_argument("--sample-every", type=float, default=0.1)
    parser.add_argument("--t-final", type=float, default=64.0, help="about four periods")
    parser.add_argument("--noise", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    system = sn.load_spec(SPEC)
    with tempfile.TemporaryDirectory() as folder:
        module = sn.generate(system, Path(folder) / "kepler_model.py")
    q0, qdot0 = system.initial_state
    data = sn.position_trajectories(
        module, q0, qdot0, n_trajectories=args.trajectories, spread=args.spread,
        dt=0.01, sample_every=args.sample_every, t_final=args.t_final, noise=args.noise,
        key=jax.random.key(args.seed),
    )  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sn.save_positions(args.output, data)
    print(f"wrote {args.output}: {data.q.shape[0]} trajectories of {data.q.shape[1]} positions, "
          f"dt = {data.dt:g}, noise {args.noise}")


if __name__ == "__main__":
    main()
