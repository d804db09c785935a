# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Neighbour lists under a cutoff in O(N log N): a spatial-hash cell list, compacted.

Why not jax-md's `partition.neighbor_list`: it is built around a fixed box and
allocate/update calls with a separate overflow flag that the caller threads through every
step, which the integrators and the training loop of this project (pure functions of one
state) cannot carry. The hash below needs no box (a free cluster), is recomputed inside
every evaluation (no skin, no stale list) and is a pure function of the positions.

Cells have the cutoff's size; each cell's integer coordinates are hashed into a table of
2N slots; particles are sorted by hash, and particle i looks at `cell_capacity` slots of
each of the 3^d cells around its own. A candidate counts only if it lies in the cell looked
for (hash collisions cost slots, never double counts) and within the cutoff. The
candidates (27 * `cell_capacity` in 3D, cheap integer and distance work) are then
compacted to the `max_neighbours` true neighbours, so that what costs (the pair network
and its derivatives) runs on the real neighbours only. Both sizes are static shapes: fit
them to the states with [`neighbour_sizes`][]; a state that needs more raises an error
(`eqx.error_if`) that says which size to raise.
"""

import functools
import itertools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

__all__ = ["NeighbourSizes", "all_pairs", "neighbour_list", "neighbour_sizes"]

_PRIMES = (73856093, 19349663, 83492791)


class NeighbourSizes(NamedTuple):
    """The static sizes of a neighbour list: slots per cell and neighbours per particle."""

    cell_capacity: int
    max_neighbours: int


def _hash(cells, size):
    mixed = sum(cells[..., k] * _PRIMES[k % 3] for k in range(cells.shape[-1]))
    return jnp.mod(mixed, size)


def _table(x, cutoff):
    n = x.shape[0]
    cells = jnp.floor(x / cutoff).astype(jnp.int32)
    size = max(2 * n, 1)  # twice N slots: few collisions
    keys = _hash(cells, size)
    order = jnp.argsort(keys)
    sorted_keys = keys[order]
    # Particles per hash slot: a cell's own plus any other cell hashed to the same slot.
    counts = jnp.searchsorted(sorted_keys, keys, side="right") - jnp.searchsorted(
        sorted_keys, keys, side="left"
    )
    return cells, size, order, sorted_keys, jnp.max(counts)


def _candidates(x, cutoff, cell_capacity, table=None, rows=None):
    # The candidates of the particles `rows` (default all): each looks at `cell_capacity`
    # slots of the 3^d cells around its own; `mask` marks those in the cell looked for and
    # within the cutoff.
    n, dim = x.shape
    cells, size, order, sorted_keys, occupancy = _table(x, cutoff) if table is None else table
    rows = jnp.arange(n) if rows is None else rows
    offsets = jnp.asarray(list(itertools.product((-1, 0, 1), repeat=dim)), jnp.int32)
    wanted = cells[rows][:, None, :] + offsets[None, :, :]  # (R, 3^d, d)
    start = jnp.searchsorted(sorted_keys, _hash(wanted, size), side="left")
    slot = start[..., None] + jnp.arange(cell_capacity)  # (R, 3^d, C)
    inside = slot < n
    j = order[jnp.clip(slot, 0, n - 1)]
    same_cell = jnp.all(cells[j] == wanted[:, :, None, :], axis=-1)
    j = j.reshape(rows.shape[0], -1)
    r2 = jnp.sum((x[j] - x[rows][:, None, :]) ** 2, axis=-1)
    mask = (inside & same_cell).reshape(j.shape) & (j != rows[:, None]) & (r2 < cutoff**2)
    return j, mask, occupancy


# Particles whose candidates are formed at once: the (rows, 27 * cell_capacity) candidate
# arrays of a block stay in the cache. All 4,096 at once made the candidates cost 3.6x
# more per particle than at N = 64, in blocks about the same.
_BLOCK = 256


def neighbour_list(
    x: Float[Array, "N d"], cutoff: float, sizes: NeighbourSizes
) -> tuple[Int[Array, "N K"], Bool[Array, "N K"]]:
    """Indices `j` of the particles within `cutoff` of each particle, padded to
    `K = sizes.max_neighbours`.

    **Arguments:**

    - `x`: positions, `(N, d)`.
    - `cutoff`: the interaction radius.
    - `sizes`: the [`NeighbourSizes`][]; an error (`eqx.error_if`) when a hash slot holds
        more than `cell_capacity` particles or a particle has more than `max_neighbours`
        neighbours.

    **Returns:**

    `(j, mask)` of shape `(N, K)`: `mask` marks the true neighbours (`j != i`, distance
    below the cutoff); each unordered pair appears twice, once from each side.
    """
    cell_capacity, max_neighbours = sizes
    table = _table(x, cutoff)
    occupancy = table[-1]

    def row(i):  # one particle's list; lax.map vmaps it over blocks of _BLOCK rows
        j, mask, _ = _candidates(x, cutoff, cell_capacity, table, i[None])
        count = jnp.sum(mask)  # before compaction, which keeps at most K
        j, mask = _compact(j, mask, max_neighbours)
        return j[0], mask[0], count

    j, mask, counts = jax.lax.map(row, jnp.arange(x.shape[0]), batch_size=_BLOCK)
    count = jnp.max(counts)
    # The checks ride on a scalar (n, unchanged by the minimum below): on the (N, K)
    # index array itself, XLA constant-folds the error branch's N x K dummy for seconds
    # at N = 4096.
    n = jnp.asarray(x.shape[0], j.dtype)
    n = eqx.error_if(
        n,
        occupancy > cell_capacity,
        f"neighbour list: more than cell_capacity = {cell_capacity} particles "
        "share a cell (or a hash slot): raise it, e.g. model.with_neighbour_sizes"
        "(q) fits both sizes to a state",
    )
    n = eqx.error_if(
        n,
        count > max_neighbours,
        f"neighbour list: a particle has more than max_neighbours = "
        f"{max_neighbours} neighbours within the cutoff: raise it, e.g. "
        "model.with_neighbour_sizes(q) fits both sizes to a state",
    )
    return jnp.minimum(j, n), mask


def _compact(j, mask, size):
    # The true neighbours of each row first, in candidate order, padded to `size`: each
    # one's place is the running count of those before it, and a scatter puts it there
    # (linear in the candidates; a stable argsort of the mask, which gives the same
    # lists, cost a sort of 27 * cell_capacity keys per particle). Padding: index 0,
    # masked out.
    rows = jnp.arange(j.shape[0])[:, None]
    place = jnp.where(mask, jnp.minimum(jnp.cumsum(mask, axis=1) - 1, size), size)  # spare: `size`
    out_j = jnp.zeros((j.shape[0], size + 1), j.dtype).at[rows, place].set(j)
    out_mask = jnp.zeros((j.shape[0], size + 1), bool).at[rows, place].set(mask)
    return out_j[:, :size], out_mask[:, :size]


@functools.partial(jax.jit, static_argnums=1)
def _occupancies(x, cutoff):
    return jax.lax.map(lambda state: _table(state, cutoff)[-1], x, batch_size=8)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _neighbour_counts(x, cutoff, cell_capacity):
    return jax.vmap(
        lambda state: jnp.max(jnp.sum(_candidates(state, cutoff, cell_capacity)[1], 1))
    )(x)


def neighbour_sizes(
    x: Float[ArrayLike, "*batch N d"], cutoff: float, *, margin: float = 1.5
) -> NeighbourSizes:
    """The neighbour-list sizes the states `x` need, times `margin` (room for the
    density fluctuations of a rollout), computed on the host.

    **Arguments:**

    - `x`: positions, `(N, d)` or a batch `(B, N, d)`.
    - `cutoff`: the interaction radius.
    - `margin`: factor (>= 1) on the largest occupancy and neighbour count seen.

    **Returns:**

    The [`NeighbourSizes`][].
    """
    if not (margin >= 1):
        raise ValueError(f"margin must be >= 1, got {margin!r}")
    x = jnp.asarray(np.asarray(x, dtype=np.float64))
    x = x.reshape((-1,) + x.shape[-2:])
    occupancy = int(jnp.max(_occupancies(x, cutoff)))
    neighbours = int(jnp.max(_neighbour_counts(x, cutoff, occupancy)))
    n = x.shape[-2]
    return NeighbourSizes(
        min(n, math.ceil(margin * occupancy)), max(1, min(n - 1, math.ceil(margin * neighbours)))
    )


def all_pairs(n: int) -> tuple[Int[Array, "N K"], Bool[Array, "N K"]]:
    """Every other particle of each particle (no cutoff): `(N, N)` indices and mask."""
    j = jnp.broadcast_to(jnp.arange(n), (n, n))
    return j, j != jnp.arange(n)[:, None]
