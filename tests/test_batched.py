"""Batch-first acceleration: closed-form MLP derivatives, the batched solve, and their use."""

import equinox as eqx
import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from handwritten import kepler_contract, two_particle_4d_contract
from systems import random_states

from symnoether.numeric import dynamics
from symnoether.numeric._batched import (
    activation_derivatives,
    mlp_gradient_hessian,
    solve_small,
    supports_closed_form,
)
from symnoether.numeric.integrate import integrate
from symnoether.numeric.network import ACTIVATIONS, LagrangianNetwork


def _mlp(depth, activation, *, use_bias=True, width=12, in_size=3, seed=0):
    mlp = eqx.nn.MLP(in_size, "scalar", width, depth, activation, use_bias=use_bias,
                     use_final_bias=False, dtype=jnp.float64, key=jax.random.key(seed))  # fmt: skip
    # Equinox's default init gives small curvature; larger weights exercise the Hessian.
    return jax.tree.map(lambda a: 1.5 * a if eqx.is_array(a) else a, mlp)


@pytest.mark.parametrize(
    "depth, name",
    [(0, "softplus"), (1, "tanh"), (3, "softplus")] + [(2, name) for name in sorted(ACTIVATIONS)],
)
def test_mlp_gradient_and_hessian_equal_autodiff(depth, name):
    mlp = _mlp(depth, ACTIVATIONS[name], use_bias=depth != 2)
    x = jax.random.normal(jax.random.key(1), (7, 3), jnp.float64)
    assert supports_closed_form(mlp)
    gradient, hessian = eqx.filter_jit(mlp_gradient_hessian)(mlp, x)
    np.testing.assert_allclose(gradient, jax.vmap(jax.grad(mlp))(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hessian, jax.vmap(jax.hessian(mlp))(x), rtol=1e-11, atol=1e-13)
    if depth > 0:
        assert float(jnp.max(jnp.abs(hessian))) > 1e-3  # the test is not trivially zero


def _exact_derivatives(name, z):
    # 50-digit reference values: autodiff's own float64 answers lose the tails (sigmoid''
    # at z = 30 comes out as 0 instead of 9.4e-14).
    mpmath.mp.dps = 50
    z = mpmath.mpf(float(z))
    s = 1 / (1 + mpmath.exp(-z))
    ds = mpmath.exp(-z) / (1 + mpmath.exp(-z)) ** 2  # not s (1 - s): no cancellation
    if name == "softplus":
        return mpmath.log1p(mpmath.exp(z)), s, ds
    if name == "sigmoid":
        return s, ds, -ds * mpmath.tanh(z / 2)
    sech2 = mpmath.sech(z) ** 2
    return mpmath.tanh(z), sech2, -2 * mpmath.tanh(z) * sech2


@pytest.mark.parametrize("name", ["softplus", "tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_closed_form_activation_derivatives_are_accurate_and_finite(name, dtype):
    z = jnp.array([-200.0, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 200.0], dtype)
    got = activation_derivatives(ACTIVATIONS[name], z)
    want = np.array([_exact_derivatives(name, x) for x in np.asarray(z)], dtype=np.float64)
    tiny = float(jnp.finfo(dtype).tiny)
    for k in range(3):
        assert got[k].dtype == dtype
        exact = want[:, k].astype(dtype)  # underflows where the dtype does
        np.testing.assert_allclose(got[k], exact, rtol=8 * float(jnp.finfo(dtype).eps), atol=tiny)


def test_unsupported_mlps_are_recognised():
    assert not supports_closed_form(eqx.nn.MLP(2, 3, 4, 1, key=jax.random.key(0)))
    assert not supports_closed_form(
        eqx.nn.MLP(2, "scalar", 4, 1, final_activation=jnp.tanh, key=jax.random.key(0))
    )
    assert not supports_closed_form(eqx.nn.MLP(2, "scalar", 4, 2, scan=True, key=jax.random.key(0)))
    assert not supports_closed_form(
        eqx.nn.MLP(2, "scalar", 4, 1, eqx.nn.PReLU(), key=jax.random.key(0))
    )


def test_solve_small_pivots_like_lapack():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 5, 5))
    a[:8, 0, 0] = 0.0  # a zero leading pivot: elimination without pivoting would fail
    a[8:16] = a[8:16] + np.swapaxes(a[8:16], 1, 2)  # symmetric indefinite
    b = rng.normal(size=(64, 5))
    x = solve_small(jnp.asarray(a), jnp.asarray(b))
    np.testing.assert_allclose(x, np.linalg.solve(a, b[..., None])[..., 0], rtol=1e-10, atol=1e-11)
    singular = solve_small(jnp.zeros((1, 3, 3)), jnp.ones((1, 3)))
    assert not bool(jnp.all(jnp.isfinite(singular)))


@pytest.mark.parametrize("mass_solve", dynamics.MASS_SOLVES)
def test_solve_mass_matrices_matches_solve_mass_matrix(mass_solve):
    rng = np.random.default_rng(1)
    root = rng.normal(size=(6, 4, 4))
    spd = jnp.asarray(root @ np.swapaxes(root, 1, 2) + 4 * np.eye(4))
    rhs = jnp.asarray(rng.normal(size=(6, 4)))
    got = dynamics.solve_mass_matrices(spd, rhs, mass_solve=mass_solve)
    want = jax.vmap(lambda h, r: dynamics.solve_mass_matrix(h, r, mass_solve=mass_solve))(spd, rhs)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_solve_mass_matrices_raises_on_ill_conditioned():
    hessians = jnp.stack([jnp.eye(3), jnp.diag(jnp.array([1.0, 1.0, 1e-12]))])
    rhs = jnp.ones((2, 3))
    with pytest.raises(Exception, match="condition number above"):
        jax.block_until_ready(dynamics.solve_mass_matrices(hessians, rhs, max_condition=1e6))
    with pytest.raises(ValueError, match="unknown mass_solve"):
        dynamics.solve_mass_matrices(hessians, rhs, mass_solve="qr")


def _states(n, count=9, seed=0):
    return random_states(n, count, seed)


@pytest.mark.parametrize("module", [kepler_contract, two_particle_4d_contract],
                         ids=lambda m: m.SYSTEM_NAME)  # fmt: skip
@pytest.mark.parametrize("invariant", [True, False])
@pytest.mark.parametrize("standardize", [False, True])
def test_batched_acceleration_equals_per_state(module, invariant, standardize):
    n = len(module.COORDINATE_NAMES)
    q, qdot = _states(n)
    model = LagrangianNetwork(module, invariant=invariant, width=32, standardize=standardize,
                              dtype=jnp.float64, key=jax.random.key(3))  # fmt: skip
    if standardize:
        model = model.standardized(q, qdot)
    want = jax.jit(jax.vmap(model.acceleration))(q, qdot)
    got = eqx.filter_jit(model.batched_acceleration)(q, qdot)
    assert got.shape == (9, n)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10 * float(jnp.max(jnp.abs(want))))


