"""Geodesic motion in the Schwarzschild metric (r_s = 0.1), in Cartesian-like coordinates.

Symmetry: translations of the coordinate time t (conserved p_t) times SO(3) acting on the
spatial block x (conserved angular momentum).
"""

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

system = sn.System(
    name="schwarzschild",
    coordinates=c,
    symmetry=sn.translations(c, coordinates=["t"]) * sn.rotations(c, blocks=["x"]),
    lagrangian=-f * tdot**2 + V.dot(V) + (r_s / r) / f * X.dot(V) ** 2 / r2,
    parameters={r_s: sympy.Rational(1, 10)},
    # A bound, precessing orbit at r = 1 (ten Schwarzschild radii).
    initial_state=((0.0, 1.0, 0.0, 0.0), (1.0, 0.0, 0.25, 0.02)),
)
