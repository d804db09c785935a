"""Kepler problem in 3D (L = |xdot|^2/2 + 1/|x|, SO(3)) on a moderate orbit, for learning
from measured positions: eccentricity 0.44, period about 15, slightly out of the xy plane.

The same system as examples/kepler/spec.py; only the initial state differs (that example's
orbit of eccentricity 0.8 moves too fast at its pericentre for positions sampled every 0.1,
see README.md).
"""

import sympy

import symnoether as sn

c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)

system = sn.System(
    name="kepler",
    coordinates=c,
    symmetry=sn.rotations(c, blocks=["x"]),
    lagrangian=v.dot(v) / 2 + 1 / sympy.sqrt(x.dot(x)),
    initial_state=((1.0, 0.0, 0.0), (0.0, 1.2, 0.1)),
)
