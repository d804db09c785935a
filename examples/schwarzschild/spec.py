"""Geodesic motion in the Schwarzschild metric (r_s = 0.1), in Cartesian-like coordinates.

Symmetry: translations of the coordinate time t (conserved p_t) times SO(3) acting on the
spatial block x (conserved angular momentum).
"""

import math

import sympy

import symnoether as sn

c = sn.coordinates("t x y z", blocks={"x": ["x", "y", "z"]})
t, x, y, z = c.q
tdot = c.qdot[0]
X, V = sympy.Matrix(c.q[1:]), sympy.Matrix(c.qdot[1:])
r_s = sympy.Symbol("r_s", positive=True)
r2 = X.dot(X)
r = sympy.sqrt(r2)
f = 1 - r_s / r

# The reference's initial state: x = (r0, 0, 0), r0 = 10 r_s, v = (0, v0, 0) with
# v0 = 1.26 sqrt(0.5 r_s / r0) / sqrt(1 - r_s / r0), and tdot from L = g(u, u) = -1
# (x . v = 0): tdot = sqrt((1 + v0^2) / (1 - r_s / r0)).
R_S = 0.1
R0 = 10 * R_S
V0 = 1.26 * math.sqrt(0.5 * R_S / R0) / math.sqrt(1 - R_S / R0)
TDOT0 = math.sqrt((1 + V0**2) / (1 - R_S / R0))

system = sn.System(
    name="schwarzschild",
    coordinates=c,
    symmetry=sn.translations(c, coordinates=["t"]) * sn.rotations(c, blocks=["x"]),
    lagrangian=-f * tdot**2 + V.dot(V) + (r_s / r) / f * X.dot(V) ** 2 / r2,
    parameters={r_s: sympy.Rational(1, 10)},
    # The reference's bound, precessing orbit (Mueller 2023): r0 = 10 r_s, velocity
    # perpendicular to x, tdot such that the 4-velocity has norm -1 (see below).
    initial_state=((0.0, R0, 0.0, 0.0), (TDOT0, 0.0, V0, 0.0)),
)
