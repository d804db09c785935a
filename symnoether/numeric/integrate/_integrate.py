# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""`integrate`: roll a Lagrangian system forward with a chosen method."""

import math
import numbers
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from ..dynamics import acceleration as autodiff_acceleration
from ._base import AbstractIntegrator, StepInfo
from ._rk4 import RK4
from ._variational import MidpointVariational

Lagrangian = Callable[[Float[Array, " n"], Float[Array, " n"]], Float[Array, ""]]
Acceleration = Callable[[Float[Array, " n"], Float[Array, " n"]], Float[Array, " n"]]

METHODS = ("rk4", "variational")


class IntegrationResult(eqx.Module):
    """A rollout with its diagnostics (from `integrate(..., full_output=True)`).

    Saved points are $t = 0, s\\,dt, 2s\\,dt, \\dots$ with $s$ = `save_every`; a batch of
    initial conditions adds a leading axis to every field but `ts`. The Newton fields are
    `None` for explicit methods; for an implicit method, entry $j > 0$ summarises the $s$ steps
    that led to saved point $j$ together with the velocity solve at that point (entry 0 is
    the exact initial state).

    **Fields:**

    - `ts`: saved times, shape `(T,)`.
    - `qs`, `qdots`: positions and velocities, shape `(*batch, T, n)`.
    - `residuals`: largest relative Newton residual in each block, `(*batch, T)`.
    - `iterations`: largest number of Newton updates of a solve in each block.
    - `failures`: number of solves in each block that missed the tolerance.
    - `converged`: `failures == 0`.
    """

    ts: Float[Array, " T"]
    qs: Float[Array, "*batch T n"]
    qdots: Float[Array, "*batch T n"]
    residuals: Float[Array, "*batch T"] | None = None
    iterations: Int[Array, "*batch T"] | None = None
    failures: Int[Array, "*batch T"] | None = None
    converged: Bool[Array, "*batch T"] | None = None


def _rollout(integrator: AbstractIntegrator, q0, qdot0, dt: float, steps: int, save_every: int):
    def inner(carry, _):
        state, info = carry
        state, step_info = integrator.step(state, dt)
        return (state, info.merge(step_info)), None

    def outer(state, _):
        # Only the saved points leave the inner scan: memory is steps / save_every.
        carry = (state, StepInfo.empty(q0.dtype))
        (state, info), _ = jax.lax.scan(inner, carry, None, length=save_every)
        q, qdot, read_info = integrator.readout(state, dt)
        return state, (q, qdot, info.merge(read_info))

    state = integrator.init(q0, qdot0, dt)
    _, (qs, qdots, info) = jax.lax.scan(outer, state, None, length=steps // save_every)
    first = StepInfo.empty(q0.dtype)
    qs = jnp.concatenate([q0[None], qs])
    qdots = jnp.concatenate([qdot0[None], qdots])
    info = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, info)
    return qs, qdots, info


@eqx.filter_jit
def _run(integrator, q0, qdot0, dt, steps, save_every):
    def one(q0, qdot0):
        return _rollout(integrator, q0, qdot0, dt, steps, save_every)

    if not getattr(integrator, "batched", False):
        return jax.vmap(one)(q0, qdot0) if q0.ndim == 2 else one(q0, qdot0)
    # A batch-native integrator steps (batch, n) states: time-major out, batch-major back.
    # Its StepInfo is per step, not per trajectory: an explicit method's zeros.
    if q0.ndim == 1:
        qs, qdots, info = one(q0[None], qdot0[None])
        return qs[:, 0], qdots[:, 0], info
    qs, qdots, info = one(q0, qdot0)
    info = jax.tree.map(lambda a: jnp.broadcast_to(a, (q0.shape[0],) + a.shape), info)
    return jnp.swapaxes(qs, 0, 1), jnp.swapaxes(qdots, 0, 1), info


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_settings(method, dt, steps, save_every, tol, max_iter):
    problems = []
    if method not in METHODS:
        problems.append(f"method must be one of {METHODS}, got {method!r}")
    if not (_is_real(dt) and math.isfinite(dt) and dt != 0):
        problems.append(f"dt must be a finite non-zero number, got {dt!r}")
    if not (_is_int(steps) and steps >= 1):
        problems.append(f"steps must be a positive int, got {steps!r}")
    if not (_is_int(save_every) and save_every >= 1):
        problems.append(f"save_every must be a positive int, got {save_every!r}")
    elif _is_int(steps) and steps % save_every:
        problems.append(
            f"steps ({steps}) must be a multiple of save_every ({save_every}); "
            f"use steps={steps - steps % save_every} or {steps + save_every - steps % save_every}"
        )
    if tol is not None and not tol > 0:
        problems.append(f"tol must be positive, got {tol!r}")
    if not (_is_int(max_iter) and max_iter >= 1):
        problems.append(f"max_iter must be a positive int, got {max_iter!r}")
    if problems:
        raise ValueError("integrate: " + "; ".join(problems))


def _initial_state(q0, qdot0):
    q0, qdot0 = jnp.asarray(q0), jnp.asarray(qdot0)
    if q0.shape != qdot0.shape or q0.ndim not in (1, 2):
        raise ValueError(
            "integrate: q0 and qdot0 must have the same shape, (n,) for one trajectory or "
            f"(batch, n) for a batch; got {q0.shape} and {qdot0.shape}"
        )
    dtype = jnp.result_type(q0, qdot0, float)
    return q0.astype(dtype), qdot0.astype(dtype)


