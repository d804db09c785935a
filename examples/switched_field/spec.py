"""A charged particle in a uniform electric field that is switched on in time.

L = |v|^2/2 + E(t) x with the field E(t) = E0 t^2/(1 + t^2) along x (zero at t = 0, E0 for
large t), written with the time symbol `c.time`. The Lagrangian depends on the time
explicitly, so the energy is balanced, dE/dt = -dL/dt = -E'(t) x, not conserved. The
symmetry is the translations of the block x times the rotation about the field (in the y-z
plane): translations in y and z and the rotation leave L invariant; the translation in x
changes it by E(t) = d/dt F(t), a quasi-symmetry whose boundary term depends on the time
only, F = E0 (t - atan t), which `verify` derives: p_x - F is conserved (the momentum
gained from the field). The field term is declared as the known part of the model, which
learns the kinetic part from the invariants xdot and ydot^2 + zdot^2.
"""

import sympy

import symnoether as sn

c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
(x, y, z), v = c.q, sympy.Matrix(c.qdot)
t = c.time
E0 = sympy.Symbol("E0", positive=True)
field = E0 * t**2 / (1 + t**2)

system = sn.System(
    name="switched_field",
    coordinates=c,
    symmetry=sn.translations(c, blocks=["x"])
    * sn.from_generators(c, [{y: -z, z: y}], name="rotation_about_field"),
    lagrangian=v.dot(v) / 2 + field * x,
    known_lagrangian=field * x,
    parameters={E0: sympy.Rational(1, 2)},
    initial_state=((0.0, 1.0, 0.0), (0.0, 0.0, 0.5)),
)
