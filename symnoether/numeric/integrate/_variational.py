# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The midpoint variational integrator, with compensated positions and momenta."""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..discrete import increment_residual, residual_scale
from ..newton import NewtonResult, newton
from ._base import AbstractImplicitIntegrator, LagrangianTerm, StepInfo


class _State(NamedTuple):
    # Position and momentum are each carried as an unevaluated sum hi + lo (compensated
    # summation): adding an O(dt) increment to an O(1) value every step would otherwise
    # lose about eps per step, and the charges would random-walk away from their values.
    q: Float[Array, " n"]
    q_lo: Float[Array, " n"]
    p: Float[Array, " n"]
    p_lo: Float[Array, " n"]
    # The last two increments q_k - q_{k-1}: they extrapolate the next Newton guess and
    # the velocity at read-out.
    dq: Float[Array, " n"]
    dq_prev: Float[Array, " n"]


def _two_sum(hi, lo, x):
    """Add `x` to the compensated value `hi + lo`; returns the new `(hi, lo)`."""
    y = x + lo
    s = hi + y
    b = s - hi
    # Knuth's TwoSum: the exact rounding error of hi + y, whatever their magnitudes.
    err = (hi - (s - b)) + (y - b)
    return s, err


class MidpointVariational(AbstractImplicitIntegrator):
    """The midpoint variational integrator of $L_d(q_0, q_1) = h\\,L((q_0+q_1)/2, (q_1-q_0)/h)$.

    Steps positions and discrete momenta $p_k = D_2 L_d(q_{k-1}, q_k)$: with
    $m = q_k + \\delta/2$ and $v = \\delta/h$, the increment $\\delta = q_{k+1} - q_k$ solves
    $\\partial_{\\dot q} L(m, v) - \\tfrac h2 \\partial_q L(m, v) = p_k$ (Newton), and then
    $p_{k+1} = p_k + h\\,\\partial_q L(m, v)$. Solving for the increment rather than for
    $q_{k+1}$ keeps its digits (the difference $q_{k+1} - q_k$ would lose about $\\log_{10}(1/h)$
    of them), and the momentum update in this form makes the change of a discrete charge
    $p \\cdot \\xi(q)$ of an affine generator $\\xi(q) = Aq + b$ equal to
    $-r \\cdot A\\delta$ for a Newton residual $r$: zero for translations, $O(h\\,r)$ for
    rotations and boosts.

    At saved points the velocity is recovered from $\\partial_{\\dot q} L(q_k, \\dot q_k) = p_k$
    (a second Newton solve), so the ordinary charge functions evaluated on the output give the
    discrete Noether charges. It needs the term's `lagrangian`, regular
    ($\\partial^2 L/\\partial\\dot q^2$ invertible), and not its acceleration.

    **Arguments:**

    - `tol`: tolerance on the relative Newton residuals; default `None`, 256 machine
        epsilons of the state's dtype ([`default_tol`][]).
    - `max_iter`: cap on the Newton updates per solve.
    """

    # Static: Python numbers under jit, as `newton` and `tolerance` need them.
    tol: float | None = eqx.field(default=None, static=True)
    max_iter: int = eqx.field(default=20, static=True)
    batch_first = False

    def init(self, term, q0, qdot0, dt):
        p0 = jax.grad(term.lagrangian, argnums=1)(q0, qdot0)
        zero = jnp.zeros_like(q0)
        dq = dt * qdot0
        return _State(q0, zero, p0, zero, dq, dq)

    def _solve_increment(self, term: LagrangianTerm, state: _State, dt) -> NewtonResult:
        def residual(dq):
            return increment_residual(
                term.lagrangian, state.q, dq, state.p, dt, q_lo=state.q_lo, p_lo=state.p_lo
            )

        guess = 2 * state.dq - state.dq_prev
        tol = self.tolerance(state.q.dtype)
        return newton(residual, guess, tol=tol, max_iter=self.max_iter)

    def step(self, term, state, dt):
        sol = self._solve_increment(term, state, dt)
        dq, l_q = sol.x, sol.aux
        p, p_lo = _two_sum(state.p, state.p_lo, dt * l_q)
        q, q_lo = _two_sum(state.q, state.q_lo, dq)
        info = StepInfo(sol.residual, sol.iterations, (~sol.converged).astype(jnp.int32))
        return _State(q, q_lo, p, p_lo, dq, state.dq), info

    def readout(self, term, state, dt):
        def residual(qdot):
            l_v = jax.grad(term.lagrangian, argnums=1)(state.q, qdot)
            return (l_v - state.p) - state.p_lo, residual_scale(l_v, state.p), None

        # Velocity at t_k extrapolated from the two last midpoint velocities.
        guess = (3 * state.dq - state.dq_prev) / (2 * dt)
        sol = newton(residual, guess, tol=self.tolerance(state.q.dtype), max_iter=self.max_iter)
        info = StepInfo(sol.residual, sol.iterations, (~sol.converged).astype(jnp.int32))
        return state.q, sol.x, info
