"""Two particles in D dimensions joined by the anharmonic potential V(r) = -mu/2 r^2 + kappa/4 r^4.

Symmetry: common translations times common rotations SO(D) of both particles. Choose D
with the variable DIM (or the environment variable SYMNOETHER_DIM); D = 2, 3, 4 are the
reference's cases.
"""

import os

import sympy

import symnoether as sn

DIM = int(os.environ.get("SYMNOETHER_DIM", "4"))

c = sn.particles(2, dim=DIM)
x1, x2 = sympy.Matrix(c.block("x1")), sympy.Matrix(c.block("x2"))
v1, v2 = sympy.Matrix(c.block_velocity("x1")), sympy.Matrix(c.block_velocity("x2"))
m1, m2, mu, kappa = sympy.symbols("m1 m2 mu kappa", positive=True)
d = x1 - x2
r2 = d.dot(d)

system = sn.System(
    name=f"two_particles_{DIM}d",
    coordinates=c,
    symmetry=sn.translations(c, blocks=["x1", "x2"]) * sn.rotations(c, blocks=["x1", "x2"]),
    lagrangian=m1 / 2 * v1.dot(v1) + m2 / 2 * v2.dot(v2) - (-mu / 2 * r2 + kappa / 4 * r2**2),
    parameters={m1: 1, m2: sympy.Rational(4, 5), mu: 1, kappa: 1},
    # Separation near the potential minimum r = 1, with some rotation in every plane.
    initial_state=(
        [0.6, 0.1, 0.05, 0.0][:DIM] + [-0.5, 0.0, -0.05, 0.1][:DIM],
        [0.0, 0.5, 0.1, -0.1][:DIM] + [0.1, -0.6, 0.0, 0.1][:DIM],
    ),
)
