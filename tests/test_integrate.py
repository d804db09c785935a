"""Integrators: RK4 order, variational order and exact discrete Noether conservation.

float64 throughout (tests/conftest.py enables x64), except where float32 is asked for.
"""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract as kepler

import symnoether as sn
from symnoether.numeric.integrate import (
    INTEGRATORS,
    AbstractImplicitIntegrator,
    AbstractIntegrator,
    IntegrationResult,
    LagrangianTerm,
    StepInfo,
    as_integrator,
    default_tol,
    integrate,
    integrator_name,
)

Q0 = jnp.array([1.0, 0.0, 0.2])
QDOT0 = jnp.array([0.0, 1.1, 0.1])


class KeplerPlusMLP(eqx.Module):
    """Kepler plus a small MLP term: of the invariants (rotation symmetric) or of (q, qdot)."""

    mlp: eqx.nn.MLP
    invariant: bool = eqx.field(static=True)

    def __init__(self, *, invariant: bool = True, width: int = 16, key):
        in_size = 3 if invariant else 6
        self.mlp = eqx.nn.MLP(in_size, "scalar", width, 2, jax.nn.softplus, key=key)
        self.invariant = invariant

    def __call__(self, q, qdot):
        x = kepler.invariants(q, qdot) if self.invariant else jnp.concatenate([q, qdot])
        return kepler.lagrangian(q, qdot) + 0.1 * self.mlp(x)


class TwoParticlesPlusMLP(eqx.Module):
    """Two particles in 2-D, q = (x1, y1, x2, y2); the MLP sees x1 - x2 and the velocities,
    so only translations are a symmetry (the charges are the total momenta)."""

    mlp: eqx.nn.MLP

    def __init__(self, *, key):
        self.mlp = eqx.nn.MLP(6, "scalar", 16, 2, jax.nn.softplus, key=key)

    def __call__(self, q, qdot):
        d, v1, v2 = q[:2] - q[2:], qdot[:2], qdot[2:]
        r2 = d @ d
        potential = -0.5 * r2 + 0.25 * r2**2
        kinetic = 0.5 * v1 @ v1 + 0.4 * v2 @ v2
        return kinetic - potential + 0.1 * self.mlp(jnp.concatenate([d, v1, v2]))


@eqx.filter_jit
def total_momenta(lagrangian, qs, qdots):
    def one(q, qdot):
        p = jax.grad(lagrangian, argnums=1)(q, qdot)
        return p[:2] + p[2:]

    return jax.vmap(one)(qs, qdots)


def charge_drift(charges):
    charges = np.asarray(charges)
    return np.max(np.abs(charges - charges[0]) / np.abs(charges[0]))


@eqx.filter_jit
def kepler_charges(lagrangian, qs, qdots):
    return jax.vmap(lambda q, v: kepler.noether_charges(lagrangian, q, v))(qs, qdots)


@pytest.fixture(scope="module")
def invariant_rollout():
    """One 1e4-step variational rollout of the rotation-invariant network, shared."""
    model = KeplerPlusMLP(key=jax.random.key(0))
    result = integrate(
        model, Q0, QDOT0, dt=0.01, steps=10_000, method="variational", save_every=10,
        full_output=True,
    )  # fmt: skip
    return model, result


def test_variational_conserves_rotation_charges_of_invariant_network(invariant_rollout):
    model, result = invariant_rollout
    assert charge_drift(kepler_charges(model, result.qs, result.qdots)) < 1e-12


def test_variational_conserves_translation_charges():
    model = TwoParticlesPlusMLP(key=jax.random.key(1))
    q0, qdot0 = jnp.array([1.0, 0.0, -0.5, 0.2]), jnp.array([0.1, 0.5, -0.2, -0.3])
    qs, qdots = integrate(model, q0, qdot0, dt=0.01, steps=10_000, method="variational")
    assert charge_drift(total_momenta(model, qs, qdots)) < 1e-12


def test_unconstrained_network_drifts_under_variational():
    # Negative control: the same integrator on a Lagrangian without the symmetry.
    model = KeplerPlusMLP(invariant=False, key=jax.random.key(0))
    qs, qdots = integrate(model, Q0, QDOT0, dt=0.01, steps=10_000, method="variational")
    assert charge_drift(kepler_charges(model, qs, qdots)) > 1e-6


def test_rk4_drifts_where_variational_does_not():
    model = KeplerPlusMLP(key=jax.random.key(0))
    qs, qdots = integrate(model, Q0, QDOT0, dt=0.05, steps=2_000, method="rk4")
    assert charge_drift(kepler_charges(model, qs, qdots)) > 1e-9


