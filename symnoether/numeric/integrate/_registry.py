"""The integrators by name: the one list that `integrate`, evaluation, plots and the CLI read.

A new integrator is a file with a final `AbstractIntegrator` subclass and one line here.
"""

from ._base import AbstractImplicitIntegrator, AbstractIntegrator
from ._rk4 import RK4
from ._variational import MidpointVariational

__all__ = ["INTEGRATORS", "as_integrator", "integrator_name", "is_method"]

#: Name -> integrator class. The names are the string aliases of `integrate(method=...)`,
#: the keys of evaluation metrics and the choices of `symnoether evaluate --method`.
INTEGRATORS: dict[str, type[AbstractIntegrator]] = {
    "rk4": RK4,
    "variational": MidpointVariational,
}


def is_method(method: object) -> bool:
    """Whether `method` is an integrator object or the name of one in [`INTEGRATORS`][]."""
    return isinstance(method, AbstractIntegrator) or (
        isinstance(method, str) and method in INTEGRATORS
    )


def unknown_method(method: object) -> str:
    """What to say about a `method` that is neither an integrator nor a registered name."""
    return (
        f"method must be one of {tuple(INTEGRATORS)} or an integrator object such as "
        f"sn.RK4() or sn.MidpointVariational(tol=...), got {method!r}"
    )


def as_integrator(
    method: "str | AbstractIntegrator",
    *,
    tol: float | None = None,
    max_iter: int | None = None,
) -> AbstractIntegrator:
    """The integrator that `method` names, or `method` itself.

    **Arguments:**

    - `method`: an integrator object such as `RK4()`, or a name of [`INTEGRATORS`][].
    - `tol`, `max_iter`: Newton settings for an implicit integrator given by name (ignored
        by explicit ones); give them to the object itself otherwise.

    **Returns:**

    An `AbstractIntegrator`. A `ValueError` for an unknown name, or for `tol`/`max_iter`
    next to an integrator object.
    """
    settings = {k: v for k, v in (("tol", tol), ("max_iter", max_iter)) if v is not None}
    if isinstance(method, AbstractIntegrator):
        given = ", ".join(f"{k}={v!r}" for k, v in settings.items())
        if settings and isinstance(method, AbstractImplicitIntegrator):
            raise ValueError(
                f"{' and '.join(settings)} belong to the integrator object: pass "
                f"method={type(method).__name__}({given}) rather than {given} next to it"
            )
        if settings:
            raise ValueError(
                f"{type(method).__name__} solves no equations and takes no {given}: leave it out"
            )
        return method
    if not is_method(method):
        raise ValueError(unknown_method(method))
    cls = INTEGRATORS[method]
    return cls(**settings) if issubclass(cls, AbstractImplicitIntegrator) else cls()


def integrator_name(method: "str | AbstractIntegrator") -> str:
    """The name of an integrator: its key in [`INTEGRATORS`][], else its class name.

    **Arguments:**

    - `method`: an integrator object or a name.

    **Returns:**

    The name, e.g. `"variational"` for `MidpointVariational(tol=1e-12)`.
    """
    if isinstance(method, str):
        return method
    for name, cls in INTEGRATORS.items():
        if type(method) is cls:
            return name
    return type(method).__name__
