"""derive_invariants: the invariant scalar set of a system's symmetry, with its certificate."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy

from ...errors import SpecError, SymmetryError
from ...progress import stage
from ..angles import trig_linear
from ..candidates import prepare_candidates
from ..names import name_problems
from ..system import System
from .certificate import (
    Certificate,
    build_certificate,
    independent_subset,
    orbit_dimension,
)
from .classical import ClassicalUnsupported, classical_invariants
from .general import general_invariants

__all__ = ["InvariantSet", "derive_invariants"]

_ROUTES = ("classical", "general", "user")


@dataclass(frozen=True)
class InvariantSet:
    """Invariant scalars S_1..S_M on TQ, their names, how they were found and their proof.

    **Attributes:**

    - `exprs`: the M SymPy expressions in `coordinates.q` and `coordinates.qdot`.
    - `names`: M unique identifiers (they name the outputs of the generated code).
    - `route`: `"classical"`, `"general"` or `"user"`.
    - `certificate`: the [`Certificate`][] of invariance and completeness.
    """

    exprs: tuple[sympy.Expr, ...]
    names: tuple[str, ...]
    route: str
    certificate: Certificate

    def __post_init__(self):
        object.__setattr__(self, "exprs", tuple(sympy.sympify(e) for e in self.exprs))
        object.__setattr__(self, "names", tuple(self.names))
        problems = []
        if len(self.exprs) != len(self.names):
            problems.append(f"{len(self.exprs)} expressions but {len(self.names)} names")
        for name in self.names:
            problems += name_problems(name, "invariant name")
        if len(set(self.names)) != len(self.names):
            problems.append(f"invariant names are not unique: {self.names}")
        if self.route not in _ROUTES:
            problems.append(f"route must be one of {_ROUTES}, got {self.route!r}")
        if not isinstance(self.certificate, Certificate):
            problems.append(f"certificate is a {type(self.certificate).__name__}")
        if problems:
            raise SpecError(problems, what="invariant set")

    def __len__(self) -> int:
        return len(self.exprs)


def derive_invariants(
    system: System,
    *,
    route: str = "auto",
    candidates: Sequence | Mapping | None = None,
    max_degree: int = 4,
    require_complete: bool = False,
    minimal: bool | None = None,
) -> InvariantSet:
    """Derive the invariant scalars of a system's symmetry and certify them.

    **Arguments:**

    - `system`: the [`System`][].
    - `route`: `"classical"` (contractions of vectors after removing translations; for
      translations, rotations, Lorentz groups and Galilean boosts), `"general"` (polynomial
      invariants of any polynomial or rational generators, degree by degree, and rational
      ones of weight 0 under scalings such as dilations, e.g. (x . xdot)/(x . x)) or
      `"auto"`: classical when the group's structure allows it, else general.
    - `candidates`: instead, your own invariants (a list of expressions or a dict
      name -> expression); they are certified like derived ones (route `"user"`). Without
      this argument, a system's own `System(candidates=...)` are added to the derived set.
    - `max_degree`: the largest polynomial degree the general route tries.
    - `require_complete`: raise [`SymmetryError`][] unless the set is invariant and
      functionally complete.
    - `minimal`: keep only a functionally independent subset, exactly as many invariants as
      the rank (default: the system's `minimal_invariants`). The subset is chosen greedily
      in the set's order at a random rational point, and certified like any set. It is
      complete only locally: where the kept invariants' gradients become dependent (e.g.
      the kept difference vectors become parallel) it loses rank although the full set
      would not, and for SO(d) it may keep no Levi-Civita invariant (then it does not tell
      mirror images apart; the network still conserves every charge).

    **Returns:**

    An [`InvariantSet`][]. The classical route's order and names are documented in
    `classical_invariants` (e.g. Kepler: `x_x`, `x_xdot`, `xdot_xdot`); the general route
    names its invariants `s1`, `s2`, ... by position.
    """
    _check_arguments(system, route, candidates, max_degree)
    with stage("derive: invariants") as line:
        if candidates is not None:
            exprs, names = prepare_candidates(system, candidates)
            used, notes = "user", []
        else:
            exprs, names, used, notes = _derive(system, route, max_degree)
            if system.candidates:
                exprs, names, notes = _union(system, exprs, names, notes)
        if system.minimal_invariants if minimal is None else minimal:
            exprs, names, notes = _minimal(system, exprs, names, notes)
        exprs, names, notes = _periodic(system, exprs, names, notes)
        line.append(f"{len(exprs)} scalars, {used} route")
    with stage("derive: certificate") as line:
        certificate = build_certificate(system, exprs, names, notes)
        line.append(f"rank {certificate.rank} of {certificate.expected_rank}, "
                    f"{'complete' if certificate.complete else 'NOT complete'}")
    result = InvariantSet(tuple(exprs), tuple(names), used, certificate)
    if require_complete and not certificate.complete:
        raise SymmetryError(_incomplete_message(system, result))
    return result


def _derive(system: System, route: str, max_degree: int) -> tuple[list, list, str, list]:
    """(exprs, names, route used, notes) of the classical or the general route."""
    notes = []
    if route in ("auto", "classical"):
        try:
            return (*classical_invariants(system.symmetry), "classical", notes)
        except ClassicalUnsupported as why:
            if route == "classical":
                raise SymmetryError(
                    f"the classical invariant route does not apply to {system.symmetry.name!r}:"
                    f" {why}. Use route='general' (or 'auto')."
                ) from None
            notes.append(f"general route: the classical route does not apply ({why})")
    expected = 2 * system.coordinates.n - orbit_dimension(system)
    exprs, names, general_notes = general_invariants(
        system, max_degree=max_degree, expected_rank=expected
    )
    return exprs, names, "general", notes + general_notes


def _union(system: System, exprs, names, notes) -> tuple[list, list, list]:
    """The derived set plus the system's own candidates (duplicates left out)."""
    exprs, names = list(exprs), list(names)
    added = []
    for name, expr in system.candidates.items():
        if expr in exprs:
            continue
        unique, k = name, 2
        while unique in names:
            unique, k = f"{name}_{k}", k + 1
        exprs.append(expr)
        names.append(unique)
        added.append(unique)
    note = (f"the system's candidates {', '.join(added)} were added to the derived set"
            if added else "the system's candidates are already in the derived set")
    return exprs, names, list(notes) + [note]