def _final_error(method, dt, t_final=1.0):
    steps = round(t_final / dt)
    qs, qdots = integrate(
        kepler.lagrangian, Q0, QDOT0, dt=dt, steps=steps, method=method,
        acceleration=kepler.acceleration, save_every=steps,
    )  # fmt: skip
    return qs[-1], qdots[-1]


@pytest.mark.parametrize("method, order", [("rk4", 4), ("variational", 2)])
def test_convergence_order_on_kepler(method, order):
    q_ref, qdot_ref = _final_error("rk4", 1e-3)
    dts = np.array([0.1, 0.05, 0.025, 0.0125])
    errors = [_final_error(method, dt) for dt in dts]
    for which, ref in ((0, q_ref), (1, qdot_ref)):
        e = np.array([float(jnp.linalg.norm(err[which] - ref)) for err in errors])
        slope = np.polyfit(np.log(dts), np.log(e), 1)[0]
        assert order - 0.3 <= slope <= order + 0.3, (which, slope, e)


def test_newton_residuals_below_tolerance(invariant_rollout):
    _, result = invariant_rollout
    assert isinstance(result, IntegrationResult)
    assert result.residuals.shape == result.iterations.shape == (1001,)
    assert bool(jnp.all(result.converged)) and int(jnp.sum(result.failures)) == 0
    assert float(jnp.max(result.residuals)) <= default_tol(jnp.float64)
    # Newton runs on to rounding level, not just to the tolerance.
    assert float(jnp.max(result.residuals)) < 1e-14
    assert int(jnp.min(result.iterations[1:])) >= 1
    np.testing.assert_allclose(result.ts[:3], [0.0, 0.1, 0.2])


def test_variational_is_time_reversible():
    model = kepler.lagrangian
    qs, qdots = integrate(model, Q0, QDOT0, dt=0.01, steps=500, method="variational")
    back, _ = integrate(model, qs[-1], qdots[-1], dt=-0.01, steps=500, method="variational")
    np.testing.assert_allclose(back[-1], Q0, atol=1e-12)


def test_returned_velocity_matches_discrete_momentum_for_true_kepler():
    # For L = |qdot|^2/2 + 1/|q| the momentum is qdot: the read-out velocity is p_k, a
    # second-order approximation of the true velocity.
    q_ref, qdot_ref = _final_error("rk4", 1e-3)
    _, qdot = _final_error("variational", 0.01)
    assert float(jnp.linalg.norm(qdot - qdot_ref)) < 1e-3


METHODS = [sn.RK4(), sn.MidpointVariational()]


