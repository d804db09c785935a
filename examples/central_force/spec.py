"""A planar central force, V(r) = r^2/2 + r^4/4, declared WITHOUT its symmetry.

The rotation about the origin is a symmetry of the data but not of the declaration: the
spec is the test case of "which symmetry do the data have?" (`symnoether symmetries SPEC
--from-run RUN`, docs/WRITING_A_SPEC.md). The orbit is a rosette that fills an annulus
(the quartic term makes it precess), so one trajectory visits every direction.
"""

import sympy

import symnoether as sn

c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
r2 = x.dot(x)

system = sn.System(
    name="central_force",
    coordinates=c,
    lagrangian=v.dot(v) / 2 - r2 / 2 - r2**2 / 4,
    initial_state=((1.0, 0.0), (0.0, 0.6)),
)
