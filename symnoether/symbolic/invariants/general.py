"""Polynomial and rational invariants of any polynomial or rational symmetry, by degree.

The lifted generators X_a act linearly on polynomials in s = (q, qdot); the invariants of
degree <= k are the exact nullspace of that linear map over QQ, computed with a sparse
`DomainMatrix`. Of those, only invariants that raise the functional rank are kept, until
the rank reaches 2n - r or the degree bound.

Scalings (a lifted field sum_i w_i s_i d/ds_i, e.g. a dilation x -> lambda x) have no
polynomial invariants but rational ones of weight 0: if X_D P = w P and X_D Q = w Q while
the other generators annihilate P and Q, then P/Q is invariant (e.g. (x . xdot)/(x . x)).
Such semi-invariants are, per weight, the nullspace of the other generators on the
monomials of that weight; ratios of equal weight (and, for one scaling, powers
P^a / Q^b with a w_P = b w_Q) are the rational candidates, kept by the same rank test.
"""

import functools
import itertools
import math
from collections.abc import Sequence

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from ...errors import SymmetryError
from ..candidates import default_names
from ..exact import random_points
from ..system import System
from ._polys import apply_field, from_sympy_point, gradient, to_expr, to_sparse, value
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
    exprs = [to_expr(p, state) for p in accepted]
    if len(grads) < expected_rank:
        ratios = _rational_invariants(fields, state, max_degree, flips, grads, point,
                                      expected_rank)
        if ratios:
            exprs += ratios
            notes.append(
                f"general route: {len(ratios)} rational invariant(s) (ratios of "
                "semi-invariants of equal weight under the scaling generators) complete the "
                "polynomial ones; they are singular where their denominators vanish")
    if len(grads) < expected_rank:
        notes.append(_missing_note(system.symmetry, fields, max_degree, len(grads),
                                   expected_rank))
    return exprs, default_names(exprs, system.coordinates), notes


def _missing_note(group, fields, max_degree: int, rank: int, expected: int) -> str:
    """What is missing, in the terms of this group."""
    head = (f"general route: the polynomial and rational invariants of degree <= {max_degree} "
            f"reach rank {rank} of the expected {expected} ({expected - rank} missing)")
    mixed = [name for name, field in zip(group.names, fields) if _degree(field) is None]
    if mixed:
        why = (f"the generators {mixed} mix a shift with a linear action (as a screw motion "
               "does), whose invariants are usually not rational (e.g. z - k atan2(y, x) "
               "for a screw of pitch k)")
    else:
        why = ("the missing invariants are of higher degree, or not rational (e.g. a "
               "logarithm or an angle)")
    return (f"{head}: {why}. Raise max_degree, or pass the missing invariants as "
            "candidates=[...].")


def _scaling_weights(field: Sequence[dict], n: int) -> tuple | None:
    """(w_1..w_n) if the lifted field is sum_i w_i s_i d/ds_i (a scaling), else None."""
    weights = []
    for i, comp in enumerate(field):
        own = tuple(int(j == i) for j in range(n))
        if not comp:
            weights.append(QQ.zero)
        elif len(comp) == 1 and own in comp:
            weights.append(comp[own])
        else:
            return None
    return tuple(weights) if any(weights) else None


def _rational_invariants(fields, state, max_degree, flips, grads, point, expected
                         ) -> list[sympy.Expr]:
    """Rational invariants of weight 0 under the scalings; appends to `grads`."""
    n = len(state)
    scalings = [w for w in (_scaling_weights(f, n) for f in fields) if w is not None]
    if not scalings:
        return []
    others = [f for f in fields if _scaling_weights(f, n) is None]
    semis: list[tuple[tuple, dict]] = []  # (weights, semi-invariant), by degree then weight
    for k in range(1, max_degree + 1):
        classes: dict[tuple, list] = {}
        for m in _monomials(n, k):
            if all(sum(m[i] for i in f) % 2 == 0 for f in flips):
                weight = tuple(sum(w[i] * e for i, e in enumerate(m)) for w in scalings)
                classes.setdefault(weight, []).append(m)
        for weight in sorted(classes):
            if any(weight):  # weight 0: the polynomial invariants, found already
                semis += [(weight, p) for p in _kernel(others, classes[weight])]
    candidates = _ratios(semis, len(scalings) == 1)
    out = []
    for numerator, a, denominator, b in candidates:
        if len(grads) >= expected:
            break
        row = _ratio_gradient(numerator, a, denominator, b, point)
        if row is None or not _raises_rank(grads, row):
            continue
        grads.append(row)
        out.append(to_expr(numerator, state) ** a / to_expr(denominator, state) ** b)
    return out


def _ratios(semis, one_scaling: bool) -> list[tuple]:
    """(P, a, Q, b) with P^a / Q^b of weight 0: equal weights first, then (one scaling)
    powers against the first semi-invariant."""
    base: dict[tuple, dict] = {}
    out = []
    for weight, poly in semis:
        if weight in base:
            out.append((poly, 1, base[weight], 1))
        else:
            base[weight] = poly
    if one_scaling and base:
        (w0,), p0 = next(iter(base.items()))
        for (w,), p in list(base.items())[1:]:
            if w * w0 > 0:  # the same sign: P^a / P0^b with a w = b w0
                ratio = sympy.Rational(str(w0 / w))
                out.append((p, int(ratio.p), p0, int(ratio.q)))
    return out


def _ratio_gradient(numerator, a, denominator, b, point) -> list | None:
    """The exact gradient of N^a / D^b at `point`, or None where N or D vanishes."""
    N, D = value(numerator, point), value(denominator, point)
    if N == 0 or D == 0:
        return None
    gN, gD = gradient(numerator, point), gradient(denominator, point)
    scale = N**a / D**b
    return [scale * (a * dn / N - b * dd / D) for dn, dd in zip(gN, gD)]


def _raises_rank(grads, row) -> bool:
    rows = grads + [row]
    return DomainMatrix(rows, (len(rows), len(row)), QQ).rank() == len(rows)


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
