# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The local family: identical particles, a learned mass and a learned pair potential.

$L = \\sum_i \\tfrac12 m |\\dot x_i|^2 - \\tfrac12 \\sum_i \\sum_{j \\ne i, r_{ij} < r_c}
\\phi(S_{ij})\\, w(r_{ij}^2)$: one mass $m > 0$ (softplus) shared by every particle, one
network $\\phi$ of the pair's position invariants (from the generated module) shared by
every pair, and the switch $w = (1 - r^2/r_c^2)^2$ that takes a pair smoothly to zero at the
cutoff. Summing $\\phi(S_{ij})$ over ordered pairs makes $L$ symmetric under every
permutation of the particles whatever the weights; each term is a function of invariants,
so the total momentum and angular momentum are conserved exactly (`symbolic/local.py`).

The mass matrix is $m I$ (block diagonal, one $d \\times d$ block per particle), so the
acceleration is $-\\nabla V / m$, block by block: no dense matrix is formed, and with the
neighbour list of `neighbours.py` the cost is linear in N (the pair sum runs over blocks
of particles, so its arrays stay in the cache whatever N). The variational integrator's
Newton step is matrix-free (`linear_solver`: Richardson sweeps on Jacobian-vector products,
preconditioned by the exact mass blocks, each one gradient's cost), so it is linear in N
too. Nothing in the weights depends on N: the same model runs on any number of particles
(`resized`; `with_neighbour_sizes` fits the neighbour list's static sizes to a state).
"""

import copy
import math
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .lagrangian import AbstractLagrangian
from .matrix_free import BlockSweeps
from .neighbours import NeighbourSizes, all_pairs, neighbour_list, neighbour_sizes

__all__ = ["LocalParticleNetwork"]

# Particles whose pair terms are evaluated at once (see `potential_energy`).
_BLOCK = 64


class LocalParticleNetwork(AbstractLagrangian):
    """A local Lagrangian of identical particles (see the module's docstring).

    **Arguments:**

    - `module`: a generated local module (`MODULE_KIND == "local_particles"`).
    - `width`, `depth`: of the pair network.
    - `cell_capacity`: neighbour-list slots per cell (with a cutoff).
    - `max_neighbours`: neighbours per particle the pair network is evaluated on (with a
        cutoff). Both are static shapes; `with_neighbour_sizes(q)` fits them to a state,
        and a state that needs more raises an error saying which to raise.
    - `key`: the PRNG key (keyword-only).
    """

    module: ModuleType = eqx.field(static=True)
    raw_mass: Float[Array, ""]
    potential: eqx.nn.MLP
    scale: Float[Array, ""]
    cutoff: float | None = eqx.field(static=True)
    sizes: NeighbourSizes = eqx.field(static=True)

    def __init__(
        self,
        module,
        *,
        width: int = 64,
        depth: int = 2,
        cell_capacity: int = 32,
        max_neighbours: int = 64,
        key: PRNGKeyArray,
    ):
        if getattr(module, "MODULE_KIND", None) != "local_particles":
            raise TypeError(
                "LocalParticleNetwork needs a generated local module (from an "
                "sn.ParticleSystem spec), got one of kind "
                f"{getattr(module, 'MODULE_KIND', 'global')!r}"
            )
        problems = [
            f"{label} must be an int >= 1, got {value!r}"
            for label, value in (
                ("cell_capacity", cell_capacity),
                ("max_neighbours", max_neighbours),
            )
            if not (isinstance(value, int) and value >= 1)
        ]
        if problems:
            raise ValueError("LocalParticleNetwork: " + "; ".join(problems))
        self.module = module
        self.raw_mass = jnp.asarray(0.5413)  # softplus^-1(1)
        inputs = 2 * len(module.PAIR_POSITION_INDICES)
        self.potential = eqx.nn.MLP(inputs, "scalar", width, depth, jax.nn.softplus, key=key)
        self.scale = jnp.asarray(1.0)
        self.cutoff = module.CUTOFF
        self.sizes = NeighbourSizes(cell_capacity, max_neighbours)

    @property
    def mass(self) -> Float[Array, ""]:
        """The particles' mass $m$ (before `scale`)."""
        return jax.nn.softplus(self.raw_mass) + 1e-3

    def _phi(self, xi, xj):
        s = self.module.pair_position_invariants(xi, xj)
        # Inputs s and 1/s: the pair invariants of translations x rotations are squared
        # distances (positive), and a repulsive core is smooth in 1/s.
        return self.potential(jnp.concatenate([s, 1.0 / s]))

    def pair_energy(self, x1: Float[Array, " d"], x2: Float[Array, " d"]) -> Float[Array, ""]:
        """The learned energy of one pair at positions `x1`, `x2` (before `scale`): the
        network times the switch, zero beyond the cutoff."""
        phi = self._phi(x1, x2)
        if self.cutoff is None:
            return phi
        r2 = jnp.sum((x2 - x1) ** 2)
        return jnp.where(r2 < self.cutoff**2, phi * (1.0 - r2 / self.cutoff**2) ** 2, 0.0)

    def neighbours(self, x):
        """`(j, mask)` of the pairs that interact (see `neighbours.py`)."""
        if self.cutoff is None:
            return all_pairs(x.shape[0])
        return neighbour_list(x, self.cutoff, self.sizes)

    def with_neighbour_sizes(
        self, q: Float[ArrayLike, "*batch n"], *, margin: float = 1.5
    ) -> "LocalParticleNetwork":
        """This model with the neighbour list's sizes fitted to the states `q` (flat, one
        or a batch) times `margin`: the smallest static shapes, so the least work per
        particle. Without a cutoff (all pairs) the model is returned unchanged."""
        if self.cutoff is None:
            return self
        q = jnp.asarray(q)
        x = q.reshape(q.shape[:-1] + (-1, self.module.DIM))
        new = copy.copy(self)  # a static field: tree_at cannot replace it
        object.__setattr__(new, "sizes", neighbour_sizes(x, self.cutoff, margin=margin))
        return new

    def potential_energy(self, q: Float[Array, " n"]) -> Float[Array, ""]:
        """$V(q)$, the learned pair sum (before `scale`)."""
        x = self.module.bodies(q)
        j, mask = self.neighbours(jax.lax.stop_gradient(x))
        n = x.shape[0]

        def row(args):  # one particle's pair terms; lax.map vmaps it over blocks
            i, ji, mi = args
            far = 2.0 * (self.cutoff or 1.0)
            xj = jnp.where(mi[:, None], x[ji], x[i] + far)  # safe masked pairs
            xi = jnp.broadcast_to(x[i], xj.shape)
            phi = jax.vmap(self._phi)(xi, xj)
            if self.cutoff is not None:
                phi = phi * (1.0 - jnp.sum((xj - xi) ** 2, axis=-1) / self.cutoff**2) ** 2
            return jnp.sum(jnp.where(mi, phi, 0.0))

        # Above _BLOCK particles, blocks of _BLOCK rows, each rematerialised in the backward
        # pass: the pair network's activations of one block, not of all N * K pairs, are
        # alive at once, so they stay in the cache (the train step differentiates this
        # twice).
        row = jax.checkpoint(row) if n > _BLOCK else row
        return 0.5 * jnp.sum(jax.lax.map(row, (jnp.arange(n), j, mask), batch_size=_BLOCK))

    def __call__(self, q, qdot):
        kinetic = 0.5 * self.mass * jnp.sum(qdot**2)
        return self.scale * (kinetic - self.potential_energy(q))

    def acceleration(self, q, qdot):
        return -jax.grad(self.potential_energy)(q) / self.mass

    def mass_matrix(self, q, qdot):
        # The dense form of the API (small N: tests, conditioning); the dynamics use the
        # blocks, see `mass_blocks`.
        return self.scale * self.mass * jnp.eye(q.shape[0], dtype=q.dtype)

    def mass_blocks(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Float[Array, "N d d"]:
        """The $d \\times d$ diagonal blocks of $\\partial^2 L/\\partial\\dot q^2$, one per
        particle (every other entry is zero)."""
        d = self.module.DIM
        block = self.scale * self.mass * jnp.eye(d, dtype=q.dtype)
        return jnp.broadcast_to(block, (q.shape[0] // d, d, d))

    def linear_solver(self) -> BlockSweeps:
        # The midpoint Newton Jacobian is m/h I + O(h) (block diagonal plus the pair
        # Hessian times h/4): Richardson sweeps preconditioned with h/m contract by
        # O(h^2 |V''| / m) each, a fixed cost per particle at every N. GMRES also
        # converges, but its cost per particle grew 3.8x from N = 64 to 4,096 (more
        # iterations as the stiffest pair stiffens, and its orthogonalisation), the
        # sweeps' 1.8x (benchmarks/bench_local_scale.py).
        return BlockSweeps(block=self.module.DIM)

    def euler_lagrange(self, q, qdot):
        return self.mass_matrix(q, qdot), -self.scale * jax.grad(self.potential_energy)(q)

    def solve(self, mass, rhs):
        # Block diagonal m I: the diagonal is the whole solve.
        return rhs / jnp.diagonal(mass)

    def batched_solve(self, mass, rhs):
        return rhs / jnp.diagonal(mass, axis1=-2, axis2=-1)

    def energy(self, q, qdot):
        return self.scale * (0.5 * self.mass * jnp.sum(qdot**2) + self.potential_energy(q))

    def rescaled(self, factor):
        return eqx.tree_at(lambda m: m.scale, self, self.scale * factor)

    def resized(self, module: ModuleType) -> "LocalParticleNetwork":
        """The same weights with another local module of the same term structure (a
        spec for another N or another cutoff). Any N already works with this model; this
        swaps the module, e.g. to read its `COUNT` and `INITIAL_STATE`."""
        if getattr(module, "MODULE_KIND", None) != "local_particles" or (
            module.PAIR_INVARIANT_NAMES != self.module.PAIR_INVARIANT_NAMES
            or module.PAIR_POSITION_INDICES != self.module.PAIR_POSITION_INDICES
            or module.DIM != self.module.DIM
        ):
            raise ValueError(
                "resized needs a local module with the same pair invariants and "
                f"dimension as the trained one ({self.module.SYSTEM_NAME})"
            )
        new = copy.copy(self)  # static fields: tree_at cannot replace them
        object.__setattr__(new, "module", module)
        object.__setattr__(new, "cutoff", module.CUTOFF)
        return new

    def rollout(
        self,
        q0: Float[ArrayLike, "*batch n"],
        qdot0: Float[ArrayLike, "*batch n"],
        *,
        dt: float,
        steps: int,
        save_every: int = 1,
        chunk: int = 50,
        margin: float = 1.5,
        full_output: bool = False,
        return_model: bool = False,
        **kwargs,
    ):
        """[`integrate`][] in chunks of `chunk` steps, refitting the neighbour list between
        chunks: for long rollouts, where atoms move far from where the sizes were fitted.

        Before each chunk the sizes are fitted (times `margin`) to the chunk's start and
        the previous chunk's saved states, and kept if larger (they only grow: a chunk
        length compiles once per size). A chunk that still overflows is rerun from its
        start with both sizes 1.5x larger (at most 6 times; at N every slot fits, so a
        true overflow cannot survive). Restarting a chunk from its last (q, qdot) is exact
        for the variational method: its returned velocity carries the discrete momentum.
        Without a cutoff this is `integrate` in pieces.

        **Arguments:** as [`integrate`][] (`method`, `tol`, `max_iter`, `t0` pass through),
        plus `chunk` (steps per chunk; rounded down to a multiple of `save_every`, at least
        one `save_every`) and `margin` (of `with_neighbour_sizes`).

        **Returns:** as `integrate`, `(qs, qdots)` or an `IntegrationResult`; with
        `return_model`, `(that, model)`, the model (its `sizes`) that ran the last chunk.
        """
        from .integrate import IntegrationResult, integrate

        if not (isinstance(chunk, int) and chunk >= 1):
            raise ValueError(f"chunk must be a positive int (steps per chunk), got {chunk!r}")
        if not (
            isinstance(steps, int) and isinstance(save_every, int) and min(steps, save_every) >= 1
        ):
            raise ValueError(
                f"steps and save_every must be positive ints, got {steps!r}, {save_every!r}"
            )
        if steps % save_every:
            raise ValueError(f"steps ({steps}) must be a multiple of save_every ({save_every})")
        chunk = max(save_every, chunk - chunk % save_every)
        t0 = float(kwargs.pop("t0", 0.0))
        q, v = jnp.asarray(q0), jnp.asarray(qdot0)
        n = q.shape[-1] // self.module.DIM
        model, seen, pieces, done = self, q, [], 0
        while done < steps:
            k = min(chunk, steps - done)
            model = model._grown(model.with_neighbour_sizes(seen, margin=margin).sizes, n)
            for attempt in range(7):
                try:
                    piece = integrate(
                        model, q, v, dt=dt, steps=k, save_every=save_every,
                        full_output=True, t0=t0 + done * dt, **kwargs,
                    )  # fmt: skip
                    jax.block_until_ready(piece.qs)
                    break
                except Exception as error:  # eqx.error_if: a runtime error naming the size
                    if "neighbour list:" not in str(error) or attempt == 6:
                        raise
                    cell, most = model.sizes
                    model = model._grown(
                        NeighbourSizes(math.ceil(1.5 * cell), math.ceil(1.5 * most)), n
                    )
            pieces.append(piece if not pieces else _drop_first(piece))
            q, v = piece.qs[..., -1, :], piece.qdots[..., -1, :]
            seen = piece.qs
            done += k
        result = _join(IntegrationResult, pieces)
        out = result if full_output else (result.qs, result.qdots)
        return (out, model) if return_model else out

    def _grown(self, sizes: NeighbourSizes, n: int) -> "LocalParticleNetwork":
        # The larger of each size, capped where every one of the n particles fits (no
        # overflow is possible there).
        if self.cutoff is None:
            return self
        cell = min(n, max(self.sizes.cell_capacity, sizes.cell_capacity))
        most = min(n - 1, max(self.sizes.max_neighbours, sizes.max_neighbours))
        new = copy.copy(self)
        object.__setattr__(new, "sizes", NeighbourSizes(cell, most))
        return new


def _drop_first(result):
    # A later chunk starts at the previous chunk's last saved point: drop the repeat.
    def drop(name, a):
        if a is None:
            return None
        return a[..., 1:, :] if name in ("qs", "qdots") else a[..., 1:]

    names = ("ts", "qs", "qdots", "residuals", "iterations", "failures", "converged")
    return type(result)(*(drop(name, getattr(result, name)) for name in names))


def _join(kind, pieces):
    def cat(name, axis):
        parts = [getattr(p, name) for p in pieces]
        return None if parts[0] is None else jnp.concatenate(parts, axis=axis)

    return kind(
        cat("ts", 0), cat("qs", -2), cat("qdots", -2), cat("residuals", -1),
        cat("iterations", -1), cat("failures", -1), cat("converged", -1),
    )  # fmt: skip
