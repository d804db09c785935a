# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Training data: states $(q, \\dot q)$ with target accelerations $\\ddot q$.

The reference set-up (`trajectory_data`): one true trajectory, integrated with RK4 at
`dt = 0.01` on the generated module's closed-form `acceleration`, sampled every 0.1, with
Gaussian noise of standard deviation 1e-3 added to inputs and targets. `random_data` draws
many independent states instead. Files are `.npz` archives with arrays `q`, `qdot`, `qddot`
of shape `(N, n)` and optionally `t` of shape `(N,)`.
"""

import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..errors import DataError, format_problems
from ..files import atomic_write
from .contract import check_module
from .dynamics import check_float_dtype
from .integrate import RK4, integrate

__all__ = ["Dataset", "load_data", "random_data", "save_data", "trajectory_data"]

_KEYS = ("q", "qdot", "qddot")


class Dataset(eqx.Module):
    """States and target accelerations, one row per sample.

    **Fields:**

    - `q`, `qdot`, `qddot`: arrays of shape `(N, n)`.
    - `t`: the sample times, shape `(N,)`, or `None` for data that is not a trajectory.
    """

    q: Float[Array, "N n"]
    qdot: Float[Array, "N n"]
    qddot: Float[Array, "N n"]
    t: Float[Array, " N"] | None = None

    def __check_init__(self):
        shapes = {name: jnp.shape(getattr(self, name)) for name in _KEYS}
        if len(set(shapes.values())) != 1 or len(shapes["q"]) != 2:
            raise ValueError(f"q, qdot and qddot must share one shape (N, n), got {shapes}")
        if self.t is not None and jnp.shape(self.t) != shapes["q"][:1]:
            raise ValueError(f"t must have shape {shapes['q'][:1]}, got {jnp.shape(self.t)}")

    def __len__(self) -> int:
        return self.q.shape[0]

    def astype(self, dtype) -> "Dataset":
        """The same data in another floating dtype."""
        return jax.tree.map(lambda x: jnp.asarray(x, dtype), self)


def _noisy(arrays: tuple[Array, ...], noise: Array, key: PRNGKeyArray) -> tuple[Array, ...]:
    keys = jax.random.split(key, len(arrays))
    return tuple(
        x + noise * jax.random.normal(k, x.shape, x.dtype)
        for x, k in zip(arrays, keys, strict=True)
    )


# The samplers below are jitted as a whole: cheaper than running their many small
# operations one by one, which JAX would compile one at a time.
@eqx.filter_jit
def _sample_trajectory(module, q0, qdot0, dt, substeps, n_samples, noise, key):
    qs, qdots = integrate(
        module.lagrangian, q0, qdot0, dt=dt, steps=substeps * (n_samples - 1),
        method=RK4(), save_every=substeps, acceleration=module.acceleration,
    )  # fmt: skip
    return _noisy((qs, qdots, jax.vmap(module.acceleration)(qs, qdots)), noise, key)


class _GaussianSampler(eqx.Module):
    # A Module, not a closure, so that equal settings hit the jit cache.
    n: int = eqx.field(static=True)
    q_scale: float = eqx.field(static=True)
    qdot_scale: float = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)

    def __call__(self, key: PRNGKeyArray) -> tuple[Array, Array]:
        kq, kv = jax.random.split(key)
        return (
            self.q_scale * jax.random.normal(kq, (self.n,), self.dtype),
            self.qdot_scale * jax.random.normal(kv, (self.n,), self.dtype),
        )


@eqx.filter_jit
def _sample_states(acceleration, sampler, dtype, n_samples, noise, key):
    sample_key, noise_key = jax.random.split(key)
    qs, qdots = jax.vmap(sampler)(jax.random.split(sample_key, n_samples))
    qs, qdots = jnp.asarray(qs, dtype), jnp.asarray(qdots, dtype)
    return _noisy((qs, qdots, jax.vmap(acceleration)(qs, qdots)), noise, noise_key)


def check_noise(noise) -> float:
    """`noise` as a float; an error unless it is a finite number >= 0 (a standard deviation).
    Shared by the fixed data sets, the streams and the position data."""
    try:
        value = float(noise) if not isinstance(noise, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"noise must be >= 0 and finite (a standard deviation), got {noise!r}")
    return value


def _noise_level(noise: float, dtype) -> Array:
    return jnp.asarray(check_noise(noise), dtype)


def _check_generated(data: Dataset, module: ModuleType) -> Dataset:
    bad = ~np.all(np.isfinite(np.asarray(data.qddot)), axis=1)
    if np.any(bad) or not np.all(np.isfinite(np.asarray(data.q))):
        raise ValueError(
            f"{int(np.sum(bad))} of {len(data)} samples of {module.SYSTEM_NAME!r} have "
            "non-finite states or accelerations (a singularity such as r = 0, or an unstable "
            "trajectory); choose other initial conditions, scales or a smaller dt"
        )
    return data


def substeps_per_sample(dt: float, sample_every: float) -> int:
    """The number of RK4 steps of size `dt` between two samples; an error unless
    `sample_every` is a positive whole multiple of `dt`."""
    substeps = round(sample_every / dt) if dt > 0 else 0
    if substeps < 1 or abs(substeps * dt - sample_every) > 1e-9 * sample_every:
        raise ValueError(
            f"sample_every must be a positive whole multiple of dt > 0, got "
            f"sample_every={sample_every}, dt={dt}; e.g. dt=0.01, sample_every=0.1"
        )
    return substeps


def initial_state(x, n: int, name: str, dtype) -> Array:
    """`x` as an array of shape `(n,)` and `dtype`; an error naming `name` otherwise."""
    x = jnp.asarray(x, dtype)
    if x.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one value per coordinate), got {x.shape}")
    return x


def trajectory_data(
    module: ModuleType,
    q0: Float[Array, " n"],
    qdot0: Float[Array, " n"],
    *,
    dt: float = 0.01,
    sample_every: float = 0.1,
    t_final: float = 1000.0,
    noise: float = 1e-3,
    dtype=jnp.float32,
    key: PRNGKeyArray,
) -> Dataset:
    """Sample one true trajectory, the reference's training set-up.

    **Arguments:**

    - `module`: a generated module with a true Lagrangian (`HAS_LAGRANGIAN`).
    - `q0`, `qdot0`: the initial state.
    - `dt`: the RK4 step of the closed-form `module.acceleration`.
    - `sample_every`: time between samples, a whole multiple of `dt`.
    - `t_final`: the last sample time; there are `round(t_final / sample_every) + 1` samples.
    - `noise`: standard deviation of the Gaussian noise added to `q`, `qdot` and `qddot`.
    - `dtype`: float32 (default) or float64 (needs `jax_enable_x64`).
    - `key`: a JAX random key for the noise.

    **Returns:**

    A `Dataset` with `t`.
    """
    check_module(module, need_lagrangian=True)
    dtype = check_float_dtype(dtype)
    substeps = substeps_per_sample(dt, sample_every)
    n_samples = round(t_final / sample_every) + 1
    if n_samples < 2:
        raise ValueError(f"t_final={t_final} gives fewer than 2 samples; make it >= sample_every")
    n = len(module.COORDINATE_NAMES)
    q0, qdot0 = initial_state(q0, n, "q0", dtype), initial_state(qdot0, n, "qdot0", dtype)
    arrays = _sample_trajectory(
        module, q0, qdot0, dt, substeps, n_samples, _noise_level(noise, dtype), key
    )
    t = np.arange(n_samples) * (substeps * dt)
    return _check_generated(Dataset(*arrays, t=jnp.asarray(t, dtype)), module)


def random_data(
    module: ModuleType,
    n_samples: int,
    *,
    q_scale: float = 1.0,
    qdot_scale: float = 1.0,
    sampler: Callable[[PRNGKeyArray], tuple[Array, Array]] | None = None,
    noise: float = 1e-3,
    dtype=jnp.float32,
    key: PRNGKeyArray,
) -> Dataset:
    """Many independent states with their true accelerations.

    **Arguments:**

    - `module`: a generated module with a true Lagrangian (`HAS_LAGRANGIAN`).
    - `n_samples`: the number of states N.
    - `q_scale`, `qdot_scale`: standard deviations of the default Gaussian sampler
        $q \\sim N(0, q_{scale}^2 I)$, $\\dot q \\sim N(0, \\dot q_{scale}^2 I)$.
    - `sampler`: instead, a function `key -> (q, qdot)` drawing one state (it is vmapped).
    - `noise`: standard deviation of the Gaussian noise added to `q`, `qdot` and `qddot`.
    - `dtype`: float32 (default) or float64 (needs `jax_enable_x64`).
    - `key`: a JAX random key.

    **Returns:**

    A `Dataset` without `t`.
    """
    check_module(module, need_lagrangian=True)
    dtype = check_float_dtype(dtype)
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    n = len(module.COORDINATE_NAMES)
    if sampler is None:
        sampler = _GaussianSampler(n, q_scale, qdot_scale, dtype)
    arrays = _sample_states(
        module.acceleration, sampler, dtype, n_samples, _noise_level(noise, dtype), key
    )
    if arrays[0].shape != (n_samples, n) or arrays[1].shape != (n_samples, n):
        raise ValueError(
            f"sampler must return (q, qdot) of shape ({n},) each, got {arrays[0].shape[1:]} "
            f"and {arrays[1].shape[1:]}"
        )
    return _check_generated(Dataset(*arrays), module)


def save_data(path: str | os.PathLike, dataset: Dataset) -> Path:
    """Write a dataset to a `.npz` file atomically (a temporary file, then `os.replace`).

    **Arguments:**

    - `path`: the file to write; its folder must exist.
    - `dataset`: the data.

    **Returns:**

    The path written.
    """
    arrays = {name: np.asarray(getattr(dataset, name)) for name in _KEYS}
    if dataset.t is not None:
        arrays["t"] = np.asarray(dataset.t)
    return atomic_write(path, lambda file: np.savez(file, **arrays))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
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
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        if isinstance(error, DataError):
            raise
        empty = " (the file is empty)" if path.stat().st_size == 0 else ""
        raise DataError(
            f"cannot read {str(path)!r} as a .npz archive{empty} ({error}); {expected}"
        ) from error


def _dtype_problems(arrays: dict[str, np.ndarray]) -> list[str]:
    return [
        f"{name!r} has dtype {x.dtype}; expected a floating dtype (float32 or float64): "
        f"convert it with `x.astype(numpy.float32)`"
        for name, x in arrays.items()
        if not np.issubdtype(x.dtype, np.floating)
    ]


def _shape_problems(arrays: dict[str, np.ndarray], n: int) -> list[str]:
    problems = [
        f"{name!r} has shape {arrays[name].shape}; expected (N, {n}): one row per sample, "
        f"one column per coordinate"
        for name in _KEYS
        if arrays[name].ndim != 2 or arrays[name].shape[1] != n
    ]
    lengths = {name: x.shape[0] if x.ndim else None for name, x in arrays.items()}
    if len(set(lengths.values())) > 1:
        problems.append(f"the arrays have different numbers of samples N: {lengths}")
    elif 0 in lengths.values():
        problems.append("the arrays hold no samples (N = 0); training needs at least one")
    if "t" in arrays and arrays["t"].ndim != 1:
        problems.append(f"'t' has shape {arrays['t'].shape}; expected (N,)")
    return problems


def _value_problems(arrays: dict[str, np.ndarray]) -> list[str]:
    return [
        f"{name!r} has {int(np.sum(~np.isfinite(x)))} non-finite values (NaN or inf); "
        "remove or regenerate those samples"
        for name, x in arrays.items()
        if not np.all(np.isfinite(x))
    ]


def load_data(path: str | os.PathLike, module: ModuleType) -> Dataset:
    """Read and validate a `.npz` dataset for the system of `module`.

    **Arguments:**

    - `path`: a `.npz` file with `q`, `qdot`, `qddot` of shape `(N, n)` (float32 or float64)
        and optionally `t` of shape `(N,)`; or a positions-only file (`q` without `qdot`
        and `qddot`; see `positions.load_positions`).
    - `module`: the generated module, for the number n of coordinates.

    **Returns:**

    A `Dataset` in the dtype of the file, or a `PositionData` for a positions-only file.
    Raises `DataError` (a `ValueError` and a `TypeError`) for a missing or unreadable
    file, missing keys, non-floating arrays, wrong shapes, no samples or non-finite values,
    listing every problem.
    """
    path = Path(path)
    names = tuple(module.COORDINATE_NAMES)
    arrays = _read_npz(path)
    from .positions import is_position_file, load_positions  # positions.py imports this

    if is_position_file(arrays):
        try:
            return load_positions(path, module)
        except DataError:
            raise
        except (ValueError, TypeError) as error:  # one error type for every bad data file
            raise DataError(str(error)) from error
    header = (
        f"invalid data file {str(path)!r} for system {module.SYSTEM_NAME!r} "
        f"(n = {len(names)} coordinates {', '.join(names)})"
    )
    missing = [name for name in _KEYS if name not in arrays]
    if missing:
        raise DataError(
            f"{header}: missing arrays {missing}; expected 'q', 'qdot', 'qddot' (and "
            f"optionally 't'), found {sorted(arrays)}. Write it with `sn.save_data`; for "
            "positions only, leave out both 'qdot' and 'qddot' and give 'dt' or 't'"
        )
    arrays = {name: arrays[name] for name in (*_KEYS, "t") if name in arrays}
    for problems in (
        _dtype_problems(arrays), _shape_problems(arrays, len(names)) or _value_problems(arrays)
    ):
        if problems:
            raise DataError(format_problems(header, problems))
    return Dataset(**{name: jnp.asarray(x) for name, x in arrays.items()})
