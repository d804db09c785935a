# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Newton's method for the small nonlinear systems of the variational integrator and the
position losses, its settings, and its implicit-function gradient."""

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, Int, PyTree

__all__ = [
    "NewtonResult",
    "default_tol",
    "implicit_newton",
    "newton",
    "newton_iterate",
    "newton_setting_problems",
]

# A residual function returns the residual vector, the positive scale its size is measured
# against (|r|_inf / scale is the relative residual compared with `tol`) and any auxiliary
# value wanted at the solution.
ResidualFn = Callable[[Float[Array, " n"]], tuple[Float[Array, " n"], Float[Array, ""], Any]]


class NewtonResult(NamedTuple):
    """The outcome of [`newton`][]: the best iterate, its relative residual and auxiliary
    value, the number of Newton updates that led to it, and whether the residual reached
    the tolerance."""

    x: Float[Array, " n"]
    residual: Float[Array, ""]
    aux: Any
    iterations: Int[Array, ""]
    converged: jax.Array


def _linearise(fn: ResidualFn, x: Float[Array, " n"]):
    def with_aux(x):
        r, scale, aux = fn(x)
        return r, (r, scale, aux)

    # One forward-mode sweep gives the Jacobian and, as the auxiliary output, the residual.
    jac, (r, scale, aux) = jax.jacfwd(with_aux, has_aux=True)(x)
    return r, jac, jnp.max(jnp.abs(r)) / scale, aux


def _matrix_free_step(fn: ResidualFn, x, r, solver: lx.AbstractLinearSolver):
    # J(x) as Jacobian-vector products of the residual (one linearisation, then each
    # Krylov iteration costs about one gradient of L): no n x n matrix is formed.
    operator = lx.linearise(lx.JacobianLinearOperator(lambda y, _: fn(y)[0], x))
    sol = lx.linear_solve(operator, r, solver, throw=False)
    # A Krylov solve that stopped early still gives a descent step; a NaN one gives none.
    return jnp.where(jnp.all(jnp.isfinite(sol.value)), sol.value, 0.0)


def newton(
    fn: ResidualFn,
    x0: Float[Array, " n"],
    *,
    tol: float,
    max_iter: int,
    linear_solver: lx.AbstractLinearSolver | None = None,
) -> NewtonResult:
    r"""Solve $r(x) = 0$ by Newton's method, with a dense Jacobian or matrix-free.

    Iterates while the relative residual is above `tol`, and then for as long as each update
    at least halves it: the solve ends at rounding level, not merely at the tolerance, which
    the exact conservation of the variational integrator needs. The best iterate seen is
    returned, so noise at the rounding floor never makes the answer worse.

    **Arguments:**

    - `fn`: maps $x$ to `(r, scale, aux)`: the residual vector, a positive scalar of the size
        of the terms that cancel in it, and an auxiliary value returned for the solution.
    - `x0`: the initial guess.
    - `tol`: tolerance on the relative residual $\|r\|_\infty / \mathrm{scale}$.
    - `max_iter`: cap on the number of Newton updates.
    - `linear_solver`: `None` for the dense Jacobian (`jax.jacfwd`, n Jacobian-vector
        products) and LU, right for small systems; a lineax solver such as
        `lx.GMRES(rtol=1e-12, atol=0.0)` for a matrix-free Newton step (each Krylov
        iteration one Jacobian-vector product), for large sparse systems such as a local
        model of many particles.

    **Returns:**

    A [`NewtonResult`][].
    """
    if linear_solver is not None:
        return _newton_matrix_free(fn, x0, tol=tol, max_iter=max_iter, solver=linear_solver)
    r0, jac0, res0, aux0 = _linearise(fn, x0)
    inf = jnp.asarray(jnp.inf, res0.dtype)

    def cond(carry):
        it, _, _, _, res, prev, _ = carry
        return (it < max_iter) & ((res > tol) | (res < 0.5 * prev))

    def body(carry):
        it, x, r, jac, res, _, best = carry
        # lu_factor/lu_solve rather than jnp.linalg.solve: same LAPACK LU, but a third of
        # the compile time (no custom_linear_solve wrapper).
        x = x - jax.scipy.linalg.lu_solve(jax.scipy.linalg.lu_factor(jac), r)
        r, jac, new_res, aux = _linearise(fn, x)
        # Smaller, or finite where the best so far is NaN; a NaN never replaces a number.
        better = (new_res < best[1]) | (jnp.isnan(best[1]) & ~jnp.isnan(new_res))
        best = jax.tree.map(lambda a, b: jnp.where(better, a, b), (x, new_res, aux, it + 1), best)
        return it + 1, x, r, jac, new_res, res, best

    init = (jnp.asarray(0), x0, r0, jac0, res0, inf, (x0, res0, aux0, jnp.asarray(0)))
    *_, (x, res, aux, it) = jax.lax.while_loop(cond, body, init)
    # NaN compares false, so a diverged solve is reported as not converged.
    return NewtonResult(x, res, aux, it, res <= tol)


def _newton_matrix_free(fn: ResidualFn, x0, *, tol, max_iter, solver) -> NewtonResult:
    # The same iteration and stopping rule as the dense `newton`, with the step from a
    # Krylov solve of J(x) d = r.
    return newton_iterate(fn, x0, lambda x, r: _matrix_free_step(fn, x, r, solver), tol=tol,
                          max_iter=max_iter)  # fmt: skip


def newton_iterate(fn: ResidualFn, x0, step, *, tol, max_iter) -> NewtonResult:
    """Newton's iteration x <- x - step(x, r(x)) with `newton`'s stopping rule (past the
    tolerance, while each update at least halves the residual), returning the best iterate;
    `step` is the matrix-free update (a Krylov solve, preconditioned sweeps, ...)."""
    r0, scale0, aux0 = fn(x0)
    res0 = jnp.max(jnp.abs(r0)) / scale0
    inf = jnp.asarray(jnp.inf, res0.dtype)

    def cond(carry):
        it, _, _, res, prev, _ = carry
        return (it < max_iter) & ((res > tol) | (res < 0.5 * prev))

    def body(carry):
        it, x, r, res, _, best = carry
        x = x - step(x, r)
        r, scale, aux = fn(x)
        new_res = jnp.max(jnp.abs(r)) / scale
        better = (new_res < best[1]) | (jnp.isnan(best[1]) & ~jnp.isnan(new_res))
        best = jax.tree.map(lambda a, b: jnp.where(better, a, b), (x, new_res, aux, it + 1), best)
        return it + 1, x, r, new_res, res, best

    init = (jnp.asarray(0), x0, r0, res0, inf, (x0, res0, aux0, jnp.asarray(0)))
    *_, (x, res, aux, it) = jax.lax.while_loop(cond, body, init)
    return NewtonResult(x, res, aux, it, res <= tol)


def newton_setting_problems(tol, max_iter) -> list[str]:
    """What is wrong with a Newton tolerance and iteration cap (empty when both are valid)."""
    problems = []
    if tol is not None and not (
        isinstance(tol, numbers.Real) and not isinstance(tol, bool) and math.isfinite(tol)
        and tol > 0
    ):  # fmt: skip
        problems.append(f"tol must be positive (or None for the default), got {tol!r}")
    if not (isinstance(max_iter, numbers.Integral) and not isinstance(max_iter, bool)
            and max_iter >= 1):  # fmt: skip
        problems.append(f"max_iter must be a positive int, got {max_iter!r}")
    return problems


def default_tol(dtype) -> float:
    """Default Newton tolerance for `dtype`: 256 machine epsilons (5.7e-14 in float64,
    3.1e-5 in float32), above the rounding floor of the residuals of network Lagrangians."""
    return 256 * float(jnp.finfo(dtype).eps)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 3, 4))
def _solve(fn, x0, args, tol, max_iter):
    sol = newton(lambda x: fn(x, args), x0, tol=tol, max_iter=max_iter)
    # A diverged solve returns its guess with an infinite residual: NaN would reach the
    # backward pass, where even a zero cotangent times a NaN partial derivative is NaN.
    ok = jnp.all(jnp.isfinite(sol.x)) & jnp.isfinite(sol.residual)
    return jnp.where(ok, sol.x, x0), jnp.where(ok, sol.residual, jnp.inf)


def _solve_fwd(fn, x0, args, tol, max_iter):
    x, residual = _solve(fn, x0, args, tol, max_iter)
    return (x, residual), (x, args)


def _solve_bwd(fn, tol, max_iter, saved, cotangents):
    # r(x*(a), a) = 0  =>  dx*/da = -J^{-1} dr/da with J = dr/dx at x*: the cotangent of a
    # is -(dr/da)^T J^{-T} g, one transposed solve and one VJP of the residual.
    x, args = saved
    g, _ = cotangents
    jac = jax.jacfwd(lambda y: fn(y, args)[0])(x)
    lam = jax.scipy.linalg.lu_solve(jax.scipy.linalg.lu_factor(jac), g, trans=1)
    # A failed solve (singular J) gives no gradient rather than NaN; the losses leave the
    # windows of failed solves out with a zero cotangent.
    lam = jnp.where(jnp.isfinite(lam), lam, 0)
    _, vjp = jax.vjp(lambda a: fn(x, a)[0], args)
    return jnp.zeros_like(x), vjp(-lam)[0]


_solve.defvjp(_solve_fwd, _solve_bwd)


def implicit_newton(
    fn: Callable, x0: Float[Array, " n"], args: PyTree, *, tol: float, max_iter: int
) -> tuple[Float[Array, " n"], Float[Array, ""]]:
    """Solve $r(x, a) = 0$ for $x$ by Newton's method, differentiable in $a$ by the
    implicit function theorem.

    **Arguments:**

    - `fn`: `fn(x, args) -> (r, scale, aux)`, the residual as [`newton`][] takes it. Every
        traced value it depends on must come in through `args`: JAX refuses to
        differentiate a `custom_vjp` through a closure (`jax.closure_convert` hoists them,
        as `discrete_rollout` does).
    - `x0`: the initial guess (no gradient flows to it: the solution does not depend on it).
    - `args`: a PyTree of floating arrays, the parameters the solution is differentiated in.
    - `tol`, `max_iter`: Newton's relative tolerance and cap on updates.

    **Returns:**

    `(x, residual)`: the solution and its relative residual (not differentiated); `x0` and
    an infinite residual when the solve diverged.
    """
    return _solve(fn, x0, args, tol, max_iter)
