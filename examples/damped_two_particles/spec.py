"""Two particles in 3D, a central force and friction: which charges survive.

L = m1/2 |v1|^2 + m2/2 |v2|^2 - V(|x1 - x2|), V(r) = -mu/2 r^2 + kappa/4 r^4, with the
symmetry translations x SO(3) and a Rayleigh friction chosen with FRICTION (or the
environment variable SYMNOETHER_FRICTION):

- "isotropic" (default): R = b/2 (|v1|^2 + |v2|^2). Every charge is balanced:
  dP/dt = -b (v1 + v2), dL/dt = -b (x1 x v1 + x2 x v2); none is conserved.
- "z": R = b/2 (v1_z^2 + v2_z^2), a friction along z only. It is invariant under the
  translations in x and y and the rotation about z, so momentum_x0, momentum_x1 and
  angular_momentum_x0x1 (L_z) stay exactly conserved (declared with conserved=[...], which
  `verify` proves), while P_z, L_x and L_y decay at the rates `verify` derives.
"""

import os

import sympy

import symnoether as sn

FRICTION = os.environ.get("SYMNOETHER_FRICTION", "isotropic")

c = sn.particles(2, dim=3)
x1, x2 = sympy.Matrix(c.block("x1")), sympy.Matrix(c.block("x2"))
v1, v2 = sympy.Matrix(c.block_velocity("x1")), sympy.Matrix(c.block_velocity("x2"))
m1, m2, mu, kappa, b = sympy.symbols("m1 m2 mu kappa b", positive=True)
d = x1 - x2
r2 = d.dot(d)

FRICTIONS = {
    "isotropic": (b / 2 * (v1.dot(v1) + v2.dot(v2)), ()),
    "z": (b / 2 * (v1[2] ** 2 + v2[2] ** 2),
          ("momentum_x0", "momentum_x1", "angular_momentum_x0x1")),
}
if FRICTION not in FRICTIONS:
    raise ValueError(f"FRICTION must be one of {sorted(FRICTIONS)}, got {FRICTION!r}")
R, conserved = FRICTIONS[FRICTION]
blocks = ["x1", "x2"]

system = sn.System(
    name=f"damped_two_particles_{FRICTION}",
    coordinates=c,
    symmetry=sn.translations(c, blocks=blocks) * sn.rotations(c, blocks=blocks),
    lagrangian=m1 / 2 * v1.dot(v1) + m2 / 2 * v2.dot(v2) - (-mu / 2 * r2 + kappa / 4 * r2**2),
    dissipation=R,
    conserved=conserved,
    parameters={m1: 1, m2: sympy.Rational(4, 5), mu: 1, kappa: 1, b: sympy.Rational(1, 10)},
    initial_state=((-0.7, -0.1, -0.2, -0.7, 0.5, 1.5),
                   (-1.09, -0.124, -0.709, 1.363, 0.155, 0.886)),
)
