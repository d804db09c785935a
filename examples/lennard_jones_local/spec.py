"""A Lennard-Jones cluster as a local Lagrangian: one body term, one pair term, a cutoff.

L = sum_i |v_i|^2 / 2 - sum_{i<j, r_ij < 2.5} 4 (r_ij^-12 - r_ij^-6)  (epsilon = sigma = 1).

Only one body and one pair are derived and verified (translations x SO(3) acting on every
particle alike), so the symbolic stages and the module do not depend on N. Choose N with
SYMNOETHER_PARTICLES (default 8): the atoms start on a jittered simple cubic lattice of
spacing 1.12 (near the pair minimum 2^(1/6)), with small random velocities of zero total
momentum.
"""

import os

import numpy as np

import symnoether as sn

N = int(os.environ.get("SYMNOETHER_PARTICLES", "8"))


def pair(x1, v1, x2, v2):
    r2 = (x1 - x2).dot(x1 - x2)
    return -4 * (1 / r2**6 - 1 / r2**3)


def initial_state(n: int, seed: int = 0):
    """A jittered cubic block of n atoms with zero total momentum."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x = 1.12 * grid[:n] + 0.02 * rng.normal(size=(n, 3))
    v = 0.1 * rng.normal(size=(n, 3))
    v -= v.mean(axis=0)
    return tuple(x.ravel().tolist()), tuple(v.ravel().tolist())


system = sn.ParticleSystem(
    name="lennard_jones_local",
    dim=3,
    count=N,
    pair=pair,
    symmetry=("translations", "rotations"),
    cutoff=2.5,
    initial_state=initial_state(N),
)
