# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Explicitly time-dependent Lagrangians $L(t, q, \\dot q)$ (issue 26): the true one of a
module and a learned network.

With an explicit time the Euler-Lagrange equations gain the term
$\\partial^2 L/\\partial\\dot q\\,\\partial t$:

$$\\frac{\\partial^2 L}{\\partial\\dot q^2}\\ddot q = \\frac{\\partial L}{\\partial q}
  - \\frac{\\partial^2 L}{\\partial\\dot q\\,\\partial q}\\dot q
  - \\frac{\\partial^2 L}{\\partial\\dot q\\,\\partial t},$$

and the energy obeys the balance law $dE/dt = -\\partial L/\\partial t$ instead of a
conservation law. The Noether charges $I_a = \\partial_{\\dot q} L \\cdot \\xi_a - F_a$ of a
network of invariants are still exact for every weight: $dI_a/dt = X_a L$ holds at every
time, so a symmetry that the time dependence does not break (one whose generator commutes
with the time shift only through $L$'s invariants) keeps its charge.

Every class here is an [`AbstractTimeLagrangian`][]: `__call__`, the Euler-Lagrange terms,
the acceleration, the mass matrix, the charges and the energy take a keyword `t`;
`lagrangian_at(t)` freezes the time for the integrators (the variational method evaluates
the discrete Lagrangian at the midpoint time of each step).
"""

import abc
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray, Scalar

from .contract import check_module, known_lagrangian, time_keywords
from .dynamics import check_float_dtype, velocity_hessian
from .lagrangian import AbstractLagrangian
from .network import Activation, activation_function

__all__ = [
    "AbstractTimeLagrangian",
    "TimeFunctionLagrangian",
    "TimeLagrangianNetwork",
    "timed_terms",
]

Time = float | Scalar


def timed_terms(lagrangian, q, qdot, t):
    """`(mass, rhs)` of the Euler-Lagrange equations of `lagrangian(q, qdot, t=t)` by
    automatic differentiation: $\\partial^2 L/\\partial\\dot q^2$ and
    $\\partial_q L - (\\partial^2 L/\\partial\\dot q\\,\\partial q)\\,\\dot q
    - \\partial^2 L/\\partial\\dot q\\,\\partial t$ (the last two in one forward-mode product
    along $(\\dot q, 1)$)."""
    t = jnp.asarray(t, q.dtype)

    def momentum(q, qdot, t):
        return jax.grad(lambda q, v: lagrangian(q, v, t=t), argnums=1)(q, qdot)

    mass = jax.jacfwd(momentum, argnums=1)(q, qdot, t)
    l_q = jax.grad(lambda q: lagrangian(q, qdot, t=t))(q)
    _, mixed = jax.jvp(lambda q, t: momentum(q, qdot, t), (q, t), (qdot, jnp.ones_like(t)))
    return mass, l_q - mixed


class AbstractTimeLagrangian(AbstractLagrangian):
    """A Lagrangian $L(q, \\dot q, t)$ that depends on the time explicitly.

    Subclasses implement `__call__(q, qdot, *, t=0.0)` and declare `module`. The methods of
    [`AbstractLagrangian`][] that depend on the Lagrangian take the keyword `t` here
    (default 0); `explicit_time` and `lagrangian_explicit_time` are `True`, so integrators
    pass the time and the variational method steps `lagrangian_at(t)`.
    """

    @abc.abstractmethod
    def __call__(self, q: Float[Array, " n"], qdot: Float[Array, " n"], *, t: Time = 0.0
                 ) -> Scalar:  # fmt: skip
        """The Lagrangian of one state at time `t`."""

    def lagrangian_at(self, t: Time):
        return lambda q, qdot: self(q, qdot, t=t)

    def euler_lagrange(self, q, qdot, *, t: Time = 0.0):
        """`(mass, rhs)` at time `t`, the $\\partial^2 L/\\partial\\dot q\\,\\partial t$
        term included (`timed_terms`)."""
        return timed_terms(self, q, qdot, t)

    def acceleration(self, q, qdot, *, t: Time = 0.0):
        """$\\ddot q$ of one state at time `t`."""
        return self.solve(*self.euler_lagrange(q, qdot, t=t))

    def batched_acceleration(self, q, qdot, *, t: Time = 0.0):
        """$\\ddot q$ of a batch of states; `t` a scalar or one time per state."""
        t = jnp.broadcast_to(jnp.asarray(t, q.dtype), q.shape[:1])
        return jax.vmap(lambda q, qdot, t: self.acceleration(q, qdot, t=t))(q, qdot, t)

    def mass_matrix(self, q, qdot, *, t: Time = 0.0):
        return velocity_hessian(self.lagrangian_at(t), q, qdot)

    def charges(self, q, qdot, *, t: Time = 0.0):
        """The Noether charges of the module's generators with $L$ at time `t`."""
        if self.module is None:
            return super().charges(q, qdot, t=t)  # raises, saying what to give
        return self.module.noether_charges(self.lagrangian_at(t), q, qdot,
                                           **time_keywords(self.module, t))  # fmt: skip

    def energy(self, q, qdot, *, t: Time = 0.0):
        """$E = \\dot q \\cdot \\partial L/\\partial\\dot q - L$ at time `t` (not conserved:
        $dE/dt = -\\partial L/\\partial t$ along the motion)."""
        value, momentum = jax.value_and_grad(self.lagrangian_at(t), argnums=1)(q, qdot)
        return qdot @ momentum - value

    def time_derivative(self, q, qdot, *, t: Time = 0.0) -> Scalar:
        """$\\partial L/\\partial t$ at one state: minus the rate of the energy."""
        return jax.grad(lambda s: self(q, qdot, t=s))(jnp.asarray(t, q.dtype))

    @property
    def explicit_time(self) -> bool:
        return True

    @property
    def lagrangian_explicit_time(self) -> bool:
        return True


class TimeFunctionLagrangian(AbstractTimeLagrangian):
    """Any JAX function `L(q, qdot, *, t) -> scalar` (a generated module's `lagrangian` of
    an explicitly time-dependent system), optionally with its closed-form
    `acceleration(q, qdot, *, t)`.

    **Fields:**

    - `function`: the Lagrangian of one state, with the keyword `t`.
    - `closed_form`: the acceleration of one state with the keyword `t`, or `None` for
        automatic differentiation (`timed_terms`).
    - `module`: the generated module, for the charges; `None` for none.
    """

    function: object
    closed_form: object = None
    module: ModuleType | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if not callable(self.function):
            raise TypeError(
                f"a time-dependent Lagrangian must be callable as L(q, qdot, t=t), got "
                f"{self.function!r}"
            )

    def __call__(self, q, qdot, *, t=0.0):
        return self.function(q, qdot, t=t)

    def acceleration(self, q, qdot, *, t=0.0):
        if self.closed_form is None:
            return super().acceleration(q, qdot, t=t)
        return self.closed_form(q, qdot, t=t)


class TimeLagrangianNetwork(AbstractTimeLagrangian):
    """A Lagrangian network with an explicit time:
    $L(q, \\dot q, t) = e^{a t} f(S(q, \\dot q), t/T) + K(q, \\dot q, t)$.

    $S$ are the module's invariants (or $(q, \\dot q)$ for the unconstrained baseline), $f$
    an MLP that also sees the scaled time $t/T$ (optional, `time_input`), $a$ a learned rate
    (initially 0), $T$ a fixed time scale and $K$ the module's known part, if any.

    Why this form. A factor $e^{a t}$ is the one time dependence that an MLP of a scaled
    time cannot give over a long span (a softplus network is at most linear in its input far
    from the data), and it is the one that damped systems need: for $L = e^{a t} f$ the
    Euler-Lagrange equations are those of $f$ plus $a\\,\\partial_{\\dot q} f$, a friction
    on the momentum, so $a$ is the damping rate $\\gamma$ of a Caldirola-Kanai oscillator
    ($L = e^{\\gamma t}(\\dot x^2 - x^2)/2$ is exactly $a = \\gamma$ and a quadratic $f$) and
    carries over to every later time. The input $t/T$ lets $f$ learn any other time
    dependence (a field switched on) within the span of the data; $T$ of about that span
    keeps the input of order one. Because $f$ depends on $q, \\dot q$ through the
    invariants only, the charges of the symmetry stay exact for every weight at every time.

    **Fields:** `mlp`, `rate` (the learned $a$), `time_scale` ($T$), `time_input`,
    `module`, `invariant`.
    """

    mlp: eqx.nn.MLP
    rate: Float[Array, ""]
    time_scale: float = eqx.field(static=True)
    time_input: bool = eqx.field(static=True)
    module: ModuleType = eqx.field(static=True)
    invariant: bool = eqx.field(static=True)

    def __init__(
        self,
        module: ModuleType,
        *,
        invariant: bool = True,
        width: int = 128,
        depth: int = 2,
        activation: Activation = "softplus",
        time_scale: float = 10.0,
        time_input: bool = True,
        dtype=jnp.float32,
        key: PRNGKeyArray,
    ):
        """**Arguments:**

        - `module`: the generated module of an explicitly time-dependent system.
        - `invariant`: feed the MLP the invariants (`True`) or $(q, \\dot q)$.
        - `width`, `depth`, `activation`: the MLP, as for [`LagrangianNetwork`][].
        - `time_scale`: $T$, the time the MLP's time input is divided by (about the span
            of the training data); positive.
        - `time_input`: whether the MLP sees $t/T$ (else $L = e^{a t} f(S) + K$).
        - `dtype`: of the parameters.
        - `key`: a JAX random key for the initial weights.
        """
        self.module = check_module(module)
        if not (isinstance(time_scale, int | float) and time_scale > 0):
            raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
        if width < 1 or depth < 0:
            raise ValueError(f"need width >= 1 and depth >= 0, got width={width}, depth={depth}")
        dtype = check_float_dtype(dtype)
        n = len(module.COORDINATE_NAMES)
        size = (len(module.INVARIANT_NAMES) if invariant else 2 * n) + int(time_input)
        self.mlp = eqx.nn.MLP(size, "scalar", width, depth, activation_function(activation),
                              use_final_bias=False, dtype=dtype, key=key)  # fmt: skip
        self.rate = jnp.zeros((), dtype)
        self.time_scale = float(time_scale)
        self.time_input = bool(time_input)
        self.invariant = bool(invariant)

    @property
    def dtype(self) -> jnp.dtype:
        return self.mlp.layers[0].weight.dtype

    def features(self, q, qdot, t):
        """What the MLP sees: the invariants (or $q, \\dot q$), then $t/T$."""
        s = self.module.invariants(q, qdot) if self.invariant else jnp.concatenate([q, qdot])
        if not self.time_input:
            return s
        return jnp.concatenate([s, (jnp.asarray(t, s.dtype) / self.time_scale)[None]])

    def __call__(self, q, qdot, *, t=0.0):
        t = jnp.asarray(t, jnp.result_type(q, qdot))
        value = jnp.exp(self.rate * t) * self.mlp(self.features(q, qdot, t))
        known = known_lagrangian(self.module)
        return value if known is None else value + known(q, qdot, t=t)

    @property
    def fixed_scale(self) -> bool:
        return known_lagrangian(self.module) is not None

    def rescaled(self, factor) -> "TimeLagrangianNetwork":
        """$f$ times `factor` (its bias-free output layer); unchanged with a known part."""
        if self.fixed_scale:
            return self
        last = self.mlp.layers[-1].weight
        return eqx.tree_at(lambda m: m.mlp.layers[-1].weight, self, last * factor)
