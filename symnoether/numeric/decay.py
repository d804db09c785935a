# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""A cheap check on training data: does their energy decay while the system declares no
friction? (Issue 26: a damped pendulum trained as a conservative one plateaus, and its model
keeps swinging where the data have died out.)"""

import warnings
from types import ModuleType

import jax
import numpy as np

__all__ = ["energy_decay", "warn_if_energy_decays"]

# (A Lagrangian that depends on the time explicitly may lose energy too: Caldirola-Kanai.)
_FLAGS = ("HAS_DISSIPATION", "LEARNED_DISSIPATION", "HAS_FORCES", "LAGRANGIAN_EXPLICIT_TIME")
# A fall of the energy by more than this fraction of the kinetic term counts as decay; the
# model-free proxy (no true energy) needs more, as short conservative data move it too.
_DECAY = 0.5
_PROXY_DECAY = 0.9


def _declares_forces(module: ModuleType) -> bool:
    return any(module.__dict__.get(flag, False) for flag in _FLAGS)


def _has_true_energy(module: ModuleType) -> bool:
    return bool(module.__dict__.get("HAS_LAGRANGIAN", False)) and not module.__dict__.get(
        "EXPLICIT_TIME", False
    )


def energy_decay(module: ModuleType, q, qdot, t) -> float | None:
    """How much of its energy a trajectory loses, from its first quarter to its last:
    0 for a conservative system, near 1 (or more) under friction; `None` for data that are
    not one trajectory in time (no `t`, or fewer than 8 samples).

    With the module's `true_energy` (a true, autonomous Lagrangian): the fall of the mean
    energy, $(\\bar E_{first} - \\bar E_{last})$, over the mean of $|\\dot q|^2/2$ in the
    first quarter (the energy the motion exchanges). Without it, model-free: 1 minus the
    ratio of the mean $|\\dot q|^2/2$ of the last quarter to that of the first (which
    also moves for a conservative trajectory shorter than its periods, hence the stricter
    threshold of [`warn_if_energy_decays`][] there).

    **Arguments:**

    - `module`: the generated module.
    - `q`, `qdot`: the samples, `(N, n)`; `t`: their times `(N,)` or `None`.
    """
    if t is None or len(t) < 8:
        return None
    order = np.argsort(np.asarray(t))
    q, qdot = np.asarray(q)[order], np.asarray(qdot)[order]
    quarter = len(q) // 4
    kinetic = 0.5 * np.sum(qdot**2, axis=-1)
    scale = kinetic[:quarter].mean()
    if not scale > 0:
        return None
    if _has_true_energy(module):
        energy = np.asarray(jax.vmap(module.true_energy)(q, qdot))
        return float((energy[:quarter].mean() - energy[-quarter:].mean()) / scale)
    return float(1 - kinetic[-quarter:].mean() / scale)


def warn_if_energy_decays(module: ModuleType, q, qdot, t, *, stacklevel: int = 3) -> None:
    """Warn when the data lose energy ([`energy_decay`][] above 0.5 with a true energy,
    above 0.9 from the kinetic proxy) and the module declares no dissipation, learned
    friction or forces, and its Lagrangian does not depend on the time."""
    if _declares_forces(module):
        return
    decay = energy_decay(module, q, qdot, t)
    threshold = _DECAY if _has_true_energy(module) else _PROXY_DECAY
    if decay is not None and decay > threshold:
        measure = "true energy" if _has_true_energy(module) else "mean |qdot|^2/2"
        warnings.warn(
            f"the training data lose energy: from their first quarter to their last, the "
            f"{measure} falls by {decay:.0%} of the mean |qdot|^2/2, but the system "
            f"{module.SYSTEM_NAME!r} declares no "
            "dissipation or forces, so no model of it can lose energy. Declare a friction "
            "in the System (dissipation=R, learn_dissipation=True; docs/WRITING_A_SPEC.md) "
            "and train an sn.ForcedLagrangian(network, sn.RayleighDissipation(module, "
            "key=...))",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
