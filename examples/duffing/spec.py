"""The forced Duffing oscillator: x'' + delta x' + alpha x + beta x^3 = gamma cos(omega t).

L = xdot^2/2 - alpha x^2/2 - beta x^4/4, the friction R = delta/2 xdot^2 and the known
driving force Q = gamma cos(omega t), written with the time symbol `c.time`:
d/dt dL/dxdot - dL/dx = Q - dR/dxdot. The parameters (a hardening spring, light damping,
a moderate drive) give a bounded periodic response. `verify` proves the energy balance
dE/dt = xdot (gamma cos(omega t) - delta xdot) along the true dynamics.
"""

import sympy

import symnoether as sn

c = sn.coordinates("x")
(x,), (xdot,) = c.q, c.qdot
alpha, beta, delta, gamma, omega = sympy.symbols("alpha beta delta gamma omega", positive=True)

system = sn.System(
    name="duffing",
    coordinates=c,
    lagrangian=xdot**2 / 2 - alpha * x**2 / 2 - beta * x**4 / 4,
    dissipation=delta * xdot**2 / 2,
    forces=[gamma * sympy.cos(omega * c.time)],
    parameters={alpha: 1, beta: 1, delta: sympy.Rational(1, 5), gamma: sympy.Rational(3, 10),
                omega: sympy.Rational(6, 5)},
    initial_state=((1.0,), (0.0,)),
)
