# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Euler-Lagrange dynamics of any JAX Lagrangian, and the linear solve they share.

For a Lagrangian $L(q, \\dot q)$ the Euler-Lagrange equations give the acceleration

$$\\frac{\\partial^2 L}{\\partial \\dot q^2} \\ddot q = \\frac{\\partial L}{\\partial q}
  - \\frac{\\partial^2 L}{\\partial \\dot q\\,\\partial q}\\dot q.$$

The matrix $\\partial^2 L / \\partial \\dot q^2$ (the "mass matrix") is solved with a
factorisation, never inverted. A learned Lagrangian can make it singular or badly
conditioned; `condition_number` and `count_ill_conditioned` find such states, and
`max_condition=` turns them into an error under `jit` (`eqx.error_if`).
"""

import sys
import warnings
from collections.abc import Callable
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, Scalar

from ._batched import SMALL_SOLVE_MAX_N, solve_small

__all__ = [
    "MASS_SOLVES",
    "MassSolve",
    "acceleration",
    "autodiff_terms",
    "check_float_dtype",
    "condition_number",
    "count_ill_conditioned",
    "default_max_condition",
    "euler_lagrange_terms",
    "resolve_mass_solve",
    "solve_mass_matrices",
    "solve_mass_matrix",
    "velocity_hessian",
]

#: How the mass matrix d2L/dqdot2 is solved (see `solve_mass_matrix`).
MassSolve = Literal["solve", "cholesky", "pinv"]
MASS_SOLVES: tuple[str, ...] = ("solve", "cholesky", "pinv")
Lagrangian = Callable[[Float[Array, " n"], Float[Array, " n"]], Scalar]

# Deprecated names of this module -> their replacements.
_RENAMED = {"SOLVERS": "MASS_SOLVES", "Solver": "MassSolve"}


def __getattr__(name: str):
    if name in _RENAMED:
        warnings.warn(
            f"dynamics.{name} is deprecated; use dynamics.{_RENAMED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _caller_stacklevel() -> int:
    # The `stacklevel` of the first frame outside the numeric half and Equinox (whose
    # metaclass calls `__init__`): the line where the deprecated keyword was written.
    level, frame = 2, sys._getframe(2)  # 1 is resolve_mass_solve itself
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        ("symnoether.numeric", "equinox")
    ):
        level, frame = level + 1, frame.f_back
    return level


def resolve_mass_solve(mass_solve: MassSolve, solver: MassSolve | None) -> MassSolve:
    """`mass_solve`, or the value of its deprecated spelling `solver=` (with a warning).

    **Arguments:**

    - `mass_solve`: the mass-matrix solve as given (default `"solve"`).
    - `solver`: the deprecated keyword's value, `None` when not given. The
        `DeprecationWarning` points at the first caller outside this package's numeric half.

    **Returns:**

    The mass-matrix solve to use. A `TypeError` when both are given and differ.
    """
    if solver is None:
        return mass_solve
    warnings.warn(
        "`solver=` is deprecated and will be removed: the mass-matrix linear solve is now "
        f"`mass_solve=` (same values); write mass_solve={solver!r}",
        DeprecationWarning,
        stacklevel=_caller_stacklevel(),
    )
    if mass_solve not in ("solve", solver):
        raise TypeError(
            f"got mass_solve={mass_solve!r} and its deprecated spelling solver={solver!r}; "
            "give mass_solve= only"
        )
    return solver


def _unknown_mass_solve(mass_solve) -> ValueError:
    return ValueError(f"unknown mass_solve {mass_solve!r}; expected one of {MASS_SOLVES}")


def check_float_dtype(dtype) -> np.dtype:
    """Return `dtype` as a NumPy floating dtype that JAX can hold, or raise.

    **Arguments:**

    - `dtype`: `jnp.float32`, `jnp.float64`, `"float32"`, ...

    **Returns:**

    The `np.dtype`. A `TypeError` for a non-floating dtype; a `ValueError` for float64 while
    JAX's 64-bit mode is off (JAX would silently give float32).
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"expected a floating dtype such as float32, got {dtype!r}") from error
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"expected a floating dtype (float32 or float64), got {dtype}")
    if jnp.zeros((), dtype).dtype != dtype:
        raise ValueError(
            f"dtype {dtype} needs JAX's 64-bit mode, which is off; enable it with "
            "`jax.config.update('jax_enable_x64', True)` before creating arrays, or use float32"
        )
    return dtype


