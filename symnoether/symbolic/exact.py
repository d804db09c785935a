"""Exact arithmetic at random rational points: generic ranks and identity tests."""

import random
from collections.abc import Sequence

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

__all__ = ["generic_rank", "is_zero", "random_points", "rational_matrix"]


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


def generic_rank(
    rows: Sequence[Sequence[sympy.Expr]],
    symbols: Sequence[sympy.Symbol],
    *,
    points: int = 3,
    seed: int = 0,
) -> int:
    """The generic rank of a matrix of expressions: the largest exact rank at random points.

    A rank at one point is a lower bound of the generic rank; it equals it except on a
    measure-zero set, so the maximum over a few random rational points is the generic
    rank with overwhelming probability.
    """
    if not rows or not rows[0]:
        return 0
    best = 0
    for point in random_points(symbols, 4 * points, seed=seed):
        matrix = rational_matrix(rows, point)
        if matrix is None:
            continue
        best = max(best, matrix.rank())
        points -= 1
        if points == 0:
            break
    return best


def is_zero(expr: sympy.Expr) -> bool:
    """Whether `expr` simplifies to exactly 0, trying cheap normal forms first."""
    if expr == 0:
        return True
    for normal in (sympy.expand, sympy.cancel, sympy.simplify):
        expr = normal(expr)
        if expr == 0:
            return True
    return False