@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_single_trajectories(method):
    model = kepler.lagrangian
    q0 = Q0 + 0.05 * jax.random.normal(jax.random.key(2), (3, 3))
    qdot0 = QDOT0 + 0.05 * jax.random.normal(jax.random.key(3), (3, 3))
    result = integrate(
        model, q0, qdot0, dt=0.01, steps=100, method=method, save_every=10, full_output=True
    )
    assert result.qs.shape == result.qdots.shape == (3, 11, 3)
    assert result.ts.shape == (11,)
    for b in range(3):
        qs, qdots = integrate(model, q0[b], qdot0[b], dt=0.01, steps=100, method=method,
                              save_every=10)  # fmt: skip
        np.testing.assert_allclose(result.qs[b], qs, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(result.qdots[b], qdots, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_save_every_keeps_every_nth_state(method):
    model = kepler.lagrangian
    all_qs, all_qdots = integrate(model, Q0, QDOT0, dt=0.01, steps=60, method=method)
    qs, qdots = integrate(model, Q0, QDOT0, dt=0.01, steps=60, method=method, save_every=20)
    assert all_qs.shape == (61, 3) and qs.shape == (4, 3)
    np.testing.assert_allclose(qs, all_qs[::20], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(qdots, all_qdots[::20], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(qs[0], Q0)
    np.testing.assert_array_equal(qdots[0], QDOT0)


def test_full_output_times():
    result = integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=np.int64(30), save_every=10,
                       full_output=True)  # fmt: skip
    np.testing.assert_allclose(result.ts, [0.0, 0.1, 0.2, 0.3])
    assert result.residuals is None and result.converged is None


def test_network_acceleration_is_used_for_rk4():
    class Free(sn.AbstractLagrangian):
        # L of a free particle, but an acceleration method that says otherwise: RK4 must
        # use the method (what a LagrangianNetwork's chain-rule acceleration relies on).
        module = None

        def __call__(self, q, qdot):
            return 0.5 * qdot @ qdot

        def acceleration(self, q, qdot):
            return -q

    qs, _ = integrate(Free(), jnp.array([1.0]), jnp.array([0.0]), dt=0.01, steps=314)
    assert float(qs[-1, 0]) == pytest.approx(-1.0, abs=1e-4)
    free, _ = integrate(
        Free(), jnp.array([1.0]), jnp.array([0.0]), dt=0.01, steps=314,
        acceleration=lambda q, qdot: jnp.zeros_like(q),
    )  # fmt: skip
    assert float(free[-1, 0]) == 1.0


def test_autodiff_acceleration_matches_closed_form():
    auto, _ = integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=200)
    closed, _ = integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=200,
                          acceleration=kepler.acceleration)  # fmt: skip
    np.testing.assert_allclose(auto, closed, rtol=1e-12, atol=1e-13)


def test_float32_stays_float32():
    q0, qdot0 = Q0.astype(jnp.float32), QDOT0.astype(jnp.float32)
    qs, qdots = integrate(kepler.lagrangian, q0, qdot0, dt=0.01, steps=20,
                          acceleration=kepler.acceleration)  # fmt: skip
    assert qs.dtype == qdots.dtype == jnp.float32


def test_float32_variational_converges_with_its_default_tolerance():
    model = KeplerPlusMLP(key=jax.random.key(0))
    model = jax.tree.map(lambda x: x.astype(jnp.float32) if eqx.is_inexact_array(x) else x, model)
    q0, qdot0 = Q0.astype(jnp.float32), QDOT0.astype(jnp.float32)
    result = integrate(model, q0, qdot0, dt=0.01, steps=1000, method="variational",
                       save_every=10, full_output=True)  # fmt: skip
    assert result.qs.dtype == result.qdots.dtype == result.residuals.dtype == jnp.float32
    assert bool(jnp.all(result.converged))
    # float32 rounding, not the method, limits the charges: about 1e-6 here.
    assert charge_drift(kepler_charges(model, result.qs, result.qdots)) < 1e-4


def test_failed_newton_warns_with_count_and_residual():
    model = kepler.lagrangian
    with pytest.warns(RuntimeWarning, match=r"\d+ Newton solve\(s\) did not reach .* residual"):
        integrate(model, Q0, QDOT0, dt=0.01, steps=20, method="variational", max_iter=1,
                  tol=1e-300)  # fmt: skip


def test_failed_newton_warns_under_an_outer_jit_too():
    # Regression: the warning used to be skipped when integrate was traced, so failures
    # were silent inside a user's jitted function.
    model = kepler.lagrangian

    @jax.jit
    def run(q0, qdot0):
        result = integrate(model, q0, qdot0, dt=0.01, steps=20, method="variational",
                           max_iter=1, tol=1e-300, full_output=True)  # fmt: skip
        return result.failures

    with pytest.warns(RuntimeWarning, match=r"\d+ Newton solve\(s\) did not reach"):
        failures = jax.block_until_ready(run(Q0, QDOT0))
        jax.effects_barrier()
    assert int(jnp.sum(failures)) > 0


def test_converged_solves_under_an_outer_jit_do_not_warn():
    @jax.jit
    def run(q0, qdot0):
        return integrate(kepler.lagrangian, q0, qdot0, dt=0.01, steps=20, method="variational")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.block_until_ready(run(Q0, QDOT0))
        jax.effects_barrier()


@pytest.mark.parametrize("name", list(INTEGRATORS))
def test_names_are_aliases_of_the_objects(name):
    by_name = integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=30, method=name)
    by_object = integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=30,
                          method=INTEGRATORS[name]())  # fmt: skip
    np.testing.assert_array_equal(by_name[0], by_object[0])
    np.testing.assert_array_equal(by_name[1], by_object[1])
    assert integrator_name(INTEGRATORS[name]()) == name
    assert isinstance(as_integrator(name), INTEGRATORS[name])


def test_registry_and_exports():
    assert INTEGRATORS == {"rk4": sn.RK4, "variational": sn.MidpointVariational}
    assert sn.AbstractIntegrator is AbstractIntegrator
    assert issubclass(sn.MidpointVariational, AbstractImplicitIntegrator)
    assert sn.RK4.batch_first and not sn.MidpointVariational.batch_first
    assert integrator_name(sn.MidpointVariational(tol=1e-9)) == "variational"


