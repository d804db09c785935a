# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Data sources: what `train` takes, and the batches drawn from it inside the jitted step.

Diffrax's pattern: abstract `eqx.Module`s declare every method the trainer and the run
folder call, once; each kind of data implements them.

```
AbstractBatches          batches drawn inside the jitted step: init, sample_clean, noise, dtype
AbstractSource           training data: dtype, coordinates, preview, resume settings, saving,
                         hashing, default loss
+-- AbstractStateSource  states with target accelerations, batches of (q, qdot, qddot):
|                        Dataset (data.py), AbstractStream (stream.py: TrajectoryStream,
|                        StateStream)
+-- AbstractPositionSource  positions only, batches of windows: PositionData (positions.py)
Windows                  fixed arrays drawn with replacement (a position source's windows)
```

A loss (`losses.py`) turns a source into the batches it scores (`AbstractLoss.batches`):
a state source is its own batches; a position source gives windows of the loss's length.
"""

import abc
import hashlib
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from ..errors import DataError

if TYPE_CHECKING:
    from .losses import AbstractLoss

__all__ = [
    "AbstractBatches",
    "AbstractPositionSource",
    "AbstractSource",
    "AbstractStateSource",
    "Batch",
    "Observed",
    "Windows",
    "add_noise",
    "array_hash",
    "sample_rows",
]

Batch = tuple[Float[Array, "batch n"], Float[Array, "batch n"], Float[Array, "batch n"]]


class AbstractBatches(eqx.Module):
    """Batches drawn inside the jitted training step.

    What changes from batch to batch lives in a separate state (a pytree of arrays, saved
    with the training checkpoint), so that drawing is a pure function of (state, key), like
    an optax optimiser.
    """

    #: Standard deviation of the Gaussian noise added to every array of a batch (0: none).
    noise: eqx.AbstractVar[float]
    #: The dtype of the samples.
    dtype: eqx.AbstractVar[np.dtype]

    @abc.abstractmethod
    def init(self, batch_size: int) -> PyTree:
        """The state before the first batch (deterministic: no key)."""

    @abc.abstractmethod
    def sample_clean(
        self, state: PyTree, key: PRNGKeyArray, batch_size: int
    ) -> tuple[PyTree, tuple[Array, ...]]:
        """One batch of `batch_size` samples without noise, and the next state. (Training
        adds the noise for a whole epoch in one draw: cheaper than a random call per step.)
        """

    def sample(
        self, state: PyTree, key: PRNGKeyArray, batch_size: int
    ) -> tuple[PyTree, tuple[Array, ...]]:
        """One batch of `batch_size` noisy samples and the next state."""
        clean_key, noise_key = jax.random.split(key)
        state, batch = self.sample_clean(state, clean_key, batch_size)
        return state, add_noise(batch, self.noise, noise_key)


class AbstractSource(eqx.Module):
    """Training data, as `train` and the run folder take it."""

    @abc.abstractmethod
    def astype(self, dtype) -> "AbstractSource":
        """The same data in another floating dtype (training converts to the model's)."""

    @abc.abstractmethod
    def coordinate_count(self) -> int:
        """The number n of coordinates of each state."""

    @abc.abstractmethod
    def size(self) -> int | None:
        """The number of fixed samples (states, or positions), or None for a stream."""

    @abc.abstractmethod
    def preview(self, batch_size: int) -> tuple[Float[Array, "m n"], Float[Array, "m n"]]:
        """States `(q, qdot)` representative of the data (for input standardisation)."""

    @abc.abstractmethod
    def settings(self) -> dict | None:
        """What a resumed training run must match about the data, as JSON; `None` for data
        that the checkpoint does not describe (fixed data: the run folder hashes them)."""

    @abc.abstractmethod
    def save(self, path: str | os.PathLike) -> Path | None:
        """Write the data to `path` (a run folder's `data.npz`), atomically; `None` (nothing
        written) for data that the configuration and the initial state define (a stream)."""

    @abc.abstractmethod
    def data_hash(self) -> str | None:
        """A hash of what training sees (shapes, dtypes and values), 16 hex digits, which a
        run folder records and a resume must match; `None` for a stream."""

    @abc.abstractmethod
    def default_loss(self) -> "AbstractLoss":
        """The loss `train` uses on these data when given none."""

    def timed(self) -> "AbstractBatches":
        """Batches `(q, qdot, qddot, t)` with the samples' times, for a model driven in time
        (`AbstractLagrangian.explicit_time`). Default: a `ValueError`, these data have none."""
        raise ValueError(
            f"the model depends on the time (a drive, or a Lagrangian L(q, qdot, t): "
            f"explicit_time), but {type(self).__name__} data carry no sample times of states "
            "and accelerations; train it on a Dataset with times t (sn.trajectory_data, "
            "sn.forced_trajectory_data, or a data file with q, qdot, qddot and the array 't')"
        )

    def split(self, fraction: float, *, seed: int = 0) -> tuple["AbstractSource", "AbstractSource"]:
        """`(training, validation)`: about `fraction` of the data held out for validation
        (`TrainConfig.validation_fraction`). Default: a `DataError`, these data cannot be
        split (a stream never repeats a sample)."""
        raise DataError(
            f"{type(self).__name__} data cannot be split for validation (a stream draws "
            "fresh samples for every batch); set validation_fraction to 0, or train on fixed "
            "data (\"data\": \"fixed\" or \"positions\", or --data FILE)"
        )

    def trajectories(self) -> list["Observed"]:
        """The observed trajectories these data hold, for `evaluate_run(..., data=)`: each
        with its sample times (uniformly spaced), positions and initial state. Default: a
        `DataError`, these data are not trajectories."""
        raise DataError(
            f"{type(self).__name__} data hold no trajectories to compare rollouts with; "
            "give a data file of states with times 't' or of positions"
        )

    def warn_if_energy_decays(self, module: ModuleType, *, stacklevel: int = 3) -> None:
        """Warn when these data lose energy but `module` declares no friction or forces.
        Default: nothing to check (only trajectories can show a decay)."""

    def check_coordinates(self, module: ModuleType) -> None:
        """A `DataError` unless the states have as many coordinates as `module`'s system."""
        n, width = len(module.COORDINATE_NAMES), self.coordinate_count()
        if width != n:
            raise DataError(
                f"the data has {width} coordinates per state but the model's system "
                f"{module.SYSTEM_NAME!r} has {n}; use data made for this system"
            )


class Observed(NamedTuple):
    """One observed trajectory (NumPy): sample times `t` `(T,)` spaced by `dt`, positions
    `q` `(T, n)`, and the initial state `(q0, qdot0)` a rollout starts from, at the
    absolute time `t0` (where the data record one; a system driven in time starts there)."""

    t: np.ndarray
    q: np.ndarray
    q0: np.ndarray
    qdot0: np.ndarray
    dt: float
    t0: float = 0.0


class AbstractStateSource(AbstractSource, AbstractBatches):
    """States with target accelerations, drawn as batches `(q, qdot, qddot)`: the data of
    `AccelerationLoss`. A state source is its own batches."""


class AbstractPositionSource(AbstractSource):
    """Positions only, sampled every `dt`: the data of `PositionLoss`, drawn as windows of
    consecutive positions."""

    #: The time between consecutive samples.
    dt: eqx.AbstractVar[float]

    @abc.abstractmethod
    def windows(self, length: int) -> np.ndarray:
        """Every run of `length` consecutive valid samples, shape `(W, length, n)` (NumPy)."""

    def smoothed(self, window: int, degree: int) -> "AbstractPositionSource":
        """These positions smoothed by local polynomials of `degree` over `window` samples
        (`PositionData` does; a source that cannot says so)."""
        raise TypeError(f"{type(self).__name__} cannot be smoothed")

    def windowed(self, length: int) -> "Windows":
        """Batches of windows of `length` consecutive positions, drawn with replacement."""
        windows = jnp.asarray(self.windows(length))
        return Windows((windows,), np.dtype(windows.dtype))


def uniform_step(t: np.ndarray, what: str) -> float:
    """The spacing of the increasing sample times `t`; a `DataError` unless uniform."""
    steps = np.diff(np.asarray(t, np.float64))
    if steps.size == 0 or not np.all(steps > 0) or np.ptp(steps) > 1e-6 * np.max(steps):
        raise DataError(f"{what}: the sample times are not uniformly spaced (steps from "
                        f"{np.min(steps, initial=0):g} to {np.max(steps, initial=0):g}); "
                        "evaluation against data needs a uniform time step")
    return float(np.mean(steps))


def sample_rows(arrays: tuple[Array, ...], key: PRNGKeyArray, batch_size: int):
    """The same `batch_size` rows of each array, drawn uniformly with replacement."""
    index = jax.random.randint(key, (batch_size,), 0, arrays[0].shape[0])
    return tuple(x[index] for x in arrays)


class Windows(AbstractBatches):
    """Fixed arrays whose rows are drawn uniformly with replacement, without noise.

    **Fields:** `arrays` (a tuple of arrays sharing their leading axis), `dtype`.
    """

    arrays: tuple[Array, ...]
    dtype: np.dtype = eqx.field(static=True)
    noise: float = eqx.field(static=True, default=0.0)

    def init(self, batch_size: int) -> None:
        return None

    def sample_clean(self, state, key, batch_size: int):
        return state, sample_rows(self.arrays, key, batch_size)


def add_noise(batch: tuple[Array, ...], noise: float, key: PRNGKeyArray) -> tuple[Array, ...]:
    """`batch` plus Gaussian noise of standard deviation `noise`; the leading axes of the
    arrays are any (one batch, or the batches of an epoch)."""
    if noise == 0:
        return batch
    x = batch[0]
    draws = jnp.asarray(noise, x.dtype) * jax.random.normal(key, (len(batch), *x.shape), x.dtype)
    return tuple(b + d for b, d in zip(batch, draws, strict=True))


def array_hash(arrays: dict[str, object]) -> str:
    """The hash of named arrays' names, shapes, dtypes and values, 16 hex digits: the
    `data_hash` a run folder records."""
    digest = hashlib.sha256()
    for name, x in arrays.items():
        x = np.ascontiguousarray(np.asarray(x))
        digest.update(f"{name}{x.shape}{x.dtype.str}".encode())
        digest.update(x.tobytes())
    return digest.hexdigest()[:16]
