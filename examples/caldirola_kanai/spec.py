"""The Caldirola-Kanai oscillator: L = exp(gamma t) (xdot^2 - x^2) / 2, gamma = 6/5.

An explicitly time-dependent Lagrangian (written with `c.time`) whose equation of motion is
the damped oscillator x'' + gamma x' + x = 0. No continuous symmetry is used here; the
energy E = exp(gamma t) (xdot^2 + x^2) / 2 is not conserved: `verify` proves its balance law
dE/dt = -dL/dt = gamma exp(gamma t) (x^2 - xdot^2) / 2 and reports it as information.
`symmetric.py` declares the time-dependent symmetries of this Lagrangian and proves them.
"""

import sympy

import symnoether as sn

c = sn.coordinates("x")
(x,), (xdot,) = c.q, c.qdot
gamma = sympy.Symbol("gamma", positive=True)

system = sn.System(
    name="caldirola_kanai",
    coordinates=c,
    lagrangian=sympy.exp(gamma * c.time) * (xdot**2 - x**2) / 2,
    parameters={gamma: sympy.Rational(6, 5)},
    initial_state=((1.0,), (0.0,)),
)
