"""Write training data with the rotation symmetry: random states and their accelerations.

    python examples/central_force/make_data.py runs/central_force.npz

Each of `--samples` states draws q and qdot from independent Gaussians of standard
deviation `--scale` (rotation-invariant, so every direction of (q, qdot) is visited), with
the true acceleration of spec.py's Lagrangian and Gaussian noise `--noise`. The file holds
`q`, `qdot`, `qddot` (N, 2), the format `symnoether train --data` reads.
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
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    system = sn.load_spec(SPEC)
    with tempfile.TemporaryDirectory() as folder:
        module = sn.generate(system, Path(folder) / "central_force_model.py")
    data = sn.random_data(
        module,
        args.samples,
        q_scale=args.scale,
        qdot_scale=args.scale,
        noise=args.noise,
        key=jax.random.key(args.seed),
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sn.save_data(args.output, data)
    print(f"wrote {args.output}: {args.samples} states")


if __name__ == "__main__":
    main()
