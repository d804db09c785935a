"""Which process of a multi-process run writes files: neutral ground (no jax, no sympy).

A run started with `jax.distributed` has one Python process per host (or per device
group); all of them train, and only the first one writes the run folder: `module.py`,
`run.json`, the checkpoints, `losses.csv` and the writer lock. `numeric/distributed.py`
sets this after `jax.distributed.initialize`; the lock, the pipeline and `train_run` ask
`is_writer()`. A single-process run is always the writer.
"""

__all__ = ["is_writer", "set_writer"]

_state = {"writer": True}


def set_writer(writer: bool) -> None:
    """Declare whether this process writes the run folder (process 0 of a distributed run)."""
    _state["writer"] = bool(writer)


def is_writer() -> bool:
    """Whether this process writes the run folder (always, without `jax.distributed`)."""
    return _state["writer"]
