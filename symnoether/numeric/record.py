"""The run record, `RUN_DIR/run.json`: read once, then handed around as a dict.

It holds the system, the spec, module and data hashes, the variants trained, the whole
`TrainConfig`, the initial state where evaluation starts, and every check overridden.
"""

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RunFolderError
from ..run_folder import RunFolder
from .checkpoint import read_json, write_json
from .config import TrainConfig, saved_config

__all__ = [
    "VARIANTS",
    "check_variants",
    "read_record",
    "record_config",
    "record_initial_state",
    "record_variants",
    "write_record",
]

#: The variants of a run: the invariant network, and the baseline that sees raw q, qdot.
VARIANTS: dict[str, bool] = {"invariant": True, "unconstrained": False}
# What every run record holds.
_KEYS = ("system", "variants", "config")


def read_record(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The run record of `run_dir`, or None when there is none yet. `RunFolderError` when
    it is damaged (not JSON, or without `system`, `variants` and `config`)."""
    path = RunFolder(run_dir).run_json
    if not path.is_file():
        return None
    return read_json(path, "run record", _KEYS)


def write_record(run_dir: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write the run record, atomically."""
    return write_json(RunFolder(run_dir).run_json, record)


def check_variants(variants) -> tuple[str, ...]:
    """`variants` as a tuple; a `ValueError` unless a non-empty subset of `VARIANTS`."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(
            f"variants must be a non-empty subset of {tuple(VARIANTS)}, got {variants}"
        )
    return tuple(variants)


def record_config(record: dict[str, Any]) -> TrainConfig:
    """The configuration a run record holds."""
    return saved_config(record["config"])


def record_variants(record: dict[str, Any], run_dir: str | os.PathLike) -> tuple[str, ...]:
    """The variants a run record holds; `RunFolderError` when they are damaged."""
    try:
        return check_variants(record["variants"])
    except (TypeError, ValueError) as error:
        raise RunFolderError(f"the run record {str(RunFolder(run_dir).run_json)!r} is "
                             f"damaged: {error}") from None  # fmt: skip


def record_initial_state(state) -> tuple[np.ndarray, np.ndarray] | None:
    """`(q0, qdot0)` as float64 NumPy arrays (as a run records them), or None."""
    if state is None:
        return None
    q0, qdot0 = (np.asarray(x, np.float64) for x in state)
    return q0, qdot0
