# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Natural Lagrangian networks: $L = \\tfrac12 \\dot q^T M(q) \\dot q - V(q)$ of invariants, with
a mass matrix of fixed signature for every weight and every state.

The generated module says how each invariant depends on the velocities
(`INVARIANT_DEGREES`, `KINETIC_FORMS`, decided symbolically by `symbolic/kinetic.py`):

- position invariants $s(q)$ (degree 0) are the inputs of every network here;
- linear invariants $u_i = a_i(q) \\cdot \\dot q$ (degree 1), the rows of $A(q)$;
- kinetic forms $Q_j = \\tfrac12 \\dot q^T H_j \\dot q$ (degree 2, $H_j$ constant and positive
  semi-definite, proved exactly).

The kinetic energy is $T = \\tfrac12\\,[\\,u^T C(s)\\,u + \\sum_j d_j(s)\\,Q_j\\,]$ with
$C = \\Lambda\\Lambda^T + \\epsilon I$ ($\\Lambda$ lower triangular, from a network) and
$d_j = \\epsilon + \\operatorname{softplus}(\\cdot)$, so

$$M(q) = A^T C A + \\tfrac12 \\textstyle\\sum_j d_j H_j \\succeq \\epsilon\\,F(q), \\qquad
  F = A^T A + \\tfrac12 \\textstyle\\sum_j H_j .$$

$F$ depends on the module only; where it is positive definite (checked when the network is
built), so is $M$, whatever the weights. A known part $K$ (`System(known_lagrangian=...)`)
adds its Hessian to every $M$, so $F + \\partial^2 K/\\partial\\dot q^2$ is checked instead:
under Galilean boosts the invariants hold relative velocities only, and the known kinetic
energy covers the centre of mass. A declared `negative=` set of coordinates (the
time of a metric of signature $(-,+,+,+)$) gets its own block with the opposite sign; a row
or form that couples the two sets cannot keep the signature and is left out. Since $T$, $V$
and the optional gauge term $g(s) \\cdot u$ are functions of invariants, $L$ is an $f(S)$:
its Noether charges are conserved exactly, as for [`LagrangianNetwork`][].

