# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Neighbour candidates under a cutoff in O(N log N): a spatial-hash cell list.

Why not jax-md's `partition.neighbor_list`: it is built around a fixed box and
allocate/update calls with a separate overflow flag that the caller threads through every
step, which the integrators and the training loop of this project (pure functions of one
state) cannot carry. The hash below needs no box (a free cluster), is recomputed inside
every evaluation (no skin, no stale list) and is a pure function of the positions.

Cells have the cutoff's size; each cell's integer coordinates are hashed into a table of N
slots; particles are sorted by hash, and particle i looks at `capacity` slots of each of
the 3^d cells around its own. A candidate counts only if it lies in the cell looked for
(hash collisions cost slots, never double counts) and within the cutoff.
"""

import itertools

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

_PRIMES = (73856093, 19349663, 83492791)


def _hash(cells, size):
    mixed = sum(cells[..., k] * _PRIMES[k % 3] for k in range(cells.shape[-1]))
    return jnp.mod(mixed, size)


def neighbour_candidates(
    x: Float[Array, "N d"], cutoff: float, capacity: int
) -> tuple[Int[Array, "N K"], Bool[Array, "N K"]]:
    """Indices `j` of the particles within `cutoff` of each particle, padded.

    **Arguments:**

    - `x`: positions, `(N, d)`.
    - `cutoff`: the interaction radius.
    - `capacity`: slots per cell; an error (`eqx.error_if`) when a hash slot holds more.

    **Returns:**

    `(j, mask)` of shape `(N, 3^d * capacity)`: `mask` marks the true neighbours
    (`j != i`, distance below the cutoff); each unordered pair appears twice, once from
    each side.
    """
    n, dim = x.shape
    cells = jnp.floor(x / cutoff).astype(jnp.int32)
    size = max(2 * n, 1)  # twice N slots: few collisions
    keys = _hash(cells, size)
    order = jnp.argsort(keys)
    sorted_keys = keys[order]
    counts = (jnp.searchsorted(sorted_keys, keys, side="right")
              - jnp.searchsorted(sorted_keys, keys, side="left"))
    x = eqx.error_if(x, jnp.any(counts > capacity),
                     f"more than capacity = {capacity} particles share a cell of the neighbour "
                     "list: raise LocalParticleNetwork's capacity (or the cutoff is too large)")
    offsets = jnp.asarray(list(itertools.product((-1, 0, 1), repeat=dim)), jnp.int32)
    wanted = cells[:, None, :] + offsets[None, :, :]  # (N, 3^d, d)
    start = jnp.searchsorted(sorted_keys, _hash(wanted, size), side="left")
    slot = start[..., None] + jnp.arange(capacity)  # (N, 3^d, C)
    inside = slot < n
    j = order[jnp.clip(slot, 0, n - 1)]
    same_cell = jnp.all(cells[j] == wanted[:, :, None, :], axis=-1)
    j = j.reshape(n, -1)
    r2 = jnp.sum((x[j] - x[:, None, :]) ** 2, axis=-1)
    mask = ((inside & same_cell).reshape(n, -1) & (j != jnp.arange(n)[:, None])
            & (r2 < cutoff**2))
    return j, mask


def all_pairs(n: int) -> tuple[Int[Array, "N K"], Bool[Array, "N K"]]:
    """Every other particle of each particle (no cutoff): `(N, N)` indices and mask."""
    j = jnp.broadcast_to(jnp.arange(n), (n, n))
    return j, j != jnp.arange(n)[:, None]
