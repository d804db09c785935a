# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The lattice family: a natural local Lagrangian of a field on a periodic lattice.

$L = \\sum_x \\tfrac12\\,\\dot\\phi_x^T M(\\phi_x)\\,\\dot\\phi_x - \\sum_x U(S_x)$: one network
$U$ of the stencil's position invariants $S_x$ (from the generated module) shared by every
site, and one per-site mass block of the site's invariants (the natural construction of
`natural.py`, applied to one site):

$$M(\\phi) = A(\\phi)^T C(s)\\,A(\\phi) + \\tfrac12 \\textstyle\\sum_j d_j(s) H_j, \\quad
  C = \\Lambda\\Lambda^T + \\epsilon I,\\ d_j = \\epsilon + \\operatorname{softplus}(\\cdot),$$

with $A$ the rows of the site's linear invariants $a_i(\\phi)\\cdot\\dot\\phi$, $H_j$ the
constant Hessians of its kinetic forms and $s$ its position invariants. Then
$M \\succeq \\epsilon\\,(A^TA + \\tfrac12\\sum_j H_j)$, which `verify_lattice` proves positive
definite at every state (`kinetic_definite`): every block is definite whatever the weights.
The whole mass matrix is block diagonal (`FIELDS x FIELDS` per site), so the acceleration
is one small Cholesky solve per site and costs O(sites). Each term is a function of
invariants and the same at every site, so $L$ is invariant under the global group and the
lattice translations: the global charge is conserved exactly by the variational
integrator. Nothing in the weights depends on the lattice: [`LatticeNetwork.resized`][]
runs the same model on another shape.
"""

import copy
import math
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .lagrangian import AbstractLagrangian

__all__ = ["LatticeNetwork"]


def _check_shape(shape, module) -> tuple[int, ...]:
    shape = tuple(int(n) for n in shape)
    if len(shape) != len(module.SHAPE) or any(n < 3 for n in shape):
        raise ValueError(
            f"shape must be {len(module.SHAPE)} sizes >= 3 (the module's lattice "
            f"is {len(module.SHAPE)}-dimensional), got {shape}"
        )
    return shape


class LatticeNetwork(AbstractLagrangian):
    """A natural local Lagrangian of a lattice field (see the module's docstring).

    **Arguments:**

    - `module`: a generated lattice module (`MODULE_KIND == "lattice_field"`).
    - `shape`: the lattice the model runs on; default the module's `SHAPE`.
    - `width`, `depth`: of the stencil potential network (and of the kinetic
        coefficient network, where a site has position invariants).
    - `floor`: $\\epsilon$, the definite floor of the mass blocks.
    - `key`: the PRNG key (keyword-only).
    """

    module: ModuleType = eqx.field(static=True)
    shape: tuple[int, ...] = eqx.field(static=True)
    potential: eqx.nn.MLP
    coefficients: eqx.nn.MLP | None
    offsets: Float[Array, " k"]
    floor: float = eqx.field(static=True)

    def __init__(
        self,
        module,
        *,
        shape=None,
        width: int = 64,
        depth: int = 2,
        floor: float = 1e-2,
        key: PRNGKeyArray,
    ):
        if getattr(module, "MODULE_KIND", None) != "lattice_field":
            raise TypeError(
                "LatticeNetwork needs a generated lattice module (from an "
                "sn.LatticeSystem spec), got one of kind "
                f"{getattr(module, 'MODULE_KIND', 'global')!r}"
            )
        if not floor > 0:
            raise ValueError(
                f"floor must be positive (the mass blocks' definite floor), got {floor!r}"
            )
        k1, k2 = jax.random.split(key)
        self.module = module
        self.shape = _check_shape(module.SHAPE if shape is None else shape, module)
        inputs = len(module.STENCIL_INVARIANT_NAMES)
        self.potential = eqx.nn.MLP(inputs, "scalar", width, depth, jax.nn.softplus, key=k1)
        p, forms = len(module.SITE_LINEAR_NAMES), len(module.SITE_FORM_NAMES)
        outputs = p * (p + 1) // 2 + forms
        self.coefficients = None
        if module.SITE_POSITION_NAMES:
            mlp = eqx.nn.MLP(
                len(module.SITE_POSITION_NAMES), outputs, width, 1, jax.nn.softplus, key=k2
            )
            # Zero last layer: the blocks start at the offsets' value for every state.
            self.coefficients = eqx.tree_at(
                lambda m: (m.layers[-1].weight, m.layers[-1].bias),
                mlp,
                (mlp.layers[-1].weight * 0, mlp.layers[-1].bias * 0),
            )
        rows, cols = np.tril_indices(p)
        # Lambda = I and d_j = softplus(0.5413) = 1 to start.
        start = np.concatenate([(rows == cols).astype(float), np.full(forms, 0.5413)])
        self.offsets = jnp.asarray(start)
        self.floor = float(floor)

    @property
    def fields(self) -> int:
        """Components per site."""
        return self.module.FIELDS

    def site_mass(self, f: Float[Array, " F"]) -> Float[Array, "F F"]:
        """The mass block $M(\\phi)$ of one site."""
        m = self.module
        raw = self.offsets
        if self.coefficients is not None:
            raw = raw + self.coefficients(m.site_position_invariants(f))
        p, F = len(m.SITE_LINEAR_NAMES), m.FIELDS
        mass = jnp.zeros((F, F), f.dtype)
        if p:
            rows, cols = np.tril_indices(p)
            lower = jnp.zeros((p, p), f.dtype).at[rows, cols].set(raw[: len(rows)])
            c = lower @ lower.T + self.floor * jnp.eye(p, dtype=f.dtype)
            a = m.site_linear_rows(f)
            mass = mass + a.T @ c @ a
        if m.SITE_FORM_NAMES:
            d = self.floor + jax.nn.softplus(raw[p * (p + 1) // 2 :])
            mass = mass + 0.5 * jnp.einsum(
                "j,jab->ab", d, jnp.asarray(m.SITE_FORM_HESSIANS, f.dtype)
            )
        return mass

    def site_masses(self, q: Float[Array, " n"]) -> Float[Array, "sites F F"]:
        """Every site's mass block: the block diagonal of $\\partial^2L/\\partial\\dot q^2$."""
        return jax.vmap(self.site_mass)(self.module.sites(q))

    def potential_energy(self, q: Float[Array, " n"]) -> Float[Array, ""]:
        """$V(q) = \\sum_x U(S_x)$."""
        stencils = self.module.stencil_fields(q, self.shape)
        s = jax.vmap(self.module.stencil_position_invariants)(stencils)
        return jnp.sum(jax.vmap(self.potential)(s))

    def kinetic_energy(self, q, qdot):
        """$T = \\sum_x \\tfrac12 \\dot\\phi_x^T M(\\phi_x) \\dot\\phi_x$."""
        v = self.module.sites(qdot)
        return 0.5 * jnp.einsum("xa,xab,xb->", v, self.site_masses(q), v)

    def __call__(self, q, qdot):
        return self.kinetic_energy(q, qdot) - self.potential_energy(q)

    def _site_terms(self, f, v):
        # The per-site part of the Euler-Lagrange equations: M(f), and
        # dT/df - (dM/df . v) v for T = v^T M(f) v / 2, by one forward and one reverse
        # sweep of the small mass block.
        mass = self.site_mass(f)
        t_f = jax.grad(lambda f: 0.5 * v @ self.site_mass(f) @ v)(f)
        mixed = jax.jvp(lambda f: self.site_mass(f) @ v, (f,), (v,))[1]
        return mass, t_f - mixed

    def acceleration(self, q, qdot):
        f, v = self.module.sites(q), self.module.sites(qdot)
        masses, rhs = jax.vmap(self._site_terms)(f, v)
        rhs = rhs - self.module.sites(jax.grad(self.potential_energy)(q))
        lower = jnp.linalg.cholesky(masses)
        y = jax.scipy.linalg.solve_triangular(lower, rhs[..., None], lower=True)
        x = jax.scipy.linalg.solve_triangular(jnp.swapaxes(lower, -1, -2), y, lower=False)
        return x[..., 0].reshape(q.shape)

    def mass_matrix(self, q, qdot):
        # Dense (n, n) for the diagnostics of small lattices; the dynamics use the blocks.
        blocks = self.site_masses(q)
        sites, F = blocks.shape[0], blocks.shape[1]
        eye = jnp.eye(sites, dtype=q.dtype)
        return jnp.einsum("xy,xab->xayb", eye, blocks).reshape(sites * F, sites * F)

    def euler_lagrange(self, q, qdot):
        f, v = self.module.sites(q), self.module.sites(qdot)
        _, rhs = jax.vmap(self._site_terms)(f, v)
        rhs = rhs.reshape(q.shape) - jax.grad(self.potential_energy)(q)
        return self.mass_matrix(q, qdot), rhs

    def energy(self, q, qdot):
        return self.kinetic_energy(q, qdot) + self.potential_energy(q)

    def resized(self, shape) -> "LatticeNetwork":
        """The same weights on a lattice of another `shape` (same dimension)."""
        new = copy.copy(self)  # static fields: tree_at cannot replace them
        object.__setattr__(new, "shape", _check_shape(shape, self.module))
        return new

    @property
    def sites(self) -> int:
        """The number of sites of `shape`."""
        return math.prod(self.shape)
