"""Hand-written stand-in for the generated two-particle module in 4D (translations x SO(4)).

q = (x1, x2) with x1, x2 in R^4 (n = 8); d = x1 - x2, v1 = x1dot, v2 = x2dot.
With only three vectors there is no Levi-Civita contraction in 4D, so the invariants are the
six dot products d.d, d.v1, d.v2, v1.v1, v1.v2, v2.v2 (M = 6).
L = m1/2 |v1|^2 + m2/2 |v2|^2 - V(|d|), V(r) = -mu/2 r^2 + kappa/4 r^4.
It follows docs/GENERATED_MODULE.md so that the numeric half can be tested on its own.
"""

import itertools

import jax.numpy as jnp

from handwritten._common import charge_functions, two_particle_dynamics

DIM = 4
SYSTEM_NAME = "two_particle_4d"
COORDINATE_NAMES = tuple(f"x{p}_{j}" for p in (1, 2) for j in range(DIM))
VELOCITY_NAMES = tuple(f"{name}dot" for name in COORDINATE_NAMES)
INVARIANT_NAMES = ("d_d", "d_v1", "d_v2", "v1_v1", "v1_v2", "v2_v2")
_PAIRS = tuple(itertools.combinations(range(DIM), 2))
# Degree in the velocities of each invariant, and the positive kinetic forms.
INVARIANT_DEGREES = (0, 1, 1, 2, 2, 2)
KINETIC_FORMS = (3, 5)
GENERATOR_NAMES = tuple(f"translation_x{j}" for j in range(DIM)) + tuple(
    f"rotation_x{j}x{k}" for j, k in _PAIRS
)
CHARGE_NAMES = tuple(f"momentum_x{j}" for j in range(DIM)) + tuple(
    f"angular_momentum_x{j}x{k}" for j, k in _PAIRS
)
LINEAR_GENERATORS = (True,) * len(GENERATOR_NAMES)
PARAMETERS: dict[str, float] = {"m1": 1.0, "m2": 0.8, "mu": 1.0, "kappa": 1.0}
HAS_LAGRANGIAN = True
SPEC_HASH = "handwritten"

_M1, _M2, _MU, _KAPPA = 1.0, 0.8, 1.0, 1.0


def _split(q, qdot):
    x1, x2 = q[:DIM], q[DIM:]
    return x1 - x2, qdot[:DIM], qdot[DIM:]


def invariants(q, qdot):
    d, v1, v2 = _split(q, qdot)
    return jnp.stack([d @ d, d @ v1, d @ v2, v1 @ v1, v1 @ v2, v2 @ v2])


def invariant_derivatives(q, qdot):
    d, v1, v2 = _split(q, qdot)
    zero = jnp.zeros_like(d)
    eye = jnp.eye(DIM, dtype=q.dtype)
    zeros = jnp.zeros((DIM, DIM), dtype=q.dtype)
    s = invariants(q, qdot)
    ds_dq = jnp.stack(
        [
            jnp.concatenate([2 * d, -2 * d]),
            jnp.concatenate([v1, -v1]),
            jnp.concatenate([v2, -v2]),
            jnp.zeros_like(q),
            jnp.zeros_like(q),
            jnp.zeros_like(q),
        ]
    )
    ds_dqdot = jnp.stack(
        [
            jnp.zeros_like(q),
            jnp.concatenate([d, zero]),
            jnp.concatenate([zero, d]),
            jnp.concatenate([2 * v1, zero]),
            jnp.concatenate([v2, v1]),
            jnp.concatenate([zero, 2 * v2]),
        ]
    )
    z = jnp.zeros((2 * DIM, 2 * DIM), dtype=q.dtype)
    d2s_dqdot2 = jnp.stack(
        [
            z,
            z,
            z,
            jnp.block([[2 * eye, zeros], [zeros, zeros]]),
            jnp.block([[zeros, eye], [eye, zeros]]),
            jnp.block([[zeros, zeros], [zeros, 2 * eye]]),
        ]
    )
    # d changes at rate v1 - v2 along qdot; only d.v1 and d.v2 mix q and qdot.
    dd = v1 - v2
    d2s_dqdot_dq_qdot = jnp.stack(
        [
            jnp.zeros_like(q),
            jnp.concatenate([dd, zero]),
            jnp.concatenate([zero, dd]),
            jnp.zeros_like(q),
            jnp.zeros_like(q),
            jnp.zeros_like(q),
        ]
    )
    return s, ds_dq, ds_dqdot, d2s_dqdot2, d2s_dqdot_dq_qdot


def generators(q):
    rows = []
    for j in range(DIM):
        rows.append(jnp.zeros_like(q).at[j].set(1).at[DIM + j].set(1))
    for j, k in _PAIRS:
        xi = jnp.zeros_like(q)
        for offset in (0, DIM):
            xi = xi.at[offset + j].set(-q[offset + k]).at[offset + k].set(q[offset + j])
        rows.append(xi)
    return jnp.stack(rows)


noether_charges, energy = charge_functions(generators)
lagrangian, acceleration, true_charges, true_energy = two_particle_dynamics(
    _split, generators, _M1, _M2, _MU, _KAPPA
)
