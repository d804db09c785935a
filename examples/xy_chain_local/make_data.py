"""Training data for the XY chain: true RK4 rollouts of a 16-site ring from random states.

Run: `.venv/bin/python examples/xy_chain_local/make_data.py --out runs/xy_chain_local/data.npz`

Each initial state has random neighbour differences (a random walk of steps N(0, 0.8)
closed into a ring) and random velocities N(0, 0.6); the rollouts (dt = 0.01, a sample
every 0.1 up to t = 10) sample the local states a chain of any length visits.
"""

import argparse
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

HERE = Path(__file__).resolve().parent


def module_for(folder: Path, sites: int):
    """Generate the lattice module (the text depends on `sites` only through SHAPE)."""
    import symnoether as sn
    from symnoether.files import import_file

    os.environ["SYMNOETHER_SITES"] = str(sites)
    path = sn.generate_lattice(sn.load_lattice_spec(HERE / "spec.py"), folder / "xy_model.py")
    return import_file(path)


def initial_states(sites: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.8, size=(count, sites))
    steps -= steps.mean(axis=1, keepdims=True)  # a closed ring: the differences sum to 0
    q0 = np.cumsum(steps, axis=1) + rng.uniform(-np.pi, np.pi, size=(count, 1))
    return jnp.asarray(q0), jnp.asarray(rng.normal(0, 0.6, size=(count, sites)))


def make_data(module, *, sites: int = 16, count: int = 32, seed: int = 0):
    from symnoether.numeric.lattice_data import lattice_trajectories

    q0, v0 = initial_states(sites, count, seed)
    return lattice_trajectories(module, q0, v0, shape=(sites,), dt=0.01, steps=1000, save_every=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/xy_chain_local/data.npz"))
    parser.add_argument("--sites", type=int, default=16)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = make_data(module_for(args.out.parent, args.sites), sites=args.sites)
    np.savez(
        args.out, q=np.asarray(data.q), qdot=np.asarray(data.qdot), qddot=np.asarray(data.qddot)
    )
    print(f"wrote {len(data)} samples of {args.sites} sites to {args.out}")


if __name__ == "__main__":
    main()
