"""Every AbstractLagrangian, one list: a new model family is tested by adding it to LAGRANGIANS.

Each subclass's overrides (closed forms, batched paths) must agree with the base class's
automatic differentiation, and every subclass must integrate with both integrators,
train and evaluate through the same methods. A user-written subclass (a Kepler Lagrangian
with a learnable mass and coupling and a closed-form acceleration) does all of it without
touching the package.
"""

from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract as kepler

import symnoether as sn
from symnoether.numeric import dynamics


class UserKepler(sn.AbstractLagrangian):
    """What a user writes: L = m |v|^2 / 2 + k / |x|, with a closed-form acceleration."""

    log_mass: jax.Array
    coupling: jax.Array
    module: ModuleType = eqx.field(static=True)

    def __call__(self, q, qdot):
        return 0.5 * jnp.exp(self.log_mass) * qdot @ qdot + self.coupling / jnp.sqrt(q @ q)

    def acceleration(self, q, qdot):
        return -self.coupling * q / (jnp.exp(self.log_mass) * jnp.sqrt(q @ q) ** 3)

    def mass_matrix(self, q, qdot):
        return jnp.exp(self.log_mass) * jnp.eye(q.shape[-1], dtype=q.dtype)


def _user(dtype=jnp.float64):
    return UserKepler(jnp.asarray(0.3, dtype), jnp.asarray(2.5, dtype), kepler)


def _network(**kwargs):
    def make(dtype=jnp.float64):
        return sn.LagrangianNetwork(kepler, width=8, dtype=dtype, key=jax.random.key(3),
                                    **kwargs)  # fmt: skip

    return make


def _standardised(dtype=jnp.float64):
    q = jnp.asarray([[1.0, 0.2, 0.1], [0.4, 1.1, -0.3]], dtype)
    return _network(standardize=True)(dtype).standardized(q, q[::-1])


#: name -> maker(dtype): every AbstractLagrangian the package has, and a user's own.
LAGRANGIANS = {
    "network": _network(),
    "unconstrained": _network(invariant=False),
    "standardised": _standardised,
    "function": lambda dtype=jnp.float64: sn.FunctionLagrangian(kepler.lagrangian, None, kepler),
    "closed_form": lambda dtype=jnp.float64: sn.FunctionLagrangian(
        kepler.lagrangian, kepler.acceleration, kepler
    ),
    "mixed": lambda dtype=jnp.float64: sn.MixedPrecision(_network()(jnp.float32)),
    "natural": lambda dtype=jnp.float64: sn.NaturalLagrangianNetwork(
        kepler, width=8, gauge=True, dtype=dtype, key=jax.random.key(5)
    ),
    "user": _user,
    # With no force its dynamics are its Lagrangian's (tests/test_forced.py: with forces).
    "forced": lambda dtype=jnp.float64: sn.ForcedLagrangian(_network()(dtype), sn.ZeroForce()),
}
# Agreement with autodiff: to float64 rounding, or float32 for the mixed-precision wrapper.
_RTOL = {"mixed": 1e-4}

Q = jnp.asarray([[1.0, 0.1, 0.0], [0.3, -1.2, 0.4], [0.8, 0.5, -0.6]])
QDOT = jnp.asarray([[0.0, 1.1, 0.2], [0.7, 0.1, -0.2], [-0.3, 0.4, 0.9]])


@pytest.fixture(params=list(LAGRANGIANS))
def named(request):
    return request.param, LAGRANGIANS[request.param]()


def test_is_an_abstract_lagrangian(named):
    _, lagrangian = named
    assert isinstance(lagrangian, sn.AbstractLagrangian)
    assert lagrangian.module is kepler