def default_max_condition(dtype) -> float:
    """The condition number above which a solve in `dtype` may lose more than 1% accuracy.

    **Arguments:**

    - `dtype`: the floating dtype of the matrix.

    **Returns:**

    `0.01 / eps`: about 8e4 in float32 and 4.5e13 in float64 (relative error ~ cond * eps).
    """
    return 0.01 / float(jnp.finfo(dtype).eps)


def condition_number(hessian: Float[Array, "n n"]) -> Scalar:
    """The 2-norm condition number of a mass matrix, `inf` when singular or non-finite.

    **Arguments:**

    - `hessian`: $\\partial^2 L / \\partial \\dot q^2$ of one state.

    **Returns:**

    $\\sigma_{max} / \\sigma_{min}$ (an SVD: use it for diagnostics, not on every step).
    """
    finite = jnp.all(jnp.isfinite(hessian))
    safe = jnp.where(finite, hessian, jnp.eye(hessian.shape[-1], dtype=hessian.dtype))
    sigma = jnp.linalg.svd(safe, compute_uv=False)
    cond = sigma[0] / sigma[-1]
    return jnp.where(finite & jnp.isfinite(cond), cond, jnp.inf)


def count_ill_conditioned(
    hessians: Float[Array, "batch n n"], *, max_condition: float | None = None
) -> Int[Array, ""]:
    """Count the mass matrices of a batch that are singular or badly conditioned.

    **Arguments:**

    - `hessians`: a batch of $\\partial^2 L / \\partial \\dot q^2$.
    - `max_condition`: the largest acceptable condition number; default
        `default_max_condition(hessians.dtype)`.

    **Returns:**

    The number of states whose condition number exceeds `max_condition` (or is `inf`).
    """
    if max_condition is None:
        max_condition = default_max_condition(hessians.dtype)
    cond = jax.vmap(condition_number)(hessians)
    return jnp.sum(~(cond <= max_condition))


def _ill_conditioned_message(max_condition: float) -> str:
    return (
        f"d2L/dqdot2 is singular or has condition number above {max_condition:g}: the "
        "acceleration is unreliable. Check the model, or raise `max_condition`."
    )


def solve_mass_matrix(
    hessian: Float[Array, "n n"],
    rhs: Float[Array, " n"],
    *,
    mass_solve: MassSolve = "solve",
    max_condition: float | None = None,
    solver: MassSolve | None = None,
) -> Float[Array, " n"]:
    """Solve $\\partial^2 L / \\partial \\dot q^2\\, x = $ `rhs` for one state.

    **Arguments:**

    - `hessian`: the mass matrix.
    - `rhs`: the right-hand side of the Euler-Lagrange equations.
    - `mass_solve`: `"solve"` (LU with partial pivoting, any invertible matrix: the default,
        since a Lagrangian such as Schwarzschild's has an indefinite mass matrix),
        `"cholesky"` (faster, symmetric positive definite only: NaN otherwise) or `"pinv"`
        (the reference implementation's pseudo-inverse: finite but arbitrary on singular
        matrices).
    - `max_condition`: if given, raise under `jit` (`eqx.error_if`) when the condition number
        exceeds it or the solution is not finite. Costs an SVD per state.
    - `solver`: deprecated spelling of `mass_solve`.

    **Returns:**

    The solution $x$ (the acceleration).
    """
    mass_solve = resolve_mass_solve(mass_solve, solver)
    if mass_solve == "solve":
        x = jnp.linalg.solve(hessian, rhs)
    elif mass_solve == "cholesky":
        factor = jax.scipy.linalg.cho_factor(hessian)
        x = jax.scipy.linalg.cho_solve(factor, rhs)
    elif mass_solve == "pinv":
        x = jnp.linalg.pinv(hessian, hermitian=True) @ rhs
    else:
        raise _unknown_mass_solve(mass_solve)
    if max_condition is not None:
        bad = ~(condition_number(hessian) <= max_condition) | ~jnp.all(jnp.isfinite(x))
        x = eqx.error_if(x, bad, _ill_conditioned_message(max_condition))
    return x


