"""Canonical systems and small numerical helpers shared by the tests."""

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
