"""A charged particle in a uniform magnetic field B e_z (symmetric gauge), in a trap along z.

L = |v|^2 / 2 + (B/2) (x ydot - y xdot) - V(z),   V(z) = z^2 / 2 + z^4 / 4.

The gauge term A . v with A = (B/2) (-y, x, 0) is not translation invariant: a translation
in x changes L by (B/2) ydot = d/dt (B y / 2), a total derivative. So translations in x and
y are quasi-symmetries, with boundary terms F_x = B y / 2 and F_y = -B x / 2 that `verify`
derives and proves, and conserved charges p_x - F_x = xdot - B y and p_y - F_y = ydot + B x
(the guiding centre). Rotations about z are exact symmetries (charge
x ydot - y xdot + B (x^2 + y^2) / 2).

A network L = f(S) of invariants alone cannot carry the gauge term, so the kinetic and gauge
part is declared known: L_model = K + f(S) with K = |v|^2 / 2 + A . v, and the network
learns the trap -V(z). K changes by the same total derivatives and f(S) by none, so the
model conserves every charge, boundary terms included, for every weight.
"""

import sympy

import symnoether as sn

c = sn.coordinates("x y z", blocks={"xy": ["x", "y"]})
x, y, z = c.q
xdot, ydot, zdot = c.qdot
B = sympy.Symbol("B", real=True)

kinetic_and_gauge = (xdot**2 + ydot**2 + zdot**2) / 2 + B / 2 * (x * ydot - y * xdot)
trap = z**2 / 2 + z**4 / 4

system = sn.System(
    name="magnetic",
    coordinates=c,
    # Translations in the plane (quasi-symmetries) and rotations about z (a symmetry): they
    # close into the Euclidean algebra of the plane.
    symmetry=sn.translations(c, blocks=["xy"]) * sn.rotations(c, blocks=["xy"]),
    lagrangian=kinetic_and_gauge - trap,
    known_lagrangian=kinetic_and_gauge,
    parameters={B: 1},
    # A cyclotron orbit drifting nowhere (the guiding centre is fixed), bouncing in z.
    initial_state=((1.0, 0.0, 0.5), (0.0, 0.8, 0.3)),
)
