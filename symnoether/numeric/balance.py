# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Balance laws measured: how far the charges and the energy change from the rates the
forces predict.

Continuous: along a model's own flow, $dI_a/dt = \\xi_a \\cdot \\Phi$ and
$dE/dt = \\dot q \\cdot \\Phi$, minus $\\partial L/\\partial t$ for a Lagrangian that
depends on the time explicitly (an [`AbstractTimeLagrangian`][]);
[`balance_residuals`][] returns $dI/dt$ (forward mode, along the model's acceleration)
minus the module's `charge_rates`, and the same for the energy. For an invariant
network with a force this vanishes to rounding whatever the weights (`network_balance` in
`verify`); for an unconstrained model it does not.

Discrete: the forced midpoint variational integrator changes a charge of an affine generator
by exactly $h\\,\\xi(m_k) \\cdot \\Phi(m_k, v_k, t_k + h/2)$ per step
(`MidpointVariational`'s docstring); [`discrete_balance`][] returns the charges of a rollout
minus their initial values minus the accumulated impulse.
"""

from types import ModuleType

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .contract import time_keywords
from .lagrangian import AbstractLagrangian

__all__ = ["balance_metrics", "balance_residuals", "discrete_balance", "true_balance_residuals"]


def _force_and_acceleration(model: AbstractLagrangian, q, qdot, t):
    force = model.forcing()(q, qdot, t=t)
    if model.explicit_time:
        return force, model.acceleration(q, qdot, t=t)
    return force, model.acceleration(q, qdot)


def _one(model: AbstractLagrangian, q, qdot, t):
    module = model.module
    force, qddot = _force_and_acceleration(model, q, qdot, t)
    tangent = (qdot, qddot, jnp.ones_like(t))

    def charges(q, qdot, t):
        return model.charges(q, qdot, t=t)

    _, charge_rate = jax.jvp(charges, (q, qdot, t), tangent)
    predicted = module.charge_rates(force, q, qdot, t=t)
    if not model.lagrangian_explicit_time:
        _, energy_rate = jax.jvp(lambda q, qdot: model.energy(q, qdot), (q, qdot), tangent[:2])
        return charge_rate - predicted, energy_rate - qdot @ force
    # L(q, qdot, t): dE/dt = qdot . force - dL/dt, the time derivative of E included.
    _, energy_rate = jax.jvp(lambda q, qdot, t: model.energy(q, qdot, t=t), (q, qdot, t),
                             tangent)  # fmt: skip
    return (charge_rate - predicted,
            energy_rate - (qdot @ force - model.time_derivative(q, qdot, t=t)))  # fmt: skip


def balance_residuals(
    model: AbstractLagrangian,
    q: Float[Array, "batch n"],
    qdot: Float[Array, "batch n"],
    *,
    t: Float[Array, " batch"] | float = 0.0,
) -> tuple[Float[Array, "batch k"], Float[Array, " batch"]]:
    """The balance-law residuals of a model at a batch of states.

    **Arguments:**

    - `model`: an [`AbstractLagrangian`][] with a generated module: a
        [`ForcedLagrangian`][] (its force is the $\\Phi$ of the balance laws) or a
        conservative one ($\\Phi = 0$: the residuals are then $dI/dt$ and $dE/dt$).
    - `q`, `qdot`: states, shape `(batch, n)`.
    - `t`: their times (a scalar or one per state), for time-dependent forces and charges.

    **Returns:**

    `(charges, energy)`: $dI_a/dt - \\xi_a \\cdot \\Phi$ of shape `(batch, K)` and
    $dE/dt - \\dot q \\cdot \\Phi$ of shape `(batch,)`, the derivatives along the model's own
    acceleration.
    """
    if model.module is None:
        raise ValueError(
            f"balance_residuals: {type(model).__name__} has no generated module, so no "
            "charges or rates; give it one (e.g. FunctionLagrangian(fn, module=module))"
        )
    q, qdot = jnp.asarray(q), jnp.asarray(qdot)
    t = jnp.broadcast_to(jnp.asarray(t, q.dtype), q.shape[:1])
    return jax.vmap(lambda q, qdot, t: _one(model, q, qdot, t))(q, qdot, t)


def discrete_balance(
    model: AbstractLagrangian,
    qs: Float[Array, "T n"],
    qdots: Float[Array, "T n"],
    *,
    dt: float,
    t0: float = 0.0,
) -> Float[Array, "T k"]:
    """The discrete balance law of a variational rollout saved at every step: the charges
    $I_a(q_k, \\dot q_k)$ minus $I_a(q_0, \\dot q_0)$ minus the accumulated discrete impulse
    $\\sum_{j<k} h\\,\\xi_a(m_j) \\cdot \\Phi(m_j, v_j, t_j + h/2)$, with
    $m_j = (q_j + q_{j+1})/2$ and $v_j = (q_{j+1} - q_j)/h$.

    Zero to rounding for the generators with `LINEAR_GENERATORS` (affine ones) and an
    exact symmetry; the others are not covered by the discrete Noether theorem.

    **Arguments:**

    - `model`: the model the rollout integrated (`integrate(model, ..., method=
        MidpointVariational(), save_every=1)`).
    - `qs`, `qdots`: the rollout, shape `(T, n)`.
    - `dt`, `t0`: its step and initial time.

    **Returns:**

    The residuals, shape `(T, K)` (row 0 is zero).
    """
    module, force = model.module, model.forcing()
    ts = t0 + dt * (jnp.arange(qs.shape[0] - 1, dtype=qs.dtype) + 0.5)
    m, v = 0.5 * (qs[1:] + qs[:-1]), (qs[1:] - qs[:-1]) / dt

    def impulse(m, v, t):
        xi = module.generators(m, **time_keywords(module, t))
        return dt * (xi @ force(m, v, t=t))

    impulses = jax.vmap(impulse)(m, v, ts)
    saved = t0 + dt * jnp.arange(qs.shape[0], dtype=qs.dtype)
    charges = jax.vmap(lambda q, qdot, t: model.charges(q, qdot, t=t))(qs, qdots, saved)
    accumulated = jnp.concatenate([jnp.zeros_like(impulses[:1]), jnp.cumsum(impulses, 0)])
    return charges - charges[0] - accumulated


def true_balance_residuals(
    module: ModuleType,
    q: Float[Array, "batch n"],
    qdot: Float[Array, "batch n"],
    *,
    t: Float[Array, " batch"] | float = 0.0,
) -> tuple[Float[Array, "batch k"], Float[Array, " batch"]]:
    """The balance-law residuals of the true system, from the module's closed forms:
    $d/dt$ of `true_charges` and `true_energy` along `acceleration` (time included, for an
    explicit time) minus `true_charge_rates` and `true_energy_rate`. Zero to rounding when
    the module is right; the same shapes as [`balance_residuals`][].

    **Arguments:**

    - `module`: a generated module with a true Lagrangian and forces or friction.
    - `q`, `qdot`, `t`: states and their times.
    """
    flags = ("HAS_FORCES", "HAS_DISSIPATION")
    if not (module.__dict__.get("HAS_LAGRANGIAN") and any(module.__dict__.get(f) for f in flags)):
        raise ValueError(
            f"true_balance_residuals: the module of {module.SYSTEM_NAME!r} needs a true "
            "Lagrangian and forces or friction (HAS_LAGRANGIAN and HAS_FORCES or "
            "HAS_DISSIPATION)"
        )
    explicit = bool(module.__dict__.get("EXPLICIT_TIME", False))

    def one(q, qdot, t):
        timed = {"t": t} if explicit else {}
        qddot = module.acceleration(q, qdot, **timed)

        def values(q, qdot, t):
            timed = {"t": t} if explicit else {}
            return (module.true_charges(q, qdot, **time_keywords(module, t)),
                    module.true_energy(q, qdot, **timed))  # fmt: skip

        _, (charge_rate, energy_rate) = jax.jvp(values, (q, qdot, t),
                                                (qdot, qddot, jnp.ones_like(t)))  # fmt: skip
        return (charge_rate - module.true_charge_rates(q, qdot, t=t),
                energy_rate - module.true_energy_rate(q, qdot, t=t))  # fmt: skip

    q, qdot = jnp.asarray(q), jnp.asarray(qdot)
    t = jnp.broadcast_to(jnp.asarray(t, q.dtype), q.shape[:1])
    return jax.vmap(one)(q, qdot, t)


def balance_metrics(
    names: tuple[str, ...], residuals: tuple[Array, Array]
) -> dict[str, float]:
    """The largest absolute residual of each charge's balance law and of the energy's, by
    name, for a metrics file: `balance_metrics(module.CHARGE_NAMES, balance_residuals(...))`.
    """
    charges, energy = residuals
    worst = {name: float(jnp.max(jnp.abs(charges[:, a]))) for a, name in enumerate(names)}
    return {**worst, "energy": float(jnp.max(jnp.abs(energy)))}
