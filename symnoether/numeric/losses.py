"""Losses as objects: what `train` minimises, and how it readies the model and the data.

```
AbstractLoss        batches(source), prepare(model, source), objective(source), settings(source)
+-- AccelerationLoss   mean squared error of accelerations, on states (this file)
+-- PositionLoss       positions predicted through the discrete Euler-Lagrange equations,
                       on position data (position_loss.py)
```

A source names its own default (`AbstractSource.default_loss`): `train(model, data)` trains
a `Dataset` or a stream with `AccelerationLoss()` and `PositionData` with `PositionLoss()`.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .source import AbstractBatches, AbstractSource, AbstractStateSource

__all__ = ["AbstractLoss", "AccelerationLoss"]


class AbstractLoss(eqx.Module):
    """A training loss. Every method takes the source already in the model's dtype."""

    @abc.abstractmethod
    def batches(self, source: AbstractSource) -> AbstractBatches:
        """The batches this loss scores, drawn from `source`; a `TypeError` or `ValueError`
        saying what to use instead when the loss cannot score that kind of data."""

    @abc.abstractmethod
    def prepare(self, model, source: AbstractSource, *, resume: bool = False):
        """The model training starts from (e.g. rescaled to the data); `resume`: the
        training continues from a checkpoint (warnings about the start are then moot)."""

    @abc.abstractmethod
    def objective(self, source: AbstractSource) -> Callable[..., Array]:
        """`objective(model, *batch) -> scalar` for batches of `source`: an `eqx.Module`
        compared by value, so that `train`'s compiled epoch is reused across calls. It may
        also have `project(model, *batch) -> model`, which `train` applies after every
        optimiser step (`PositionLoss`'s sets the scale of L there)."""

    @abc.abstractmethod
    def from_config(self, config) -> "AbstractLoss":
        """This kind of loss with the settings a `TrainConfig` gives it (the JSON names of a
        run folder's configuration map to a loss object here, in one place per loss)."""

    @abc.abstractmethod
    def settings(self, source: AbstractSource) -> dict | None:
        """What a resumed training run must match about the loss, as JSON (`None`: nothing
        beyond the data)."""


class AccelerationLoss(AbstractLoss):
    """The mean squared error of the model's accelerations against the targets of a batch
    `(q, qdot, qddot)` (the reference's loss, Mueller 2023). Trains a `Dataset` or a
    stream (`trajectory_stream`, `state_stream`)."""

    def batches(self, source: AbstractSource) -> AbstractBatches:
        if not isinstance(source, AbstractStateSource):  # validation of the user's input
            raise TypeError(
                "AccelerationLoss needs states with target accelerations (a Dataset or a "
                f"stream), got {type(source).__name__}; train positions with PositionLoss"
            )
        return source

    def prepare(self, model, source: AbstractSource, *, resume: bool = False):
        return model

    def objective(self, source: AbstractSource) -> "AccelerationLoss":
        return self

    def from_config(self, config) -> "AccelerationLoss":
        return self  # (no settings)

    def settings(self, source: AbstractSource) -> None:
        return None  # (the entries checkpoints have always had)

    def __call__(self, model, q: Array, qdot: Array, qddot: Array, *t: Array) -> Array:
        """The loss of `model` on a batch of states `(batch, n)` and target accelerations
        (and the samples' times `t`, for a model driven in time: `AbstractSource.timed`)."""
        keywords = {"t": t[0]} if t else {}
        return jnp.mean((model.batched_acceleration(q, qdot, **keywords) - qddot) ** 2)
