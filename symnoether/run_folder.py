"""The layout of a run folder: every path in it, in one place (no jax, no sympy).

```
RUN_DIR/module.py          the generated module trained on (a copy, written by the CLI)
RUN_DIR/data.npz           the training data (a fixed data set or positions; a stream is
                           defined by the configuration and the initial state instead)
RUN_DIR/run.json           the run record: system, spec, module and data hashes, variants,
                           configuration, initial state, overrides
RUN_DIR/models/<variant>/  config.json, checkpoint.eqx, checkpoint.json, losses.csv
RUN_DIR/evaluation/        metrics.json and the PNG figures (`symnoether evaluate`)
RUN_DIR/.lock, .lock.json  the writer lock (`symnoether.lock`) and who holds it
```

A seed ensemble (`symnoether train --seeds`, `EnsembleFolder`) is a folder of run folders,
one per seed, with a record of its seeds:

```
OUT/ensemble.json          {"seeds": [0, 1, ...], "members": ["seed-0", "seed-1", ...]}
OUT/seed-<k>/              the run folder of seed k (as above)
```

A checkpoint folder (`models/<variant>/`, or any `checkpoint_dir` of `train`) holds
`CHECKPOINT`, `CHECKPOINT_INFO` and `LOSSES`.
"""

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BEST", "CHECKPOINT", "CHECKPOINT_INFO", "ENSEMBLE", "LOSSES", "METRICS",
           "EnsembleFolder", "RunFolder"]

#: A checkpoint folder's files: the arrays, their record, the loss history.
CHECKPOINT = "checkpoint.eqx"
CHECKPOINT_INFO = "checkpoint.json"
LOSSES = "losses.csv"
# The model of the lowest validation loss (training with a validation split).
BEST = "best.eqx"
#: The record of a seed ensemble's folder.
ENSEMBLE = "ensemble.json"
#: The evaluation's numbers, in `evaluation/` or any `out_dir` of `evaluate_models`.
METRICS = "metrics.json"


@dataclass(frozen=True)
class RunFolder:
    """The paths of a run folder `path` (nothing is read or created).

    **Fields:** `path`, the run folder (a `Path`; a str or path-like is converted).
    """

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(os.fspath(self.path)))

    @property
    def module(self) -> Path:
        """The generated module, `module.py`."""
        return self.path / "module.py"

    @property
    def data(self) -> Path:
        """The training data, `data.npz`."""
        return self.path / "data.npz"

    @property
    def run_json(self) -> Path:
        """The run record, `run.json`."""
        return self.path / "run.json"

    @property
    def models(self) -> Path:
        """The folder of the trained variants, `models/`."""
        return self.path / "models"

    def model(self, variant: str) -> Path:
        """The checkpoint folder of one variant, `models/<variant>/`."""
        return self.models / variant

    def config(self, variant: str) -> Path:
        """A variant's network and training settings, `models/<variant>/config.json`."""
        return self.model(variant) / "config.json"

    def checkpoint(self, variant: str) -> Path:
        """A variant's checkpoint, `models/<variant>/checkpoint.eqx`."""
        return self.model(variant) / CHECKPOINT

    def checkpoints(self) -> list[Path]:
        """The checkpoints of every variant trained so far (at least one epoch)."""
        return sorted(self.models.glob(f"*/{CHECKPOINT}"))

    def model_folders(self) -> list[Path]:
        """Every folder under `models/` (files included: the caller filters)."""
        return sorted(self.models.glob("*"))

    @property
    def evaluation(self) -> Path:
        """Where `symnoether evaluate` writes, `evaluation/`."""
        return self.path / "evaluation"

    @property
    def metrics(self) -> Path:
        """The evaluation's numbers, `evaluation/metrics.json`."""
        return self.evaluation / METRICS

    @property
    def lock(self) -> Path:
        """The writer lock, `.lock`."""
        return self.path / ".lock"

    @property
    def lock_info(self) -> Path:
        """Who holds the writer lock, `.lock.json`."""
        return self.path / ".lock.json"


@dataclass(frozen=True)
class EnsembleFolder:
    """The paths of a seed ensemble's folder `path`: its record and its members' run
    folders (nothing is read or created).

    **Fields:** `path`, the ensemble's folder (a `Path`; a str or path-like is converted).
    """

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(os.fspath(self.path)))

    @property
    def record(self) -> Path:
        """The ensemble's seeds and members, `ensemble.json`."""
        return self.path / ENSEMBLE

    def member(self, seed: int) -> Path:
        """The run folder of one seed, `seed-<k>/`."""
        return self.path / f"seed-{seed}"
