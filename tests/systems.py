"""Canonical systems and small numerical helpers shared by the tests."""

import jax.numpy as jnp
import numpy as np
import sympy

import symnoether as sn


def kepler(extra=0, *, lagrangian: bool = True) -> sn.System:
    """Kepler in 3D with SO(3); `extra` times x breaks the rotations about y and z axes."""
    c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
    x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    L = v.dot(v) / 2 + 1 / sympy.sqrt(x.dot(x)) + extra * c.q[0]
    return sn.System("kepler", c, sn.rotations(c, blocks=["x"]),
                     lagrangian=L if lagrangian else None)


def expm(matrix: np.ndarray) -> np.ndarray:
    """exp(M) by scaling and squaring a Taylor series (float64)."""
    norm = np.abs(matrix).sum(axis=1).max()
    squarings = max(0, int(np.ceil(np.log2(max(norm, 1e-300)))) + 1)
    scaled = matrix / 2**squarings
    result, term = np.eye(len(matrix)), np.eye(len(matrix))
    for k in range(1, 25):
        term = term @ scaled / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def random_states(n: int, count: int = 4, seed: int = 0, dtype=np.float64):
    """`count` random states (q, qdot) of `n` coordinates, q shifted by 2 along its first
    axis to keep away from the Kepler singularity at the origin."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(count, n)) + 2 * np.eye(n)[0]
    return jnp.asarray(q, dtype), jnp.asarray(rng.normal(size=(count, n)), dtype)
