# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""A model as a Diffrax `ODETerm`: adaptive steps, dense output and events from Diffrax."""

from typing import TYPE_CHECKING

import equinox as eqx
from jaxtyping import Array, Float

from ..lagrangian import as_lagrangian
from ._base import Acceleration, Lagrangian

if TYPE_CHECKING:
    import diffrax

State = tuple[Float[Array, " n"], Float[Array, " n"]]


class _EulerLagrangeField(eqx.Module):
    # A Module rather than a closure: the model's arrays stay leaves of the term, so a
    # jitted solve is not recompiled for new weights and does not bake them in as constants.
    acceleration: Acceleration

    def __call__(self, t, y: State, args) -> State:
        q, qdot = y
        return qdot, self.acceleration(q, qdot)


def ode_term(
    lagrangian: Lagrangian, *, acceleration: Acceleration | None = None
) -> "diffrax.ODETerm":
    """The Euler-Lagrange equations of `lagrangian` as a Diffrax `ODETerm`.

    The state is the pair `y = (q, qdot)` and the vector field
    $(t, y) \\mapsto (\\dot q, \\ddot q(q, \\dot q))$, so any Diffrax solver, step-size
    controller, `SaveAt(dense=True)` or `Event` applies:

    ```python
    import diffrax

    solution = diffrax.diffeqsolve(
        sn.ode_term(model), diffrax.Tsit5(), t0=0.0, t1=100.0, dt0=0.01, y0=(q0, qdot0),
        stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-8),
    )
    qs, qdots = solution.ys
    ```

    No Diffrax solver conserves the Noether charges exactly; `integrate` with
    `MidpointVariational()` does.

    **Arguments:**

    - `lagrangian`: an [`AbstractLagrangian`][] (a `LagrangianNetwork`, ...) or any JAX
        function `lagrangian(q, qdot) -> scalar`, such as a generated module's `lagrangian`.
    - `acceleration`: `acceleration(q, qdot) -> qddot` of one state; default the
        Lagrangian's own `acceleration` (a network's chain rule; automatic differentiation
        of the Euler-Lagrange equations for a plain function).

    **Returns:**

    A `diffrax.ODETerm` on `y = (q, qdot)`, each of shape `(n,)`; `jax.vmap` the solve for
    a batch. Needs Diffrax: `pip install "symnoether[diffrax]"` (or `pip install diffrax`).
    """
    try:
        import diffrax
    except ImportError as error:
        raise ImportError(
            "sn.ode_term needs Diffrax, which is not installed; install it with "
            '`pip install "symnoether[diffrax]"` (or `pip install diffrax`)'
        ) from error
    field = _EulerLagrangeField(as_lagrangian(lagrangian, acceleration).acceleration)
    return diffrax.ODETerm(field)
