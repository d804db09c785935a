# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Non-conservative generalised forces $\\Phi(q, \\dot q, t)$, as objects.

The equations of motion with forces are
$\\frac{d}{dt}\\partial_{\\dot q} L - \\partial_q L = \\Phi$, with
$\\Phi = Q(q, \\dot q, t) - \\partial R/\\partial\\dot q$ (issue 26). Every force is an
[`AbstractForce`][]: [`ZeroForce`][] (a conservative system), [`KnownForce`][] (the true
system's $Q - \\partial_{\\dot q} R$ from the generated module), [`DrivingForce`][] (the known
$Q$ alone, next to a learned friction), [`RayleighDissipation`][] (a learned Rayleigh function
$R = \\sum_k c_k(S)\\,P_k \\ge 0$ of the module's dissipation basis), and sums of these
(`force_a + force_b`). A [`ForcedLagrangian`][] (`numeric/forced.py`) pairs a Lagrangian
with one; the integrators step both.
"""

import abc
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray, Scalar

__all__ = [
    "AbstractForce",
    "DrivingForce",
    "KnownForce",
    "RayleighDissipation",
    "SumForce",
    "ZeroForce",
]

Time = float | Scalar


class AbstractForce(eqx.Module):
    """A generalised force $\\Phi(q, \\dot q, t)$ of shape `(n,)` on the right-hand side of
    the Euler-Lagrange equations.

    Subclasses implement `__call__` (one state) and `explicit_time`. `batched` and `+`
    are provided.
    """

    @abc.abstractmethod
    def __call__(
        self, q: Float[Array, " n"], qdot: Float[Array, " n"], *, t: Time = 0.0
    ) -> Float[Array, " n"]:
        """The force at one state and time `t`."""

    @property
    @abc.abstractmethod
    def explicit_time(self) -> bool:
        """Whether the force depends on the time (then integrators pass the time to it and
        to the acceleration; an autonomous force is called without it, at no cost)."""

    def batched(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"], *, t: Time = 0.0
    ) -> Float[Array, "batch n"]:
        """The force of a batch of states; `t` a scalar or one time per state."""
        t = jnp.broadcast_to(jnp.asarray(t, q.dtype), q.shape[:1])
        return jax.vmap(lambda q, v, t: self(q, v, t=t))(q, qdot, t)

    def __add__(self, other: "AbstractForce") -> "SumForce":
        if not isinstance(other, AbstractForce):
            return NotImplemented
        return SumForce((self, other))


class ZeroForce(AbstractForce):
    """No force: a conservative system (the integrators' default)."""

    def __call__(self, q, qdot, *, t=0.0):
        return jnp.zeros_like(q)

    @property
    def explicit_time(self) -> bool:
        return False


class SumForce(AbstractForce):
    """The sum of several forces (`a + b` builds one).

    **Fields:**

    - `forces`: a non-empty tuple of [`AbstractForce`][]s.
    """

    forces: tuple[AbstractForce, ...]

    def __check_init__(self):
        bad = [type(f).__name__ for f in self.forces if not isinstance(f, AbstractForce)]
        if not self.forces or bad:
            raise TypeError(
                "SumForce needs a non-empty tuple of forces (sn.KnownForce, "
                f"sn.RayleighDissipation, ...), got {len(self.forces)} with non-forces {bad}"
            )

    def __call__(self, q, qdot, *, t=0.0):
        total = self.forces[0](q, qdot, t=t)
        for force in self.forces[1:]:
            total = total + force(q, qdot, t=t)
        return total

    @property
    def explicit_time(self) -> bool:
        return any(force.explicit_time for force in self.forces)


def _flag(module: ModuleType, name: str) -> bool:
    # The force flags are optional module constants, present only when True.
    return bool(module.__dict__.get(name, False))


def _check_module(module: ModuleType, what: str, flags: tuple[str, ...]) -> None:
    if not isinstance(module, ModuleType):
        raise TypeError(f"{what} needs a generated module, got {type(module).__name__}")
    if not any(_flag(module, flag) for flag in flags):
        name = module.__dict__.get("SYSTEM_NAME", module.__name__)
        raise ValueError(
            f"{what}: the module of {name!r} has none of {list(flags)}; declare "
            "forces= or dissipation= in its System and generate it again"
        )


class KnownForce(AbstractForce):
    """The true system's force $Q(q, \\dot q, t) - \\partial R/\\partial \\dot q$ from the
    generated module: `forces` (`HAS_FORCES`) plus `dissipation_force`
    (`HAS_DISSIPATION`), each where its flag is set.

    **Fields:**

    - `module`: a generated module with `HAS_FORCES` or `HAS_DISSIPATION`.
    """

    module: ModuleType = eqx.field(static=True)

    def __check_init__(self):
        _check_module(self.module, "KnownForce", ("HAS_FORCES", "HAS_DISSIPATION"))

    def __call__(self, q, qdot, *, t=0.0):
        total = jnp.zeros_like(q)
        if _flag(self.module, "HAS_FORCES"):
            total = total + self.module.forces(q, qdot, t=t)
        if _flag(self.module, "HAS_DISSIPATION"):
            total = total + self.module.dissipation_force(q, qdot)
        return total

    @property
    def explicit_time(self) -> bool:
        return _flag(self.module, "EXPLICIT_TIME")


class DrivingForce(AbstractForce):
    """The known generalised force $Q(q, \\dot q, t)$ alone (`module.forces`): the drive of a
    model that learns its own friction.

    **Fields:**

    - `module`: a generated module with `HAS_FORCES`.
    """

    module: ModuleType = eqx.field(static=True)

    def __check_init__(self):
        _check_module(self.module, "DrivingForce", ("HAS_FORCES",))

    def __call__(self, q, qdot, *, t=0.0):
        return self.module.forces(q, qdot, t=t)

    @property
    def explicit_time(self) -> bool:
        return _flag(self.module, "EXPLICIT_TIME")


def _inverse_softplus(y: float) -> float:
    return float(jnp.log(jnp.expm1(jnp.asarray(y, jnp.float64))))


class RayleighDissipation(AbstractForce):
    """A learned Rayleigh friction $-\\partial R/\\partial\\dot q$ with
    $R(q, \\dot q) = \\sum_k c_k(S)\\,P_k(q, \\dot q)$.

    $P_k$ are the module's `dissipation_basis` (invariant, positive semi-definite forms that
    vanish quadratically at $\\dot q = 0$) and $c_k = \\mathrm{softplus}(\\cdot) \\ge 0$, so
    $R \\ge 0$, $R = 0$ at rest and $R$ is invariant for every weight: the charges whose
    rates vanish for every such $R$ (`CONSERVED_CHARGES`) stay conserved.

    The coefficients are constants (`depth=0`, the default) or an MLP of the *position*
    invariants: the module's invariants at $\\dot q = 0$, so that $c_k$ does not depend on
    the velocity and $R$ stays quadratic in it.

    **Arguments:**

    - `module`: a generated module with `LEARNED_DISSIPATION`.
    - `depth`, `width`: hidden layers and their width of the coefficients' MLP (`depth=0`:
        one constant per basis form).
    - `initial`: the initial value of every $c_k$ (the MLP's output bias is set to give it).
    - `dtype`: the parameters' dtype (default JAX's default float).
    - `key`: a JAX random key (used only by the MLP).
    """

    module: ModuleType = eqx.field(static=True)
    raw: Float[Array, " p"] | None
    mlp: eqx.nn.MLP | None

    def __init__(self, module: ModuleType, *, depth: int = 0, width: int = 16,
                 initial: float = 1e-2, dtype=None, key: PRNGKeyArray):  # fmt: skip
        _check_module(module, "RayleighDissipation", ("LEARNED_DISSIPATION",))
        if not (isinstance(depth, int) and depth >= 0 and isinstance(width, int) and width > 0):
            raise ValueError(f"depth must be an int >= 0 and width an int > 0, got "
                             f"depth={depth!r}, width={width!r}")  # fmt: skip
        if not (isinstance(initial, int | float) and initial > 0):
            raise ValueError(f"initial must be a number > 0 (softplus is positive), got "
                             f"{initial!r}")  # fmt: skip
        self.module = module
        dtype = jnp.asarray(0.0).dtype if dtype is None else dtype
        p = len(module.DISSIPATION_BASIS_NAMES)
        start = jnp.full((p,), _inverse_softplus(initial), dtype)
        if depth == 0:
            self.raw, self.mlp = start, None
            return
        m = len(module.INVARIANT_NAMES)
        mlp = eqx.nn.MLP(m, p, width, depth, activation=jax.nn.softplus, dtype=dtype, key=key)
        # Start from small weights and the requested coefficients.
        last = mlp.layers[-1]
        mlp = eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), mlp,
                          (0.01 * last.weight, start))  # fmt: skip
        self.raw, self.mlp = None, mlp

    def coefficients(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Float[Array, " p"]:
        """The coefficients $c_k \\ge 0$ at position `q` (`qdot` only gives the dtype)."""
        if self.mlp is None:
            return jax.nn.softplus(self.raw)
        s = self.module.invariants(q, jnp.zeros_like(qdot))
        return jax.nn.softplus(self.mlp(s))

    def dissipation(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The learned Rayleigh function $R(q, \\dot q) \\ge 0$."""
        return self.coefficients(q, qdot) @ self.module.dissipation_basis(q, qdot)

    def __call__(self, q, qdot, *, t=0.0):
        return -jax.grad(self.dissipation, argnums=1)(q, qdot)

    @property
    def explicit_time(self) -> bool:
        return False
