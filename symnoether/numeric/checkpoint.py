"""Training checkpoints and loss histories on disk, written atomically.

A checkpoint folder holds

```
checkpoint.eqx    (model, optimiser state, base key, step, epoch, data stream state):
                  eqx.tree_serialise_leaves
checkpoint.json   {"epoch": ..., "step": ..., "settings": {...}}, for people and for resume
losses.csv        epoch,step,loss,seconds: one row per finished epoch
```

Every file is written to a temporary file in the same folder and moved into place with
`os.replace`, so an interruption leaves either the old or the new file, never half of one.
No pickle: `.eqx` files hold raw arrays only and need a skeleton of the same structure.
"""

import csv
import json
import os
from pathlib import Path
from typing import IO, Any, NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import PyTree

from ..files import atomic_write

__all__ = [
    "Checkpoint",
    "append_loss",
    "atomic_write",
    "load_checkpoint",
    "read_losses",
    "read_settings",
    "save_checkpoint",
    "truncate_losses",
    "write_json",
]

CHECKPOINT = "checkpoint.eqx"
CHECKPOINT_INFO = "checkpoint.json"
LOSSES = "losses.csv"
_LOSS_FIELDS = ("epoch", "step", "loss", "seconds")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True) + "\n"
    return atomic_write(path, lambda file: file.write(text.encode()))


class Checkpoint(NamedTuple):
    """What `load_checkpoint` returns."""

    model: PyTree
    opt_state: PyTree
    key_data: np.ndarray
    step: int
    epoch: int
    settings: dict
    extra: PyTree = None


def save_checkpoint(
    folder: Path, model: PyTree, opt_state: PyTree, key_data, step: int, epoch: int,
    settings: dict, *, extra: PyTree = None,
) -> None:  # fmt: skip
    """Write `checkpoint.eqx` and then `checkpoint.json` in `folder`, each atomically.

    **Arguments:**

    - `folder`: an existing folder.
    - `model`, `opt_state`: the pytrees to save (only their array leaves are written).
    - `key_data`: the raw data of the base random key (`jax.random.key_data`).
    - `step`, `epoch`: optimiser steps and epochs done.
    - `settings`: the training settings a resume must match (JSON-compatible).
    - `extra`: more state to save, e.g. a data stream's (`None`, the default, adds nothing
        to the file).
    """
    tree = (model, opt_state, jnp.asarray(key_data), jnp.asarray(step), jnp.asarray(epoch),
            extra)  # fmt: skip
    atomic_write(folder / CHECKPOINT, lambda file: eqx.tree_serialise_leaves(file, tree))
    write_json(folder / CHECKPOINT_INFO, {"epoch": epoch, "step": step, "settings": settings})


def load_checkpoint(
    folder: Path, model_like: PyTree, opt_state_like: PyTree, extra_like: PyTree = None
) -> Checkpoint:
    """Read the checkpoint of `folder` into skeletons of the same structure.

    **Arguments:**

    - `folder`: a folder written by `save_checkpoint`.
    - `model_like`, `opt_state_like`, `extra_like`: pytrees with the structure, shapes and
        dtypes saved (`extra_like` only for checkpoints saved with `extra`).

    **Returns:**

    A `Checkpoint`. The epoch and step come from `checkpoint.eqx`, which is written first.
    """
    like = (model_like, opt_state_like, np.zeros(2, np.uint32), 0, 0, extra_like)
    try:
        model, opt_state, key_data, step, epoch, extra = eqx.tree_deserialise_leaves(
            folder / CHECKPOINT, like
        )
    except (ValueError, RuntimeError, EOFError) as error:
        raise ValueError(
            f"cannot read checkpoint {str(folder / CHECKPOINT)!r}: it does not match the model "
            f"and optimiser built from the current settings ({error}). Resume with the same "
            "network configuration it was trained with, or start a new folder"
        ) from error
    return Checkpoint(
        model, opt_state, np.asarray(key_data), int(step), int(epoch), read_settings(folder),
        extra,
    )  # fmt: skip


def read_settings(folder: Path) -> dict:
    """The training settings recorded with the checkpoint of `folder` (`checkpoint.json`),
    readable before the arrays, whose structure may not match the current optimiser."""
    return json.loads((folder / CHECKPOINT_INFO).read_text())["settings"]


def append_loss(folder: Path, epoch: int, step: int, loss: float, seconds: float) -> None:
    """Append one epoch's row to `losses.csv` (writing the header for a new file)."""
    path = folder / LOSSES
    new = not path.exists()
    with path.open("a", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        if new:
            writer.writerow(_LOSS_FIELDS)
        # repr keeps every digit, so a resumed history equals the uninterrupted one.
        writer.writerow([epoch, step, repr(float(loss)), f"{seconds:.6f}"])


def _read_rows(folder: Path) -> list[dict[str, str]]:
    path = folder / LOSSES
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def read_losses(folder: str | os.PathLike) -> np.ndarray:
    """The mean loss of each epoch from `losses.csv` (empty if there is none)."""
    return np.asarray([float(row["loss"]) for row in _read_rows(Path(folder))], np.float64)


def truncate_losses(folder: Path, epochs: int) -> None:
    """Keep only the rows of the first `epochs` epochs (after resuming from a checkpoint)."""
    rows = [row for row in _read_rows(folder) if int(row["epoch"]) <= epochs]

    def write(file: IO[bytes]) -> None:
        lines = [",".join(_LOSS_FIELDS)] + [",".join(r[f] for f in _LOSS_FIELDS) for r in rows]
        file.write(("\n".join(lines) + "\n").encode())

    atomic_write(folder / LOSSES, write)
