"""Forces in the numeric half: force objects, forced models, integrators with forces and
time, and the exact discrete balance law of the forced variational integrator."""

import os
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import symnoether as sn
from symnoether.numeric.balance import balance_residuals, discrete_balance
from symnoether.numeric.forces import SumForce

ROOT = Path(__file__).resolve().parent.parent
_MODULES: dict = {}
Q0 = np.array([-0.7, -0.1, -0.2, -0.7, 0.5, 1.5])
QDOT0 = np.array([-1.09, -0.124, -0.709, 1.363, 0.155, 0.886])


def _module(name: str, friction: str | None = None):
    key = (name, friction)
    if key not in _MODULES:
        saved = os.environ.get("SYMNOETHER_FRICTION")
        if friction is not None:
            os.environ["SYMNOETHER_FRICTION"] = friction
        try:
            system = sn.load_spec(ROOT / "examples" / name / "spec.py")
        finally:
            os.environ.pop("SYMNOETHER_FRICTION", None)
            if saved is not None:
                os.environ["SYMNOETHER_FRICTION"] = saved
        _MODULES[key] = sn.generate(system)
    return _MODULES[key]


def _rollout(model, method, steps=1000, dt=0.01):
    return sn.integrate(model, Q0, QDOT0, dt=dt, steps=steps, method=method)


@pytest.mark.parametrize("friction", ["isotropic", "z"])
def test_discrete_charges_change_by_exactly_the_discrete_impulse(friction):
    module = _module("damped_two_particles", friction)
    model = sn.true_model(module)
    qs, qdots = _rollout(model, sn.MidpointVariational())
    residual = np.asarray(discrete_balance(model, qs, qdots, dt=0.01))
    charges = np.asarray(jax.vmap(model.charges)(qs, qdots))
    # Momenta start near 0: compare absolutely; angular momenta relative to their start.
    assert np.max(np.abs(residual[:, :3])) <= 1e-14
    assert np.all(np.max(np.abs(residual[:, 3:]), 0) <= 1e-12 * np.abs(charges[0, 3:]))
    # The friction really acts: the angular momenta about x and y change by O(1).
    assert np.all(np.abs(charges[-1, 4:] - charges[0, 4:]) > 0.1 * np.abs(charges[0, 4:]))


def test_friction_along_z_keeps_exactly_the_charges_it_leaves_invariant():
    module = _module("damped_two_particles", "z")
    assert module.CONSERVED_CHARGES == (True, True, False, True, False, False)
    model = sn.true_model(module)
    qs, qdots = _rollout(model, sn.MidpointVariational())
    charges = np.asarray(jax.vmap(model.charges)(qs, qdots))
    l_z = charges[:, 3]
    assert np.max(np.abs(l_z - l_z[0])) <= 1e-12 * abs(l_z[0])
    assert np.max(np.abs(charges[:, :2] - charges[0, :2])) <= 1e-14


def test_rk4_does_not_keep_the_discrete_balance():
    # Negative control: RK4 with the same force tracks the rates only to O(dt^4).
    model = sn.true_model(_module("damped_two_particles", "isotropic"))
    qs, qdots = _rollout(model, sn.RK4())
    residual = np.asarray(discrete_balance(model, qs, qdots, dt=0.01))
    charges = np.asarray(jax.vmap(model.charges)(qs, qdots))
    assert np.max(np.abs(residual[:, 3:]) / np.abs(charges[0, 3:])) > 1e-9


