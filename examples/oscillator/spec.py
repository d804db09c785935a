"""Isotropic harmonic oscillator in 3D: L = |xdot|^2/2 - k |x|^2/2, rotation-invariant."""

import sympy

import symnoether as sn

c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
X, V = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
k = sympy.Symbol("k", positive=True)

system = sn.System(
    name="oscillator",
    coordinates=c,
    symmetry=sn.rotations(c, blocks=["x"]),
    lagrangian=V.dot(V) / 2 - k * X.dot(X) / 2,
    parameters={k: 1},
    initial_state=((1.0, 0.0, 0.2), (0.0, 0.7, 0.1)),
)
