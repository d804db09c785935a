# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""A Lagrangian with a non-conservative force: the model of a damped or driven system.

$\\frac{d}{dt}\\partial_{\\dot q} L - \\partial_q L = \\Phi(q, \\dot q, t)$, so the acceleration
solves $M\\,\\ddot q = \\mathrm{rhs} + \\Phi$ with $(M, \\mathrm{rhs})$ the Lagrangian's own
Euler-Lagrange terms. The charges and the energy are the Lagrangian's; the force only makes
them change, at the rates the module's `charge_rates` and `energy_rate` give
(`numeric/balance.py` measures how well a rollout keeps them).
"""

from types import ModuleType

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .data import Dataset
from .forces import AbstractForce, KnownForce, Time
from .integrate import RK4, integrate
from .lagrangian import AbstractLagrangian, FunctionLagrangian
from .timed import TimeFunctionLagrangian

__all__ = ["ForcedLagrangian", "forced_trajectory_data", "true_model"]


class ForcedLagrangian(AbstractLagrangian):
    """A Lagrangian and a force: $M(q,\\dot q)\\,\\ddot q = \\mathrm{rhs} + \\Phi(q, \\dot q, t)$.

    Training fits it like any model (its `batched_acceleration` includes the force, and a
    learned force such as [`RayleighDissipation`][] is trained with the Lagrangian); the
    integrators step its Lagrangian and its force (`integrate`: RK4 on this acceleration,
    the variational method as a discrete Lagrange-d'Alembert principle).

    **Fields:**

    - `lagrangian`: the conservative part, an [`AbstractLagrangian`][].
    - `force`: an [`AbstractForce`][].
    """

    lagrangian: AbstractLagrangian
    force: AbstractForce

    def __check_init__(self):
        if not isinstance(self.lagrangian, AbstractLagrangian):
            raise TypeError(
                "ForcedLagrangian's lagrangian must be an sn.AbstractLagrangian (a "
                "LagrangianNetwork, sn.FunctionLagrangian(fn, module=...)), got "
                f"{type(self.lagrangian).__name__}"
            )
        if self.lagrangian.lagrangian_explicit_time:
            raise ValueError(
                "ForcedLagrangian does not cover a Lagrangian that depends on the time "
                f"explicitly ({type(self.lagrangian).__name__}) yet; an explicitly "
                "time-dependent system trains and integrates without forces or friction "
                "(examples/caldirola_kanai/), or write the time dependence as a drive "
                "forces=[...] (examples/duffing/)"
            )
        if not isinstance(self.force, AbstractForce):
            raise TypeError(
                "ForcedLagrangian's force must be an sn.AbstractForce (sn.KnownForce(module), "
                f"sn.RayleighDissipation(module, key=...), ...), got {type(self.force).__name__}"
            )

    @property
    def module(self) -> ModuleType | None:
        return self.lagrangian.module

    def forcing(self) -> AbstractForce:
        return self.force

    @property
    def explicit_time(self) -> bool:
        """Whether the force depends on the time (`acceleration` then wants `t`)."""
        return self.force.explicit_time

    @property
    def dtype(self) -> jnp.dtype:
        return self.lagrangian.dtype

    def __call__(self, q, qdot):
        return self.lagrangian(q, qdot)

    def euler_lagrange(self, q, qdot):
        return self.lagrangian.euler_lagrange(q, qdot)

    def solve(self, mass, rhs):
        return self.lagrangian.solve(mass, rhs)

    def batched_solve(self, mass, rhs):
        return self.lagrangian.batched_solve(mass, rhs)

    def mass_matrix(self, q, qdot):
        return self.lagrangian.mass_matrix(q, qdot)

    def linear_solver(self):
        return self.lagrangian.linear_solver()

    def acceleration(
        self, q: Float[Array, " n"], qdot: Float[Array, " n"], *, t: Time = 0.0
    ) -> Float[Array, " n"]:
        """$\\ddot q$ of one state at time `t`: `solve(mass, rhs + force)`."""
        mass, rhs = self.lagrangian.euler_lagrange(q, qdot)
        return self.lagrangian.solve(mass, rhs + self.force(q, qdot, t=t))

    def batched_acceleration(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"], *, t: Time = 0.0
    ) -> Float[Array, "batch n"]:
        """$\\ddot q$ of a batch of states, `t` a scalar or one time per state."""
        mass, rhs = jax.vmap(self.lagrangian.euler_lagrange)(q, qdot)
        return self.lagrangian.batched_solve(mass, rhs + self.force.batched(q, qdot, t=t))

    def normalized(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"]
    ) -> "ForcedLagrangian":
        """This model with its Lagrangian rescaled (`rescaled`) to mean mass $+1$ on a batch
        of states, the start for training a learned friction: the data fix $L$ only up to
        a factor, but a friction $R \\ge 0$ removes energy only under a positive mass, and
        an initial network whose mass is negative would have to pass through a singular
        one. Unchanged for a Lagrangian whose scale is fixed (a known part)."""
        mass = jax.vmap(self.lagrangian.mass_matrix)(q, qdot)
        mean = jnp.mean(jnp.trace(mass, axis1=-2, axis2=-1)) / q.shape[-1]
        return ForcedLagrangian(self.lagrangian.rescaled(1 / mean), self.force)

    def rescaled(self, factor) -> "ForcedLagrangian":
        """The Lagrangian rescaled (`AbstractLagrangian.rescaled`), the force unchanged:
        the start of a training, where the force is learned or the scale is the
        Lagrangian's to fix."""
        return ForcedLagrangian(self.lagrangian.rescaled(factor), self.force)

    @property
    def fixed_scale(self) -> bool:
        return self.lagrangian.fixed_scale

    def standardized(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"]
    ) -> "ForcedLagrangian":
        """This model with its network's input standardisation set from a batch of states
        (`LagrangianNetwork.standardized`; `TrainConfig.standardize`)."""
        return ForcedLagrangian(self.lagrangian.standardized(q, qdot), self.force)

    def friction_coefficient(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"], *, t: Time = 0.0
    ) -> Float[Array, " batch"]:
        """The linear friction coefficient the model implies on a batch of states:
        $b = -\\dot q \\cdot M^{-1}\\Phi / |\\dot q|^2$ (the $b$ of $\\ddot q = \\dots - b\\dot q$).
        The force is divided by the learned mass, so the answer does not depend on the
        scale of $L$ (which the data cannot fix: $\\lambda L$ and $\\lambda R$ give the same
        motion)."""
        mass = jax.vmap(self.lagrangian.mass_matrix)(q, qdot)
        a = self.lagrangian.batched_solve(mass, self.force.batched(q, qdot, t=t))
        return -jnp.sum(qdot * a, axis=-1) / jnp.sum(qdot * qdot, axis=-1)


def true_model(module: ModuleType) -> ForcedLagrangian | FunctionLagrangian:
    """The true system of a generated module as a model: its `lagrangian` with the known
    force ([`KnownForce`][]) when it has forces or friction, else the plain Lagrangian with
    its closed-form acceleration.

    **Arguments:**

    - `module`: a generated module with a true Lagrangian (`HAS_LAGRANGIAN`).

    **Returns:**

    A [`ForcedLagrangian`][] or a [`FunctionLagrangian`][]; for a Lagrangian that
    depends on the time (`LAGRANGIAN_EXPLICIT_TIME`), a [`TimeFunctionLagrangian`][] with
    the closed-form acceleration (forces on top of it are not covered yet: a `ValueError`).
    """
    if not module.__dict__.get("HAS_LAGRANGIAN", False):
        raise ValueError(
            f"true_model: the module of {module.SYSTEM_NAME!r} has no true Lagrangian "
            "(HAS_LAGRANGIAN is False); declare lagrangian= in its System"
        )
    flags = ("HAS_FORCES", "HAS_DISSIPATION")
    if module.__dict__.get("LAGRANGIAN_EXPLICIT_TIME", False):
        true = TimeFunctionLagrangian(module.lagrangian, module.acceleration, module)
        if any(module.__dict__.get(flag, False) for flag in flags):
            return ForcedLagrangian(true, KnownForce(module))  # raises, saying what works
        return true
    if not any(module.__dict__.get(flag, False) for flag in flags):
        return FunctionLagrangian(module.lagrangian, module.acceleration, module)
    return ForcedLagrangian(FunctionLagrangian(module.lagrangian, module=module),
                            KnownForce(module))  # fmt: skip


def forced_trajectory_data(
    module: ModuleType,
    q0: Float[Array, " n"],
    qdot0: Float[Array, " n"],
    *,
    dt: float = 0.01,
    sample_every: float = 0.1,
    t_final: float = 100.0,
    t0: float = 0.0,
    noise: float = 1e-3,
    key: PRNGKeyArray,
) -> Dataset:
    """One noisy trajectory of a system with friction or a drive in time: RK4 on
    [`true_model`][]`(module)` (the time reaches the drive), sampled every `sample_every`,
    with Gaussian noise of standard deviation `noise` on q, qdot and qddot; the Dataset
    keeps the sample times `t`, which a driven model trains with. In the dtype of `q0`.
    """
    substeps = round(sample_every / dt)
    steps = substeps * round((t_final - t0) / sample_every)
    model = true_model(module)
    q0, qdot0 = jnp.asarray(q0), jnp.asarray(qdot0)
    result = integrate(model, q0, qdot0, dt=dt, steps=steps, save_every=substeps,
                       method=RK4(), full_output=True, t0=t0)  # fmt: skip
    qddot = model.batched_acceleration(result.qs, result.qdots, t=result.ts)
    keys = jax.random.split(key, 3)
    noisy = [x + noise * jax.random.normal(k, x.shape, x.dtype)
             for x, k in zip((result.qs, result.qdots, qddot), keys, strict=True)]  # fmt: skip
    return Dataset(*noisy, t=result.ts)