def solve_mass_matrices(
    hessians: Float[Array, "batch n n"],
    rhs: Float[Array, "batch n"],
    *,
    mass_solve: MassSolve = "solve",
    max_condition: float | None = None,
    solver: MassSolve | None = None,
) -> Float[Array, "batch n"]:
    """`solve_mass_matrix` over a batch, vectorised across it.

    With `mass_solve="solve"` and n <= 16 the batch is solved by one Gaussian elimination
    with partial pivoting written over the whole batch (the pivoting LAPACK uses, without
    a LAPACK call per matrix); otherwise `solve_mass_matrix` is `vmap`ped.

    **Arguments:**

    - `hessians`: the mass matrices.
    - `rhs`: the right-hand sides.
    - `mass_solve`, `max_condition`, `solver`: see `solve_mass_matrix`.

    **Returns:**

    The solutions, shape `(batch, n)`.
    """
    mass_solve = resolve_mass_solve(mass_solve, solver)
    if mass_solve not in MASS_SOLVES:
        raise _unknown_mass_solve(mass_solve)
    if mass_solve != "solve" or hessians.shape[-1] > SMALL_SOLVE_MAX_N:
        return jax.vmap(
            lambda h, r: solve_mass_matrix(h, r, mass_solve=mass_solve, max_condition=max_condition)
        )(hessians, rhs)
    x = solve_small(hessians, rhs)
    if max_condition is not None:
        bad = ~(jax.vmap(condition_number)(hessians) <= max_condition) | ~jnp.all(
            jnp.isfinite(x), axis=-1
        )
        x = eqx.error_if(x, jnp.any(bad), _ill_conditioned_message(max_condition))
    return x


def euler_lagrange_terms(
    ds_dq: Float[Array, "*batch m n"],
    ds_dqdot: Float[Array, "*batch m n"],
    d2s_dqdot2: Float[Array, "*batch m n n"],
    d2s_mixed: Float[Array, "*batch m n"],
    gradient: Float[Array, "*batch m"],
    hessian: Float[Array, "*batch m m"],
    qdot: Float[Array, "*batch n"],
) -> tuple[Float[Array, "*batch n n"], Float[Array, "*batch n"]]:
    """The Euler-Lagrange equations of $L = f(S(q, \\dot q))$ by the chain rule, for one
    state or a batch (leading axes).

    With $f'$ and $H_f$ the gradient and Hessian of $f$ at $S$ (docs/GENERATED_MODULE.md):
    $\\partial^2 L/\\partial\\dot q^2 = S_{\\dot q}^T H_f S_{\\dot q} + \\sum_j f'_j
    \\partial^2 S_j/\\partial\\dot q^2$ and the right-hand side
    $S_q^T f' - S_{\\dot q}^T H_f (S_q \\dot q) - \\sum_j f'_j
    (\\partial^2 S_j/\\partial\\dot q\\,\\partial q)\\,\\dot q$.

    **Arguments:**

    - `ds_dq`, `ds_dqdot`, `d2s_dqdot2`, `d2s_mixed`: the derivatives of the features, as a
        generated module's `invariant_derivatives` returns them (`d2s_mixed` already
        contracted with $\\dot q$).
    - `gradient`, `hessian`: $f'$ and $H_f$ at the features.
    - `qdot`: the velocities.

    **Returns:**

    `(mass, rhs)`: $\\partial^2 L/\\partial\\dot q^2$ and
    $\\partial L/\\partial q - (\\partial^2 L/\\partial\\dot q\\,\\partial q)\\,\\dot q$; the
    acceleration solves `mass @ qddot = rhs`.
    """
    m, n = ds_dq.shape[-2:]
    if m * n > _UNROLL_MAX:
        return _euler_lagrange_einsum(ds_dq, ds_dqdot, d2s_dqdot2, d2s_mixed, gradient,
                                      hessian, qdot)
    # Sums over the small axes are written as sums of slices: elementwise work that XLA
    # fuses over a batch (faster there than batched small matrix products).
    h_ds_dqdot = sum(hessian[..., :, k, None] * ds_dqdot[..., None, k, :] for k in range(m))
    mass = sum(
        ds_dqdot[..., k, :, None] * h_ds_dqdot[..., k, None, :]
        + gradient[..., k, None, None] * d2s_dqdot2[..., k, :, :]
        for k in range(m)
    )
    ds_dq_qdot = sum(ds_dq[..., :, i] * qdot[..., None, i] for i in range(n))  # (*batch, m)
    rhs = sum(
        gradient[..., k, None] * (ds_dq[..., k, :] - d2s_mixed[..., k, :])
        - h_ds_dqdot[..., k, :] * ds_dq_qdot[..., k, None]
        for k in range(m)
    )
    return mass, rhs


