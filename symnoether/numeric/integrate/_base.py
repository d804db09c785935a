# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The interface every integration method implements, and what it is given to step."""

import abc
import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, Int

from ...errors import format_problems
from ..forces import AbstractForce, ZeroForce
from ..matrix_free import BlockSweeps
from ..newton import default_tol as default_tol, newton_setting_problems

State = Any
Lagrangian = Callable[[Float[Array, " n"], Float[Array, " n"]], Float[Array, ""]]
Acceleration = Callable[
    [Float[Array, "*batch n"], Float[Array, "*batch n"]], Float[Array, "*batch n"]
]


class StepInfo(NamedTuple):
    """What a step (or a block of steps) reports about its nonlinear solves.

    `residual` is the largest relative Newton residual, `iterations` the largest number of
    Newton updates, `failures` the number of solves that missed the tolerance. Explicit
    methods report zeros.
    """

    residual: Float[Array, ""]
    iterations: Int[Array, ""]
    failures: Int[Array, ""]

    @classmethod
    def empty(cls, dtype) -> "StepInfo":
        return cls(jnp.zeros((), dtype), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))

    def merge(self, other: "StepInfo") -> "StepInfo":
        return StepInfo(
            jnp.maximum(self.residual, other.residual),
            jnp.maximum(self.iterations, other.iterations),
            self.failures + other.failures,
        )


class LagrangianTerm(eqx.Module):
    """What an integrator steps: a Lagrangian, the acceleration of its Euler-Lagrange
    equations and the non-conservative force those include (the counterpart of a Diffrax
    `ODETerm`). `integrate` builds it; an integrator uses whichever its method needs, through
    the methods below, which pass the time only where the dynamics depend on it.

    **Fields:**

    - `lagrangian`: `lagrangian(q, qdot) -> scalar` of one state (the conservative part).
    - `acceleration`: `acceleration(q, qdot) -> qddot`, of one state `(n,)`; or of a batch
        `(batch, n)` when `integrate` steps a whole batch at once (only for integrators
        with `batch_first = True`). It includes `force`; with `explicit_time` it is called
        as `acceleration(q, qdot, t=t)`.
    - `force`: the force $\\Phi(q, \\dot q, t)$ in $\\frac{d}{dt}\\partial_{\\dot q}L -
        \\partial_q L = \\Phi$, an [`AbstractForce`][]; default [`ZeroForce`][].
    - `explicit_time`: whether `acceleration` takes the time (static).
    - `linear_solver`: the linear solver of implicit methods' Newton steps, from the
        Lagrangian's `linear_solver()`: `None` for a dense Jacobian, a lineax solver or a
        [`BlockSweeps`][] for a matrix-free one (static).
    - `lagrangian_time`: whether `lagrangian` itself depends on the time (an
        [`AbstractTimeLagrangian`][]; static): then `lagrangian_at(t)` fixes it.
    - `t`: the time of the state being stepped or read out (`integrate` sets it with
        [`LagrangianTerm.at`][] before each call; an integrator that ignores it, as every
        method for autonomous systems may, works unchanged).
    """

    lagrangian: Lagrangian
    acceleration: Acceleration
    force: AbstractForce = ZeroForce()
    explicit_time: bool = eqx.field(default=False, static=True)
    linear_solver: lx.AbstractLinearSolver | BlockSweeps | None = eqx.field(
        default=None, static=True
    )
    t: Float[Array, ""] | float = 0.0
    lagrangian_time: bool = eqx.field(default=False, static=True)

    def at(self, t) -> "LagrangianTerm":
        """This term at time `t`."""
        return dataclasses.replace(self, t=t)

    def acceleration_at(self, q, qdot, t):
        """The acceleration at time `t` (ignored by an autonomous term)."""
        if self.explicit_time:
            return self.acceleration(q, qdot, t=t)
        return self.acceleration(q, qdot)

    def lagrangian_at(self, t) -> Lagrangian:
        """The Lagrangian `L(q, qdot)` at time `t` (itself for an autonomous one)."""
        if self.lagrangian_time:
            return self.lagrangian.lagrangian_at(t)
        return self.lagrangian

    def force_at(self, q, qdot, t):
        """The force $\\Phi$ of one state at time `t`."""
        return self.force(q, qdot, t=t)


class AbstractIntegrator(eqx.Module):
    """A one-step method for the Euler-Lagrange equations of $L(q, \\dot q)$.

    Concrete integrators are final: `sn.RK4()`, `sn.MidpointVariational()`. An integrator
    holds only its settings; the system comes in as a [`LagrangianTerm`][] at each call, so
    one integrator object serves every model (as a Diffrax solver serves every term). The
    state is whatever the method carries between steps; only `init` and `readout` translate
    between it and $(q, \\dot q)$, so a method may step in other variables (the variational
    method steps positions and momenta) and convert only at the saved points.

    A new method is one file with a final subclass, plus one line in
    `integrate/_registry.py` to give it a name.
    """

    #: Whether `init`, `step` and `readout` work unchanged on a batch of states `(batch, n)`
    #: given the batch's acceleration (an elementwise update such as RK4's). `integrate` then
    #: steps a batch at once through `lagrangian.batched_acceleration` where the Lagrangian
    #: has one (a `LagrangianNetwork`), instead of `vmap`ping one trajectory.
    batch_first: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def init(
        self, term: LagrangianTerm, q0: Float[Array, " n"], qdot0: Float[Array, " n"], dt
    ) -> State:
        """The state at the term's time `term.t`.

        **Arguments:**

        - `term`: the system.
        - `q0`, `qdot0`: the initial position and velocity.
        - `dt`: the time step.

        **Returns:**

        The method's state.
        """

    @abc.abstractmethod
    def step(self, term: LagrangianTerm, state: State, dt) -> tuple[State, StepInfo]:
        r"""Advance the state by one step of size `dt` from the time `term.t` (the time is
        not carried in the state: `integrate` sets it as $t_0 + k\\,dt$ on the term, free of
        rounding drift, and an autonomous term never looks at it).

        **Returns:**

        The new state and the [`StepInfo`][] of the step's nonlinear solves.
        """

    @abc.abstractmethod
    def readout(
        self, term: LagrangianTerm, state: State, dt
    ) -> tuple[Float[Array, " n"], Float[Array, " n"], StepInfo]:
        """The position and velocity the state represents at the time `term.t`, called
        only at saved points.

        **Returns:**

        `(q, qdot, info)`, with `info` the statistics of any solve this needed.
        """


class AbstractImplicitIntegrator(AbstractIntegrator):
    """An integrator that solves nonlinear systems by Newton's method.

    Its [`StepInfo`][] is reported per saved point (`integrate(..., full_output=True)`),
    and `integrate` warns when a solve misses the tolerance.
    """

    #: Relative Newton tolerance; `None` for [`default_tol`][] of the state's dtype.
    tol: eqx.AbstractVar[float | None]
    #: Cap on the Newton updates per solve.
    max_iter: eqx.AbstractVar[int]

    def __check_init__(self):
        problems = newton_setting_problems(self.tol, self.max_iter)
        if problems:
            raise ValueError(format_problems(f"invalid {type(self).__name__}", problems))

    def tolerance(self, dtype) -> float:
        """The Newton tolerance used for states of `dtype`: `tol`, or `default_tol(dtype)`."""
        return default_tol(dtype) if self.tol is None else float(self.tol)
