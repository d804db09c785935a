# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Training data: states $(q, \\dot q)$ with target accelerations $\\ddot q$.

The reference set-up (`trajectory_data`): one true trajectory, integrated with RK4 at
`dt = 0.01` on the generated module's closed-form `acceleration`, sampled every 0.1, with
Gaussian noise of standard deviation 1e-3 added to inputs and targets. `random_data` draws
many independent states instead. Files are `.npz` archives with arrays `q`, `qdot`, `qddot`
of shape `(N, n)` and optionally `t` of shape `(N,)`.
"""

import os
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

# (check_noise, initial_state and substeps_per_sample were first defined here)
from ._npz import (
    check_noise as check_noise,
    dtype_problems,
    initial_state,
    noise_level,
    read_npz,
    substeps_per_sample as substeps_per_sample,
)
from .contract import check_module
from .decay import warn_if_energy_decays
from .dynamics import check_float_dtype
from .integrate import RK4, integrate
from .losses import AccelerationLoss
from .positions import PositionData, is_position_file, load_positions
from .source import (
    AbstractStateSource,
    Observed,
    Windows,
    array_hash,
    sample_rows,
    uniform_step,
)
from .timed import TimeFunctionLagrangian

__all__ = ["Dataset", "load_data", "random_data", "save_data", "trajectory_data"]

_KEYS = ("q", "qdot", "qddot")


class Dataset(AbstractStateSource):
    """States and target accelerations, one row per sample: a data source whose batches
    are rows drawn uniformly with replacement.

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

    @property
    def noise(self) -> float:
        return 0.0  # the data's noise is in the samples already

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.q.dtype)

    def init(self, batch_size: int) -> None:
        return None

    def sample_clean(self, state, key, batch_size: int):
        return state, sample_rows((self.q, self.qdot, self.qddot), key, batch_size)

    def timed(self) -> Windows:
        if self.t is None:
            super().timed()  # raises, saying what to give
        return Windows((self.q, self.qdot, self.qddot, self.t), self.dtype)

    def warn_if_energy_decays(self, module: ModuleType, *, stacklevel: int = 3) -> None:
        warn_if_energy_decays(module, self.q, self.qdot, self.t, stacklevel=stacklevel + 1)

    def split(self, fraction: float, *, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """Rows drawn at random (`seed`): `round(fraction * N)` of them, at least one, for
        validation, the others for training."""
        n = len(self)
        held = min(max(1, round(fraction * n)), n - 1)
        if n < 2:
            raise DataError("a validation split needs at least 2 samples, got 1")
        order = np.random.default_rng(seed).permutation(n)
        rows = (np.sort(order[held:]), np.sort(order[:held]))
        return tuple(jax.tree.map(lambda x, r=r: x[r], self) for r in rows)

    def trajectories(self) -> list[Observed]:
        """The trajectories of the samples: runs of increasing times `t` (a new one starts
        where `t` does not increase), each from its first state."""
        if self.t is None:
            super().trajectories()  # raises, saying what to give
        t, q, qdot = (np.asarray(x, np.float64) for x in (self.t, self.q, self.qdot))
        cuts = [0, *(np.flatnonzero(np.diff(t) <= 0) + 1), len(t)]
        runs = [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b - a >= 2]
        return [Observed(t[a:b] - t[a], q[a:b], q[a], qdot[a],
                         uniform_step(t[a:b], f"trajectory {k} of the data"), float(t[a]))
                for k, (a, b) in enumerate(runs)]  # fmt: skip

    def coordinate_count(self) -> int:
        return self.q.shape[1]

    def size(self) -> int:
        return len(self)

    def preview(self, batch_size: int):
        return self.q, self.qdot

    def settings(self) -> None:
        return None  # (the checkpoint entries fixed data have always had; run.json hashes them)

    def save(self, path: str | os.PathLike) -> Path:
        return save_data(path, self)

    def data_hash(self) -> str:
        return array_hash({name: getattr(self, name) for name in _KEYS})

    def default_loss(self) -> AccelerationLoss:
        return AccelerationLoss()


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
    if module.__dict__.get("EXPLICIT_TIME", False):
        # Dynamics that depend on the time (an L(q, qdot, t) or a drive): the closed-form
        # acceleration at each stage's and each sample's time, from t = 0.
        true = TimeFunctionLagrangian(module.lagrangian, module.acceleration, module)
        result = integrate(true, q0, qdot0, dt=dt, steps=substeps * (n_samples - 1),
                           method=RK4(), save_every=substeps, full_output=True)  # fmt: skip
        qddot = true.batched_acceleration(result.qs, result.qdots, t=result.ts)
        return _noisy((result.qs, result.qdots, qddot), noise, key)
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


def _check_generated(data: Dataset, module: ModuleType) -> Dataset:
    bad = ~np.all(np.isfinite(np.asarray(data.qddot)), axis=1)
    if np.any(bad) or not np.all(np.isfinite(np.asarray(data.q))):
        raise DataError(
            f"{int(np.sum(bad))} of {len(data)} samples of {module.SYSTEM_NAME!r} have "
            "non-finite states or accelerations (a singularity such as r = 0, or an unstable "
            "trajectory); choose other initial conditions, scales or a smaller dt"
        )
    return data


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
        raise DataError(f"t_final={t_final} gives fewer than 2 samples; make it >= sample_every")
    n = len(module.COORDINATE_NAMES)
    q0, qdot0 = initial_state(q0, n, "q0", dtype), initial_state(qdot0, n, "qdot0", dtype)
    arrays = _sample_trajectory(
        module, q0, qdot0, dt, substeps, n_samples, noise_level(noise, dtype), key
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
        raise DataError(f"n_samples must be >= 1, got {n_samples}")
    n = len(module.COORDINATE_NAMES)
    if sampler is None:
        sampler = _GaussianSampler(n, q_scale, qdot_scale, dtype)
    arrays = _sample_states(
        module.acceleration, sampler, dtype, n_samples, noise_level(noise, dtype), key
    )
    if arrays[0].shape != (n_samples, n) or arrays[1].shape != (n_samples, n):
        raise DataError(
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


def load_data(path: str | os.PathLike, module: ModuleType) -> Dataset | PositionData:
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
    arrays = read_npz(path)
    if is_position_file(arrays):
        return load_positions(path, module)
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
        dtype_problems(arrays), _shape_problems(arrays, len(names)) or _value_problems(arrays)
    ):
        if problems:
            raise DataError(format_problems(header, problems))
    return Dataset(**{name: jnp.asarray(x) for name, x in arrays.items()})
