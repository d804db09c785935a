# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The record of one evaluated rollout, and the names evaluation and plots share."""

from typing import NamedTuple

import numpy as np

from .integrate import RK4, integrator_name

__all__ = ["REFERENCE", "REFERENCE_METHOD", "TRUE", "Curves"]

#: Name of the true system among the evaluated rollouts.
TRUE = "true"
#: The true system's rollout with this integrator (closed-form acceleration) is the reference
#: of the trajectory error.
REFERENCE = RK4()
REFERENCE_METHOD = integrator_name(REFERENCE)


class Curves(NamedTuple):
    """Time series of one rollout, as NumPy arrays (what the metrics and plots read).

    **Fields:**

    - `ts`, `qs`, `qdots`: the rollout, `(T,)`, `(T, n)`, `(T, n)`.
    - `charge_drift`, `charge_relative`: drift of the model's own charges `(T, K)` and, per
        charge, whether it is relative (else absolute).
    - `true_charge_drift`, `true_charge_relative`: the same for the true charges, or `None`.
    - `energy_drift`, `energy_relative`, `true_energy_drift`, `true_energy_relative`: the
        same for the energies (`(T,)` and a bool).
    - `error`: $|q(t) - q_{true}(t)|$, `(T,)`, or `None` without a true system.
    - `charges0`, `energy0`: the initial values of the model's charges and energy.
    - `vector_drift`, `true_vector_drift`: $|I(t) - I(0)| / |I(0)|$ of the whole vector of
        own (true) charges, Euclidean norms, `(T,)`: not inflated by a charge that starts
        near zero.
    - `mass_matrix`: `{"signature_changes", "ill_conditioned_states", "max_condition"}` of
        d2L/dqdot2 along the rollout (see `_mass_matrix_metrics`).
    - `newton`: for the variational method, `{"max_residual", "max_iterations",
        "failed_solves"}`; else `None`.
    - `seconds`: wall-clock time of the rollout (compilation included).
    """

    ts: np.ndarray
    qs: np.ndarray
    qdots: np.ndarray
    charge_drift: np.ndarray
    charge_relative: np.ndarray
    true_charge_drift: np.ndarray | None
    true_charge_relative: np.ndarray | None
    energy_drift: np.ndarray
    energy_relative: bool
    true_energy_drift: np.ndarray | None
    true_energy_relative: bool | None
    error: np.ndarray | None
    charges0: np.ndarray
    energy0: float
    newton: dict[str, float] | None
    seconds: float
    vector_drift: np.ndarray
    true_vector_drift: np.ndarray | None
    mass_matrix: dict
