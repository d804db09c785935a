# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Streaming training data: fresh states and fresh noise for every batch, drawn inside the
jitted training step (no host round trip), as in the reference's set-up (Mueller 2023).

A fixed `Dataset` of noisy samples lets the network fit the noise; a stream never shows it
the same noise twice, so the noise averages out over training. Two streams:

- `TrajectoryStream`: one true trajectory, advanced with RK4 while training runs. The
  reference advances one trajectory and shuffles its samples through a buffer of 16,384;
  here `batch_size * substeps` lanes start at points spread along the first `window`
  samples of the trajectory, all lanes take one RK4 step per training step, and each step
  emits the `batch_size` lanes whose turn it is (every lane every `sample_every`). A batch
  thus mixes samples from the whole window, like the reference's buffer, and no sample time
  ever repeats: the lanes' start times differ by distinct fractions of `dt`.
- `StateStream`: independent states from a sampler for every sample, e.g.
  `kepler_orbit_sampler`, the reference's Kepler data (a uniformly random angle on the
  analytic orbit).

Both add Gaussian noise of standard deviation `noise` to `q`, `qdot` and the true `qddot`.
The stream's state (the lanes) is part of the training checkpoint, so a resumed run sees the
same samples as an uninterrupted one.
"""

import abc
import dataclasses
from collections.abc import Callable
from types import ModuleType
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..errors import DataError
from ._npz import check_noise, initial_state, substeps_per_sample
from .contract import check_module
from .dynamics import check_float_dtype
from .integrate import RK4, LagrangianTerm, integrate
from .losses import AccelerationLoss
from .source import AbstractStateSource, Batch as Batch, add_noise as add_noise

__all__ = [
    "AbstractSampler",
    "AbstractStream",
    "FunctionSampler",
    "KeplerOrbitSampler",
    "StateStream",
    "TrajectoryStream",
    "add_noise",
    "kepler_orbit_sampler",
    "state_stream",
    "trajectory_stream",
]

# The streams step a cheap closed-form acceleration: unrolled stages fuse (about 2x faster).
_RK4 = RK4(unroll=True)

class AbstractStream(AbstractStateSource):
    """A stream of training batches `(q, qdot, qddot)` drawn afresh inside the jitted
    training step, with fresh noise for every batch.

    A stream holds its settings; what changes from batch to batch lives in a separate state
    (a pytree of arrays, saved with the training checkpoint), so that a stream is a pure
    function of (state, key), like an optax optimiser. It is not saved into a run folder:
    the configuration and the initial state define it (`save` and `data_hash` give `None`).
    """

    def astype(self, dtype) -> "AbstractStream":
        """The same stream in another floating dtype."""
        dtype = np.dtype(check_float_dtype(dtype))
        if dtype == self.dtype:
            return self
        convert = lambda x: jnp.asarray(x, dtype) if eqx.is_inexact_array(x) else x  # noqa: E731
        return dataclasses.replace(jax.tree.map(convert, self), dtype=dtype)

    def coordinate_count(self) -> int:
        batch = jax.eval_shape(lambda: self.sample(self.init(2), jax.random.key(0), 2))[1]
        return batch[0].shape[-1]

    def size(self) -> None:
        return None

    def save(self, path) -> None:
        return None

    def data_hash(self) -> None:
        return None

    def default_loss(self) -> AccelerationLoss:
        return AccelerationLoss()


class TrajectoryState(NamedTuple):
    """The lanes of a `TrajectoryStream`: positions and velocities of shape
    `(substeps, batch, n)` and the number of steps taken."""

    q: Float[Array, "substeps batch n"]
    qdot: Float[Array, "substeps batch n"]
    count: Int[Array, ""]


class TrajectoryStream(AbstractStream):
    """Samples of one true trajectory, advanced by RK4 inside the training step.

    **Fields:** `acceleration` (the true `acceleration(q, qdot)` of one state), `q0`,
    `qdot0` (the initial state), `dt` (the RK4 step), `substeps` (RK4 steps between two
    samples of a lane: `sample_every / dt`), `window` (how many samples, spaced
    `sample_every`, the lanes initially span: the reference's shuffle buffer, 16,384),
    `noise`, `dtype`.

    Build it with [`trajectory_stream`][].
    """

    acceleration: Callable = eqx.field(static=True)
    q0: Float[Array, " n"]
    qdot0: Float[Array, " n"]
    dt: float = eqx.field(static=True)
    substeps: int = eqx.field(static=True)
    window: int = eqx.field(static=True)
    noise: float = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)

    def _term(self) -> LagrangianTerm:
        # RK4 needs the acceleration only; it is applied to a flat batch of lanes.
        return LagrangianTerm(None, jax.vmap(self.acceleration))

    def _spacing(self, batch_size: int) -> int:
        # RK4 steps between the start points of consecutive lane columns.
        return max(1, round(self.window * self.substeps / batch_size))

    def init(self, batch_size: int) -> TrajectoryState:
        return _trajectory_init(self, batch_size)

    def _init(self, batch_size: int) -> TrajectoryState:
        spacing = self._spacing(batch_size)
        # Column i starts at time i * spacing * dt on the one trajectory ...
        qs, qdots = integrate(
            _unused_lagrangian, self.q0, self.qdot0, dt=self.dt, steps=spacing * (batch_size - 1),
            method=_RK4, save_every=spacing, acceleration=self.acceleration,
        )  # fmt: skip
        lanes = self.substeps * batch_size
        # ... and lane (g, i) a further distinct fraction (g * batch + i) / lanes of dt, so
        # that no two lanes ever reach the same time on the dt grid.
        fraction = jnp.arange(lanes, dtype=self.dtype) / lanes
        q = jnp.tile(qs, (self.substeps, 1))
        qdot = jnp.tile(qdots, (self.substeps, 1))
        q, qdot = _RK4.step(self._term(), (q, qdot), (fraction * self.dt)[:, None])[0]
        shape = (self.substeps, batch_size, q.shape[-1])
        return TrajectoryState(q.reshape(shape), qdot.reshape(shape), jnp.zeros((), jnp.int32))

    def sample_clean(self, state: TrajectoryState, key, batch_size: int):
        # Emit the lanes whose turn it is, then advance every lane by one RK4 step.
        group = state.count % self.substeps
        q, qdot = state.q[group], state.qdot[group]
        batch = (q, qdot, jax.vmap(self.acceleration)(q, qdot))
        flat = (state.q.reshape(-1, q.shape[-1]), state.qdot.reshape(-1, q.shape[-1]))
        new_q, new_qdot = _RK4.step(self._term(), flat, jnp.asarray(self.dt, self.dtype))[0]
        new = TrajectoryState(
            new_q.reshape(state.q.shape), new_qdot.reshape(state.q.shape), state.count + 1
        )
        return new, batch

    def preview(self, batch_size: int):
        state = self.init(batch_size)
        n = state.q.shape[-1]
        return state.q.reshape(-1, n), state.qdot.reshape(-1, n)

    def settings(self) -> dict:
        return {
            "kind": "trajectory", "q0": np.asarray(self.q0).tolist(),
            "qdot0": np.asarray(self.qdot0).tolist(), "dt": self.dt, "substeps": self.substeps,
            "window": self.window, "noise": self.noise,
        }  # fmt: skip


def _unused_lagrangian(q, qdot):
    # `integrate` takes a Lagrangian; RK4 on a closed-form acceleration never calls it.
    raise NotImplementedError("a TrajectoryStream steps its closed-form acceleration only")


@eqx.filter_jit
def _trajectory_init(stream: TrajectoryStream, batch_size: int) -> TrajectoryState:
    # Jitted as a whole: the eager partial RK4 step is many small operations.
    return stream._init(batch_size)


def trajectory_stream(
    module: ModuleType,
    q0: Float[Array, " n"],
    qdot0: Float[Array, " n"],
    *,
    dt: float = 0.01,
    sample_every: float = 0.1,
    window: int = 16384,
    noise: float = 1e-3,
    dtype=jnp.float32,
) -> TrajectoryStream:
    """A stream of noisy samples of the true trajectory from `(q0, qdot0)`: the reference's
    data for the Schwarzschild and two-particle problems.

    **Arguments:**

    - `module`: a generated module with a true Lagrangian (`HAS_LAGRANGIAN`).
    - `q0`, `qdot0`: the initial state.
    - `dt`: the RK4 step of the closed-form `module.acceleration`.
    - `sample_every`: time between two samples of a lane, a whole multiple of `dt`.
    - `window`: how many samples the lanes span when training starts (the reference's shuffle
        buffer: 16,384 samples of spacing 0.1, i.e. t <= 1638.4); a batch draws from all of it.
    - `noise`: standard deviation of the Gaussian noise on `q`, `qdot` and `qddot`.
    - `dtype`: float32 (default) or float64.

    **Returns:**

    A `TrajectoryStream` to pass to `sn.train` in place of a `Dataset`.
    """
    check_module(module, need_lagrangian=True)
    dtype = check_float_dtype(dtype)
    substeps = substeps_per_sample(dt, sample_every)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise DataError(f"window must be a positive number of samples, got {window!r}")
    n = len(module.COORDINATE_NAMES)
    return TrajectoryStream(
        module.acceleration, initial_state(q0, n, "q0", dtype),
        initial_state(qdot0, n, "qdot0", dtype),
        float(dt), substeps, window, check_noise(noise), np.dtype(dtype),
    )  # fmt: skip


class AbstractSampler(eqx.Module):
    """A sampler of independent states, as `StateStream` draws them."""

    @abc.abstractmethod
    def __call__(self, key: PRNGKeyArray) -> tuple[Array, Array]:
        """One state `(q, qdot)`, shape `(n,)` each."""

    @abc.abstractmethod
    def sample_batch(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        """`n` states at once, shape `(n, n_coordinates)` each."""

    @abc.abstractmethod
    def settings(self) -> dict | str:
        """What a resumed training run must match about the sampler, as JSON."""


class FunctionSampler(AbstractSampler):
    """Any function `key -> (q, qdot)` drawing one state, vmapped over a batch of keys.

    **Fields:** `fn`, the function.
    """

    fn: Callable

    def __call__(self, key: PRNGKeyArray) -> tuple[Array, Array]:
        return self.fn(key)

    def sample_batch(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        return jax.vmap(self.fn)(jax.random.split(key, n))

    def settings(self) -> str:
        return "custom"  # a function cannot be compared with the saved one


class StateStream(AbstractStream):
    """Independent states drawn afresh for every sample, with their true accelerations.

    **Fields:** `acceleration` (the true `acceleration(q, qdot)` of one state), `sampler`
    (an `AbstractSampler`: `state_stream` wraps a function `key -> (q, qdot)` as a
    `FunctionSampler`), `noise`, `dtype`.
    """

    acceleration: Callable = eqx.field(static=True)
    sampler: AbstractSampler
    noise: float = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)

    def init(self, batch_size: int) -> None:
        return None

    def sample_clean(self, state, key, batch_size: int):
        q, qdot = self.sampler.sample_batch(key, batch_size)
        q, qdot = jnp.asarray(q, self.dtype), jnp.asarray(qdot, self.dtype)
        return state, (q, qdot, jax.vmap(self.acceleration)(q, qdot))

    def preview(self, batch_size: int):
        keys = jax.random.split(jax.random.key(0), max(batch_size, 16384))
        q, qdot = jax.vmap(self.sampler)(keys)
        return jnp.asarray(q, self.dtype), jnp.asarray(qdot, self.dtype)

    def settings(self) -> dict:
        return {"kind": "states", "sampler": self.sampler.settings(), "noise": self.noise}


def state_stream(
    module: ModuleType,
    sampler: Callable[[PRNGKeyArray], tuple[Array, Array]],
    *,
    noise: float = 1e-3,
    dtype=jnp.float32,
) -> StateStream:
    """A stream of independent states from `sampler`, with their true accelerations and
    fresh noise: the streaming counterpart of `random_data`.

    **Arguments:**

    - `module`: a generated module with a true Lagrangian (`HAS_LAGRANGIAN`).
    - `sampler`: `key -> (q, qdot)` drawing one state (vmapped), or an `AbstractSampler`
        such as `kepler_orbit_sampler(q0, qdot0)` (which draws a batch in one call).
    - `noise`: standard deviation of the Gaussian noise on `q`, `qdot` and `qddot`.
    - `dtype`: float32 (default) or float64.
    """
    check_module(module, need_lagrangian=True)
    dtype = check_float_dtype(dtype)
    n = len(module.COORDINATE_NAMES)
    q, qdot = jax.eval_shape(sampler, jax.random.key(0))
    if q.shape != (n,) or qdot.shape != (n,):
        raise DataError(
            f"sampler must return (q, qdot) of shape ({n},) each, got {q.shape} and {qdot.shape}"
        )
    if not isinstance(sampler, AbstractSampler):  # a plain function: the user's input
        sampler = FunctionSampler(sampler)
    return StateStream(module.acceleration, sampler, check_noise(noise), np.dtype(dtype))


class KeplerOrbitSampler(AbstractSampler):
    """A uniformly random angle on the Kepler orbit ($\\ddot x = -x / |x|^3$) through
    `(q0, qdot0)`: the reference's Kepler data. The orbit's plane, eccentricity `e` and
    angular momentum `l` follow from the initial state; the true anomaly $\\varphi$ is
    uniform in $(-\\pi, \\pi)$, $r = l^2 / (1 + e \\cos\\varphi)$.

    **Fields:** `e_hat`, `f_hat` (unit vectors to the pericentre and 90 degrees ahead),
    `eccentricity`, `angular_momentum`.
    """

    e_hat: Float[Array, " 3"]
    f_hat: Float[Array, " 3"]
    eccentricity: float = eqx.field(static=True)
    angular_momentum: float = eqx.field(static=True)

    def __call__(self, key: PRNGKeyArray) -> tuple[Array, Array]:
        q, qdot = self.sample_batch(key, 1)
        return q[0], qdot[0]

    def sample_batch(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        """`n` states at once, shape `(n, 3)` each."""
        phi = jax.random.uniform(key, (n, 1), self.e_hat.dtype, -jnp.pi, jnp.pi)
        cos, sin = jnp.cos(phi), jnp.sin(phi)
        e, ell = self.eccentricity, self.angular_momentum
        r = ell**2 / (1 + e * cos)
        q = r * (cos * self.e_hat + sin * self.f_hat)
        qdot = (-sin * self.e_hat + (e + cos) * self.f_hat) / ell
        return q, qdot

    def settings(self) -> dict:
        return {"kind": "kepler_orbit", "eccentricity": self.eccentricity,
                "angular_momentum": self.angular_momentum,
                "e_hat": np.asarray(self.e_hat).tolist()}  # fmt: skip


def kepler_orbit_sampler(q0, qdot0, dtype=jnp.float32) -> KeplerOrbitSampler:
    """The reference's Kepler sampler on the bound orbit through `(q0, qdot0)` (3D, units
    with $GM = 1$: $L = |\\dot x|^2 / 2 + 1 / |x|$). At $\\varphi = 0$ it gives the
    pericentre; from the reference's `q0 = (1/1.8, 0, 0)`, `qdot0 = (0, 1.8, 0)` the orbit
    has eccentricity 0.8 and angular momentum 1.
    """
    q0, qdot0 = np.asarray(q0, np.float64), np.asarray(qdot0, np.float64)
    if q0.shape != (3,) or qdot0.shape != (3,):
        raise DataError(
            f"the Kepler orbit sampler needs a 3D state, got q0 {q0.shape}, qdot0 {qdot0.shape}"
        )
    ell_vec = np.cross(q0, qdot0)
    ell = float(np.linalg.norm(ell_vec))
    if ell == 0:
        raise DataError("the initial state has zero angular momentum: no Kepler orbit plane")
    runge_lenz = np.cross(qdot0, ell_vec) - q0 / np.linalg.norm(q0)
    e = float(np.linalg.norm(runge_lenz))
    if e >= 1:
        raise DataError(
            f"the orbit through the initial state is not bound (eccentricity {e:.3g} >= 1); "
            "the Kepler orbit sampler needs an ellipse"
        )
    e_hat = runge_lenz / e if e > 1e-12 else q0 / np.linalg.norm(q0)
    f_hat = np.cross(ell_vec / ell, e_hat)
    dtype = check_float_dtype(dtype)
    return KeplerOrbitSampler(jnp.asarray(e_hat, dtype), jnp.asarray(f_hat, dtype), e, ell)
