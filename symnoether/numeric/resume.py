"""Resuming: the one comparison of saved settings with current ones.

`train` compares a checkpoint's settings (`checkpoint.json`) with the current call's,
and `train_run` compares the run record (`run.json`) with the current configuration,
data and initial state; both list what differs with `settings_problems`.
"""

from typing import Any

import numpy as np

__all__ = ["extension_ignored", "record_problems", "settings_problems"]

# The checkpoint settings a run extended with more epochs may change (`extension_ignored`).
_EXTENDED = frozenset({"epochs", "steps", "schedule_steps"})


def extension_ignored(saved: dict[str, Any], current: dict[str, Any]) -> frozenset:
    """The checkpoint settings that may differ because `current` extends the saved run:
    more steps, the same learning-rate schedule (`schedule_steps`, else all steps)."""
    try:
        same = (current.get("schedule_steps", current["steps"])
                == saved.get("schedule_steps", saved["steps"]))
        longer = current["steps"] >= saved["steps"]
    except (KeyError, TypeError):
        return frozenset()
    return _EXTENDED if same and longer else frozenset()


def settings_problems(saved: dict[str, Any], current: dict[str, Any], *,
                      ignore=frozenset()) -> list[str]:  # fmt: skip
    """One sentence for each setting whose saved and current values differ, in the order
    of `current` and then of the names only `saved` has; the names of `ignore` may differ.
    """
    names = dict.fromkeys([*current, *saved])
    return [
        f"{name} was {saved.get(name)!r}, now {current.get(name)!r}"
        for name in names
        if name not in ignore and saved.get(name) != current.get(name)
    ]


def record_problems(record: dict[str, Any] | None, saved_config, config, data_hash,
                    initial_state, *, resumable=frozenset()) -> list[str]:  # fmt: skip
    """What differs between a resume and its run record.

    **Arguments:**

    - `record`: the run record (`run.json`), or None when there is none yet (no problems).
    - `saved_config`, `config`: the recorded and the current `TrainConfig`.
    - `data_hash`: the current data's hash (`source.data_hash()`; None for a stream).
    - `initial_state`: the current `(q0, qdot0)` as float64 arrays, or None.
    - `resumable`: the settings that may change.

    **Returns:**

    One sentence for each difference: a setting, the initial state, the data.
    """
    if record is None:
        return []
    if (config.epochs >= saved_config.epochs
            and config.schedule_steps == saved_config.schedule_steps):  # fmt: skip
        # An extension of the run (`TrainConfig.extended`): more epochs, the same schedule.
        resumable = frozenset({*resumable, "epochs", "schedule_epochs"})
    problems = settings_problems(dict(sorted(saved_config.to_dict().items())),
                                 dict(sorted(config.to_dict().items())), ignore=resumable)
    if initial_state is not None and "initial_state" in record and not all(
        np.array_equal(np.asarray(saved, np.float64), now)
        for saved, now in zip(record["initial_state"], initial_state)
    ):
        problems.append(f"initial_state was {record['initial_state']}, now "
                        f"{[x.tolist() for x in initial_state]}")
    recorded = record.get("data_hash")
    if recorded is not None and recorded != data_hash:
        problems.append(
            f"the training data differ from the run's (data hash {recorded}, now "
            f"{data_hash}); resume without --data to use the run's own data.npz, or "
            "train the new data into a new folder"
        )
    return problems