def _minimal(system: System, exprs, names, notes) -> tuple[list, list, list]:
    """A functionally independent subset, chosen greedily at a random rational point."""
    kept = independent_subset(system, exprs)
    if kept is None:
        return exprs, names, list(notes) + [
            "minimal=True was ignored: the invariants' gradients are not rational at rational "
            "points, so no exact independent subset could be chosen"]
    note = (f"minimal set: {len(kept)} of {len(exprs)} invariants, independent at a random "
            "rational point (complete only locally; see derive_invariants)")
    return [exprs[i] for i in kept], [names[i] for i in kept], list(notes) + [note]


def _periodic(system: System, exprs, names, notes) -> tuple[list, list, list]:
    """Each invariant that is an integer combination of angles (`system.angles`), such as
    a free psi or theta1 - theta2, replaced by its cosine and sine: the network then sees a
    bounded, periodic input where the angle winds (functions of an invariant are
    invariant, and the pair has the rank of the angle)."""
    angles = set(system.angles)
    if not angles:
        return list(exprs), list(names), list(notes)
    out, out_names, replaced, raw = [], [], [], []
    taken = set(names)
    for expr, name in zip(exprs, names):
        combination = trig_linear(expr)
        if combination is None or not set(combination) <= angles:
            out.append(expr)
            out_names.append(name)
            if expr.free_symbols & angles - _inside_trig(expr):
                raw.append(name)
            continue
        for f in (sympy.cos, sympy.sin):
            unique, k = f"{f.__name__}_{name}", 2
            while unique in taken:
                unique, k = f"{f.__name__}_{name}_{k}", k + 1
            taken.add(unique)
            out.append(f(expr))
            out_names.append(unique)
        replaced.append(name)
    notes = list(notes)
    if replaced:
        notes.append(f"periodic: {', '.join(replaced)} enter as their cosine and sine "
                     f"(angles {', '.join(s.name for s in system.angles)})")
    if raw:
        notes.append(f"periodic: {', '.join(raw)} use an angle outside sin/cos (not "
                     "replaced: declare other invariants with candidates= to avoid it)")
    return out, out_names, notes


def _inside_trig(expr: sympy.Expr) -> set:
    # The symbols of expr that occur only inside sin, cos, ...
    from ..angles import TRIG

    outside = expr.replace(lambda e: isinstance(e, TRIG), lambda e: sympy.Integer(0))
    return expr.free_symbols - outside.free_symbols


def _check_arguments(system, route, candidates, max_degree) -> None:
    if not isinstance(system, System):
        raise TypeError(f"system must be a System, got {type(system).__name__}")
    routes = ("auto",) + _ROUTES
    if route not in routes:
        raise ValueError(f"route must be one of {routes}, got {route!r}")
    if route == "user" and candidates is None:
        raise ValueError("route='user' needs candidates=[...] (your invariant expressions)")
    if candidates is not None and route not in ("auto", "user"):
        raise ValueError(f"candidates=... are certified as given; route={route!r} conflicts")
    if isinstance(max_degree, bool) or not isinstance(max_degree, int) or max_degree < 1:
        raise ValueError(f"max_degree must be an int >= 1, got {max_degree!r}")


def _incomplete_message(system: System, result: InvariantSet) -> str:
    cert = result.certificate
    n = system.coordinates.n
    lines = [
        f"the invariants of system {system.name!r} ({result.route} route, "
        f"{len(result)} scalars) are not a certified complete set: "
        f"invariant={cert.invariant}, rank {cert.rank} found, expected 2n - r = {2 * n} - "
        f"{cert.orbit_dimension} = {cert.expected_rank}."
    ]
    lines += [f"  - {note}" for note in cert.notes]
    lines.append(
        "To fix: raise max_degree, pass the missing (e.g. non-polynomial) invariants as "
        "candidates=[...], or accept the set with require_complete=False."
    )
    return "\n".join(lines)


