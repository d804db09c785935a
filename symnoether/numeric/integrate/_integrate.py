# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""`integrate`: roll a Lagrangian system forward with a chosen method."""

import functools
import math
import numbers
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from ...errors import format_problems
from ..lagrangian import AbstractLagrangian, as_lagrangian
from ..newton import newton_setting_problems
from ._base import (
    AbstractImplicitIntegrator,
    AbstractIntegrator,
    Acceleration,
    Lagrangian,
    LagrangianTerm,
    StepInfo,
)
from ._registry import as_integrator, is_method, unknown_method
from ._rk4 import RK4


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


def _rollout(
    integrator: AbstractIntegrator, term: LagrangianTerm, q0, qdot0, t0, dt, steps: int,
    save_every: int,
):  # fmt: skip
    # The time is t0 + k dt from the step count k, not a running sum: no rounding drift,
    # and for an autonomous term it is dead code that XLA removes.
    def time(k):
        return t0 + k.astype(dt.dtype) * dt

    def inner(carry, _):
        state, info, k = carry
        state, step_info = integrator.step(term.at(time(k)), state, dt)
        return (state, info.merge(step_info), k + 1), None

    def outer(carry, _):
        # Only the saved points leave the inner scan: memory is steps / save_every.
        state, k = carry
        inner_carry = (state, StepInfo.empty(q0.dtype), k)
        (state, info, k), _ = jax.lax.scan(inner, inner_carry, None, length=save_every)
        q, qdot, read_info = integrator.readout(term.at(time(k)), state, dt)
        return (state, k), (q, qdot, info.merge(read_info))

    state = integrator.init(term.at(t0), q0, qdot0, dt)
    start = (state, jnp.zeros((), jnp.int32))
    _, (qs, qdots, info) = jax.lax.scan(outer, start, None, length=steps // save_every)
    first = StepInfo.empty(q0.dtype)
    qs = jnp.concatenate([q0[None], qs])
    qdots = jnp.concatenate([qdot0[None], qdots])
    info = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, info)
    return qs, qdots, info


@eqx.filter_jit
def _run(integrator, term, batch_first: bool, q0, qdot0, t0, dt, steps, save_every):
    def one(q0, qdot0):
        return _rollout(integrator, term, q0, qdot0, t0, dt, steps, save_every)

    if not batch_first:
        return jax.vmap(one)(q0, qdot0) if q0.ndim == 2 else one(q0, qdot0)
    # The integrator steps (batch, n) states: time-major out, batch-major back. Its StepInfo
    # is per step, not per trajectory: an explicit method's zeros.
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
    if not is_method(method):
        problems.append(unknown_method(method))
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
    problems += newton_setting_problems(tol, 1 if max_iter is None else max_iter)
    if problems:
        raise ValueError(format_problems("invalid arguments to integrate", problems))


def _check_t0(t0) -> float:
    if not (_is_real(t0) and math.isfinite(t0)):
        raise ValueError(f"integrate: t0 must be a finite number (the initial time), got {t0!r}")
    return float(t0)


def _initial_state(q0, qdot0):
    q0, qdot0 = jnp.asarray(q0), jnp.asarray(qdot0)
    if q0.shape != qdot0.shape or q0.ndim not in (1, 2):
        raise ValueError(
            "integrate: q0 and qdot0 must have the same shape, (n,) for one trajectory or "
            f"(batch, n) for a batch; got {q0.shape} and {qdot0.shape}"
        )
    dtype = jnp.result_type(q0, qdot0, float)
    return q0.astype(dtype), qdot0.astype(dtype)


def _term(lagrangian: AbstractLagrangian, integrator: AbstractIntegrator) -> LagrangianTerm:
    # A batch-first integrator steps (batch, n) states with the batch's acceleration. The
    # Lagrangian's force (zero for a conservative one) is already in its acceleration; the
    # term carries it apart for the methods that step momenta.
    acceleration = (
        lagrangian.batched_acceleration if integrator.batch_first else lagrangian.acceleration
    )
    return LagrangianTerm(lagrangian, acceleration, lagrangian.forcing(),
                          lagrangian.explicit_time, lagrangian.linear_solver(),
                          lagrangian_time=lagrangian.lagrangian_explicit_time)  # fmt: skip


def _warn(failed, worst, *, integrator: AbstractImplicitIntegrator, tol: float) -> None:
    failed = int(failed)
    if failed:
        warnings.warn(
            f"integrate(method={integrator!r}): {failed} Newton solve(s) did not reach the "
            f"tolerance {tol:.1e}; worst relative residual {float(worst):.2e}. Reduce dt, "
            "raise max_iter, or check that d2L/dqdot2 is invertible along the trajectory; "
            "full_output=True shows where.",
            RuntimeWarning,
            stacklevel=4,
        )


def _warn_if_failed(info: StepInfo, integrator: AbstractImplicitIntegrator, dtype) -> None:
    failed = jnp.sum(info.failures)
    worst = jnp.nanmax(jnp.where(jnp.isnan(info.residual), jnp.inf, info.residual))
    warn = functools.partial(_warn, integrator=integrator, tol=integrator.tolerance(dtype))
    if isinstance(failed, jax.core.Tracer):
        # Under an outer jit: warn when the compiled program runs, not at trace time.
        jax.debug.callback(warn, failed, worst)
    else:
        warn(failed, worst)


_RK4 = RK4()  # the default method


