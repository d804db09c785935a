"""User-supplied invariant candidates: parsing, validation and default names."""

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import sympy

from ..errors import SpecError
from .coordinates import Coordinates, velocity_name
from .names import name_problems

if TYPE_CHECKING:  # System validates its candidates with this module: no import at run time
    from .system import System

__all__ = ["default_names", "prepare_candidates"]


def prepare_candidates(
    system: "System", exprs: Iterable | Mapping, names: Sequence[str] | None = None
) -> tuple[tuple[sympy.Expr, ...], tuple[str, ...]]:
    """Validated expressions and names of user candidates; `SpecError` lists every problem.
    `system` is a `System` (its callers have it from `derive_invariants`, which checks)."""
    exprs, names = _split(exprs, names)
    problems = [] if exprs else ["no candidates given; pass at least one expression"]
    parsed = [_parse(system, e, k, problems) for k, e in enumerate(exprs)]
    names = list(default_names(parsed, system.coordinates) if names is None else names)
    if len(names) != len(parsed):
        problems.append(f"{len(names)} names for {len(parsed)} candidates")
    for name in names:
        problems += name_problems(name, "invariant name")
    for dup in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        problems.append(f"invariant name {dup!r} is used twice; names must be unique")
    if problems:
        raise SpecError(problems, what="invariant candidates")
    return tuple(parsed), tuple(names)


def _split(exprs, names) -> tuple[list, Sequence[str] | None]:
    """The candidates as a list, and their names (mapping keys, `names`, or None)."""
    if isinstance(exprs, Mapping):
        if names is not None:
            raise TypeError("pass names either as mapping keys or as names=..., not both")
        return list(exprs.values()), list(exprs.keys())
    if isinstance(exprs, sympy.MatrixBase):
        return list(exprs), names
    if isinstance(exprs, str | sympy.Basic) or not isinstance(exprs, Iterable):
        raise TypeError(
            f"candidates must be a list of expressions or a dict name -> expression, got "
            f"{type(exprs).__name__}"
        )
    return list(exprs), names


def _parse(system: "System", expr, k: int, problems: list[str]) -> sympy.Expr:
    c = system.coordinates
    by_name = dict(zip(c.names, c.q)) | {velocity_name(n): v for n, v in zip(c.names, c.qdot)}
    by_name |= {p.name: p for p in system.parameters}
    try:
        value = sympy.sympify(expr, locals=by_name) if isinstance(expr, str) else expr
        value = sympy.sympify(value)
    except (sympy.SympifyError, SyntaxError, TypeError):
        problems.append(f"candidate {k} ({expr!r}) is not a SymPy expression")
        return sympy.Integer(0)
    if not isinstance(value, sympy.Expr):
        problems.append(f"candidate {k} ({expr!r}) is a {type(value).__name__}, not an expression")
        return sympy.Integer(0)
    # A symbol spelt like a coordinate or parameter but built with other assumptions (e.g.
    # sympy.Symbol("x") without real=True) means that coordinate or parameter.
    value = value.xreplace({s: by_name[s.name] for s in value.free_symbols
                            if s.name in by_name and s is not by_name[s.name]})
    value = value.xreplace(dict(system.parameters))
    unknown = value.free_symbols - set(c.state)
    if unknown:
        problems.append(
            f"candidate {k} ({value}) mentions {sorted(map(str, unknown))}, which are neither "
            f"coordinates {c.names}, their velocities nor parameters; an invariant is a "
            "function of (q, qdot) only"
        )
    return value


def default_names(exprs: Sequence[sympy.Expr], coordinates: Coordinates) -> list[str]:
    """`s1`, `s2`, ... by position; a candidate that is a state variable keeps its name.

    A positional name that clashes with a coordinate or velocity name gets a trailing `_`.
    """
    taken = set(coordinates.names) | {velocity_name(n) for n in coordinates.names}
    names = []
    for j, expr in enumerate(exprs, start=1):
        if isinstance(expr, sympy.Symbol) and expr in coordinates.state:
            names.append(expr.name)
            continue
        name = f"s{j}"
        while name in taken:
            name += "_"
        names.append(name)
    return names
