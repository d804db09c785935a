"""Integrators for Lagrangian systems, as objects in the Diffrax manner.

`integrate(model, q0, qdot0, dt=..., steps=..., method=RK4())` rolls a system forward with
any [`AbstractIntegrator`][]: `RK4()` or `MidpointVariational(tol=..., max_iter=...)` (exact
discrete Noether charges). `INTEGRATORS` names them (`"rk4"`, `"variational"`: aliases
accepted wherever a method is). `ode_term(model)` hands a model to Diffrax instead.
"""

from ._base import (
    AbstractImplicitIntegrator as AbstractImplicitIntegrator,
    AbstractIntegrator as AbstractIntegrator,
    LagrangianTerm as LagrangianTerm,
    StepInfo as StepInfo,
    default_tol as default_tol,
)
from ._integrate import IntegrationResult as IntegrationResult, integrate as integrate
from ._matrix_free import MatrixFreeVariational as MatrixFreeVariational
from ._ode_term import ode_term as ode_term
from ._registry import (
    INTEGRATORS as INTEGRATORS,
    as_integrator as as_integrator,
    integrator_name as integrator_name,
    is_method as is_method,
)
from ._rk4 import RK4 as RK4
from ._variational import MidpointVariational as MidpointVariational
