"""A Lennard-Jones cluster: N particles in 3D (N = 3 by default), translations x SO(3).

V = sum_{i<j} 4 epsilon ((sigma / r_ij)^12 - (sigma / r_ij)^6). The symmetry gives the total
momentum and the total angular momentum; the invariants are the dot and triple products of
the differences x1 - xi and the velocities. Choose N with the environment variable
SYMNOETHER_PARTICLES (2 to 4 are quick; see benchmarks/bench_symbolic.py).

The potential is written with r_ij^2 (no square root); its powers r^-12 are never expanded
by the symbolic stages, which keeps derive, verify and generate to a few seconds.
"""

import os

import sympy

import symnoether as sn

N = int(os.environ.get("SYMNOETHER_PARTICLES", "3"))
if N < 2:
    raise ValueError(f"SYMNOETHER_PARTICLES must be >= 2, got {N}")

c = sn.particles(N, dim=3)
blocks = [f"x{i + 1}" for i in range(N)]
X = [sympy.Matrix(c.block(b)) for b in blocks]
V = [sympy.Matrix(c.block_velocity(b)) for b in blocks]
epsilon, sigma = sympy.symbols("epsilon sigma", positive=True)

potential = sympy.Integer(0)
for i in range(N):
    for j in range(i + 1, N):
        r2 = (X[i] - X[j]).dot(X[i] - X[j])
        potential += 4 * epsilon * (sigma**12 / r2**6 - sigma**6 / r2**3)


def _initial_state():
    """Particles on a ring at about the pair minimum 2^(1/6) sigma, slowly rotating.

    The velocities have zero total momentum and a small angular momentum about z; the
    energy is well below zero, so the cluster stays bound.
    """
    import math

    radius = 2 ** (1 / 6) / (2 * math.sin(math.pi / N)) if N > 2 else 2 ** (1 / 6) / 2
    q, qdot = [], []
    for k in range(N):
        angle = 2 * math.pi * k / N
        q += [radius * math.cos(angle), radius * math.sin(angle), 0.05 * (-1) ** k]
        qdot += [-0.1 * math.sin(angle), 0.1 * math.cos(angle), 0.0]
    return tuple(q), tuple(qdot)


system = sn.System(
    name=f"lennard_jones_{N}",
    coordinates=c,
    symmetry=sn.translations(c, blocks=blocks) * sn.rotations(c, blocks=blocks),
    lagrangian=sum((v.dot(v) for v in V), sympy.Integer(0)) / 2 - potential,
    parameters={epsilon: 1, sigma: 1},
    initial_state=_initial_state(),
)
