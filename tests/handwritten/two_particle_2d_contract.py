"""Hand-written stand-in for the generated two-particle module in 2D (translations x SO(2)).

q = (x1, y1, x2, y2) (n = 4); d = x1 - x2, v1 = x1dot, v2 = x2dot. The invariants are the
six dot products and, since SO(2) excludes reflections, the three Levi-Civita contractions
d x v1, d x v2, v1 x v2 (M = 9, a functionally complete but redundant set: rank 5).
L = m1/2 |v1|^2 + m2/2 |v2|^2 - V(|d|), V(r) = -mu/2 r^2 + kappa/4 r^4.
It follows docs/GENERATED_MODULE.md so that the numeric half can be tested on its own.
"""

import jax.numpy as jnp

from handwritten._common import charge_functions, two_particle_dynamics

SYSTEM_NAME = "two_particle_2d"
COORDINATE_NAMES = ("x1", "y1", "x2", "y2")
VELOCITY_NAMES = ("x1dot", "y1dot", "x2dot", "y2dot")
INVARIANT_NAMES = (
    "d_d", "d_v1", "d_v2", "v1_v1", "v1_v2", "v2_v2", "eps_d_v1", "eps_d_v2", "eps_v1_v2"
)  # fmt: skip
# Degree in the velocities of each invariant, and the positive kinetic forms.
INVARIANT_DEGREES = (0, 1, 1, 2, 2, 2, 1, 1, 2)
KINETIC_FORMS = (3, 5)
GENERATOR_NAMES = ("translation_x0", "translation_x1", "rotation_x0x1")
CHARGE_NAMES = ("momentum_x0", "momentum_x1", "angular_momentum_x0x1")
LINEAR_GENERATORS = (True, True, True)
PARAMETERS: dict[str, float] = {"m1": 1.0, "m2": 0.8, "mu": 1.0, "kappa": 1.0}
HAS_LAGRANGIAN = True
SPEC_HASH = "handwritten"

_M1, _M2, _MU, _KAPPA = 1.0, 0.8, 1.0, 1.0


def _split(q, qdot):
    return q[:2] - q[2:], qdot[:2], qdot[2:]


def _cross(a, b):
    return a[0] * b[1] - a[1] * b[0]


def _perp(b):
    # gradient of _cross(a, b) with respect to a; with respect to b it is -_perp(a)
    return jnp.stack([b[1], -b[0]])


def invariants(q, qdot):
    d, v1, v2 = _split(q, qdot)
    return jnp.stack(
        [
            d @ d, d @ v1, d @ v2, v1 @ v1, v1 @ v2, v2 @ v2,
            _cross(d, v1), _cross(d, v2), _cross(v1, v2),
        ]
    )  # fmt: skip


def _cat(a, b):
    return jnp.concatenate([a, b])


def invariant_derivatives(q, qdot):
    d, v1, v2 = _split(q, qdot)
    o = jnp.zeros_like(d)
    zq = jnp.zeros_like(q)
    s = invariants(q, qdot)
    ds_dq = jnp.stack(
        [
            _cat(2 * d, -2 * d), _cat(v1, -v1), _cat(v2, -v2), zq, zq, zq,
            _cat(_perp(v1), -_perp(v1)), _cat(_perp(v2), -_perp(v2)), zq,
        ]
    )  # fmt: skip
    ds_dqdot = jnp.stack(
        [
            zq, _cat(d, o), _cat(o, d), _cat(2 * v1, o), _cat(v2, v1), _cat(o, 2 * v2),
            _cat(-_perp(d), o), _cat(o, -_perp(d)), _cat(_perp(v2), -_perp(v1)),
        ]
    )  # fmt: skip
    eye = jnp.eye(2, dtype=q.dtype)
    zz = jnp.zeros((2, 2), dtype=q.dtype)
    rot = jnp.array([[0, 1], [-1, 0]], dtype=q.dtype)  # _perp(b) = rot @ b
    z4 = jnp.zeros((4, 4), dtype=q.dtype)
    d2s_dqdot2 = jnp.stack(
        [
            z4, z4, z4,
            jnp.block([[2 * eye, zz], [zz, zz]]),
            jnp.block([[zz, eye], [eye, zz]]),
            jnp.block([[zz, zz], [zz, 2 * eye]]),
            z4, z4,
            jnp.block([[zz, rot], [rot.T, zz]]),
        ]
    )  # fmt: skip
    # d changes at rate v1 - v2 along qdot; only terms linear in both d and a velocity mix.
    dd = v1 - v2
    d2s_dqdot_dq_qdot = jnp.stack(
        [zq, _cat(dd, o), _cat(o, dd), zq, zq, zq, _cat(-_perp(dd), o), _cat(o, -_perp(dd)), zq]
    )
    return s, ds_dq, ds_dqdot, d2s_dqdot2, d2s_dqdot_dq_qdot


def generators(q):
    x1, y1, x2, y2 = q[0], q[1], q[2], q[3]
    one = jnp.ones_like(x1)
    zero = jnp.zeros_like(x1)
    return jnp.stack(
        [
            jnp.stack([one, zero, one, zero]),
            jnp.stack([zero, one, zero, one]),
            jnp.stack([-y1, x1, -y2, x2]),
        ]
    )


noether_charges, energy = charge_functions(generators)
lagrangian, acceleration, true_charges, true_energy = two_particle_dynamics(
    _split, generators, _M1, _M2, _MU, _KAPPA
)
