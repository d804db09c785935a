"""Polynomial invariants of any polynomial or rational symmetry, degree by degree.

The lifted generators X_a act linearly on polynomials in s = (q, qdot); the invariants of
degree <= k are the exact nullspace of that linear map over QQ, computed with a sparse
`DomainMatrix`. Of those, only invariants that raise the functional rank are kept, until
the rank reaches 2n - r or the degree bound.
"""

import functools
import itertools
import math
from collections.abc import Sequence

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from ...errors import SymmetryError
from ..exact import random_points
from ..system import System
from ._polys import apply_field, from_sympy_point, gradient, to_expr, to_sparse
from .candidates import default_names
from .certificate import reflections

__all__ = ["general_invariants"]


def general_invariants(
    system: System, *, max_degree: int, expected_rank: int
) -> tuple[list[sympy.Expr], list[str], list[str]]:
    """Functionally independent polynomial invariants of `system.symmetry`.

    At each degree k = 1..`max_degree` the invariant polynomials of degree k (homogeneous
    when every lifted generator is homogeneous, so that invariance splits degree by degree;
    else of degree 1..k) are the nullspace of the stacked linear maps X_a. Rational
    generators are first multiplied by their common denominator, which leaves the invariants
    unchanged. For groups with reflections only monomials even in each reflected axis are
    used: the reflection is not in the Lie algebra, but maps its invariants to invariants.

    **Arguments:**

    - `system`: the [`System`][].
    - `max_degree`: the largest degree tried.
    - `expected_rank`: 2n - r; the search stops when the rank reaches it.

    **Returns:**

    `(exprs, names, notes)`: invariants with integer coefficients in order of degree,
    their names (`s1`, `s2`, ... by position; a single state variable keeps its name), and
    remarks for the certificate. Raises [`SymmetryError`][] for a generator that is not
    polynomial or rational with rational coefficients.
    """
    state = system.coordinates.state
    if system.symmetry.time_dependent:
        return [], [], [
            "general route: the generators depend on the time, which this route does not "
            "handle; for Galilean boosts add translations of the same blocks "
            "(sn.translations(c, blocks=...)) so that the classical route applies, or pass "
            "your invariants (functions of q and qdot only) as candidates=[...]"]
    fields, notes = _polynomial_fields(system.symmetry, state)
    flips = [flipped for _, _, flipped in reflections(system)]
    graded = all(_degree(field) is not None for field in fields)
    point = from_sympy_point(random_points(state, 1, seed=7)[0], state)
    accepted, grads = [], []
    for k in range(1, max_degree + 1):
        if len(grads) >= expected_rank:
            break
        degrees = (k,) if graded else tuple(range(1, k + 1))
        domain = [m for d in degrees for m in _monomials(len(state), d)
                  if all(sum(m[i] for i in f) % 2 == 0 for f in flips)]
        for poly in _select(_kernel(fields, domain), grads, point):
            accepted.append(poly)
            grads.append(gradient(poly, point))
    if len(grads) < expected_rank:
        notes.append(
            f"general route: the polynomial invariants of degree <= {max_degree} reach rank "
            f"{len(grads)} of the expected {expected_rank}; the missing invariants are of "
            "higher degree or not polynomial (e.g. z - c atan2(y, x) for a screw motion). "
            "Raise max_degree, or pass the missing invariants as candidates=[...]."
        )
    exprs = [to_expr(p, state) for p in accepted]
    return exprs, default_names(exprs, system.coordinates), notes


def _polynomial_fields(group, state) -> tuple[list[list[dict]], list[str]]:
    """Each lifted generator as sparse polynomial components, denominators cleared."""
    fields, notes = [], []
    for a, name in enumerate(group.names):
        lift = group.lift(a)
        field = [to_sparse(comp, state) for comp in lift]
        if all(f is not None for f in field):
            fields.append(field)
            continue
        parts = [_fraction(comp, name, s, group) for comp, s in zip(lift, state)]
        denominator = sympy.factor(functools.reduce(sympy.lcm, (den for _, den in parts)))
        notes.append(
            f"generator {name!r} is rational: its lifted field was multiplied by "
            f"{denominator}, which leaves the invariants unchanged where it is non-zero"
        )
        fields.append([
            to_sparse(sympy.cancel(num * denominator / den), state) for num, den in parts
        ])
    return fields, notes


def _fraction(component, name, s, group) -> tuple[sympy.Expr, sympy.Expr]:
    """(numerator, denominator) of a rational component; `SymmetryError` for anything else."""
    component = sympy.sympify(component)
    state = group.coordinates.state
    why = None
    if component.has(sympy.Float):
        why = "has a floating-point coefficient; write exact numbers (sympy.Rational(1, 3))"
    elif not component.is_rational_function(*state):
        why = "is neither polynomial nor rational in the coordinates"
    else:
        num, den = sympy.fraction(sympy.cancel(sympy.together(component)))
        if to_sparse(num, state) is not None and to_sparse(den, state) is not None:
            return num, den
        why = "has irrational or symbolic coefficients; the general route works over QQ"
    raise SymmetryError(
        f"generator {name!r} of {group.name!r}: its lifted component along {s} is "
        f"{component}, which {why}. The general invariant route needs polynomial or rational "
        "generator fields with rational coefficients. Supply invariants you know instead: "
        "derive_invariants(system, candidates=[...]) certifies them."
    )


def _degree(field: Sequence[dict]) -> int | None:
    """The common degree of all terms of a field, or None when it is not homogeneous."""
    degrees = {sum(m) for comp in field for m in comp}
    return degrees.pop() if len(degrees) == 1 else (0 if not degrees else None)


def _monomials(n: int, degree: int) -> list[tuple[int, ...]]:
    """Exponent tuples of degree `degree` in n variables, in lexicographic order."""
    out = []
    for combo in itertools.combinations_with_replacement(range(n), degree):
        exps = [0] * n
        for v in combo:
            exps[v] += 1
        out.append(tuple(exps))
    return out


def _kernel(fields, domain) -> list[dict]:
    """A basis of the polynomials on `domain` killed by every field, primitive over ZZ."""
    if not domain:
        return []
    rows: dict = {}
    for j, monom in enumerate(domain):
        for a, field in enumerate(fields):
            for image, coeff in apply_field(field, {monom: QQ.one}).items():
                rows.setdefault((a, image), {})[j] = coeff
    if not rows:
        return [{m: QQ.one} for m in domain]
    matrix = DomainMatrix(dict(enumerate(rows.values())), (len(rows), len(domain)), QQ)
    null = matrix.nullspace().to_sparse().rep
    return [_primitive({domain[j]: c for j, c in sorted(null[i].items())}, domain[min(null[i])])
            for i in sorted(null)]


def _primitive(poly: dict, first) -> dict:
    """`poly` scaled to coprime integer coefficients, the coefficient of `first` positive."""
    scale = math.lcm(*(c.denominator for c in poly.values()))
    content = math.gcd(*(int(c * scale) for c in poly.values()))
    sign = -1 if poly[first] < 0 else 1
    return {m: c * scale / content * sign for m, c in poly.items()}


def _select(candidates: list[dict], grads: list, point) -> list[dict]:
    """The candidates that raise the rank of the gradients at `point`, greedily in order."""
    if not candidates:
        return []
    columns = grads + [gradient(p, point) for p in candidates]
    matrix = DomainMatrix(columns, (len(columns), len(point)), QQ).transpose()
    _, pivots = matrix.rref()
    return [candidates[p - len(grads)] for p in pivots if p >= len(grads)]
