"""The spherical pendulum in angles: theta from the downward vertical, azimuth phi.

L = (thetadot^2 + sin(theta)^2 phidot^2) / 2 + g cos(theta) (unit mass and length). The
Lagrangian does not depend on phi, so the shift of phi is a symmetry; its Noether charge is
the vertical angular momentum p_phi = sin(theta)^2 phidot. The invariants of the shift are
theta (an angle: it enters as cos and sin), thetadot and phidot: the network never sees phi,
so it conserves p_phi exactly.

`verify` decides the trigonometric identities exactly: the angles are evaluated at points
2 atan(u), u rational, where sin and cos are rational (see docs/WRITING_A_SPEC.md).
"""

import sympy

import symnoether as sn

c = sn.coordinates("theta phi")
theta, phi = c.q
thetadot, phidot = c.qdot
g = sympy.Symbol("g", positive=True)

system = sn.System(
    name="spherical_pendulum",
    coordinates=c,
    symmetry=sn.translations(c, coordinates=["phi"]),
    lagrangian=(thetadot**2 + sympy.sin(theta) ** 2 * phidot**2) / 2 + g * sympy.cos(theta),
    parameters={g: 1},
    # A conical-ish swing: tilted by 1 rad, turning about the vertical.
    initial_state=((1.0, 0.0), (0.0, 0.8)),
)
