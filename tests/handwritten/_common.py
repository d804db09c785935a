"""Pieces the hand-written contract modules share (they mirror the generated template)."""

import jax
import jax.numpy as jnp


def charge_functions(generators):
    """`noether_charges` and `energy` of the generated-module contract, for `generators`."""

    def noether_charges(lagrangian, q, qdot):
        p = jax.grad(lagrangian, argnums=1)(q, qdot)
        return generators(q) @ p

    def energy(lagrangian, q, qdot):
        value, p = jax.value_and_grad(lagrangian, argnums=1)(q, qdot)
        return qdot @ p - value

    return noether_charges, energy


def two_particle_dynamics(split, generators, m1, m2, mu, kappa):
    """The true functions of two particles with V(r) = -mu/2 r^2 + kappa/4 r^4."""

    def potential(r2):
        return -mu / 2 * r2 + kappa / 4 * r2**2

    def lagrangian(q, qdot):
        d, v1, v2 = split(q, qdot)
        return m1 / 2 * (v1 @ v1) + m2 / 2 * (v2 @ v2) - potential(d @ d)

    def acceleration(q, qdot):
        d, _, _ = split(q, qdot)
        force = (mu - kappa * (d @ d)) * d
        return jnp.concatenate([force / m1, -force / m2])

    def true_charges(q, qdot):
        _, v1, v2 = split(q, qdot)
        return generators(q) @ jnp.concatenate([m1 * v1, m2 * v2])

    def true_energy(q, qdot):
        d, v1, v2 = split(q, qdot)
        return m1 / 2 * (v1 @ v1) + m2 / 2 * (v2 @ v2) + potential(d @ d)

    return lagrangian, acceleration, true_charges, true_energy
