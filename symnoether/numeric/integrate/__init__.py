"""Integrators for Lagrangian systems: RK4 and the midpoint variational integrator."""

from ._integrate import (
    IntegrationResult as IntegrationResult,
    default_tol as default_tol,
    integrate as integrate,
)