def test_batched_acceleration_falls_back_for_other_mlps():
    model = LagrangianNetwork(kepler_contract, dtype=jnp.float64, key=jax.random.key(0))
    scanned = eqx.nn.MLP(3, "scalar", 16, 2, jax.nn.softplus, use_final_bias=False, scan=True,
                         dtype=jnp.float64, key=jax.random.key(1))  # fmt: skip
    model = eqx.tree_at(lambda m: m.mlp, model, scanned)
    q, qdot = _states(3)
    np.testing.assert_allclose(
        model.batched_acceleration(q, qdot), jax.vmap(model.acceleration)(q, qdot), rtol=1e-12
    )


def test_batched_rk4_rollout_equals_per_state_rollout():
    model = LagrangianNetwork(two_particle_4d_contract, width=32, dtype=jnp.float64,
                              key=jax.random.key(4))  # fmt: skip
    q0, qdot0 = _states(8, count=3, seed=5)
    qdot0 = 0.1 * qdot0
    # Default: the batch-first acceleration; explicit per-state acceleration: vmapped.
    batched = integrate(model, q0, qdot0, dt=0.01, steps=40, save_every=20)
    per_state = integrate(model, q0, qdot0, dt=0.01, steps=40, save_every=20,
                          acceleration=model.acceleration)  # fmt: skip
    single = integrate(model, q0[1], qdot0[1], dt=0.01, steps=40, save_every=20)
    assert batched[0].shape == (3, 3, 8) and single[0].shape == (3, 8)
    assert bool(jnp.all(jnp.isfinite(batched[0])))
    for got, want in zip(batched, per_state, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    for got, want in zip(single, per_state, strict=True):
        np.testing.assert_allclose(got, want[1], rtol=1e-9, atol=1e-11)


def test_training_gradients_through_the_batched_acceleration_equal_per_state():
    # Training differentiates the batched acceleration with respect to the weights.
    model = LagrangianNetwork(kepler_contract, width=16, standardize=True, dtype=jnp.float64,
                              key=jax.random.key(6))  # fmt: skip
    q, qdot = _states(3, count=5, seed=7)
    model = model.standardized(q, qdot)
    target = jnp.ones_like(q)

    def loss(model, batched):
        a = (
            model.batched_acceleration(q, qdot)
            if batched
            else jax.vmap(model.acceleration)(q, qdot)
        )
        return jnp.mean((a - target) ** 2)

    got = eqx.filter_jit(eqx.filter_grad(loss))(model, True)
    want = eqx.filter_jit(eqx.filter_grad(loss))(model, False)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(
            g, w, rtol=1e-8, atol=1e-12 * float(jnp.max(jnp.abs(w))) + 1e-300
        )
