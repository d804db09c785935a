# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The midpoint variational integrator, with compensated positions and momenta."""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..discrete import increment_residual, residual_scale
from ..matrix_free import BlockSweeps, newton_matrix_free
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


def solve_update(residual, guess, *, lagrangian, q, qdot, h, tol, max_iter, solver):
    """Newton on `residual` from `guess` with `solver` (a [`BlockSweeps`][], a lineax
    solver, or `None` for the dense Jacobian). The Jacobian of the residual is about
    $\\partial^2 L/\\partial\\dot q^2 / h$ at `(q, qdot)` (`h` = 1 for the read-out, whose
    unknown is the velocity itself), which is what block sweeps precondition with."""
    if isinstance(solver, BlockSweeps):
        inverse = solver.preconditioner(lagrangian, q, qdot)
        return newton_matrix_free(residual, guess, precondition=lambda r: h * inverse(r),
                                  tol=tol, max_iter=max_iter, sweeps=solver.sweeps)  # fmt: skip
    return newton(residual, guess, tol=tol, max_iter=max_iter, linear_solver=solver)


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

    **Forces** (a term with a force $\\Phi(q, \\dot q, t)$, e.g. a friction): the discrete
    Lagrange-d'Alembert principle $\\delta \\sum_k L_d(q_k, q_{k+1}) + \\sum_k
    (F^-_k \\cdot \\delta q_k + F^+_k \\cdot \\delta q_{k+1}) = 0$ with the midpoint
    impulse split equally, $F^\\pm_k = \\tfrac h2 \\Phi(m, v, t_k + h/2)$. In the update
    above $\\partial_q L(m, v)$ becomes $g = \\partial_q L(m, v) + \\Phi(m, v, t_k + h/2)$:
    $\\partial_{\\dot q} L(m, v) - \\tfrac h2 g = p_k$ and $p_{k+1} = p_k + h\\,g$.

    *Discrete balance law.* Let $\\xi(q) = Aq + b$ be an affine generator under which $L$ is
    invariant, $\\partial_q L(q, v) \\cdot \\xi(q) + \\partial_{\\dot q} L(q, v) \\cdot Av = 0$
    for all $(q, v)$, and $J_k = p_k \\cdot \\xi(q_k)$ its discrete charge. Then, with
    $q_{k+1} = q_k + \\delta$, $v = \\delta/h$ and $m = q_k + \\delta/2$,

    $J_{k+1} - J_k = p_k \\cdot A\\delta + h\\,g \\cdot \\xi(q_{k+1})
    = (\\partial_{\\dot q} L - \\tfrac h2 g) \\cdot A\\delta + h\\,g \\cdot \\xi(q_{k+1})
    = h\\,[\\partial_{\\dot q} L \\cdot Av + g \\cdot \\xi(m)]$,

    because $\\xi(q_{k+1}) - \\tfrac12 A\\delta = \\xi(m)$. The invariance removes
    $\\partial_{\\dot q} L \\cdot Av + \\partial_q L \\cdot \\xi(m)$, which leaves

    $J_{k+1} - J_k = h\\,\\xi(m) \\cdot \\Phi(m, v, t_k + h/2)$:

    the discrete charge changes by exactly the discrete impulse of the force along the
    generator (for $\\Phi = 0$, exact conservation), up to the Newton residual $r$ (which
    adds $-r \\cdot A\\delta$) and rounding. A force invariant under the generator
    ($\\xi \\cdot \\Phi = 0$, e.g. a friction along z for the rotation about z) leaves
    that charge exactly conserved. `tests/test_forced.py` checks both to 1e-12.

    **Explicit time** (an [`AbstractTimeLagrangian`][] $L(q, \\dot q, t)$, such as a
    Caldirola-Kanai oscillator): the discrete Lagrangian of step $k$ is
    $h\\,L(m, v, t_k + h/2)$, the Lagrangian at the midpoint time, so the same update holds
    with $L$ at $t_k + h/2$; the velocity is read out with $L$ at $t_k$. The discrete charges
    of affine symmetries of $L(\\cdot, \\cdot, t)$ (at every $t$) are still conserved; the
    energy is not, and no discrete energy law is claimed.

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
        return midpoint_init(term, q0, qdot0, dt)

    def step(self, term, state, dt):
        return midpoint_step(term, state, dt, tol=self.tolerance(state.q.dtype),
                             max_iter=self.max_iter, solver=term.linear_solver)  # fmt: skip

    def readout(self, term, state, dt):
        return midpoint_readout(term, state, dt, tol=self.tolerance(state.q.dtype),
                                max_iter=self.max_iter, solver=term.linear_solver)  # fmt: skip


# The midpoint method's init, step and read-out, shared with `MatrixFreeVariational`, which
# differs only in the linear solver of its Newton updates.


def midpoint_init(term: LagrangianTerm, q0, qdot0, dt) -> _State:
    p0 = jax.grad(term.lagrangian_at(term.t), argnums=1)(q0, qdot0)
    zero = jnp.zeros_like(q0)
    dq = dt * qdot0
    return _State(q0, zero, p0, zero, dq, dq)


def _solve_increment(term: LagrangianTerm, state: _State, dt, **settings) -> NewtonResult:
    def force(m, v):
        # The force at the midpoint of the step, in space and in time.
        return term.force_at(m, v, term.t + 0.5 * dt)

    # An explicitly time-dependent L enters the discrete Lagrangian at the midpoint
    # time, as the force does: L_d = h L(m, v, t_k + h/2).
    lagrangian = term.lagrangian_at(term.t + 0.5 * dt)

    def residual(dq):
        return increment_residual(
            lagrangian, state.q, dq, state.p, dt, q_lo=state.q_lo, p_lo=state.p_lo,
            force=force,
        )  # fmt: skip

    guess = 2 * state.dq - state.dq_prev
    return solve_update(residual, guess, lagrangian=lagrangian, q=state.q + 0.5 * guess,
                        qdot=guess / dt, h=dt, **settings)  # fmt: skip


def midpoint_step(term: LagrangianTerm, state: _State, dt, **settings):
    """One step; `settings`: the Newton `tol`, `max_iter` and `solver` of
    [`solve_update`][]."""
    sol = _solve_increment(term, state, dt, **settings)
    dq, l_q = sol.x, sol.aux
    p, p_lo = _two_sum(state.p, state.p_lo, dt * l_q)
    q, q_lo = _two_sum(state.q, state.q_lo, dq)
    info = StepInfo(sol.residual, sol.iterations, (~sol.converged).astype(jnp.int32))
    return _State(q, q_lo, p, p_lo, dq, state.dq), info


def midpoint_readout(term: LagrangianTerm, state: _State, dt, **settings):
    """The velocity at a saved point, from $\\partial_{\\dot q} L(q_k, \\dot q_k) = p_k$."""
    lagrangian = term.lagrangian_at(term.t)

    def residual(qdot):
        l_v = jax.grad(lagrangian, argnums=1)(state.q, qdot)
        return (l_v - state.p) - state.p_lo, residual_scale(l_v, state.p), None

    # Velocity at t_k extrapolated from the two last midpoint velocities.
    guess = (3 * state.dq - state.dq_prev) / (2 * dt)
    sol = solve_update(residual, guess, lagrangian=lagrangian, q=state.q, qdot=guess, h=1.0,
                       **settings)  # fmt: skip
    info = StepInfo(sol.residual, sol.iterations, (~sol.converged).astype(jnp.int32))
    return state.q, sol.x, info
