# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""A cheap check on training data: does their energy decay while the system declares no
friction? (Issue 26: a damped pendulum trained as a conservative one plateaus, and its model
keeps swinging where the data have died out.)"""

import warnings
from types import ModuleType

import numpy as np

__all__ = ["energy_decay", "warn_if_energy_decays"]

_FLAGS = ("HAS_DISSIPATION", "LEARNED_DISSIPATION", "HAS_FORCES")
# The last quarter's energy below this fraction of the first quarter's counts as decay.
_DECAY = 0.5


def _declares_forces(module: ModuleType) -> bool:
    return any(module.__dict__.get(flag, False) for flag in _FLAGS)


def energy_decay(module: ModuleType, q, qdot, t) -> float | None:
    """The mean kinetic term $|\\dot q|^2/2$ of the last quarter of a trajectory over that of
    its first quarter: about 1 for a conservative system observed over several periods (the
    energy is shared between the same kinetic and potential terms throughout), much less
    under friction. Model-free, so it needs no true Lagrangian. `None` for data that are
    not one trajectory in time (no `t`, or fewer than 8 samples).

    **Arguments:**

    - `module`: the generated module (unused by the measure; kept for the caller's flags).
    - `q`, `qdot`: the samples, `(N, n)`; `t`: their times `(N,)` or `None`.
    """
    if t is None or len(t) < 8:
        return None
    order = np.argsort(np.asarray(t))
    energy = 0.5 * np.sum(np.asarray(qdot)[order] ** 2, axis=-1)
    quarter = len(energy) // 4
    first, last = energy[:quarter].mean(), energy[-quarter:].mean()
    return float(last / first) if first > 0 else None


def warn_if_energy_decays(module: ModuleType, q, qdot, t, *, stacklevel: int = 3) -> None:
    """Warn when the data's energy decays ([`energy_decay`][] below 0.5) and the module
    declares no dissipation, learned friction or forces."""
    if _declares_forces(module):
        return
    ratio = energy_decay(module, q, qdot, t)
    if ratio is not None and ratio < _DECAY:
        warnings.warn(
            "the training data lose energy: the mean of |qdot|^2/2 over their last quarter "
            f"is {ratio:.0%} of that over their first quarter, but the system "
            f"{module.SYSTEM_NAME!r} declares no "
            "dissipation or forces, so no model of it can lose energy. Declare a friction "
            "in the System (dissipation=R, learn_dissipation=True; docs/WRITING_A_SPEC.md) "
            "and train an sn.ForcedLagrangian(network, sn.RayleighDissipation(module, "
            "key=...))",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
