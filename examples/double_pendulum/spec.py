"""The planar double pendulum: no continuous symmetry, so only the energy is conserved.

Two unit masses on unit rods, angles theta1, theta2 from the downward vertical:
L = thetadot1^2 + thetadot2^2 / 2 + thetadot1 thetadot2 cos(theta1 - theta2)
    + 2 g cos(theta1) + g cos(theta2).
`symmetry=None` declares that there is no symmetry: the invariants are the coordinates and
velocities themselves, there are no Noether charges, and the learned Lagrangian conserves
its own energy (exactly along its flow; with the variational integrator, to the order of
the step).
"""

import sympy

import symnoether as sn

c = sn.coordinates("theta1 theta2")
theta1, theta2 = c.q
thetadot1, thetadot2 = c.qdot
g = sympy.Symbol("g", positive=True)

system = sn.System(
    name="double_pendulum",
    coordinates=c,
    symmetry=None,
    lagrangian=(
        thetadot1**2 + thetadot2**2 / 2 + thetadot1 * thetadot2 * sympy.cos(theta1 - theta2)
        + 2 * g * sympy.cos(theta1) + g * sympy.cos(theta2)
    ),
    parameters={g: 1},
    # A moderate swing (energy below the threshold of flipping over).
    initial_state=((0.8, 0.3), (0.0, 0.0)),
)
