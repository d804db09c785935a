"""Training data for the 2D complex field: true RK4 rollouts on a small torus.

Run: `.venv/bin/python examples/complex_field_local/make_data.py --side 8
--out runs/complex_field_local/data.npz`

Initial states: phi = 0.6 + smooth random waves (the spec's `initial_state` with other
seeds), a random global phase, and velocities i omega phi plus N(0, 0.2) noise; rollouts
with dt = 0.01, a sample every 0.1 up to t = 5.
"""

import argparse
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

HERE = Path(__file__).resolve().parent


def module_for(folder: Path, side: int):
    """Generate the lattice module (the text depends on `side` only through SHAPE)."""
    import symnoether as sn
    from symnoether.files import import_file

    os.environ["SYMNOETHER_SIDE"] = str(side)
    path = sn.generate_lattice(sn.load_lattice_spec(HERE / "spec.py"), folder / "field_model.py")
    return import_file(path)


def initial_states(side: int, count: int, seed: int):
    from spec import initial_state  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    qs, vs = [], []
    for k in range(count):
        q, v = (np.asarray(x).reshape(-1, 2) for x in initial_state(side, seed=seed + k + 1))
        a = rng.uniform(0, 2 * np.pi)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        scale = rng.uniform(-1.0, 1.5)
        qs.append((q @ rot.T).ravel())
        vs.append((scale * v @ rot.T + rng.normal(0, 0.2, size=v.shape)).ravel())
    return jnp.asarray(np.stack(qs)), jnp.asarray(np.stack(vs))


def make_data(module, *, side: int = 8, count: int = 16, seed: int = 0):
    from symnoether.numeric.lattice_data import lattice_trajectories

    q0, v0 = initial_states(side, count, seed)
    return lattice_trajectories(
        module, q0, v0, shape=(side, side), dt=0.01, steps=500, save_every=10
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/complex_field_local/data.npz"))
    parser.add_argument("--side", type=int, default=8)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = make_data(module_for(args.out.parent, args.side), side=args.side)
    np.savez(
        args.out, q=np.asarray(data.q), qdot=np.asarray(data.qdot), qddot=np.asarray(data.qddot)
    )
    print(f"wrote {len(data)} samples of a {args.side} x {args.side} lattice to {args.out}")


if __name__ == "__main__":
    main()
