"""Hand-written stand-in for the generated Kepler module (SO(3), L = |xdot|^2/2 + 1/|x|).

It follows docs/GENERATED_MODULE.md so that the numeric half can be tested on its own.
Tests that need the real thing use `symnoether.generate` instead.
"""

import jax.numpy as jnp

from handwritten._common import charge_functions

SYSTEM_NAME = "kepler"
COORDINATE_NAMES = ("x", "y", "z")
VELOCITY_NAMES = ("xdot", "ydot", "zdot")
INVARIANT_NAMES = ("x_x", "x_xdot", "xdot_xdot")
# Degree in the velocities of each invariant, and the positive kinetic forms.
INVARIANT_DEGREES = (0, 1, 2)
KINETIC_FORMS = (2,)
GENERATOR_NAMES = ("rotation_x0x1", "rotation_x0x2", "rotation_x1x2")
CHARGE_NAMES = ("angular_momentum_x0x1", "angular_momentum_x0x2", "angular_momentum_x1x2")
LINEAR_GENERATORS = (True, True, True)
PARAMETERS: dict[str, float] = {}
HAS_LAGRANGIAN = True
SPEC_HASH = "handwritten"


def invariants(q, qdot):
    return jnp.stack([q @ q, q @ qdot, qdot @ qdot])


def invariant_derivatives(q, qdot):
    n = q.shape[0]
    zero = jnp.zeros_like(q)
    eye = jnp.eye(n, dtype=q.dtype)
    zeros_nn = jnp.zeros((n, n), dtype=q.dtype)
    s = invariants(q, qdot)
    ds_dq = jnp.stack([2 * q, qdot, zero])
    ds_dqdot = jnp.stack([zero, q, 2 * qdot])
    d2s_dqdot2 = jnp.stack([zeros_nn, zeros_nn, 2 * eye])
    # d2(x.xdot)/dqdot_a dq_b = delta_ab, contracted with qdot.
    d2s_dqdot_dq_qdot = jnp.stack([zero, qdot, zero])
    return s, ds_dq, ds_dqdot, d2s_dqdot2, d2s_dqdot_dq_qdot


def generators(q):
    x, y, z = q[0], q[1], q[2]
    zero = jnp.zeros_like(x)
    return jnp.stack(
        [
            jnp.stack([-y, x, zero]),
            jnp.stack([-z, zero, x]),
            jnp.stack([zero, -z, y]),
        ]
    )


noether_charges, energy = charge_functions(generators)


def lagrangian(q, qdot):
    return 0.5 * (qdot @ qdot) + 1 / jnp.sqrt(q @ q)


def acceleration(q, qdot):
    return -q / jnp.sqrt(q @ q) ** 3


def true_charges(q, qdot):
    return generators(q) @ qdot


def true_energy(q, qdot):
    return 0.5 * (qdot @ qdot) - 1 / jnp.sqrt(q @ q)
