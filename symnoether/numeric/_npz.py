"""Private helpers shared by the data modules (`data.py`, `positions.py`, `stream.py`):
reading `.npz` archives, checking dtypes, noise levels, initial states and sample clocks.

One home for them, so that no data module imports another's private names.
"""

import math
import zipfile
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..errors import DataError

__all__ = [
    "check_noise",
    "dtype_problems",
    "initial_state",
    "noise_level",
    "read_npz",
    "substeps_per_sample",
]


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the `.npz` archive at `path`; `DataError` when it cannot be read."""
    expected = ("expected a file written by `sn.save_data` or `numpy.savez(path, q=..., "
                "qdot=..., qddot=...)`")
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(f"data file {str(path)!r} {what}; {expected}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy file: one bare array
            raise DataError(f"{str(path)!r} holds a single array (a .npy file), not a .npz "
                            f"archive of named arrays; {expected}")
        with loaded as archive:
            return {name: archive[name] for name in archive.files}
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        empty = " (the file is empty)" if path.stat().st_size == 0 else ""
        raise DataError(
            f"cannot read {str(path)!r} as a .npz archive{empty} ({error}); {expected}"
        ) from error


def dtype_problems(arrays: dict[str, np.ndarray]) -> list[str]:
    """A problem for each array that is not floating point."""
    return [
        f"{name!r} has dtype {x.dtype}; expected a floating dtype (float32 or float64): "
        f"convert it with `x.astype(numpy.float32)`"
        for name, x in arrays.items()
        if not np.issubdtype(x.dtype, np.floating)
    ]


def check_noise(noise) -> float:
    """`noise` as a float; an error unless it is a finite number >= 0 (a standard deviation).
    Shared by the fixed data sets, the streams and the position data."""
    try:
        value = float(noise) if not isinstance(noise, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise DataError(f"noise must be >= 0 and finite (a standard deviation), got {noise!r}")
    return value


def noise_level(noise: float, dtype) -> Array:
    """`noise`, checked, as a scalar array of `dtype`."""
    return jnp.asarray(check_noise(noise), dtype)


def substeps_per_sample(dt: float, sample_every: float) -> int:
    """The number of RK4 steps of size `dt` between two samples; an error unless
    `sample_every` is a positive whole multiple of `dt`."""
    substeps = round(sample_every / dt) if dt > 0 else 0
    if substeps < 1 or abs(substeps * dt - sample_every) > 1e-9 * sample_every:
        raise DataError(
            f"sample_every must be a positive whole multiple of dt > 0, got "
            f"sample_every={sample_every}, dt={dt}; e.g. dt=0.01, sample_every=0.1"
        )
    return substeps


def initial_state(x, n: int, name: str, dtype) -> Array:
    """`x` as an array of shape `(n,)` and `dtype`; an error naming `name` otherwise."""
    x = jnp.asarray(x, dtype)
    if x.shape != (n,):
        raise DataError(f"{name} must have shape ({n},) (one value per coordinate), got {x.shape}")
    return x
