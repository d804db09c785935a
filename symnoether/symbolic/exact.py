"""Exact arithmetic at random rational points: generic ranks and identity tests."""

import random
from collections.abc import Sequence

import mpmath
import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

__all__ = [
    "high_precision_rank",
    "is_zero",
    "random_points",
    "rational_matrix",
    "simplified_residual",
]


def random_points(
    symbols: Sequence[sympy.Symbol], count: int, *, seed: int = 0
) -> list[dict[sympy.Symbol, sympy.Rational]]:
    """`count` random rational points (small numerators and denominators), deterministic."""
    rng = random.Random(seed)
    return [
        {s: sympy.Rational(rng.randint(-97, 97) or 1, rng.randint(1, 29)) for s in symbols}
        for _ in range(count)
    ]


def rational_matrix(
    rows: Sequence[Sequence[sympy.Expr]], point: dict[sympy.Symbol, sympy.Rational]
) -> DomainMatrix | None:
    """The matrix of `rows` evaluated exactly at `point`; None where it is not rational there."""
    values = []
    for row in rows:
        out = []
        for expr in row:
            value = sympy.nsimplify(expr.xreplace(point)) if expr.free_symbols else expr
            value = sympy.sympify(value)
            if not value.is_Rational:
                return None
            out.append(QQ.from_sympy(value))
        values.append(out)
    shape = (len(rows), len(rows[0]) if rows else 0)
    return DomainMatrix(values, shape, QQ)


def is_zero(expr: sympy.Expr) -> bool:
    """Whether `expr` simplifies to exactly 0, trying cheap normal forms first."""
    if expr == 0:
        return True
    for normal in (sympy.expand, sympy.cancel, sympy.simplify):
        expr = normal(expr)
        if expr == 0:
            return True
    return False


def high_precision_rank(
    rows: Sequence[Sequence[sympy.Expr]],
    symbols: Sequence[sympy.Symbol],
    *,
    points: int = 3,
    seed: int = 0,
    digits: int = 50,
) -> int:
    """The generic rank of a matrix whose entries are not rational at rational points.

    The fallback of the exact ranks (the certificate's, `mechanics.mass_rank`) for
    algebraic or transcendental entries (e.g. sqrt(x.x)): the entries are evaluated at
    random rational points with `digits` significant digits and singular values below
    10^(-digits/2) of the largest are counted as zero.
    """
    if not rows or not rows[0]:
        return 0
    best = 0
    with mpmath.workdps(digits):
        for point in random_points(symbols, points, seed=seed):
            try:
                values = [[mpmath.mpf(sympy.N(e.xreplace(point), digits)) for e in r] for r in rows]
            except (TypeError, ValueError):  # complex or undefined there
                continue
            sv = mpmath.svd_r(mpmath.matrix(values), compute_uv=False)
            top = max((abs(s) for s in sv), default=0)
            tol = top * mpmath.mpf(10) ** (-(digits // 2))
            best = max(best, sum(1 for s in sv if abs(s) > tol))
    return best


def simplified_residual(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
    """`expr` in a normal form: exactly 0 when it is identically zero, else a non-zero residual.

    Cheap normal forms first: an expanded polynomial, or a cancelled rational function, with
    rational coefficients in `symbols` is zero only if it is literally 0, so `simplify`
    runs only on the rest (radicals, functions, symbolic constants).
    """
    expr = sympy.expand(sympy.sympify(expr))
    if expr == 0 or _is_polynomial_in(expr, symbols):
        return expr
    expr = sympy.cancel(expr)
    numerator, denominator = sympy.fraction(expr)
    if expr == 0 or all(_is_polynomial_in(e, symbols) for e in (numerator, denominator)):
        return expr
    return sympy.simplify(expr)


def _is_polynomial_in(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> bool:
    """Whether `expr` is a polynomial with rational coefficients in `symbols`."""
    if expr.has(sympy.Float) or not expr.free_symbols <= set(symbols):
        return False
    try:
        sympy.Poly(expr, *symbols, domain=QQ)
    except sympy.polys.polyerrors.BasePolynomialError:
        return False
    return True
