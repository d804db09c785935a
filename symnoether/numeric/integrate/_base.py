# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The interface every integration method implements."""

import abc
from typing import Any, NamedTuple

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

State = Any


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


class AbstractIntegrator(eqx.Module):
    """A one-step method for the Euler-Lagrange equations of $L(q, \\dot q)$.

    Concrete integrators are final. The state is whatever the method needs to carry between
    steps; only `init` and `readout` translate between it and $(q, \\dot q)$, so a method may
    step in other variables (the variational method steps positions and momenta) and convert
    only at the saved points.
    """

    #: Whether the method solves nonlinear systems (and so reports Newton statistics).
    implicit: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def init(self, q0: Float[Array, " n"], qdot0: Float[Array, " n"], dt: float) -> State:
        """The state at $t = 0$.

        **Arguments:**

        - `q0`, `qdot0`: the initial position and velocity.
        - `dt`: the time step.

        **Returns:**

        The method's state.
        """

    @abc.abstractmethod
    def step(self, state: State, dt: float) -> tuple[State, StepInfo]:
        """Advance the state by one step of size `dt`.

        **Returns:**

        The new state and the [`StepInfo`][] of the step's nonlinear solves.
        """

    @abc.abstractmethod
    def readout(
        self, state: State, dt: float
    ) -> tuple[Float[Array, " n"], Float[Array, " n"], StepInfo]:
        """The position and velocity the state represents, called only at saved points.

        **Returns:**

        `(q, qdot, info)`, with `info` the statistics of any solve this needed.
        """
