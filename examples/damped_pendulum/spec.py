"""A pendulum with a little friction: theta'' = -sin(theta) - 0.05 theta'.

L = thetadot^2/2 + cos(theta) and the Rayleigh function R = b/2 thetadot^2 with b = 0.05:
d/dt dL/dthetadot - dL/dtheta = -dR/dthetadot. No continuous symmetry; the energy decays at
the rate dE/dt = -b thetadot^2, which `verify` proves along the true dynamics.

The true R makes the data; the model learns its own (`learn_dissipation=True`): a
non-negative combination c(S) thetadot^2 of the dissipation basis (the generated module's
`dissipation_basis`), so the learned friction coefficient is 2 c, to compare with b.
"""

import sympy

import symnoether as sn

c = sn.coordinates("theta")
(theta,), (thetadot,) = c.q, c.qdot
b = sympy.Symbol("b", positive=True)

system = sn.System(
    name="damped_pendulum",
    coordinates=c,
    lagrangian=thetadot**2 / 2 + sympy.cos(theta),
    dissipation=b * thetadot**2 / 2,
    learn_dissipation=True,
    parameters={b: sympy.Rational(1, 20)},
    initial_state=((2.0,), (0.0,)),
)
