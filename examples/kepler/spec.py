"""Kepler problem in 3D: a particle in the potential -1/|x|, rotation-invariant (SO(3)).

Set REFLECTIONS = True (or the environment variable SYMNOETHER_REFLECTIONS=1) for O(3).
"""

import os

import sympy

import symnoether as sn

REFLECTIONS = os.environ.get("SYMNOETHER_REFLECTIONS", "0") == "1"

c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)

system = sn.System(
    name="kepler",
    coordinates=c,
    symmetry=sn.rotations(c, blocks=["x"], reflections=REFLECTIONS),
    lagrangian=v.dot(v) / 2 + 1 / sympy.sqrt(x.dot(x)),
    # The reference's orbit (Mueller 2023): pericentre of the ellipse of eccentricity 0.8 and
    # angular momentum 1 in the xy plane (energy -0.18, period about 29).
    initial_state=((1 / 1.8, 0.0, 0.0), (0.0, 1.8, 0.0)),
)
