"""A particle near a cylinder: a custom symmetry declared with `from_generators`.

The potential depends only on the distance rho from the z axis, so the Lagrangian is
invariant under rotations about z and translations along z. Neither is declared with a
built-in constructor: the generators are written out as coordinate -> component maps,
the way a user adds a new symmetry. The general (polynomial) route derives the invariants.
"""

import sympy

import symnoether as sn

c = sn.coordinates("x y z")
x, y, z = c.q
V = sympy.Matrix(c.qdot)
rho2 = x**2 + y**2

symmetry = sn.from_generators(
    c,
    [{x: -y, y: x}, {z: 1}],  # rotation about the z axis, translation along it
    name="cylinder",
    names=["rotation_z", "translation_z"],
    charge_names=["angular_momentum_z", "momentum_z"],
)

system = sn.System(
    name="cylinder",
    coordinates=c,
    symmetry=symmetry,
    # A radial well with its minimum at rho = 1: V = (rho^2 - 1)^2 / 4.
    lagrangian=V.dot(V) / 2 - (rho2 - 1) ** 2 / 4,
    initial_state=((1.1, 0.0, 0.0), (0.0, 0.6, 0.3)),
)