def test_dynamics_agree_with_automatic_differentiation(named):
    name, lagrangian = named
    rtol = _RTOL.get(name, 1e-10)
    # Jitted once each: op by op, the autodiff Hessians take seconds per state.
    autodiff = eqx.filter_jit(dynamics.acceleration)
    hessian = eqx.filter_jit(lambda lag, q, qdot: jax.hessian(lag, argnums=1)(q, qdot))
    own = eqx.filter_jit(lambda lag, q, qdot: (
        lag.acceleration(q, qdot), lag.mass_matrix(q, qdot),
        lag.solve(*lag.euler_lagrange(q, qdot))))  # fmt: skip
    for q, qdot in zip(Q, QDOT):
        expected = autodiff(lagrangian, q, qdot)
        acceleration, mass_matrix, solved = own(lagrangian, q, qdot)
        np.testing.assert_allclose(acceleration, expected, rtol=rtol, atol=rtol)
        mass = hessian(lagrangian, q, qdot)
        np.testing.assert_allclose(mass_matrix, mass, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(solved, expected, rtol=rtol, atol=rtol)
    batched = lagrangian.batched_acceleration(Q, QDOT)
    np.testing.assert_allclose(batched, jax.vmap(lagrangian.acceleration)(Q, QDOT), rtol=rtol,
                               atol=rtol)  # fmt: skip


def test_charges_and_energy_are_the_modules(named):
    name, lagrangian = named
    rtol = _RTOL.get(name, 1e-10)
    q, qdot = Q[0], QDOT[0]
    np.testing.assert_allclose(lagrangian.charges(q, qdot), kepler.noether_charges(
        lagrangian, q, qdot), rtol=rtol)  # fmt: skip
    np.testing.assert_allclose(lagrangian.energy(q, qdot), kepler.energy(lagrangian, q, qdot),
                               rtol=rtol)  # fmt: skip


@pytest.mark.parametrize("method", ["rk4", "variational"])
def test_integrates_with_both_integrators(named, method):
    name, lagrangian = named
    result = sn.integrate(lagrangian, Q[0], QDOT[0], dt=0.01, steps=40, method=method,
                          full_output=True)  # fmt: skip
    assert np.all(np.isfinite(result.qs)) and result.qs.shape == (41, 3)
    if method == "variational" and name != "mixed":
        charges = jax.vmap(lagrangian.charges)(result.qs, result.qdots)
        drift = np.max(np.abs(charges - charges[0])) / np.max(np.abs(charges[0]))
        # Exact for every invariant Lagrangian; the unconstrained network is the control.
        assert drift > 1e-6 if name == "unconstrained" else drift <= 1e-10


def test_rk4_batch_of_trajectories_equals_one_by_one(named):
    _, lagrangian = named
    qs, _ = sn.integrate(lagrangian, Q, QDOT, dt=0.01, steps=10)
    one, _ = sn.integrate(lagrangian, Q[1], QDOT[1], dt=0.01, steps=10)
    np.testing.assert_allclose(qs[1], one, rtol=1e-6, atol=1e-9)


def test_evaluates_through_the_same_methods(named):
    _, lagrangian = named
    metrics = sn.evaluate_models(kepler, {"model": lagrangian}, Q[0], QDOT[0], dt=0.01,
                                 steps=20)  # fmt: skip
    entry = metrics["models"]["model"]
    assert set(entry) == {"rk4", "variational"}
    # The mass-matrix diagnostics come from the Lagrangian's own mass_matrix.
    assert set(entry["rk4"]["mass_matrix"]) == {
        "signature_changes", "ill_conditioned_states", "max_condition"
    }


def test_a_user_subclass_trains_integrates_and_evaluates(tmp_path):
    data = sn.trajectory_data(kepler, [1.0, 0.0, 0.0], [0.0, 1.2, 0.1], t_final=20.0,
                              noise=0.0, dtype=jnp.float64, key=jax.random.key(0))  # fmt: skip
    model = _user()
    result = sn.train(model, data, steps=300, learning_rate=3e-2, final_learning_rate=1e-3,
                      progress=False, checkpoint_dir=tmp_path / "ck", key=jax.random.key(1))
    trained = result.model
    assert isinstance(trained, UserKepler)
    # Only k / m is identified by accelerations; the truth is 1.
    ratio = float(trained.coupling / jnp.exp(trained.log_mass))
    assert abs(ratio - 1) < 0.05 < abs(float(model.coupling / jnp.exp(model.log_mass)) - 1)
    assert result.losses[-1] < 1e-2 * result.losses[0]
    metrics = sn.evaluate_models(kepler, {"user": trained}, data.q[0], data.qdot[0], dt=0.01,
                                 steps=200, out_dir=tmp_path / "eval")  # fmt: skip
    variational = metrics["models"]["user"]["variational"]
    assert variational["charge_vector"]["max_relative_drift"] < 1e-12
    assert (tmp_path / "eval" / "metrics.json").is_file()


def test_a_plain_function_has_no_charges_without_a_module():
    lagrangian = sn.FunctionLagrangian(kepler.lagrangian)
    with pytest.raises(ValueError, match="has no generated module"):
        lagrangian.charges(Q[0], QDOT[0])
    with pytest.raises(TypeError, match="must be callable"):
        sn.FunctionLagrangian(3.0)
