"""Constant linear relations among functions, decided with the identity tests.

Two questions of the symbolic half reduce to linear algebra over QQ on functions: which
constant combinations of given functions vanish identically (the homotheties of a metric,
the closed combinations of 1-forms, the splitting of a determining equation in q), and
whether a function is a constant combination of others (the closure of a Lie algebra,
its structure constants). Both are answered here the same way:

- functions polynomial in the variables with rational coefficients: the coefficients of
  the monomials give the equations, exactly (no probability);
- otherwise: exact evaluation at random rational points where square roots are rational
  and angles sit on rational points of the circle (`identity.rational_points`). An angle
  that also appears outside sin and cos (theta * sin(theta)) is split into two
  independent variables first: theta is transcendental over QQ(cos theta, sin theta), so
  a polynomial relation in (theta, cos theta, sin theta) holds exactly when it holds with
  theta and the angle independent. The rank of an evaluation matrix never exceeds the
  true rank, so every true relation is found; a spurious one (unlucky points) is caught
  by proving each relation found with [`decide_zero`][] and retrying with more points.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from .angles import TRIG, angle_symbols
from .identity import ExactEvaluator, decide_zero, rational_points

__all__ = [
    "Relations",
    "decouple_angles",
    "linear_relations",
    "span_coefficients",
    "span_coefficients_many",
]


@dataclass(frozen=True)
class Relations:
    """The constant linear relations among m vector-valued functions.

    **Attributes:**

    - `basis`: vectors c (tuples of m Rationals) spanning {c : sum_j c_j f_j = 0}; None
      when they could not be decided (`method` says why).
    - `method`: how they were found, in words (`exact coefficients ...`, `exact evaluation
      ...`, or `undecided: ...`).
    """

    basis: tuple[tuple[sympy.Rational, ...], ...] | None
    method: str

    @property
    def decided(self) -> bool:
        return self.basis is not None


def linear_relations(
    functions: Sequence[Sequence[sympy.Expr]],
    coordinates,
    *,
    prove: bool = True,
    seed: int = 0,
) -> Relations:
    """Every constant vector c with sum_j c_j f_j = 0 identically.

    **Arguments:**

    - `functions`: m functions, each a sequence of the same number of components (SymPy
      expressions in any symbols: coordinates, velocities, the time, ...).
    - `coordinates`: the [`Coordinates`][] (for the identity tests of the proofs).
    - `prove`: prove each relation found by evaluation with [`decide_zero`][] (retrying
      with more points when one fails); polynomial relations are exact as found.
    - `seed`: the seed of the random points.

    **Returns:**

    A [`Relations`][].
    """
    functions = [tuple(e if isinstance(e, sympy.Poly) else sympy.sympify(e) for e in f)
                 for f in functions]
    m = len(functions)
    if m == 0:
        return Relations((), "no functions")
    rows = _polynomial_rows(functions)
    if rows is not None:
        basis = _nullspace(rows, m)
        return Relations(basis, "exact coefficients of the monomials (polynomial identities)")
    functions = [tuple(e.as_expr() if isinstance(e, sympy.Poly) else e for e in f)
                 for f in functions]
    points = max(3, math.ceil((m + 2) / max(1, len(functions[0]))) + 2)
    for attempt in range(3):
        rows, method = _evaluation_rows(functions, points, seed + attempt)
        if rows is None:
            return Relations(None, method)
        basis = _nullspace(rows, m)
        if not prove or all(_proved(functions, c, coordinates) for c in basis):
            return Relations(basis, method)
        points *= 2
    return Relations(None, "undecided: a relation found at random points failed its proof "
                           "three times")


def span_coefficients(
    target: Sequence[sympy.Expr],
    basis: Sequence[Sequence[sympy.Expr]],
    coordinates,
    *,
    seed: int = 0,
) -> tuple[tuple[sympy.Rational, ...] | None, str]:
    """Constants c with target = sum_k c_k basis_k identically, proved, or None.

    **Arguments:**

    - `target`: a vector function (a sequence of SymPy expressions).
    - `basis`: vector functions of the same length, linearly independent.
    - `coordinates`: the [`Coordinates`][] of the identity tests.
    - `seed`: the seed of the random points.

    **Returns:**

    `(coefficients, method)`: the coefficients (None when the target is not in the span, or
    that could not be decided) and how it was decided, in words.
    """
    return span_coefficients_many([target], basis, coordinates, seed=seed)[0]


def span_coefficients_many(targets, basis, coordinates, *, seed: int = 0) -> list:
    """[`span_coefficients`][] of several targets at once (one row reduction for all).

    **Returns:**

    One `(coefficients or None, method)` per target.
    """
    basis = [tuple(sympy.sympify(e) for e in f) for f in basis]
    targets = [tuple(sympy.sympify(e) for e in f) for f in targets]
    k = len(basis)
    functions = basis + targets
    rows = _polynomial_rows(functions)
    exact = rows is not None
    method = "exact coefficients of the monomials (polynomial identities)"
    if not exact:
        width = max(1, len(functions[0]))
        rows, method = _evaluation_rows(functions, max(3, -(-(k + 2) // width) + 2), seed)
        if rows is None:
            return [(None, method)] * len(targets)
    matrix = DomainMatrix(dict(enumerate(r for r in rows.values() if r)),
                          (sum(1 for r in rows.values() if r), len(functions)), QQ)
    rref, pivots = matrix.rref()
    dense = rref.to_dense().rep.to_ddm()
    out = []
    for j, target in enumerate(targets):
        col = k + j
        if col in pivots:
            out.append((None, f"not in the span ({method})"))
            continue
        coeffs = [sympy.Integer(0)] * k
        for r, p in enumerate(pivots):
            if p < k:
                coeffs[p] = QQ.to_sympy(dense[r][col])
        out.append(_checked(target, basis, tuple(coeffs), coordinates, method, exact))
    return out


def _checked(target, basis, coeffs, coordinates, method, exact):
    if exact:
        return coeffs, method
    residual = [t - sum((c * b[i] for c, b in zip(coeffs, basis) if c), sympy.Integer(0))
                for i, t in enumerate(target)]
    tests = [decide_zero(r, coordinates) for r in residual]
    if all(t.zero for t in tests):
        return coeffs, ", ".join(sorted({t.method for t in tests}))
    return None, "; ".join(t.method for t in tests if not t.zero)


def _proved(functions, c, coordinates) -> bool:
    for i in range(len(functions[0])):
        expr = sum((k * f[i] for k, f in zip(c, functions) if k), sympy.Integer(0))
        if not decide_zero(expr, coordinates).zero:
            return False
    return True


def _nullspace(rows: dict, m: int) -> tuple[tuple[sympy.Rational, ...], ...]:
    if not rows:
        return tuple(tuple(sympy.Integer(int(i == j)) for i in range(m)) for j in range(m))
    matrix = DomainMatrix(dict(enumerate(rows.values())), (len(rows), m), QQ)
    null = matrix.nullspace().to_Matrix()
    return tuple(tuple(sympy.Rational(x) for x in null.row(r)) for r in range(null.rows))


def _symbols(functions) -> list[sympy.Symbol]:
    free = set().union(*(set(e.gens) if isinstance(e, sympy.Poly) else e.free_symbols
                         for f in functions for e in f))
    return sorted(free, key=sympy.default_sort_key)


def _polynomial_rows(functions) -> dict | None:
    """{(component, monomial): {j: coefficient}}, or None if some f_j is not polynomial.

    A component may also be given as a `sympy.Poly` over QQ (cheaper for big polynomials).
    """
    symbols = _symbols(functions)
    position = {s: k for k, s in enumerate(symbols)}
    rows: dict = {}
    for j, f in enumerate(functions):
        for i, expr in enumerate(f):
            if isinstance(expr, sympy.Poly):
                if not expr.domain.is_QQ and not expr.domain.is_ZZ:
                    return None
                for monom, coeff in expr.terms():
                    key = [0] * len(symbols)
                    for gen, power in zip(expr.gens, monom):
                        if power:
                            key[position[gen]] = power
                    if coeff:
                        rows.setdefault((i, tuple(key)), {})[j] = QQ.convert(coeff)
                continue
            if expr == 0:
                continue
            if not symbols:
                if not expr.is_Rational:
                    return None
                rows.setdefault((i, ()), {})[j] = QQ.from_sympy(expr)
                continue
            try:
                poly = sympy.Poly(expr, *symbols, domain=QQ)
            except (sympy.PolynomialError, sympy.CoercionFailed, sympy.GeneratorsNeeded):
                return None
            for monom, coeff in poly.terms():
                rows.setdefault((i, monom), {})[j] = coeff
    return rows


def decouple_angles(exprs) -> list[sympy.Expr]:
    """The expressions with every angle's occurrences outside sin, cos, ... replaced by a
    new independent symbol (see the module docstring)."""
    angles = angle_symbols(exprs)
    if not angles:
        return list(exprs)
    out = []
    for expr in exprs:
        trig = sorted(expr.atoms(*TRIG), key=sympy.default_sort_key)
        hidden = {a: sympy.Dummy() for a in trig}
        outer = expr.xreplace(hidden)
        free = {s: sympy.Symbol(f"{s.name}_outer", real=True)
                for s in angles & outer.free_symbols}
        out.append(outer.xreplace(free).xreplace({d: a for a, d in hidden.items()}))
    return out


def _evaluation_rows(functions, points: int, seed: int) -> tuple[dict | None, str]:
    """Rows {(point, component): {j: value}} at `points` random points, or None and why."""
    width = len(functions[0])
    flat = decouple_angles([e for f in functions for e in f])
    symbols = _symbols([flat])
    candidates = rational_points(flat, symbols, 4 * points, seed=seed)
    rows: dict = {}
    used = 0
    for k, point in enumerate(candidates):
        values = ExactEvaluator(point).values(flat)
        if values is None:
            continue
        for i in range(width):
            row = {j: values[j * width + i] for j in range(len(functions))
                   if values[j * width + i]}
            if row:
                rows[(k, i)] = row
        used += 1
        if used == points:
            return rows, (f"exact evaluation at {points} random rational points (rank of the "
                          "values; every relation proved)")
    return None, (f"undecided: only {used} of {4 * points} random points gave exact rational "
                  f"values (needed {points})")
