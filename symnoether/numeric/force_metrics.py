# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Evaluation of damped and driven systems: the balance law of every charge along a rollout,
and the friction coefficient a model implies.

For a module with forces, friction or an explicit time (issue 26), each rollout of
`evaluate_models` gets a `"balance"` entry: the largest $|dI_a/dt - \\xi_a \\cdot \\Phi|$ of
each charge and $|dE/dt - \\dot q \\cdot \\Phi|$ of the energy over (up to `MAX_STATES` of)
its states, for the models (`balance_residuals`, along each model's own flow and force) and
for the true system (`true_balance_residuals`, the module's closed forms). A model that keeps
its balance laws has them at rounding level whatever its weights (an invariant network); an
unconstrained one does not.

With a friction (`HAS_DISSIPATION` or `LEARNED_DISSIPATION`), `friction_metrics` compares
the linear friction coefficient $b = -\\dot q \\cdot M^{-1}(\\Phi(q, \\dot q, t) -
\\Phi(q, 0, t)) / |\\dot q|^2$ of each model with the true system's, on the states of the
true rollout: the part of the force at rest (a drive) is taken out, and dividing by the
learned mass makes $b$ independent of the scale of $L$ (which the data cannot fix).
"""

from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .balance import balance_metrics, balance_residuals, true_balance_residuals
from .forced import true_model
from .lagrangian import AbstractLagrangian, FunctionLagrangian

__all__ = ["MAX_STATES", "balance_entry", "balanced", "friction_metrics", "true_system"]

#: At most this many states of a rollout are checked for the balance laws (evenly spaced).
MAX_STATES = 500
_BALANCE_FLAGS = ("HAS_FORCES", "HAS_DISSIPATION", "LEARNED_DISSIPATION", "EXPLICIT_TIME")
_FORCE_FLAGS = ("HAS_FORCES", "HAS_DISSIPATION")
_FRICTION_FLAGS = ("HAS_DISSIPATION", "LEARNED_DISSIPATION")


def _any(module: ModuleType, flags: tuple[str, ...]) -> bool:
    # The force flags are optional module constants, present only when True.
    return any(module.__dict__.get(flag, False) for flag in flags)


def balanced(module: ModuleType) -> bool:
    """Whether the module has balance laws (`charge_rates`): forces, a friction (known or
    learned) or an explicit time."""
    return _any(module, _BALANCE_FLAGS)


def true_system(module: ModuleType) -> AbstractLagrangian:
    """The true system of a module with a true Lagrangian as an evaluation model: with its
    known force (`true_model`) when it has forces or friction, so that every integrator
    steps the force too; else the Lagrangian with its closed-form acceleration."""
    if _any(module, _FORCE_FLAGS) or module.__dict__.get("LAGRANGIAN_EXPLICIT_TIME", False):
        return true_model(module)
    return FunctionLagrangian(module.lagrangian, module.acceleration, module)


def _every(qs: np.ndarray) -> slice:
    return slice(None, None, max(1, -(-len(qs) // MAX_STATES)))


@eqx.filter_jit
def _model_residuals(model, q, qdot, t):
    return balance_residuals(model, q, qdot, t=t)


@eqx.filter_jit
def _true_residuals(module, q, qdot, t):
    return true_balance_residuals(module, q, qdot, t=t)


def _number(x: float) -> float | None:
    return x if np.isfinite(x) else None


def balance_entry(module: ModuleType, model: AbstractLagrangian | None, qs, qdots, ts) -> dict:
    """The `"balance"` metrics of one rollout: the largest absolute residual of each charge's
    balance law (`"charges"`, by name) and of the energy's, over up to `MAX_STATES` of the
    rollout's states (`"states"`), and `"max"` over all of them. `model=None`: the true system
    (the module's closed forms). `{}` when there is nothing to check: a true system without
    known forces or friction (a drive's explicit time alone has no closed-form rates there;
    a true Lagrangian that depends on the time is measured along its own flow, by
    autodiff)."""
    time_lagrangian = module.__dict__.get("LAGRANGIAN_EXPLICIT_TIME", False)
    if model is None and not (module.HAS_LAGRANGIAN and (_any(module, _FORCE_FLAGS)
                                                         or time_lagrangian)):  # fmt: skip
        return {}
    if model is None and time_lagrangian:
        # No closed-form rates of the charges there: the true L's own, by autodiff.
        model = true_model(module)
    pick = _every(qs)
    q, qdot = jnp.asarray(qs[pick]), jnp.asarray(qdots[pick])
    t = jnp.asarray(ts[pick], q.dtype)
    if model is None:
        residuals = _true_residuals(module, q, qdot, t)
    else:
        residuals = _model_residuals(model, q, qdot, t)
    worst = balance_metrics(tuple(module.CHARGE_NAMES), residuals)
    energy = _number(worst.pop("energy"))
    charges = {name: _number(value) for name, value in worst.items()}
    values = [v for v in (*charges.values(), energy)]
    return {"charges": charges, "energy": energy, "states": int(q.shape[0]),
            "max": None if None in values else max(values)}  # fmt: skip


def _coefficients(model: AbstractLagrangian, q, qdot, t):
    force = model.forcing()

    def one(q, qdot, t):
        friction = force(q, qdot, t=t) - force(q, jnp.zeros_like(qdot), t=t)
        a = model.solve(model.mass_matrix(q, qdot), friction)
        return -(qdot @ a) / (qdot @ qdot)

    return jax.vmap(one)(q, qdot, t)


_coefficients_jit = eqx.filter_jit(_coefficients)


def friction_metrics(module: ModuleType, models: dict, qs, qdots, ts) -> dict:
    """The linear friction coefficient $b$ (median over the states given, those at rest
    left out) of the true system (`"true"`, with a true friction) and of each model
    (`"models"`: name -> `{"coefficient", "relative_error"}`), on the states of the true
    rollout. `{}` when the module has no friction, known or learned."""
    if not _any(module, _FRICTION_FLAGS):
        return {}
    pick = _every(qs)
    q, qdot = jnp.asarray(qs[pick]), jnp.asarray(qdots[pick])
    t = jnp.asarray(ts[pick], q.dtype)
    speed = np.sum(np.asarray(qdot) ** 2, axis=-1)
    moving = speed > 1e-6 * np.max(speed) if speed.size and np.max(speed) > 0 else speed > 0
    if not np.any(moving):
        return {}

    def median(model) -> float | None:
        values = np.asarray(_coefficients_jit(model, q, qdot, t))[moving]
        return _number(float(np.median(values)))

    truth = None
    if module.HAS_LAGRANGIAN and module.__dict__.get("HAS_DISSIPATION", False):
        truth = median(true_model(module))
    out: dict = {"true": truth, "states": int(np.sum(moving)), "models": {}}
    for name, model in models.items():
        b = median(model)
        error = None if truth is None or b is None or truth == 0 else abs(b / truth - 1)
        out["models"][name] = {"coefficient": b, "relative_error": error}
    return out
