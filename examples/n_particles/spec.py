"""N particles in D dimensions with pairwise anharmonic springs (beyond the reference).

Symmetry: common translations times common rotations SO(D). Choose N and D with the
variables N and DIM (or the environment variables SYMNOETHER_N and SYMNOETHER_DIM).
V(r) = -mu/2 r^2 + kappa/4 r^4 between every pair; all masses 1.
"""

import itertools
import os

import sympy

import symnoether as sn

N = int(os.environ.get("SYMNOETHER_N", "3"))
DIM = int(os.environ.get("SYMNOETHER_DIM", "2"))

c = sn.particles(N, dim=DIM)
blocks = list(c.blocks)
mu, kappa = sympy.symbols("mu kappa", positive=True)
kinetic = sum(v**2 for v in c.qdot) / 2
potential = 0
for a, b in itertools.combinations(blocks, 2):
    d = sympy.Matrix(c.block(a)) - sympy.Matrix(c.block(b))
    r2 = d.dot(d)
    potential += -mu / 2 * r2 + kappa / 4 * r2**2

# A ring of particles about one unit apart, turning about the origin.
angles = [2 * sympy.pi * i / N for i in range(N)]
q0 = [float(v) for t in angles for v in ([sympy.cos(t), sympy.sin(t)] + [0.1] * (DIM - 2))]
qdot0 = [float(v) for t in angles for v in ([-sympy.sin(t) / 2, sympy.cos(t) / 2]
                                            + [0.0] * (DIM - 2))]

system = sn.System(
    name=f"particles_{N}x{DIM}d",
    coordinates=c,
    symmetry=sn.translations(c, blocks=blocks) * sn.rotations(c, blocks=blocks),
    lagrangian=kinetic - potential,
    parameters={mu: 1, kappa: 1},
    initial_state=(q0, qdot0),
)
