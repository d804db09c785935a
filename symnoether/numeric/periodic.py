"""Periodic coordinates (angles): differences and plots taken modulo $2\\pi$.

A generated module names its angles in `PERIODIC_COORDINATES` (declared `periodic=` or
detected by the symbolic half). A winding angle (a free top's psi runs from 0.3 to 43.6)
is the same configuration at psi and psi + 2 pi, so trajectory errors compare angles on
the circle and plots draw them in $(-\\pi, \\pi]$.
"""

from types import ModuleType

import numpy as np

from .contract import periodic

__all__ = ["position_error", "wrapped"]


def _wrap(values: np.ndarray) -> np.ndarray:
    # Into (-pi, pi]: -pi maps to pi, like the angle of a complex number.
    return -np.remainder(np.pi - values, 2 * np.pi) + np.pi


def wrapped(module: ModuleType, qs) -> np.ndarray:
    """Positions with every periodic coordinate mapped into $(-\\pi, \\pi]$.

    **Arguments:**

    - `module`: the generated module.
    - `qs`: positions, shape `(..., n)`.

    **Returns:**

    A NumPy copy of `qs`, the periodic columns wrapped.
    """
    qs = np.array(qs, dtype=np.result_type(np.asarray(qs).dtype, np.float32))
    columns = list(periodic(module))
    if columns:
        qs[..., columns] = _wrap(qs[..., columns])
    return qs


def position_error(module: ModuleType, qs, reference) -> np.ndarray:
    """$|q - q_\\text{ref}|$ per state, with the periodic components of the difference
    taken on the circle (in $(-\\pi, \\pi]$).

    **Arguments:**

    - `module`: the generated module.
    - `qs`, `reference`: positions of the same shape `(..., n)`.

    **Returns:**

    The Euclidean norm of the wrapped difference, shape `(...)`.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.asarray(qs, np.float64) - np.asarray(reference, np.float64)
        columns = list(periodic(module))
        if columns:
            difference[..., columns] = _wrap(difference[..., columns])
        return np.linalg.norm(difference, axis=-1)
