"""A particle in a helical field: a screw symmetry with a parameter, and custom invariants.

The potential V = rho^2 / 2 + u / 2 with u = x cos(2 z / k) + y sin(2 z / k) (a harmonic
well around the z axis plus a helical ripple of pitch parameter k) is invariant under the
screw motion "rotate about z by epsilon and shift z by k epsilon / 2", whose generator
xi = (-y, x, k/2) carries the parameter k; `System(parameters={k: ...})` gives it a value,
in the generator as in the Lagrangian.

The polynomial (general) route finds only four of the five invariants: the fifth involves
the angle (a screw invariant is not polynomial). The spec supplies the missing ones with
`candidates=...`, and the certificate proves the union complete (rank 5 = 2n - r).
"""

import sympy

import symnoether as sn

c = sn.coordinates("x y z")
x, y, z = c.q
V = sympy.Matrix(c.qdot)
k = sympy.Symbol("k", positive=True)

# The helical phase 2 z / k: a screw advances z by k/2 per radian.
u = x * sympy.cos(2 * z / k) + y * sympy.sin(2 * z / k)
w = y * sympy.cos(2 * z / k) - x * sympy.sin(2 * z / k)

system = sn.System(
    name="helix",
    coordinates=c,
    symmetry=sn.from_generators(c, [{x: -y, y: x, z: k / 2}], name="screw",
                                charge_names=["I_screw"]),
    lagrangian=V.dot(V) / 2 - (x**2 + y**2) / 2 - u / 2,
    parameters={k: 2},
    candidates={"u": u, "w": w},
    initial_state=((1.0, 0.0, 0.0), (0.0, 0.7, 0.3)),
)
