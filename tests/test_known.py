"""A known part of the model's Lagrangian, L = K + f(S); contractions for many features."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import symnoether as sn
from symnoether.numeric.dynamics import (
    _euler_lagrange_einsum,
    acceleration as autodiff_acceleration,
    euler_lagrange_terms,
)


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    x, y = c.q
    kinetic = (c.qdot[0] ** 2 + c.qdot[1] ** 2) / 2
    system = sn.System("planar", c, sn.rotations(c, ["x"]),
                       lagrangian=kinetic - (x**2 + y**2) ** 2, known_lagrangian=kinetic)
    return sn.generate(system, tmp_path_factory.mktemp("known") / "planar.py")


def test_network_adds_the_known_part_to_value_and_dynamics(module):
    assert module.HAS_KNOWN_LAGRANGIAN
    net = sn.LagrangianNetwork(module, dtype=jnp.float64, key=jax.random.key(0))
    q, v = jnp.array([0.3, -0.7]), jnp.array([0.2, 0.5])
    f = net._f(net.features(q, v))
    assert net(q, v) == pytest.approx(float(f + (0.2**2 + 0.5**2) / 2), rel=1e-12)
    # (Jitted: op by op, the autodiff of the whole network takes most of this test's time.)
    expected = eqx.filter_jit(autodiff_acceleration)(net, q, v)  # autodiff of the whole K + f
    acceleration = eqx.filter_jit(lambda m, q, v: m.acceleration(q, v))
    np.testing.assert_allclose(acceleration(net, q, v), expected, rtol=1e-10)
    Q, V = jnp.stack([q, 2 * q]), jnp.stack([v, -v])
    batched = eqx.filter_jit(lambda m, q, v: m.batched_acceleration(q, v))
    np.testing.assert_allclose(batched(net, Q, V),
                               jax.vmap(acceleration, (None, 0, 0))(net, Q, V), rtol=1e-10)


def test_known_part_keeps_charges_exact_with_the_variational_integrator(module):
    net = sn.LagrangianNetwork(module, dtype=jnp.float64, key=jax.random.key(1))
    qs, qdots = sn.integrate(net, jnp.array([1.0, 0.0]), jnp.array([0.0, 0.8]), dt=0.01,
                             steps=300, method="variational")
    charges = jax.vmap(lambda q, v: module.noether_charges(net, q, v))(qs, qdots)
    assert float(jnp.max(jnp.abs(charges - charges[0]))) < 1e-12 * float(jnp.abs(charges[0, 0]))


def test_contraction_path_equals_unrolled_sums():
    rng = np.random.default_rng(0)
    m, n = 20, 15  # m * n above the unrolling limit
    arrays = [rng.normal(size=s) for s in [(m, n), (m, n), (m, n, n), (m, n), (m,), (m, m), (n,)]]
    arrays[5] = arrays[5] + arrays[5].T  # a Hessian, and symmetric second derivatives
    arrays[2] = arrays[2] + arrays[2].transpose(0, 2, 1)
    mass, rhs = euler_lagrange_terms(*map(jnp.asarray, arrays))
    small = [a[:3] if a.shape[:1] == (m,) else a for a in arrays]
    small[5] = arrays[5][:3, :3]
    for unrolled, contracted in zip(euler_lagrange_terms(*map(jnp.asarray, small)),
                                    _euler_lagrange_einsum(*map(jnp.asarray, small))):
        np.testing.assert_allclose(unrolled, contracted, rtol=1e-12, atol=1e-12)
    assert mass.shape == (n, n) and rhs.shape == (n,)
    np.testing.assert_allclose(mass, mass.T, atol=1e-9)


def test_known_part_in_a_spec_hash_only_when_declared():
    c = sn.coordinates("a")
    plain = sn.System("s", c, None, lagrangian=c.qdot[0] ** 2)
    known = sn.System("s", c, None, lagrangian=c.qdot[0] ** 2, known_lagrangian=c.qdot[0] ** 2)
    assert plain.spec_hash() != known.spec_hash() and known.known == sympy.sympify(c.qdot[0] ** 2)
