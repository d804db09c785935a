# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Position data: trajectories of positions sampled at a uniform time step, nothing else.

What is measured is usually positions (a tracked pendulum, a molecule's saved frames,
observed orbits); velocities and accelerations are not. `PositionData` holds B trajectories
as one padded array `q` of shape `(B, T, n)` with the number of valid samples of each
(`lengths`), so that trajectories of different lengths share one array. Files are `.npz`
archives with `q` (`(T, n)` or `(B, T, n)`), the time step as `dt` (a scalar) or as the
sample times `t` (`(T,)` or `(B, T)`, uniformly spaced), and optionally `lengths` (`(B,)`).
`load_data` recognises such a file (it has `q` but neither `qdot` nor `qddot`).
Training on it goes through the discrete Euler-Lagrange equations (`position_loss.py`).
"""

import math
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ..errors import DataError, format_problems
from ..files import atomic_write
from ._npz import dtype_problems, initial_state, noise_level, read_npz, substeps_per_sample
from .contract import check_module
from .dynamics import check_float_dtype
from .integrate import RK4, integrate
from .position_loss import PositionLoss
from .smoothing import local_polynomials, smoothing_problems
from .source import AbstractPositionSource, Observed, array_hash

__all__ = [
    "PositionData",
    "is_position_file",
    "load_positions",
    "position_data",
    "position_trajectories",
    "save_positions",
    "smoothed_positions",
]

# Three positions make one discrete Euler-Lagrange equation.
MIN_LENGTH = 3
# Relative tolerance on the spacing of sample times `t`.
_UNIFORM_RTOL = 1e-6


class PositionData(AbstractPositionSource):
    """Trajectories of positions at a uniform time step, padded to one length: a data
    source whose batches are windows of consecutive positions (`windowed`).

    **Fields:**

    - `q`: positions, shape `(B, T, n)`: B trajectories of at most T samples. Entries past
        a trajectory's length are padding (they repeat its last valid sample) and are never
        used.
    - `dt`: the time between consecutive samples (a positive Python float).
    - `lengths`: the number of valid samples of each trajectory, shape `(B,)`, each in
        `3..T`.

    Build it with [`position_data`][] (from a list of trajectories of any lengths),
    [`position_trajectories`][] (from the true system) or [`load_positions`][].
    """

    q: Float[Array, "B T n"]
    dt: float = eqx.field(static=True)
    lengths: Int[Array, " B"]

    def __check_init__(self):
        problems = _structure_problems(np.shape(self.q), self.dt, np.asarray(self.lengths))
        if problems:
            raise ValueError(format_problems("invalid PositionData", problems))

    def __len__(self) -> int:
        return self.q.shape[0]

    @property
    def mask(self) -> np.ndarray:
        """`(B, T)` booleans: True where a sample is valid (not padding)."""
        return np.arange(self.q.shape[1]) < np.asarray(self.lengths)[:, None]

    def astype(self, dtype) -> "PositionData":
        """The same data with positions in another floating dtype."""
        return eqx.tree_at(lambda d: d.q, self, jnp.asarray(self.q, dtype))

    def states(self) -> tuple[np.ndarray, np.ndarray]:
        """Midpoints and finite-difference velocities of all consecutive valid samples,
        `(N, n)` each (NumPy): representative states, e.g. for input standardisation."""
        pairs = self.windows(2)
        return 0.5 * (pairs[:, 0] + pairs[:, 1]), (pairs[:, 1] - pairs[:, 0]) / self.dt

    def coordinate_count(self) -> int:
        return self.q.shape[2]

    def size(self) -> int:
        return int(np.sum(np.asarray(self.lengths)))

    def preview(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        return self.states()

    def settings(self) -> None:
        return None  # (the loss's settings hold dt; run.json hashes the positions)

    def save(self, path: str | os.PathLike) -> Path:
        return save_positions(path, self)

    def data_hash(self) -> str:
        return array_hash({"q": self.q, "lengths": self.lengths, "dt": self.dt})

    def default_loss(self) -> PositionLoss:
        return PositionLoss()

    def split(self, fraction: float, *, seed: int = 0) -> tuple["PositionData", "PositionData"]:
        """Whole trajectories drawn at random (`seed`) for validation when there are
        several; one trajectory is cut in time, its last `fraction` held out (each part
        keeps at least 3 samples)."""
        q, lengths = np.asarray(self.q), np.asarray(self.lengths)
        if len(lengths) >= 2:
            held = min(max(1, round(fraction * len(lengths))), len(lengths) - 1)
            order = np.random.default_rng(seed).permutation(len(lengths))
            parts = [[q[b, :lengths[b]] for b in sorted(rows)]
                     for rows in (order[held:], order[:held])]  # fmt: skip
        else:
            size = int(lengths[0])
            cut = size - max(MIN_LENGTH, round(fraction * size))
            if cut < MIN_LENGTH:
                raise DataError(f"a trajectory of {size} positions is too short to split for "
                                f"validation (each part needs {MIN_LENGTH}); lower "
                                "validation_fraction or give more samples")
            parts = [[q[0, :cut]], [q[0, cut:size]]]
        train, validation = (position_data(p, dt=self.dt) for p in parts)
        return train.astype(self.q.dtype), validation.astype(self.q.dtype)

    def smoothed(self, window: int, degree: int) -> "PositionData":
        """[`smoothed_positions`][] of this data."""
        return smoothed_positions(self, window, degree)

    def trajectories(self) -> list[Observed]:
        """Each trajectory from its first position, with the velocity of the second-order
        one-sided difference $(-3 q_0 + 4 q_1 - q_2) / (2\\,dt)$."""
        q, lengths = np.asarray(self.q, np.float64), np.asarray(self.lengths)
        return [Observed(np.arange(size) * self.dt, q[b, :size], q[b, 0],
                         (-3 * q[b, 0] + 4 * q[b, 1] - q[b, 2]) / (2 * self.dt), self.dt)
                for b, size in enumerate(lengths)]  # fmt: skip

    def windows(self, length: int) -> np.ndarray:
        """Every run of `length` consecutive valid samples, shape `(W, length, n)` (NumPy).

        Raises a `DataError` (a `ValueError`) when no trajectory has `length` samples.
        """
        q, lengths = np.asarray(self.q), np.asarray(self.lengths)
        starts = [(b, k) for b, size in enumerate(lengths) for k in range(size - length + 1)]
        if not starts:  # e.g. a rollout longer than the trajectories of a data file
            raise DataError(
                f"no trajectory has the {length} consecutive samples a window needs (longest "
                f"{int(lengths.max())}); use fewer rollout steps or longer trajectories"
            )
        b, k = np.asarray(starts).T
        return q[b[:, None], k[:, None] + np.arange(length)]


def smoothed_positions(data: PositionData, window: int, degree: int = 4) -> PositionData:
    """`data` with each trajectory replaced by local least-squares polynomials
    (Savitzky-Golay): each sample by the value at its time of the polynomial of `degree`
    fitted to the `window` samples around it (the first and last `window // 2` samples of a
    trajectory by the polynomial of its first or last window).

    Position noise of standard deviation sigma becomes acceleration noise of about
    sqrt(6) sigma / dt^2 in the one-step loss, and it also enters the model's inputs (the
    velocity of two noisy positions), which biases the fit; averaging it over a window
    first lowers both (docs/POSITIONS.md, "Noisy positions"). The window trades noise for
    bias: choose it well below the shortest time scale of the motion (a quarter of a
    period or less). `window = 1` returns `data` unchanged.

    Raises a `DataError` (a `ValueError`) when a trajectory is shorter than the window.
    """
    problems = smoothing_problems(window, degree)
    if problems:
        raise ValueError(format_problems("smoothed_positions", problems))
    if window == 1:
        return data
    out = local_polynomials(np.asarray(data.q, np.float64), np.asarray(data.lengths), window,
                            degree)  # fmt: skip
    return eqx.tree_at(lambda d: d.q, data, jnp.asarray(out, data.q.dtype))


def _structure_problems(shape: tuple, dt, lengths: np.ndarray) -> list[str]:
    problems = []
    if len(shape) != 3:
        problems.append(f"q must have shape (B, T, n), got {shape}")
    if not (isinstance(dt, float) and math.isfinite(dt) and dt > 0):
        problems.append(f"dt must be a positive finite float, got {dt!r}")
    if len(shape) == 3:
        if lengths.shape != shape[:1] or not np.issubdtype(lengths.dtype, np.integer):
            problems.append(f"lengths must be {shape[:1]} integers, got {lengths.dtype} "
                            f"{lengths.shape}")  # fmt: skip
        elif np.any((lengths < MIN_LENGTH) | (lengths > shape[1])):
            problems.append(
                f"every trajectory needs {MIN_LENGTH} to T = {shape[1]} samples; lengths are "
                f"{lengths.tolist()}"
            )
    return problems


def _pad(trajectories: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    # One (B, T, n) array; each trajectory repeats its last sample up to T, so that
    # padding is finite and never disturbs a computation that masks it out.
    lengths = np.array([len(x) for x in trajectories])
    q = np.stack([np.concatenate([x, np.repeat(x[-1:], lengths.max() - len(x), 0)])
                  for x in trajectories])  # fmt: skip
    return q, lengths


def position_data(
    trajectories: Float[ArrayLike, "B T n"] | Sequence[Float[ArrayLike, "T n"]],
    *,
    dt: float,
) -> PositionData:
    """Position data from trajectories sampled every `dt`.

    **Arguments:**

    - `trajectories`: one trajectory `(T, n)`, a batch `(B, T, n)`, or a list of
        trajectories `(T_b, n)` of different lengths (padded, with their `lengths`).
    - `dt`: the time between samples.

    **Returns:**

    A [`PositionData`][] in the trajectories' floating dtype.
    """
    if isinstance(trajectories, list | tuple):
        arrays = [np.asarray(x) for x in trajectories]
        shapes = {x.shape[1:] for x in arrays}
        if not arrays or any(x.ndim != 2 for x in arrays) or len(shapes) != 1:
            raise ValueError(
                "trajectories must be a non-empty list of arrays (T_b, n) with the same n, got "
                f"shapes {[x.shape for x in arrays]}"
            )
        q, lengths = _pad(arrays)
    else:
        q = np.asarray(trajectories)
        q = q[None] if q.ndim == 2 else q
        lengths = np.full(q.shape[:1], q.shape[1] if q.ndim == 3 else 0)
    if not np.issubdtype(q.dtype, np.floating):
        raise TypeError(f"positions must be floating point (float32 or float64), got {q.dtype}")
    return PositionData(jnp.asarray(q), float(dt), jnp.asarray(lengths))


@eqx.filter_jit
def _sample(module, q0, qdot0, dt, substeps, n_samples, noise, key):
    qs, _ = integrate(
        module.lagrangian, q0, qdot0, dt=dt, steps=substeps * (n_samples - 1),
        method=RK4(), save_every=substeps, acceleration=module.acceleration,
    )  # fmt: skip
    return qs + noise * jax.random.normal(key, qs.shape, qs.dtype)


def _initial_states(q0, qdot0, n: int, n_trajectories: int, spread: float, dtype, key):
    # (B, n) initial states: given as a batch, or drawn around one state.
    q0, qdot0 = jnp.asarray(q0, dtype), jnp.asarray(qdot0, dtype)
    if q0.ndim == 2 and qdot0.shape == q0.shape and q0.shape[1] == n:
        return q0, qdot0
    q0, qdot0 = initial_state(q0, n, "q0", dtype), initial_state(qdot0, n, "qdot0", dtype)
    if not (n_trajectories >= 1 and spread >= 0):
        raise DataError(f"need n_trajectories >= 1 and spread >= 0, got {n_trajectories}, "
                         f"{spread}")  # fmt: skip
    kq, kv = jax.random.split(key)
    shape = (n_trajectories, n)
    return (q0 + spread * jax.random.normal(kq, shape, dtype),
            qdot0 + spread * jax.random.normal(kv, shape, dtype))  # fmt: skip


def position_trajectories(
    module: ModuleType,
    q0: Float[ArrayLike, "*B n"],
    qdot0: Float[ArrayLike, "*B n"],
    *,
    n_trajectories: int = 1,
    spread: float = 0.0,
    dt: float = 0.01,
    sample_every: float = 0.1,
    t_final: float = 100.0,
    noise: float = 1e-3,
    dtype=jnp.float32,
    key: PRNGKeyArray,
) -> PositionData:
    """Measured-like data from the true system: noisy positions along true trajectories.

    **Arguments:**

    - `module`: a generated module with a true Lagrangian (`HAS_LAGRANGIAN`).
    - `q0`, `qdot0`: initial states, `(B, n)` for B trajectories; or one state `(n,)`, from
        which `n_trajectories` initial states are drawn as
        $q_0 + \\text{spread}\\,N(0, I)$, $\\dot q_0 + \\text{spread}\\,N(0, I)$.
    - `dt`: the RK4 step of the closed-form `module.acceleration`.
    - `sample_every`: time between samples (the data's `dt`), a whole multiple of `dt`.
    - `t_final`: duration of each trajectory: `round(t_final / sample_every) + 1` samples.
    - `noise`: standard deviation of the Gaussian noise added to the positions (only).
    - `dtype`: float32 (default) or float64 (needs `jax_enable_x64`).
    - `key`: a JAX random key for the initial states and the noise.

    **Returns:**

    A [`PositionData`][] with B trajectories of equal length.
    """
    check_module(module, need_lagrangian=True)
    dtype = check_float_dtype(dtype)
    substeps = substeps_per_sample(dt, sample_every)
    n_samples = round(t_final / sample_every) + 1
    if n_samples < MIN_LENGTH:
        raise DataError(f"t_final={t_final} gives fewer than {MIN_LENGTH} samples; make it "
                         f">= {2 * sample_every}")  # fmt: skip
    state_key, noise_key = jax.random.split(key)
    n = len(module.COORDINATE_NAMES)
    q0, qdot0 = _initial_states(q0, qdot0, n, n_trajectories, spread, dtype, state_key)
    qs = _sample(module, q0, qdot0, dt, substeps, n_samples, noise_level(noise, dtype),
                 noise_key)  # fmt: skip
    bad = ~np.all(np.isfinite(np.asarray(qs)), axis=(1, 2))
    if np.any(bad):
        raise DataError(
            f"{int(bad.sum())} of {len(bad)} trajectories of {module.SYSTEM_NAME!r} are not "
            "finite (a singularity such as r = 0, or an escape); choose other initial states, "
            "a smaller spread or a smaller dt"
        )
    return position_data(qs, dt=float(substeps * dt))


def save_positions(path: str | os.PathLike, data: PositionData) -> Path:
    """Write position data to a `.npz` file (`q`, `dt`, and `lengths` when the trajectories
    differ in length), atomically.

    **Returns:**

    The path written.
    """
    arrays = {"q": np.asarray(data.q), "dt": np.asarray(data.dt)}
    if np.any(np.asarray(data.lengths) != data.q.shape[1]):
        arrays["lengths"] = np.asarray(data.lengths)
    return atomic_write(path, lambda file: np.savez(file, **arrays))


def is_position_file(arrays: dict) -> bool:
    """Whether the arrays of a data file are positions only: `q`, no `qdot` nor `qddot`."""
    return "q" in arrays and "qdot" not in arrays and "qddot" not in arrays


def _time_step(arrays: dict[str, np.ndarray], shape: tuple) -> tuple[float | None, list[str]]:
    # The time step from `dt` or `t`, and the problems found.
    if ("dt" in arrays) == ("t" in arrays):
        return None, ["give the time step as exactly one of 'dt' (a scalar) or 't' (the "
                      "sample times, (T,) or (B, T))"]  # fmt: skip
    if "dt" in arrays:
        dt = arrays["dt"]
        if dt.shape != () or not (np.isfinite(dt) and dt > 0):
            return None, [f"'dt' must be a positive finite scalar, got {dt!r}"]
        return float(dt), []
    t = arrays["t"]
    t = t[None] if t.ndim == 1 else t
    if t.ndim != 2 or t.shape[1] != shape[1] or t.shape[0] not in (1, shape[0]):
        return None, [f"'t' has shape {arrays['t'].shape}; expected (T,) or (B, T) with "
                      f"(B, T) = {shape[:2]}"]  # fmt: skip
    return _uniform_step(t, _lengths(arrays, shape)[0])


def _uniform_step(t: np.ndarray, lengths: np.ndarray | None) -> tuple[float | None, list[str]]:
    steps = np.diff(t, axis=1)
    valid = np.ones(steps.shape, bool)
    if lengths is not None and t.shape[0] == len(lengths):
        valid = np.arange(steps.shape[1]) < (lengths[:, None] - 1)
    steps = steps[valid]
    if steps.size == 0 or not np.all(np.isfinite(steps)):
        return None, ["'t' must hold finite sample times"]
    dt = float(np.median(steps))
    if dt <= 0 or np.max(np.abs(steps - dt)) > _UNIFORM_RTOL * dt:
        return None, [
            f"'t' is not uniformly spaced (steps from {steps.min():.6g} to {steps.max():.6g}); "
            "positions-only training needs one time step: resample the trajectories"
        ]
    return dt, []


def _lengths(arrays: dict[str, np.ndarray], shape: tuple) -> tuple[np.ndarray | None, list[str]]:
    if "lengths" not in arrays:
        return np.full(shape[:1], shape[1]), []
    lengths = arrays["lengths"]
    if lengths.shape != shape[:1] or not np.issubdtype(lengths.dtype, np.integer):
        return None, [f"'lengths' has {lengths.dtype} shape {lengths.shape}; expected "
                      f"{shape[0]} integers (B,), one per trajectory"]  # fmt: skip
    if np.any((lengths < MIN_LENGTH) | (lengths > shape[1])):
        return None, [f"'lengths' must lie in {MIN_LENGTH}..T = {shape[1]} (three positions "
                      f"make one equation), got {lengths.tolist()}"]  # fmt: skip
    return lengths, []


def _position_problems(arrays: dict[str, np.ndarray], n: int):
    # Returns (q (B, T, n), dt, lengths) and every problem found.
    q = arrays["q"]
    q = q[None] if q.ndim == 2 else q
    if q.ndim != 3 or q.shape[2] != n:
        return None, [f"'q' has shape {arrays['q'].shape}; expected (T, {n}) for one trajectory "
                      f"or (B, T, {n}) for B of them, one column per coordinate"]  # fmt: skip
    lengths, problems = _lengths(arrays, q.shape)
    dt, more = _time_step(arrays, q.shape)
    problems += more
    if lengths is not None:
        valid = np.arange(q.shape[1]) < lengths[:, None]
        bad = ~np.isfinite(q) & valid[..., None]
        if np.any(bad):
            problems.append(f"'q' has {int(bad.sum())} non-finite values (NaN or inf) in valid "
                            "samples; remove them or end the trajectory before them with "
                            "'lengths'")  # fmt: skip
    return (q, dt, lengths), problems


def load_positions(path: str | os.PathLike, module: ModuleType) -> PositionData:
    """Read and validate a positions-only `.npz` file for the system of `module`.

    **Arguments:**

    - `path`: a `.npz` with `q` (`(T, n)` or `(B, T, n)`, float32 or float64), exactly one
        of `dt` (a scalar) or `t` (`(T,)` or `(B, T)`, uniformly spaced), and optionally
        `lengths` (`(B,)` integers: samples past a trajectory's length are padding and may
        hold anything, NaN included).
    - `module`: the generated module, for the number n of coordinates.

    **Returns:**

    A [`PositionData`][] in the dtype of the file. Raises `DataError` (a `TypeError` and
    a `ValueError`) for non-floating positions, missing arrays, wrong shapes, a
    non-uniform time step or non-finite values, listing every problem.
    """
    path = Path(path)
    names = tuple(module.COORDINATE_NAMES)
    header = (f"invalid positions file {str(path)!r} for system {module.SYSTEM_NAME!r} "
              f"(n = {len(names)} coordinates {', '.join(names)})")  # fmt: skip
    arrays = read_npz(path)
    if "q" not in arrays:
        raise DataError(f"{header}: no array 'q'; expected 'q' and 'dt' or 't', found "
                         f"{sorted(arrays)}. Write it with `sn.save_positions`")  # fmt: skip
    problems = dtype_problems({k: arrays[k] for k in ("q", "t", "dt") if k in arrays})
    if problems:
        raise DataError(header + ":\n" + "\n".join(f"  - {p}" for p in problems))
    parsed, problems = _position_problems(arrays, len(names))
    if problems:
        raise DataError(header + ":\n" + "\n".join(f"  - {p}" for p in problems))
    q, dt, lengths = parsed
    # Padding is refilled with each trajectory's last valid sample (it may be NaN on file).
    q, lengths = _pad([q[b, :size] for b, size in enumerate(lengths)])
    return PositionData(jnp.asarray(q), dt, jnp.asarray(lengths))
