"""Euler-Lagrange accelerations of arbitrary Lagrangians and the mass-matrix solve."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract, two_particle_2d_contract, two_particle_4d_contract

from symnoether.numeric import dynamics

MODULES = [kepler_contract, two_particle_2d_contract, two_particle_4d_contract]


def _states(module, count=5, seed=0):
    n = len(module.COORDINATE_NAMES)
    kq, kv = jax.random.split(jax.random.key(seed))
    # Away from the Kepler singularity at the origin.
    q = jax.random.normal(kq, (count, n)) + jnp.eye(n)[0] * 2
    return q, jax.random.normal(kv, (count, n))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.SYSTEM_NAME)
def test_autodiff_acceleration_matches_closed_form(module):
    q, qdot = _states(module)
    got = jax.jit(jax.vmap(lambda a, b: dynamics.acceleration(module.lagrangian, a, b)))(q, qdot)
    want = jax.jit(jax.vmap(module.acceleration))(q, qdot)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_indefinite_mass_matrix_is_solved():
    # Schwarzschild-like signature: d2L/dqdot2 = diag(-2, 2, 2), not positive definite.
    def lagrangian(q, qdot):
        return -(1 + q[1] ** 2) * qdot[0] ** 2 + qdot[1:] @ qdot[1:] + jnp.sin(q[2])

    q, qdot = jnp.array([0.1, 0.5, 0.3]), jnp.array([1.0, 0.2, -0.4])

    @jax.jit
    def residual(q, qdot):
        # The Euler-Lagrange equations themselves: d/dt dL/dqdot - dL/dq = 0.
        a = dynamics.acceleration(lagrangian, q, qdot)
        p_dot = jax.jvp(jax.grad(lagrangian, 1), (q, qdot), (qdot, a))[1]
        return p_dot - jax.grad(lagrangian, 0)(q, qdot)

    np.testing.assert_allclose(residual(q, qdot), 0, atol=1e-12)


@pytest.mark.parametrize("mass_solve", dynamics.MASS_SOLVES)
def test_mass_solves_agree_on_a_positive_definite_matrix(mass_solve):
    a = jnp.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    rhs = jnp.array([1.0, -2.0, 0.5])
    solve = jax.jit(dynamics.solve_mass_matrix, static_argnames="mass_solve")
    x = solve(a, rhs, mass_solve=mass_solve)
    np.testing.assert_allclose(a @ x, rhs, atol=1e-12)


def test_unknown_mass_solve():
    with pytest.raises(ValueError, match="unknown mass_solve 'inv'"):
        dynamics.solve_mass_matrix(jnp.eye(2), jnp.ones(2), mass_solve="inv")


def test_solver_is_a_deprecated_spelling_of_mass_solve():
    a, rhs = jnp.array([[4.0, 1.0], [1.0, 3.0]]), jnp.array([1.0, -2.0])
    with pytest.warns(DeprecationWarning, match="write mass_solve='cholesky'"):
        x = dynamics.solve_mass_matrix(a, rhs, solver="cholesky")
    np.testing.assert_allclose(x, dynamics.solve_mass_matrix(a, rhs, mass_solve="cholesky"))
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="mass_solve= only"):
        dynamics.solve_mass_matrix(a, rhs, mass_solve="pinv", solver="cholesky")
    with pytest.warns(DeprecationWarning, match="dynamics.SOLVERS is deprecated"):
        assert dynamics.SOLVERS == dynamics.MASS_SOLVES


def test_condition_number_and_count():
    hessians = jnp.stack(
        [
            jnp.eye(2),
            jnp.zeros((2, 2)),
            jnp.diag(jnp.array([1.0, 1e-20])),
            jnp.full((2, 2), jnp.nan),
            jnp.diag(jnp.array([1.0, -100.0])),
        ]
    )
    cond = jax.jit(jax.vmap(dynamics.condition_number))(hessians)
    np.testing.assert_allclose(cond, [1.0, np.inf, 1e20, np.inf, 100.0])
    assert int(dynamics.count_ill_conditioned(hessians)) == 3
    assert int(dynamics.count_ill_conditioned(hessians, max_condition=10.0)) == 4


def test_max_condition_raises_under_jit():
    solve = eqx.filter_jit(lambda h, r: dynamics.solve_mass_matrix(h, r, max_condition=1e6))
    np.testing.assert_allclose(solve(2 * jnp.eye(2), jnp.ones(2)), [0.5, 0.5])
    with pytest.raises(eqx.EquinoxRuntimeError, match="singular or has condition number"):
        solve(jnp.zeros((2, 2)), jnp.ones(2))


def test_default_max_condition_depends_on_dtype():
    assert 5e4 < dynamics.default_max_condition(jnp.float32) < 1e5
    assert 1e13 < dynamics.default_max_condition(jnp.float64) < 1e14


def test_check_float_dtype():
    assert dynamics.check_float_dtype("float32") == np.float32
    with pytest.raises(TypeError, match="expected a floating dtype"):
        dynamics.check_float_dtype(jnp.int32)
    with pytest.raises(TypeError, match="expected a floating dtype"):
        dynamics.check_float_dtype("not-a-dtype")
