# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The one Lagrangian abstraction of the numeric half.

Every model (a [`LagrangianNetwork`][], the natural and local families, a user's own
subclass), a wrapped JAX function (the role a Diffrax `ODETerm` plays) and the float32
wrapper of mixed-precision evaluation are [`AbstractLagrangian`][]s. Integrators, losses,
training and evaluation call only the methods declared here, so a new family is one
subclass: nothing elsewhere probes for what a model can do.

The defaults are automatic differentiation of the Euler-Lagrange equations; a subclass
overrides them with closed forms where it has them (a network's chain rule through the
generated invariant derivatives, a natural Lagrangian's mass matrix).
"""

import abc
from collections.abc import Callable
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float, Int, Scalar

from .contract import time_keywords
from .dynamics import (
    autodiff_terms,
    condition_number,
    count_ill_conditioned,
    solve_mass_matrices,
    solve_mass_matrix,
    velocity_hessian,
)
from .forces import AbstractForce, ZeroForce
from .matrix_free import BlockSweeps

__all__ = ["AbstractLagrangian", "FunctionLagrangian", "MixedPrecision", "as_lagrangian"]


class AbstractLagrangian(eqx.Module):
    """A Lagrangian $L(q, \\dot q)$ with the dynamics and charges of its Euler-Lagrange
    equations.

    Subclasses implement `__call__` and declare `module` (the generated module whose
    generators give the Noether charges, or `None`). Every other method has a default by
    automatic differentiation, which a subclass may override with a closed form; the
    overrides must agree with the defaults to rounding (the test suite checks this for
    every subclass it knows, see `tests/test_lagrangian.py`).

    Methods take one state `(n,)` unless their name says `batched_`: then `(batch, n)`.
    """

    #: The generated module (charges, energy, names), or `None` for a Lagrangian that has
    #: none (then `charges` raises).
    module: eqx.AbstractVar[ModuleType | None]

    @abc.abstractmethod
    def __call__(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The Lagrangian of one state."""

    def euler_lagrange(
        self, q: Float[Array, " n"], qdot: Float[Array, " n"]
    ) -> tuple[Float[Array, "n n"], Float[Array, " n"]]:
        """`(mass, rhs)`: $\\partial^2 L/\\partial\\dot q^2$ and
        $\\partial L/\\partial q - (\\partial^2 L/\\partial\\dot q\\,\\partial q)\\,\\dot q$,
        so that the acceleration solves `mass @ qddot = rhs`. Default: autodiff."""
        return autodiff_terms(self, q, qdot)

    def solve(self, mass: Float[Array, "n n"], rhs: Float[Array, " n"]) -> Float[Array, " n"]:
        """Solve `mass @ x = rhs` for one state. Default: LU with partial pivoting (any
        invertible mass matrix; a definite family may use Cholesky)."""
        return solve_mass_matrix(mass, rhs)

    def batched_solve(
        self, mass: Float[Array, "batch n n"], rhs: Float[Array, "batch n"]
    ) -> Float[Array, "batch n"]:
        """`solve` over a batch. Default: the vectorised elimination of
        `dynamics.solve_mass_matrices`."""
        return solve_mass_matrices(mass, rhs)

    def acceleration(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Float[Array, " n"]:
        """$\\ddot q$ of one state from the Euler-Lagrange equations."""
        return self.solve(*self.euler_lagrange(q, qdot))

    def batched_acceleration(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"]
    ) -> Float[Array, "batch n"]:
        """$\\ddot q$ of a batch of states. Default: `jax.vmap(self.acceleration)`; a
        subclass overrides it where a whole batch at once is cheaper (training and RK4
        rollouts call this)."""
        return jax.vmap(self.acceleration)(q, qdot)

    def mass_matrix(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Float[Array, "n n"]:
        """$\\partial^2 L/\\partial\\dot q^2$ of one state. Default: autodiff."""
        return velocity_hessian(self, q, qdot)

    def charges(
        self, q: Float[Array, " n"], qdot: Float[Array, " n"], *, t: float | Array = 0.0
    ) -> Float[Array, " k"]:
        """The Noether charges $I_a = \\partial L/\\partial \\dot q \\cdot \\xi_a - F_a$ of
        the module's generators at time `t` (used only by time-dependent generators)."""
        if self.module is None:
            raise ValueError(
                f"{type(self).__name__} has no generated module, so it has no Noether "
                "charges; give it the module (e.g. FunctionLagrangian(fn, module=module))"
            )
        return self.module.noether_charges(self, q, qdot, **time_keywords(self.module, t))

    def energy(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The energy $E = \\dot q \\cdot \\partial L/\\partial \\dot q - L$."""
        return qdot @ jax.grad(self, argnums=1)(q, qdot) - self(q, qdot)

    def rescaled(self, factor: Scalar) -> "AbstractLagrangian":
        """This Lagrangian times the constant `factor` (same dynamics), for the scale that
        training on positions starts from. Default: `self` unchanged, for a Lagrangian
        whose scale cannot (or need not) be changed; position training then relies on its
        scale term alone."""
        return self

    def linear_solver(self) -> lx.AbstractLinearSolver | BlockSweeps | None:
        """The linear solver of the Newton steps of implicit integrators (the variational
        method). Default `None`: the dense Jacobian (`jax.jacfwd`) and LU, right for small
        n. A family whose Jacobian is large and sparse returns a lineax solver such as
        `lx.GMRES`, or a [`BlockSweeps`][] where the block diagonal of
        $\\partial^2 L/\\partial\\dot q^2$ is (nearly) all of it (a local model of many
        particles): the Newton step is then matrix-free, Jacobian-vector products only."""
        return None

    def forcing(self) -> AbstractForce:
        """The non-conservative force that `acceleration` includes, for the integrators
        (the variational method adds its impulse to the discrete momenta). Default
        [`ZeroForce`][]: a conservative Lagrangian."""
        return ZeroForce()

    @property
    def explicit_time(self) -> bool:
        """Whether the dynamics depend on the time: then `acceleration` takes a keyword
        `t` and integrators pass it. Default `False`."""
        return False

    @property
    def lagrangian_explicit_time(self) -> bool:
        """Whether the Lagrangian itself depends on the time, $L(q, \\dot q, t)$ (not only a
        force): then `__call__` takes a keyword `t`, and the variational method steps
        `lagrangian_at(t)` ([`AbstractTimeLagrangian`][]). Default `False`."""
        return False

    def lagrangian_at(self, t) -> "Function":
        """The Lagrangian at the time `t` as a function `L(q, qdot)`. Default: `self` (an
        autonomous Lagrangian has no time to fix)."""
        return self

    @property
    def fixed_scale(self) -> bool:
        """Whether a known part fixes the scale of $L$ (then the position loss needs no
        scale term). Default `False`."""
        return False

    @property
    def dtype(self) -> jnp.dtype:
        """The dtype of the parameters: of the first floating array, else JAX's default."""
        leaves = jax.tree.leaves(eqx.filter(self, eqx.is_inexact_array))
        return leaves[0].dtype if leaves else jnp.dtype(jnp.asarray(0.0).dtype)

    def hessian_condition(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The condition number of the mass matrix of one state (`inf` if singular)."""
        return condition_number(self.mass_matrix(q, qdot))

    def count_ill_conditioned(
        self,
        q: Float[Array, "batch n"],
        qdot: Float[Array, "batch n"],
        *,
        max_condition: float | None = None,
    ) -> Int[Array, ""]:
        """Count the states of a batch whose mass matrix is singular or badly conditioned.

        **Arguments:**

        - `q`, `qdot`: a batch of states.
        - `max_condition`: threshold, default `dynamics.default_max_condition(dtype)`.

        **Returns:**

        The number of ill-conditioned states (an integer array; `int(...)` it).
        """
        masses = jax.vmap(self.mass_matrix)(q, qdot)
        return count_ill_conditioned(masses, max_condition=max_condition)


Function = Callable[[Float[Array, " n"], Float[Array, " n"]], Scalar]
Acceleration = Callable[[Float[Array, " n"], Float[Array, " n"]], Float[Array, " n"]]


class FunctionLagrangian(AbstractLagrangian):
    """Any JAX function `L(q, qdot) -> scalar` as an [`AbstractLagrangian`][], optionally
    with a closed-form acceleration (a generated module's `lagrangian` and `acceleration`).

    **Fields:**

    - `function`: the Lagrangian of one state (a plain function or an `eqx.Module`, whose
        arrays stay leaves: a jitted rollout is not recompiled for new weights).
    - `closed_form`: `acceleration(q, qdot) -> qddot` of one state, or `None` for the
        automatic differentiation of the Euler-Lagrange equations.
    - `module`: the generated module, for the charges; `None` for none.
    """

    function: Function
    closed_form: Acceleration | None = None
    module: ModuleType | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if not callable(self.function):
            raise TypeError(f"a Lagrangian must be callable as L(q, qdot), got {self.function!r}")

    def __call__(self, q, qdot):
        return self.function(q, qdot)

    def acceleration(self, q, qdot):
        if self.closed_form is None:
            return super().acceleration(q, qdot)
        return self.closed_form(q, qdot)


class MixedPrecision(AbstractLagrangian):
    """A float32 model seen from float64 states (`evaluate(dtype="mixed")`): every call
    casts the state to float32 and the result back, as the reference's set-up does (its RK4
    keeps the state in NumPy float64 and calls a float32 TensorFlow network). The model's
    own methods (closed forms and batched paths included) do the work; the integrators'
    arithmetic, the state and the charges' contraction run in float64. A forced model's
    force (`forcing`) and time (`explicit_time`) are forwarded, the force evaluated in
    float32 too.

    **Fields:**

    - `model`: the float32 [`AbstractLagrangian`][].
    """

    model: AbstractLagrangian

    @property
    def module(self):
        return self.model.module

    def _in(self, f, *xs):
        out = f(*(x.astype(jnp.float32) for x in xs))
        return out.astype(xs[0].dtype)

    def __call__(self, q, qdot):
        return self._in(self.model, q, qdot)

    def euler_lagrange(self, q, qdot):
        mass, rhs = self.model.euler_lagrange(q.astype(jnp.float32), qdot.astype(jnp.float32))
        return mass.astype(q.dtype), rhs.astype(q.dtype)

    def _timed(self, f, t):
        # The time reaches a model driven in time (`explicit_time`), in float32 too.
        if not self.model.explicit_time:
            return f
        return lambda q, qdot: f(q, qdot, t=jnp.asarray(t, jnp.float32))

    def acceleration(self, q, qdot, *, t=0.0):
        return self._in(self._timed(self.model.acceleration, t), q, qdot)

    def batched_acceleration(self, q, qdot, *, t=0.0):
        return self._in(self._timed(self.model.batched_acceleration, t), q, qdot)

    def mass_matrix(self, q, qdot):
        return self._in(self.model.mass_matrix, q, qdot)

    def linear_solver(self):
        return self.model.linear_solver()

    def forcing(self) -> AbstractForce:
        """The model's force, evaluated in float32 like the rest of it (the variational
        method adds its impulse in float64)."""
        return _Float32Force(self.model.forcing())

    @property
    def explicit_time(self) -> bool:
        return self.model.explicit_time

    def __check_init__(self):
        if self.model.lagrangian_explicit_time:
            raise ValueError(
                "MixedPrecision does not cover a Lagrangian that depends on the time "
                f"explicitly ({type(self.model).__name__}); evaluate it in float64 or float32 "
                "(evaluate's dtype=)"
            )


class _Float32Force(AbstractForce):
    # A float32 model's force seen from float64 states (MixedPrecision.forcing).
    force: AbstractForce

    def __call__(self, q, qdot, *, t=0.0):
        out = self.force(q.astype(jnp.float32), qdot.astype(jnp.float32),
                         t=jnp.asarray(t, jnp.float32))  # fmt: skip
        return out.astype(q.dtype)

    @property
    def explicit_time(self) -> bool:
        return self.force.explicit_time


def as_lagrangian(
    lagrangian: "AbstractLagrangian | Function",
    acceleration: Acceleration | None = None,
    *,
    module: ModuleType | None = None,
) -> AbstractLagrangian:
    """`lagrangian` as an [`AbstractLagrangian`][]: itself, or a plain function wrapped in
    a [`FunctionLagrangian`][]. With `acceleration`, that closed form replaces the
    Lagrangian's own (integrate's `acceleration=`).

    **Arguments:**

    - `lagrangian`: an `AbstractLagrangian` or a JAX function `L(q, qdot) -> scalar`.
    - `acceleration`: a closed-form `acceleration(q, qdot)` of one state, or `None`.
    - `module`: the generated module of a wrapped function, if known.

    **Returns:**

    The `AbstractLagrangian`. A `TypeError` for anything that is not callable.
    """
    if isinstance(lagrangian, AbstractLagrangian) and acceleration is None:
        return lagrangian
    if not callable(lagrangian):
        raise TypeError(
            "expected a Lagrangian: an sn.AbstractLagrangian (a LagrangianNetwork, ...) or a "
            f"JAX function L(q, qdot) -> scalar, got {type(lagrangian).__name__}"
        )
    if isinstance(lagrangian, AbstractLagrangian):
        module = lagrangian.module
    return FunctionLagrangian(lagrangian, acceleration, module)