def test_zero_force_changes_nothing():
    module = _module("damped_two_particles", "isotropic")
    conservative = sn.FunctionLagrangian(module.lagrangian, module=module)
    forced = sn.ForcedLagrangian(conservative, sn.ZeroForce())
    for method in (sn.MidpointVariational(), sn.RK4()):
        a = sn.integrate(conservative, Q0, QDOT0, dt=0.01, steps=50, method=method)
        b = sn.integrate(forced, Q0, QDOT0, dt=0.01, steps=50, method=method)
        np.testing.assert_allclose(a[0], b[0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", ["damped_pendulum", "duffing"])
def test_forced_acceleration_is_the_modules_closed_form(name):
    module = _module(name)
    model = sn.true_model(module)
    assert model.explicit_time == (name == "duffing")
    rng = np.random.default_rng(0)
    for _ in range(3):
        q, qdot, t = jnp.asarray(rng.normal(size=1)), jnp.asarray(rng.normal(size=1)), 0.7
        keywords = {"t": t} if model.explicit_time else {}
        np.testing.assert_allclose(model.acceleration(q, qdot, t=t),
                                   module.acceleration(q, qdot, **keywords), rtol=1e-12)
        batch = model.batched_acceleration(q[None], qdot[None], t=t)
        np.testing.assert_allclose(batch[0], model.acceleration(q, qdot, t=t), rtol=1e-12)


def test_a_drive_reaches_both_integrators_at_the_right_time():
    model = sn.true_model(_module("duffing"))
    q0, qdot0 = np.array([1.0]), np.array([0.0])
    fine = sn.integrate(model, q0, qdot0, dt=0.005, steps=2000, method=sn.RK4(), t0=1.0)
    rk4 = sn.integrate(model, q0, qdot0, dt=0.01, steps=1000, method=sn.RK4(), t0=1.0)
    var = sn.integrate(model, q0, qdot0, dt=0.01, steps=1000, method="variational", t0=1.0)
    np.testing.assert_allclose(rk4[0][-1], fine[0][-1], atol=1e-8)
    np.testing.assert_allclose(var[0][-1], fine[0][-1], atol=1e-3)  # second order
    # Another start time is another drive: the time does reach the force.
    other = sn.integrate(model, q0, qdot0, dt=0.01, steps=1000, method=sn.RK4())
    assert np.abs(other[0][-1] - rk4[0][-1]).max() > 1e-2
    result = sn.integrate(model, q0, qdot0, dt=0.01, steps=10, full_output=True, t0=1.0)
    np.testing.assert_allclose(result.ts[np.array([0, -1])], [1.0, 1.1])


def test_learned_rayleigh_dissipation_is_a_friction_by_construction():
    module = _module("damped_pendulum")
    rng = np.random.default_rng(1)
    for depth in (0, 2):
        friction = sn.RayleighDissipation(module, depth=depth, initial=0.3,
                                          key=jax.random.key(depth))  # fmt: skip
        for _ in range(5):
            q, qdot = jnp.asarray(rng.normal(size=1)), jnp.asarray(3 * rng.normal(size=1))
            assert friction.dissipation(q, qdot) >= 0
            assert friction.dissipation(q, jnp.zeros(1)) == 0
            force = friction(q, qdot)
            assert force @ qdot <= 0  # it only ever removes energy
            np.testing.assert_allclose(force, -jax.grad(friction.dissipation, 1)(q, qdot))
        np.testing.assert_allclose(friction.coefficients(q, qdot), [0.3], rtol=0.05)


def test_a_network_with_a_learned_friction_keeps_the_balance_law_exactly():
    module = _module("damped_pendulum")
    network = sn.LagrangianNetwork(module, key=jax.random.key(0))
    friction = sn.RayleighDissipation(module, initial=0.2, key=jax.random.key(1))
    model = sn.ForcedLagrangian(network, friction)
    q, qdot = jnp.linspace(-1, 1, 7)[:, None], jnp.linspace(0.5, -2, 7)[:, None]
    charges, energy = balance_residuals(model, q, qdot)
    assert charges.shape == (7, 0)
    assert np.max(np.abs(energy)) < 1e-12
    # ... and the energy does decay: dE/dt = qdot . Phi < 0.
    rates = jax.vmap(lambda q, v: v @ friction(q, v))(q, qdot)
    assert np.all(rates < 0)


def test_balance_residuals_of_invariant_and_unconstrained_models():
    module = _module("damped_two_particles", "isotropic")
    force = sn.KnownForce(module)
    rng = np.random.default_rng(2)
    q, qdot = jnp.asarray(rng.normal(size=(4, 6))), jnp.asarray(rng.normal(size=(4, 6)))
    invariant = sn.ForcedLagrangian(sn.LagrangianNetwork(module, key=jax.random.key(0)), force)
    charges, _ = balance_residuals(invariant, q, qdot)
    assert np.max(np.abs(charges)) < 1e-10
    free = sn.LagrangianNetwork(module, invariant=False, key=jax.random.key(0))
    charges, _ = balance_residuals(sn.ForcedLagrangian(free, force), q, qdot)
    assert np.max(np.abs(charges)) > 1e-6  # negative control: no symmetry, no balance


def test_sum_of_forces():
    module = _module("damped_pendulum")
    friction = sn.RayleighDissipation(module, initial=0.1, key=jax.random.key(0))
    total = sn.KnownForce(module) + friction
    assert isinstance(total, SumForce) and not total.explicit_time
    q, qdot = jnp.array([0.3]), jnp.array([2.0])
    np.testing.assert_allclose(total(q, qdot), -0.05 * 2.0 - 0.2 * 2.0, rtol=1e-6)


def test_force_errors():
    pendulum, two = _module("damped_pendulum"), _module("damped_two_particles", "isotropic")
    with pytest.raises(ValueError, match="has none of \\['HAS_FORCES'\\]"):
        sn.DrivingForce(pendulum)
    with pytest.raises(ValueError, match="LEARNED_DISSIPATION"):
        sn.RayleighDissipation(two, key=jax.random.key(0))
    with pytest.raises(TypeError, match="needs a generated module"):
        sn.KnownForce("module")
    with pytest.raises(ValueError, match="depth must be an int >= 0"):
        sn.RayleighDissipation(pendulum, depth=-1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="initial must be a number > 0"):
        sn.RayleighDissipation(pendulum, initial=0.0, key=jax.random.key(0))
    with pytest.raises(TypeError, match="non-empty tuple of forces"):
        SumForce((sn.ZeroForce(), "friction"))
    with pytest.raises(TypeError, match="lagrangian must be an sn.AbstractLagrangian"):
        sn.ForcedLagrangian(pendulum.lagrangian, sn.KnownForce(pendulum))
    with pytest.raises(TypeError, match="force must be an sn.AbstractForce"):
        sn.ForcedLagrangian(sn.true_model(pendulum).lagrangian, pendulum.dissipation_force)
    with pytest.raises(ValueError, match="t0 must be a finite number"):
        sn.integrate(sn.true_model(pendulum), [1.0], [0.0], dt=0.1, steps=1, t0=float("nan"))
    with pytest.raises(ValueError, match="no generated module"):
        balance_residuals(sn.FunctionLagrangian(pendulum.lagrangian), jnp.ones((1, 1)),
                          jnp.ones((1, 1)))  # fmt: skip


def _pendulum_data(module, steps=2000):
    model = sn.true_model(module)
    result = sn.integrate(model, [2.0], [0.0], dt=0.05, steps=steps, save_every=10,
                          full_output=True)  # fmt: skip
    qddot = model.batched_acceleration(result.qs, result.qdots)
    return sn.Dataset(result.qs, result.qdots, qddot, t=result.ts)


def _conservative_pendulum():
    import sympy

    c = sn.coordinates("theta")
    (theta,), (thetadot,) = c.q, c.qdot
    system = sn.System(name="pendulum", coordinates=c,
                       lagrangian=thetadot**2 / 2 + sympy.cos(theta))  # fmt: skip
    return sn.generate(system)


def test_train_warns_when_the_data_lose_energy_and_no_friction_is_declared():
    damped, conservative = _module("damped_pendulum"), _conservative_pendulum()
    decaying = _pendulum_data(damped)
    network = sn.LagrangianNetwork(conservative, key=jax.random.key(0), dtype=jnp.float64)
    message = r"data lose energy: .* true energy falls by \d+% .* 'pendulum' declares no dissip"
    with pytest.warns(RuntimeWarning, match=message):
        sn.train(network, decaying, steps=1, progress=False, key=jax.random.key(1))
    kept = _pendulum_data(conservative)
    from symnoether.numeric.decay import energy_decay

    assert abs(energy_decay(conservative, kept.q, kept.qdot, kept.t)) < 1e-6
    assert energy_decay(conservative, kept.q, kept.qdot, None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sn.train(network, kept, steps=1, progress=False, key=jax.random.key(1))
        # A system that declares its friction is not warned about.
        model = sn.ForcedLagrangian(
            sn.LagrangianNetwork(damped, key=jax.random.key(0), dtype=jnp.float64),
            sn.RayleighDissipation(damped, dtype=jnp.float64, key=jax.random.key(2)),
        )
        result = sn.train(model, decaying, steps=2, progress=False, key=jax.random.key(1))
    assert isinstance(result.model, sn.ForcedLagrangian)


@pytest.mark.parametrize("name", ["damped_pendulum", "duffing"])
def test_the_true_systems_balance_laws_hold_along_its_dynamics(name):
    from symnoether.numeric.balance import balance_metrics, true_balance_residuals

    module = _module(name)
    q, qdot = jnp.linspace(-1, 1, 5)[:, None], jnp.linspace(1, -0.5, 5)[:, None]
    residuals = true_balance_residuals(module, q, qdot, t=jnp.linspace(0, 3, 5))
    metrics = balance_metrics(module.CHARGE_NAMES, residuals)
    assert set(metrics) == {"energy"} and metrics["energy"] < 1e-12
    model_residuals = balance_residuals(sn.true_model(module), q, qdot, t=jnp.linspace(0, 3, 5))
    assert balance_metrics((), model_residuals)["energy"] < 1e-12


def test_true_balance_needs_forces():
    with pytest.raises(ValueError, match="needs a true Lagrangian and forces or friction"):
        from symnoether.numeric.balance import true_balance_residuals

        true_balance_residuals(_conservative_pendulum(), jnp.ones((1, 1)), jnp.ones((1, 1)))