def integrate(
    lagrangian: Lagrangian,
    q0: Float[ArrayLike, "*batch n"],
    qdot0: Float[ArrayLike, "*batch n"],
    *,
    dt: float,
    steps: int,
    method: AbstractIntegrator | str = _RK4,
    save_every: int = 1,
    acceleration: Acceleration | None = None,
    tol: float | None = None,
    max_iter: int | None = None,
    full_output: bool = False,
    t0: float = 0.0,
) -> tuple[Float[Array, "*batch T n"], Float[Array, "*batch T n"]] | IntegrationResult:
    """Integrate the Euler-Lagrange equations of `lagrangian` from $(q_0, \\dot q_0)$.

    Jitted `lax.scan` over `steps` steps, of which every `save_every`-th is kept. A leading
    batch axis on `q0` and `qdot0` integrates a batch of initial conditions (`jax.vmap`).
    Computation is in the dtype of the initial state: use float64 (`jax_enable_x64`) for the
    variational method's exact conservation (float32 keeps the charges to about 1e-6).

    Methods (objects; the names of `INTEGRATORS` are aliases):

    - `RK4()` (`"rk4"`): classic RK4 on $(q, \\dot q)$ with the acceleration `acceleration`
        when given, else the Lagrangian's `batched_acceleration` (the whole batch of
        trajectories is stepped at once; a [`LagrangianNetwork`][]'s closed form, automatic
        differentiation of the Euler-Lagrange equations for a plain function).
    - `MidpointVariational(tol=None, max_iter=20)` (`"variational"`): the midpoint
        variational integrator (Newton solves, compensated sums). Its discrete Noether
        charges of affine symmetries (translations, rotations, Lorentz) are conserved to
        rounding, and the returned velocity is the one whose momentum
        $\\partial L/\\partial\\dot q$ equals the discrete momentum, so evaluating the ordinary
        charge functions on `(qs, qdots)` shows exactly that. `acceleration` is not used.
        When a Newton solve misses its tolerance, a `RuntimeWarning` gives the count and the
        worst residual (under an outer `jit` too, when the compiled program runs).

    **Arguments:**

    - `lagrangian`: an [`AbstractLagrangian`][] (a `LagrangianNetwork`, ...), or any JAX
        function `lagrangian(q, qdot) -> scalar` such as a generated module's `lagrangian`
        (wrapped in a [`FunctionLagrangian`][]).
    - `q0`, `qdot0`: initial state, shape `(n,)`, or `(batch, n)` for a batch.
    - `dt`: time step (negative integrates backwards).
    - `steps`: number of steps; a multiple of `save_every`.
    - `method`: an [`AbstractIntegrator`][] such as `RK4()` (the default) or
        `MidpointVariational(tol=..., max_iter=...)`, or its name (`"rk4"`, `"variational"`).
    - `save_every`: keep every `save_every`-th state.
    - `acceleration`: `acceleration(q, qdot) -> qddot` of one state for `"rk4"`, e.g. a
        generated module's closed-form `acceleration` (`vmap`ped over a batch).
    - `tol`, `max_iter`: Newton settings of an implicit method given by name
        (`method="variational", tol=1e-12` is `method=MidpointVariational(tol=1e-12)`);
        default `default_tol(dtype)` and 20. With an integrator object, set them on it.
    - `full_output`: return an [`IntegrationResult`][] instead of `(qs, qdots)`.
    - `t0`: the initial time, for a time-dependent force (a drive) or Lagrangian; step $k$
        starts at $t_0 + k\\,dt$.

    **Forces.** A [`ForcedLagrangian`][] (a Lagrangian with friction or a drive, such as
    `sn.true_model(module)` or a model with a learned `RayleighDissipation`) is integrated
    with its force: RK4 on its forced acceleration, `MidpointVariational` as the discrete
    Lagrange-d'Alembert principle, whose discrete charges of affine generators change by
    exactly the accumulated impulse $\\sum_k h\\,\\xi(m_k) \\cdot \\Phi_k$ (a discrete balance
    law; exact conservation for a force the generator leaves invariant).

    **Returns:**

    `(qs, qdots)`, each of shape `(*batch, steps // save_every + 1, n)` including the initial
    state, or an [`IntegrationResult`][] when `full_output`.
    """
    _check_settings(method, dt, steps, save_every, tol, max_iter)
    # Plain Python numbers: static under jit (NumPy scalars would be traced).
    dt, steps, save_every = float(dt), int(steps), int(save_every)
    tol = None if tol is None else float(tol)
    max_iter = None if max_iter is None else int(max_iter)
    integrator = as_integrator(method, tol=tol, max_iter=max_iter)
    q0, qdot0 = _initial_state(q0, qdot0)
    lagrangian = as_lagrangian(lagrangian, acceleration)
    term, batch_first = _term(lagrangian, integrator), integrator.batch_first
    # dt is traced, not static: a sweep over step sizes compiles once per `steps`.
    dt_array = jnp.asarray(dt, q0.dtype)
    t0_array = jnp.asarray(_check_t0(t0), q0.dtype)
    qs, qdots, info = _run(
        integrator, term, batch_first, q0, qdot0, t0_array, dt_array, steps, save_every
    )
    implicit = isinstance(integrator, AbstractImplicitIntegrator)
    if implicit:
        _warn_if_failed(info, integrator, q0.dtype)
    if not full_output:
        return qs, qdots
    ts = t0_array + jnp.arange(qs.shape[-2], dtype=qs.dtype) * (dt * save_every)
    if not implicit:
        return IntegrationResult(ts, qs, qdots)
    return IntegrationResult(
        ts, qs, qdots, info.residual, info.iterations, info.failures, info.failures == 0
    )
