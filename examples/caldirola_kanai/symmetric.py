"""The Caldirola-Kanai oscillator: L = exp(gamma t) (xdot^2 - x^2) / 2, gamma = 6/5.

An explicitly time-dependent Lagrangian whose equation of motion is the damped oscillator
x'' + gamma x' + x = 0. Its energy E = exp(gamma t) (xdot^2 + x^2) / 2 is not conserved
(dE/dt = -dL/dt, which `verify` proves and reports). It has time-dependent point symmetries:
x -> x + epsilon u(t) for every solution u of the equation of motion, here
u = exp(-3t/5) cos(4t/5) and exp(-3t/5) sin(4t/5) (gamma/2 = 3/5, sqrt(1 - gamma^2/4) = 4/5).
Each changes L by a total derivative, X L = d/dt (exp(gamma t) u' x), and conserves
I = exp(gamma t) (u xdot - u' x); `verify` derives the boundary terms and proves both.

The two shifts move every state (x, xdot) at a given time: their orbits fill the phase
space, so no invariant is left and the network f() is a constant. An autonomous network of
invariants cannot represent a time-dependent L, so the whole Lagrangian is declared as the
known part; the point of this spec is the proof of the symmetries and their charges.
"""

import sympy

import symnoether as sn

c = sn.coordinates("x")
(x,), (xdot,) = c.q, c.qdot
t = c.time
gamma = sympy.Symbol("gamma", positive=True)
decay = sympy.exp(-3 * t / 5)

symmetry = sn.from_generators(
    c,
    [{x: decay * sympy.cos(4 * t / 5)}, {x: decay * sympy.sin(4 * t / 5)}],
    name="solution_shifts",
)

L = sympy.exp(gamma * t) * (xdot**2 - x**2) / 2

system = sn.System(
    name="caldirola_kanai_symmetric",
    coordinates=c,
    symmetry=symmetry,
    lagrangian=L,
    known_lagrangian=L,
    parameters={gamma: sympy.Rational(6, 5)},
    initial_state=((1.0,), (0.0,)),
)