# Above this many (feature, coordinate) pairs the unrolled sums above would trace m separate
# slices (thousands for many particles: slow to compile); contractions are used instead.
_UNROLL_MAX = 256


def _euler_lagrange_einsum(ds_dq, ds_dqdot, d2s_dqdot2, d2s_mixed, gradient, hessian, qdot):
    h_ds_dqdot = jnp.einsum("...kl,...ln->...kn", hessian, ds_dqdot)
    mass = (jnp.einsum("...ka,...kb->...ab", ds_dqdot, h_ds_dqdot)
            + jnp.einsum("...k,...kab->...ab", gradient, d2s_dqdot2))
    ds_dq_qdot = jnp.einsum("...ki,...i->...k", ds_dq, qdot)
    rhs = (jnp.einsum("...k,...ka->...a", gradient, ds_dq - d2s_mixed)
           - jnp.einsum("...ka,...k->...a", h_ds_dqdot, ds_dq_qdot))
    return mass, rhs


def autodiff_terms(
    lagrangian: Lagrangian, q: Float[Array, " n"], qdot: Float[Array, " n"]
) -> tuple[Float[Array, "n n"], Float[Array, " n"]]:
    """The Euler-Lagrange terms of any JAX Lagrangian, by automatic differentiation.

    **Arguments:**

    - `lagrangian`: a JAX function `(q, qdot) -> scalar`.
    - `q`, `qdot`: one state; batch with `jax.vmap`.

    **Returns:**

    `(mass, rhs)`: $\\partial^2 L/\\partial\\dot q^2$ and
    $\\partial L/\\partial q - (\\partial^2 L/\\partial\\dot q\\,\\partial q)\\,\\dot q$.
    """
    n = q.shape[0]
    gradients = jax.grad(lagrangian, argnums=(0, 1))
    # One forward-over-reverse sweep with n + 1 tangents: (0, e_i) give the rows of
    # d2L/dqdot2, (qdot, 0) gives the mixed term (d2L/dqdot dq) qdot; dL/dq is the primal.
    eye = jnp.eye(n, dtype=q.dtype)
    tangents_q = jnp.concatenate([jnp.zeros_like(eye), qdot[None]])
    tangents_qdot = jnp.concatenate([eye, jnp.zeros_like(qdot)[None]])

    def push(tq, tv):
        (dl_dq, _), (_, dp) = jax.jvp(gradients, (q, qdot), (tq, tv))
        return dl_dq, dp

    dl_dq, rows = jax.vmap(push, out_axes=(None, 0))(tangents_q, tangents_qdot)
    return rows[:n], dl_dq - rows[n]


def velocity_hessian(
    lagrangian: Lagrangian, q: Float[Array, " n"], qdot: Float[Array, " n"]
) -> Float[Array, "n n"]:
    """The mass matrix $\\partial^2 L / \\partial \\dot q^2$ of any Lagrangian, by autodiff.

    **Arguments:**

    - `lagrangian`: a JAX function `(q, qdot) -> scalar`.
    - `q`, `qdot`: one state.

    **Returns:**

    The `(n, n)` matrix.
    """
    return jax.hessian(lagrangian, argnums=1)(q, qdot)


def acceleration(
    lagrangian: Lagrangian,
    q: Float[Array, " n"],
    qdot: Float[Array, " n"],
    *,
    mass_solve: MassSolve = "solve",
    max_condition: float | None = None,
    solver: MassSolve | None = None,
) -> Float[Array, " n"]:
    """The Euler-Lagrange acceleration of any JAX Lagrangian, by automatic differentiation.

    **Arguments:**

    - `lagrangian`: a JAX function `(q, qdot) -> scalar` (a network, a true Lagrangian).
    - `q`, `qdot`: one state; batch with `jax.vmap`.
    - `mass_solve`, `max_condition`, `solver`: see `solve_mass_matrix`.

    **Returns:**

    $\\ddot q$, shape `(n,)`.
    """
    mass_solve = resolve_mass_solve(mass_solve, solver)
    hessian, rhs = autodiff_terms(lagrangian, q, qdot)
    return solve_mass_matrix(hessian, rhs, mass_solve=mass_solve, max_condition=max_condition)