Dynamics are closed form: $M\\ddot q = \\partial_q T - (\\partial_q M\\,\\dot q)\\,\\dot q -
\\partial_q V + (\\text{gauge})$, one forward and one reverse sweep of $M(q)$, and no Hessian of
a network in $\\dot q$; positive-definite systems are solved by Cholesky.
"""

import functools
import math
from collections.abc import Sequence
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray, Scalar

from .contract import check_module, known_lagrangian
from .dynamics import autodiff_terms, check_float_dtype, solve_mass_matrix
from .lagrangian import AbstractLagrangian
from .network import Activation, activation_function

__all__ = ["NaturalLagrangianNetwork"]

# Degrees as INVARIANT_DEGREES writes them.
_POSITION, _LINEAR, _QUADRATIC = 0, 1, 2


def _structure_problems(module: ModuleType) -> list[str]:
    missing = [name for name in ("INVARIANT_DEGREES", "KINETIC_FORMS") if not hasattr(module, name)]
    if missing:
        return [f"the module has no {' or '.join(missing)}: regenerate it with this version "
                "(`symnoether generate`)"]  # fmt: skip
    return []


class _Block(eqx.Module):
    # One signed part of the kinetic energy: linear invariants `linear` (indices into the
    # invariants) with their SPD matrix C, and kinetic forms `forms` with coefficients d.
    linear: tuple[int, ...] = eqx.field(static=True)
    forms: tuple[int, ...] = eqx.field(static=True)
    # The constant Hessians H_j of the forms, as nested tuples (static: never trained).
    hessians: tuple = eqx.field(static=True)
    sign: float = eqx.field(static=True)

    @property
    def outputs(self) -> int:
        p = len(self.linear)
        return p * (p + 1) // 2 + len(self.forms)

    def coefficients(self, raw: Array, floor: float) -> tuple[Array, Array]:
        # (C, d) from the network's raw outputs for this block.
        p = len(self.linear)
        rows, cols = np.tril_indices(p)
        lower = jnp.zeros((p, p), raw.dtype).at[rows, cols].set(raw[: len(rows)])
        c = lower @ lower.T + floor * jnp.eye(p, dtype=raw.dtype)
        d = floor + jax.nn.softplus(raw[len(rows):])
        return c, d

    def matrices(self, dtype) -> Array:
        return jnp.asarray(self.hessians, dtype)


@functools.lru_cache(maxsize=64)
def _velocity_derivatives(module: ModuleType):
    # One compiled function per module: op-by-op autodiff would compile every primitive.
    return jax.jit(lambda q, v: (jax.jacfwd(module.invariants, 1)(q, v),
                                 jax.hessian(module.invariants, 1)(q, v)))  # fmt: skip


def _split(module: ModuleType, negative: tuple[int, ...], q: np.ndarray):
    # The linear invariants' rows a_i(q) and the forms' Hessians at a sample state, to sort
    # each by the coordinates it touches: only the negative ones, only the others, or both.
    n = len(module.COORDINATE_NAMES)
    degrees = tuple(module.INVARIANT_DEGREES)
    linear = [j for j, d in enumerate(degrees) if d == _LINEAR]
    forms = [j for j in module.KINETIC_FORMS]
    rows, hessians = map(np.asarray, _velocity_derivatives(module)(q, jnp.zeros(n, q.dtype)))
    mask = np.zeros(n, bool)
    mask[list(negative)] = True

    def side(support: np.ndarray) -> int:  # -1 negative, +1 positive, 0 both (or none)
        touches = np.abs(support) > 0
        if touches[mask].any() and touches[~mask].any():
            return 0
        return -1 if touches[mask].any() else 1

    linear_sides = {j: side(rows[j]) for j in linear}
    form_sides = {j: side(np.abs(hessians[j]).sum(axis=0)) for j in forms}
    return linear_sides, form_sides, hessians


def _rows(module: ModuleType, q: Array) -> Array:
    # A(q): the gradients of every invariant in qdot (exact: rows of linear invariants).
    return jax.jacfwd(lambda v: module.invariants(q, v))(jnp.zeros_like(q))


def _assemble(module: ModuleType, blocks, q: Array, coefficients) -> Array:
    # M(q) = sum over blocks of sign (A^T C A + sum_j d_j H_j / 2).
    rows = _rows(module, q)
    n = q.shape[0]
    mass = jnp.zeros((n, n), q.dtype)
    for block, (c, d) in zip(blocks, coefficients, strict=True):
        a = rows[jnp.asarray(block.linear, int)] if block.linear else jnp.zeros((0, n), q.dtype)
        part = a.T @ c @ a
        if block.forms:
            part = part + 0.5 * jnp.einsum("j,jab->ab", d, block.matrices(q.dtype))
        mass = mass + block.sign * part
    return mass


@functools.lru_cache(maxsize=64)
def _smallest_floor_eigenvalue(module: ModuleType, blocks: tuple, negative: tuple, dtype) -> float:
    # The smallest eigenvalue of the sign-corrected floor F = A^T A + sum H_j / 2 (plus the
    # Hessian of a known part K, which adds to every M) at a few states: positive iff
    # M >= epsilon F + d2K/dqdot2 is definite for every weight. Depends on the structure
    # only, so it is computed once per module and block layout.
    n = len(module.COORDINATE_NAMES)
    rng = np.random.default_rng(1)
    q = jnp.asarray(rng.normal(size=(3, n)) + 2.0, dtype)
    qdot = jnp.asarray(rng.normal(size=(3, n)), dtype)
    unit = [(jnp.eye(len(b.linear), dtype=dtype), jnp.ones(len(b.forms), dtype)) for b in blocks]
    known = known_lagrangian(module)

    def floor(x, v):
        f = _assemble(module, blocks, x, unit)
        return f if known is None else f + jax.hessian(known, argnums=1)(x, v)

    floors = np.asarray(jax.jit(jax.vmap(floor))(q, qdot))
    signs = np.ones(n)
    signs[list(negative)] = -1
    return float(min(np.linalg.eigvalsh(f * signs[:, None])[0] for f in floors))


class NaturalLagrangianNetwork(AbstractLagrangian):
    """$L = \\tfrac12 \\dot q^T M(q) \\dot q - V(q)$ (plus an optional gauge term), with $M$
    and $V$ networks of the position invariants and $M$ of fixed signature by construction.

    See the module's documentation (`numeric/natural.py`) for the construction and why it
    is definite; docs/MODELS.md for choosing between this and [`LagrangianNetwork`][].
    """

    potential_mlp: eqx.nn.MLP
    kinetic_mlp: eqx.nn.MLP
    gauge_mlp: eqx.nn.MLP | None
    # log of an overall positive factor of L: the scale that training on positions fixes.
    log_scale: Array
    blocks: tuple[_Block, ...]
    module: ModuleType = eqx.field(static=True)
    positions: tuple[int, ...] = eqx.field(static=True)
    gauge_linear: tuple[int, ...] = eqx.field(static=True)
    floor: float = eqx.field(static=True)
    negative: tuple[int, ...] = eqx.field(static=True)

    def __init__(
        self,
        module: ModuleType,
        *,
        width: int = 128,
        depth: int = 2,
        activation: Activation = "softplus",
        negative: Sequence[str] = (),
        gauge: bool = False,
        floor: float = 1e-3,
        dtype=jnp.float32,
        key: PRNGKeyArray,
    ):
        """**Arguments:**

        - `module`: the generated module (with `INVARIANT_DEGREES` and `KINETIC_FORMS`).
        - `width`, `depth`: of each network ($V$, the coefficients of $M$, the gauge term).
        - `activation`: a name of `ACTIVATIONS` or a function, as for `LagrangianNetwork`.
        - `negative`: names of coordinates whose kinetic energy is negative (e.g. `("t",)`
            for a metric of signature $(-,+,+,+)$); default none: $M$ positive definite.
        - `gauge`: add a term $g(s) \\cdot u$ linear in the velocities (magnetic,
            gyroscopic), with $u$ the linear invariants.
        - `floor`: $\\epsilon > 0$, the floor $M \\succeq \\epsilon F$.
        - `dtype`: of the parameters.
        - `key`: a JAX random key.
        """
        module = check_module(module)
        names = list(module.COORDINATE_NAMES)
        problems = _structure_problems(module)
        unknown = [name for name in negative if name not in names]
        if unknown:
            problems.append(f"negative= names {unknown}, which are not coordinates {names}")
        if not (isinstance(floor, int | float) and math.isfinite(floor) and floor > 0):
            problems.append(f"floor must be a finite number > 0, got {floor!r}")
        if problems:
            raise ValueError("cannot build a NaturalLagrangianNetwork for "
                             f"{module.SYSTEM_NAME!r}: " + "; ".join(problems))  # fmt: skip
        dtype = check_float_dtype(dtype)
        activation = activation_function(activation)
        self.module = module
        self.negative = tuple(names.index(name) for name in negative)
        self.floor = float(floor)
        self.positions = tuple(j for j, d in enumerate(module.INVARIANT_DEGREES) if d == 0)
        sample = jnp.asarray(np.random.default_rng(0).normal(size=len(names)) + 2.0, dtype)
        linear_sides, form_sides, hessians = _split(module, self.negative, sample)
        blocks = []
        for sign in (1.0, -1.0) if self.negative else (1.0,):
            linear = tuple(j for j, s in linear_sides.items() if s == sign)
            forms = tuple(j for j, s in form_sides.items() if s == sign)
            matrices = tuple(tuple(map(tuple, hessians[j].tolist())) for j in forms)
            blocks.append(_Block(linear, forms, matrices, sign))
        self.blocks = tuple(blocks)
        self.gauge_linear = tuple(linear_sides) if gauge else ()
        in_size = max(1, len(self.positions))
        keys = jax.random.split(key, 3)

        def mlp(out, k):
            return eqx.nn.MLP(in_size, out, width, depth, activation, dtype=dtype, key=k)

        self.potential_mlp = mlp("scalar", keys[0])
        self.kinetic_mlp = mlp(max(1, sum(b.outputs for b in blocks)), keys[1])
        self.gauge_mlp = mlp(len(self.gauge_linear), keys[2]) if gauge else None
        self.log_scale = jnp.zeros((), dtype)
        self._check_definite_floor(names)

    def _check_definite_floor(self, names) -> None:
        # M >= floor F for every weight: F must be definite (each block on its side).
        if not _smallest_floor_eigenvalue(self.module, self.blocks, self.negative,
                                          np.dtype(self.dtype)) > 0:  # fmt: skip
            raise ValueError(
                f"the invariants of {self.module.SYSTEM_NAME!r} give no definite kinetic "
                f"energy: the floor A^T A + sum H_j/2 of the linear invariants and kinetic "
                f"forms (plus the Hessian of a known part) is singular (coordinates {names}). "
                "A NaturalLagrangianNetwork needs linear invariants or positive kinetic forms "
                "(such as xdot.xdot) that cover every velocity, or a known positive definite "
                "kinetic part (System(known_lagrangian=...)); use LagrangianNetwork (model "
                "'mlp') instead"
            )

    @property
    def dtype(self) -> jnp.dtype:
        return self.log_scale.dtype

    def _inputs(self, q: Array) -> Array:
        # The position invariants (the velocity does not enter them: zero is as good).
        s = self.module.invariants(q, jnp.zeros_like(q))
        if not self.positions:
            return jnp.zeros(1, q.dtype)
        return s[jnp.asarray(self.positions)]

    def _coefficients(self, s: Array):
        raw = self.kinetic_mlp(s)
        out, start = [], 0
        for block in self.blocks:
            out.append(block.coefficients(raw[start:start + block.outputs], self.floor))
            start += block.outputs
        return out

    def _mass(self, q: Array, coefficients) -> Array:
        return _assemble(self.module, self.blocks, q, coefficients)

    def mass_matrix(self, q: Float[Array, " n"], qdot: Float[Array, " n"] | None = None):
        """$M(q) = \\partial^2 L/\\partial\\dot q^2$ (the velocity is not needed)."""
        mass = jnp.exp(self.log_scale) * self._mass(q, self._coefficients(self._inputs(q)))
        known = known_lagrangian(self.module)
        if known is not None and qdot is not None:
            mass = mass + jax.hessian(known, argnums=1)(q, qdot)
        return mass

    def potential(self, q: Float[Array, " n"]) -> Scalar:
        """$V(q)$, a network of the position invariants (times the overall scale)."""
        return jnp.exp(self.log_scale) * self.potential_mlp(self._inputs(q))

    def _gauge(self, q: Array) -> Array:
        # b(q) with the gauge term b(q) . qdot = g(s) . u.
        if self.gauge_mlp is None:
            return jnp.zeros_like(q)
        rows = _rows(self.module, q)[jnp.asarray(self.gauge_linear)]
        return jnp.exp(self.log_scale) * rows.T @ self.gauge_mlp(self._inputs(q))

    def __call__(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """$L(q, \\dot q)$, written in the invariants themselves (an $f(S)$)."""
        s = self.module.invariants(q, qdot)
        inputs = s[jnp.asarray(self.positions)] if self.positions else jnp.zeros(1, q.dtype)
        kinetic = 0.0
        for block, (c, d) in zip(self.blocks, self._coefficients(inputs), strict=True):
            u = s[jnp.asarray(block.linear, int)]
            forms = s[jnp.asarray(block.forms, int)]
            kinetic = kinetic + block.sign * (u @ c @ u + d @ forms)
        value = 0.5 * kinetic - self.potential_mlp(inputs)
        if self.gauge_mlp is not None:
            value = value + self.gauge_mlp(inputs) @ s[jnp.asarray(self.gauge_linear)]
        value = jnp.exp(self.log_scale) * value
        known = known_lagrangian(self.module)
        return value if known is None else value + known(q, qdot)

    def euler_lagrange(self, q: Float[Array, " n"], qdot: Float[Array, " n"]):
        """`(M, rhs)` in closed form: $\\partial_q T - (\\partial_q M\\,\\dot q)\\,\\dot q -
        \\partial_q V$, plus the gauge term's
        $(\\partial_q b)^T\\dot q - (\\partial_q b)\\,\\dot q$."""
        mass_of = lambda x: self.mass_matrix(x)  # noqa: E731
        mass, mass_rate = jax.jvp(mass_of, (q,), (qdot,))
        kinetic = jax.grad(lambda x: 0.5 * qdot @ mass_of(x) @ qdot)(q)
        rhs = kinetic - mass_rate @ qdot - jax.grad(self.potential)(q)
        if self.gauge_mlp is not None:
            b, b_rate = jax.jvp(self._gauge, (q,), (qdot,))
            rhs = rhs + jax.grad(lambda x: self._gauge(x) @ qdot)(q) - b_rate
        known = known_lagrangian(self.module)
        if known is not None:
            known_mass, known_rhs = autodiff_terms(known, q, qdot)
            mass, rhs = mass + known_mass, rhs + known_rhs
        return mass, rhs

    def solve(self, mass: Float[Array, "n n"], rhs: Float[Array, " n"]) -> Float[Array, " n"]:
        """Cholesky where $M$ is positive definite by construction, else LU."""
        definite = not self.negative and known_lagrangian(self.module) is None
        return solve_mass_matrix(mass, rhs, mass_solve="cholesky" if definite else "solve")

    @property
    def fixed_scale(self) -> bool:
        return known_lagrangian(self.module) is not None

    def rescaled(self, factor: Scalar) -> "NaturalLagrangianNetwork":
        """$L$ times a positive `factor` (its overall scale); unchanged for factor <= 0 or
        when a known part fixes the scale."""
        if self.fixed_scale:
            return self
        factor = jnp.asarray(factor, self.dtype)
        log_scale = jnp.where(factor > 0, self.log_scale + jnp.log(jnp.abs(factor)),
                              self.log_scale)  # fmt: skip
        return eqx.tree_at(lambda m: m.log_scale, self, log_scale)