def test_variational_settings_on_the_object():
    # tol and max_iter as keywords of a named method equal the same settings on the object.
    named = integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=20, method="variational",
                      tol=1e-10, max_iter=3, full_output=True)  # fmt: skip
    method = sn.MidpointVariational(tol=1e-10, max_iter=3)
    obj = integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=20, method=method,
                    full_output=True)  # fmt: skip
    np.testing.assert_array_equal(named.qs, obj.qs)
    assert int(jnp.max(obj.iterations)) <= 3
    assert method.tolerance(jnp.float32) == 1e-10
    assert sn.MidpointVariational().tolerance(jnp.float64) == default_tol(jnp.float64)


class ExplicitEuler(AbstractIntegrator):
    """A new integrator is one final class: what the driver needs is declared on the base."""

    batch_first = True

    def init(self, term, q0, qdot0, dt):
        return q0, qdot0

    def step(self, term, state, dt):
        q, v = state
        return (q + dt * v, v + dt * term.acceleration(q, v)), StepInfo.empty(q.dtype)

    def readout(self, term, state, dt):
        return *state, StepInfo.empty(state[0].dtype)


def test_a_user_integrator_runs_through_integrate():
    qs, qdots = integrate(kepler.lagrangian, Q0, QDOT0, dt=1e-3, steps=100, method=ExplicitEuler(),
                          acceleration=kepler.acceleration)  # fmt: skip
    ref, _ = integrate(kepler.lagrangian, Q0, QDOT0, dt=1e-3, steps=100,
                       acceleration=kepler.acceleration)  # fmt: skip
    assert qs.shape == (101, 3) and integrator_name(ExplicitEuler()) == "ExplicitEuler"
    assert 0 < float(jnp.max(jnp.abs(qs - ref))) < 1e-4  # first order, but close
    term = LagrangianTerm(kepler.lagrangian, kepler.acceleration)
    assert ExplicitEuler().init(term, Q0, QDOT0, 0.01)[0] is Q0


@pytest.mark.parametrize(
    "method, kwargs, match",
    [
        (sn.MidpointVariational(), {"tol": 1e-9}, r"pass method=MidpointVariational\(tol=1e-09\)"),
        (sn.RK4(), {"max_iter": 3}, "RK4 solves no equations"),
    ],
)
def test_newton_settings_next_to_an_object_raise(method, kwargs, match):
    with pytest.raises(ValueError, match=match):
        integrate(kepler.lagrangian, Q0, QDOT0, dt=0.01, steps=10, method=method, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"tol": 0.0}, "tol must be positive"), ({"max_iter": 0}, "max_iter must be a positive int"),
     ({"tol": "1e-9"}, "tol must be positive")],
)
def test_invalid_variational_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match="invalid MidpointVariational:\n  - " + match):
        sn.MidpointVariational(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "euler"}, "method must be one of"),
        ({"method": ["rk4"]}, r"method must be one of \('rk4', 'variational'\) or an integrator"),
        ({"steps": 10, "save_every": 3}, r"multiple of save_every \(3\); use steps=9 or 12"),
        ({"dt": 0.0}, "dt must be a finite non-zero number"),
        ({"steps": 0}, "steps must be a positive int"),
        ({"tol": -1.0}, "tol must be positive"),
        ({"max_iter": 0}, "max_iter must be a positive int"),
    ],
)
def test_invalid_settings_raise(kwargs, match):
    settings = {"dt": 0.01, "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        integrate(kepler.lagrangian, Q0, QDOT0, **settings)


def test_mismatched_initial_state_raises():
    with pytest.raises(ValueError, match=r"same shape.*\(3,\) and \(2,\)"):
        integrate(kepler.lagrangian, Q0, QDOT0[:2], dt=0.01, steps=10)


@pytest.mark.slow
def test_variational_conservation_over_1e5_steps_width_128():
    model = KeplerPlusMLP(width=128, key=jax.random.key(0))
    qs, qdots = integrate(model, Q0, QDOT0, dt=0.01, steps=100_000, method="variational",
                          save_every=10)  # fmt: skip
    assert charge_drift(kepler_charges(model, qs, qdots)) < 1e-12


def test_newton_keeps_its_best_iterate_when_an_update_is_not_finite():
    from symnoether.numeric.newton import newton

    # log(x) from x = 3: the first update lands at x < 0, where the residual is NaN.
    def fn(x):
        return jnp.log(x), jnp.ones(()), None

    result = newton(fn, jnp.array([3.0]), tol=1e-12, max_iter=5)
    assert not result.converged
    np.testing.assert_allclose(result.x, [3.0])
