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
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PyTree

from ..errors import RunFolderError
from ..files import atomic_write
from ..run_folder import CHECKPOINT, CHECKPOINT_INFO, LOSSES

__all__ = [
    "Checkpoint",
    "append_loss",
    "atomic_write",
    "load_checkpoint",
    "read_json",
    "read_info",
    "read_losses",
    "read_settings",
    "save_checkpoint",
    "truncate_losses",
    "write_json",
]

_LOSS_FIELDS = ("epoch", "step", "loss", "seconds")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True) + "\n"
    return atomic_write(path, lambda file: file.write(text.encode()))


def read_json(path: str | os.PathLike, what: str = "file", keys: tuple[str, ...] = ()) -> Any:
    """Read a JSON file this package wrote (run.json, config.json, checkpoint.json).

    Raises `RunFolderError` when it is missing or damaged (these files are written
    atomically, so a damaged one was changed by something else), saying which file; with
    `keys`, the file must hold an object with those entries.
    """
    path = Path(path)
    try:
        value = json.loads(path.read_text())
        if keys and not (isinstance(value, dict) and all(key in value for key in keys)):
            raise RunFolderError(
                f"the {what} {str(path)!r} is damaged (it lacks {list(keys)}); restore it from "
                "a copy, or start a new run folder")
        return value
    except FileNotFoundError:
        raise RunFolderError(f"the {what} {str(path)!r} is missing; the run folder is "
                             "incomplete (restore the file, or start a new folder)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunFolderError(
            f"the {what} {str(path)!r} is damaged (not valid JSON: {error}). symnoether writes "
            "it atomically, so something else changed it: restore it from a copy, or start a "
            "new run folder"
        ) from None


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
    settings: dict, *, extra: PyTree = None, info: dict | None = None,
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
    - `info`: more JSON entries for `checkpoint.json` (e.g. `"validation"`).
    """
    tree = (model, opt_state, jnp.asarray(key_data), jnp.asarray(step), jnp.asarray(epoch),
            extra)  # fmt: skip
    atomic_write(folder / CHECKPOINT, lambda file: eqx.tree_serialise_leaves(file, tree))
    write_json(folder / CHECKPOINT_INFO,
               {**(info or {}), "epoch": epoch, "step": step, "settings": settings})


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
    path = folder / CHECKPOINT
    damage = _damage(path, like)
    if damage is not None:
        raise RunFolderError(
            f"cannot read checkpoint {str(path)!r}: {damage}. It is written atomically, so "
            "something else changed it: restore it from a copy, or start a new run folder "
            "(or train this variant afresh after removing its folder)"
        )
    try:
        model, opt_state, key_data, step, epoch, extra = eqx.tree_deserialise_leaves(path, like)
    except (ValueError, RuntimeError, EOFError) as error:
        raise RunFolderError(
            f"cannot read checkpoint {str(path)!r}: it does not match the model "
            f"and optimiser built from the current settings ({error}). Resume with the same "
            "network configuration it was trained with, or start a new folder"
        ) from error
    return Checkpoint(
        model, opt_state, np.asarray(key_data), int(step), int(epoch), read_settings(folder),
        extra,
    )  # fmt: skip


def _records(like: PyTree) -> Iterator[tuple[tuple[int, ...], np.dtype]]:
    # The (shape, dtype) of each .npy record eqx.tree_serialise_leaves writes for `like`.
    for leaf in jax.tree.leaves(like):
        if eqx.is_array_like(leaf):
            x = leaf if hasattr(leaf, "shape") and hasattr(leaf, "dtype") else np.asarray(leaf)
            yield tuple(x.shape), np.dtype(x.dtype)


def _damage(path: Path, like: PyTree) -> str | None:
    """Why the checkpoint file cannot be what `save_checkpoint` wrote, whatever the
    settings: truncated, or not a checkpoint at all; None when its records are whole (a
    shape that differs from `like` is a settings mismatch, reported by the caller)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        for index, (shape, dtype) in enumerate(_records(like)):
            try:
                version = np.lib.format.read_magic(file)
                header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                          else np.lib.format.read_array_header_2_0)
                saved_shape, _, saved_dtype = header(file)
            except ValueError as error:
                if file.tell() >= size or "EOF" in str(error):
                    return f"it is truncated ({size} bytes, ending in array record {index})"
                return f"it is damaged (array record {index} is unreadable: {error})"
            if (tuple(saved_shape), saved_dtype) != (shape, dtype):
                return None  # another network or optimiser: a settings mismatch
            end = file.tell() + int(np.prod(saved_shape, dtype=np.int64)) * saved_dtype.itemsize
            if end > size:
                return f"it is truncated ({size} bytes, array record {index} ends at {end})"
            file.seek(end)
    return None


def read_info(folder: Path) -> dict:
    """The whole record `checkpoint.json` of `folder` (epoch, step, settings, and e.g.
    `"validation"`)."""
    return read_json(folder / CHECKPOINT_INFO, "checkpoint record", ("settings",))


def read_settings(folder: Path) -> dict:
    """The training settings recorded with the checkpoint of `folder` (`checkpoint.json`),
    readable before the arrays, whose structure may not match the current optimiser."""
    return read_json(folder / CHECKPOINT_INFO, "checkpoint record", ("settings",))["settings"]


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
