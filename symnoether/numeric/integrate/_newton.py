# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Newton's method for the small nonlinear systems of the implicit integrators."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

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


def newton(fn: ResidualFn, x0: Float[Array, " n"], *, tol: float, max_iter: int) -> NewtonResult:
    r"""Solve $r(x) = 0$ by Newton's method with a dense Jacobian.

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

    **Returns:**

    A [`NewtonResult`][].
    """
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
