"""`sn.ode_term`: models as Diffrax terms, checked against the package's own RK4."""

import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract as kepler

import symnoether as sn

diffrax = pytest.importorskip("diffrax")

Q0 = jnp.array([1.0, 0.0, 0.2])
QDOT0 = jnp.array([0.0, 1.1, 0.1])


def _adaptive(term, t1, *, saveat):
    return diffrax.diffeqsolve(
        term, diffrax.Tsit5(), 0.0, t1, 0.01, (Q0, QDOT0), saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-10), max_steps=100_000,
    )  # fmt: skip


def test_adaptive_tsit5_agrees_with_rk4_on_kepler():
    term = sn.ode_term(kepler.lagrangian, acceleration=kepler.acceleration)
    assert isinstance(term, diffrax.ODETerm)
    solution = _adaptive(term, 2.0, saveat=diffrax.SaveAt(t1=True, dense=True))
    qs, qdots = sn.integrate(kepler.lagrangian, Q0, QDOT0, dt=1e-3, steps=2000, save_every=500,
                             acceleration=kepler.acceleration)  # fmt: skip
    np.testing.assert_allclose(solution.ys[0][-1], qs[-1], atol=1e-9)
    np.testing.assert_allclose(solution.ys[1][-1], qdots[-1], atol=1e-9)
    # Dense output between the adaptive steps.
    q_mid, _ = solution.evaluate(1.0)
    np.testing.assert_allclose(q_mid, qs[2], atol=1e-7)
    assert int(solution.stats["num_accepted_steps"]) < 2000  # adaptive: fewer, larger steps


def test_network_term_uses_its_acceleration():
    model = sn.LagrangianNetwork(kepler, width=8, dtype=jnp.float64, key=jax.random.key(0))

    @eqx.filter_jit
    def compare(model):
        qdot, qddot = sn.ode_term(model).vector_field(0.0, (Q0, QDOT0), None)
        # Without an acceleration method: automatic differentiation of the Euler-Lagrange
        # equations, which agrees with the closed form.
        _, auto = sn.ode_term(kepler.lagrangian).vector_field(0.0, (Q0, QDOT0), None)
        return qdot, qddot, model.acceleration(Q0, QDOT0), auto, kepler.acceleration(Q0, QDOT0)

    qdot, qddot, want, auto, closed = compare(model)
    np.testing.assert_array_equal(qdot, QDOT0)
    np.testing.assert_allclose(qddot, want, rtol=1e-14)
    np.testing.assert_allclose(auto, closed, rtol=1e-12)


def test_missing_diffrax_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffrax", None)  # makes `import diffrax` fail
    with pytest.raises(ImportError, match=r'pip install "symnoether\[diffrax\]"'):
        sn.ode_term(kepler.lagrangian)
