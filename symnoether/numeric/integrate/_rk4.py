# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The classic fourth-order Runge-Kutta method on $(q, \\dot q)$."""

from collections.abc import Callable

from jaxtyping import Array, Float

from ._base import AbstractIntegrator, StepInfo

Acceleration = Callable[[Float[Array, " n"], Float[Array, " n"]], Float[Array, " n"]]


class RK4(AbstractIntegrator):
    """Classic RK4 on the first-order system $(\\dot q, \\ddot q = a(q, \\dot q))$.

    Explicit and fourth order; it conserves no charge exactly, so its charge drift shrinks
    like $dt^4$ but grows with time.

    **Arguments:**

    - `acceleration`: `acceleration(q, qdot) -> qddot`.
    """

    acceleration: Acceleration
    implicit = False

    def init(self, q0, qdot0, dt):
        return q0, qdot0

    def step(self, state, dt):
        q, v = state
        a = self.acceleration
        k1q, k1v = v, a(q, v)
        k2q, k2v = v + 0.5 * dt * k1v, a(q + 0.5 * dt * k1q, v + 0.5 * dt * k1v)
        k3q, k3v = v + 0.5 * dt * k2v, a(q + 0.5 * dt * k2q, v + 0.5 * dt * k2v)
        k4q, k4v = v + dt * k3v, a(q + dt * k3q, v + dt * k3v)
        q = q + dt / 6 * (k1q + 2 * k2q + 2 * k3q + k4q)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        return (q, v), StepInfo.empty(q.dtype)

    def readout(self, state, dt):
        q, v = state
        return q, v, StepInfo.empty(q.dtype)