def default_tol(dtype) -> float:
    """Default Newton tolerance for `dtype`: 256 machine epsilons (5.7e-14 in float64,
    3.1e-5 in float32), above the rounding floor of the residuals of network Lagrangians."""
    return 256 * float(jnp.finfo(dtype).eps)


def _make_integrator(lagrangian, method, acceleration, tol, max_iter) -> AbstractIntegrator:
    if method == "variational":
        return MidpointVariational(lagrangian, tol, max_iter)
    if acceleration is None:
        batched = getattr(lagrangian, "batched_acceleration", None)
        if batched is not None:
            return RK4(batched, batched=True)
        acceleration = getattr(lagrangian, "acceleration", None)
    if acceleration is None:
        acceleration = jax.tree_util.Partial(autodiff_acceleration, lagrangian)
    return RK4(acceleration)


def _warn_if_failed(info: StepInfo, tol: float) -> None:
    if isinstance(info.failures, jax.core.Tracer):
        return  # Under an outer jit: the caller reads `full_output=True` instead.
    failed = int(jnp.sum(info.failures))
    if failed:
        worst = float(jnp.nanmax(jnp.where(jnp.isnan(info.residual), jnp.inf, info.residual)))
        warnings.warn(
            f"integrate(method='variational'): {failed} Newton solve(s) did not reach the "
            f"tolerance {tol:.1e}; worst relative residual {worst:.2e}. Reduce dt, raise "
            "max_iter, or check that d2L/dqdot2 is invertible along the trajectory; "
            "full_output=True shows where.",
            RuntimeWarning,
            stacklevel=3,
        )


def integrate(
    lagrangian: Lagrangian,
    q0: Float[ArrayLike, "*batch n"],
    qdot0: Float[ArrayLike, "*batch n"],
    *,
    dt: float,
    steps: int,
    method: str = "rk4",
    save_every: int = 1,
    acceleration: Acceleration | None = None,
    tol: float | None = None,
    max_iter: int = 20,
    full_output: bool = False,
) -> tuple[Float[Array, "*batch T n"], Float[Array, "*batch T n"]] | IntegrationResult:
    """Integrate the Euler-Lagrange equations of `lagrangian` from $(q_0, \\dot q_0)$.

    Jitted `lax.scan` over `steps` steps, of which every `save_every`-th is kept. A leading
    batch axis on `q0` and `qdot0` integrates a batch of initial conditions (`jax.vmap`).
    Computation is in the dtype of the initial state: use float64 (`jax_enable_x64`) for the
    variational method's exact conservation (float32 keeps the charges to about 1e-6).

    Methods:

    - `"rk4"`: classic RK4 on $(q, \\dot q)$ with the acceleration `acceleration`, else
        `lagrangian.batched_acceleration` when it has one (a `LagrangianNetwork`: the whole
        batch is stepped at once), else `lagrangian.acceleration`, else automatic
        differentiation of the Euler-Lagrange equations.
    - `"variational"`: the midpoint variational integrator (Newton solves, compensated
        sums). Its discrete Noether charges of affine symmetries (translations, rotations,
        Lorentz) are conserved to rounding, and the returned velocity is the one whose
        momentum $\\partial L/\\partial\\dot q$ equals the discrete momentum, so evaluating the
        ordinary charge functions on `(qs, qdots)` shows exactly that. `acceleration` is
        not used. When a Newton solve misses `tol` and `integrate` is called eagerly, a
        `RuntimeWarning` gives the count and the worst residual.

    **Arguments:**

    - `lagrangian`: a `LagrangianNetwork`, a generated module's `lagrangian`, or any JAX
        function `lagrangian(q, qdot) -> scalar`.
    - `q0`, `qdot0`: initial state, shape `(n,)`, or `(batch, n)` for a batch.
    - `dt`: time step (negative integrates backwards).
    - `steps`: number of steps; a multiple of `save_every`.
    - `method`: `"rk4"` or `"variational"`.
    - `save_every`: keep every `save_every`-th state.
    - `acceleration`: `acceleration(q, qdot) -> qddot` of one state for `"rk4"`, e.g. a
        generated module's closed-form `acceleration` (`vmap`ped over a batch).
    - `tol`: relative Newton tolerance of `"variational"`; default `default_tol(dtype)`.
    - `max_iter`: cap on the Newton updates per solve.
    - `full_output`: return an [`IntegrationResult`][] instead of `(qs, qdots)`.

    **Returns:**

    `(qs, qdots)`, each of shape `(*batch, steps // save_every + 1, n)` including the initial
    state, or an [`IntegrationResult`][] when `full_output`.
    """
    _check_settings(method, dt, steps, save_every, tol, max_iter)
    # Plain Python numbers: static under jit (NumPy scalars would be traced).
    dt, steps, save_every, max_iter = float(dt), int(steps), int(save_every), int(max_iter)
    q0, qdot0 = _initial_state(q0, qdot0)
    tol = default_tol(q0.dtype) if tol is None else float(tol)
    integrator = _make_integrator(lagrangian, method, acceleration, tol, max_iter)
    # dt is traced, not static: a sweep over step sizes compiles once per `steps`.
    qs, qdots, info = _run(integrator, q0, qdot0, jnp.asarray(dt, q0.dtype), steps, save_every)
    if integrator.implicit:
        _warn_if_failed(info, tol)
    if not full_output:
        return qs, qdots
    ts = jnp.arange(qs.shape[-2], dtype=qs.dtype) * (dt * save_every)
    if not integrator.implicit:
        return IntegrationResult(ts, qs, qdots)
    return IntegrationResult(
        ts, qs, qdots, info.residual, info.iterations, info.failures, info.failures == 0
    )
