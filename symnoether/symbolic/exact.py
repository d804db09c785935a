"""Exact arithmetic at random rational points: generic ranks and identity tests."""

import random
from collections.abc import Callable, Iterable, Sequence

import mpmath
import numpy as np
import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

__all__ = [
    "PRIME",
    "generic_rank",
    "high_precision_rank",
    "independent_rows_mod_p",
    "rank_mod_p",
    "is_zero",
    "random_points",
    "random_rational",
    "rational_matrix",
]


def random_points(
    symbols: Sequence[sympy.Symbol], count: int, *, seed: int = 0
) -> list[dict[sympy.Symbol, sympy.Rational]]:
    """`count` random rational points (small numerators and denominators), deterministic."""
    rng = random.Random(seed)
    return [{s: random_rational(rng) for s in symbols} for _ in range(count)]


def random_rational(rng: random.Random) -> sympy.Rational:
    """A random non-zero rational with a small numerator and denominator."""
    return sympy.Rational(rng.randint(-97, 97) or 1, rng.randint(1, 29))


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


PRIME = 2_147_483_629  # the largest prime below 2^31: products of residues fit in int64


def _residues(rows, p: int) -> np.ndarray:
    """Rows of QQ (or int) values as an int64 array of residues mod p."""
    def residue(x) -> int:
        num, den = int(x.numerator), int(x.denominator)
        return (num % p) * pow(den, -1, p) % p

    return np.array([[residue(x) for x in row] for row in rows], dtype=np.int64).reshape(
        len(rows), -1)


def independent_rows_mod_p(rows, p: int = PRIME) -> list[int]:
    """Indices of a maximal set of rows independent modulo p, greedily in order.

    **Arguments:**

    - `rows`: a matrix of rational numbers (QQ elements or ints) whose denominators are not
      divisible by p.
    - `p`: a prime below 2^31.

    **Returns:**

    The kept row indices (a row is kept when it is independent of the rows before it);
    their number is the rank modulo p. A set independent modulo p is independent over QQ
    (a non-zero minor mod p is a non-zero integer minor), so the rank over QQ is at least
    this; it can exceed it only if p divides every maximal minor, which for a large random
    p has negligible probability.
    """
    return _pivots(_residues(rows, p).T, p) if len(rows) else []


def rank_mod_p(rows, p: int = PRIME) -> int:
    """The rank of a rational matrix modulo p: a lower bound of its rank over QQ."""
    return len(_pivots(_residues(rows, p), p)) if len(rows) else 0


def _pivots(A: np.ndarray, p: int) -> list[int]:
    """The pivot columns of the row echelon form of A modulo p (A is overwritten).

    Column j is a pivot exactly when it is independent of the columns before it.
    """
    rank, pivots = 0, []
    for col in range(A.shape[1]):
        candidates = np.flatnonzero(A[rank:, col])
        if not candidates.size:
            continue
        pivot = rank + int(candidates[0])
        A[[rank, pivot], col:] = A[[pivot, rank], col:]
        A[rank, col:] = A[rank, col:] * pow(int(A[rank, col]), -1, p) % p
        below = A[rank + 1:, col].copy()
        A[rank + 1:, col:] = (A[rank + 1:, col:] - np.outer(below, A[rank, col:]) % p) % p
        pivots.append(col)
        rank += 1
        if rank == A.shape[0]:
            break
    return pivots


def generic_rank(
    evaluate: Callable[[dict], DomainMatrix | None],
    candidate_points: Iterable[dict],
    *,
    points: int = 3,
    target: int | None = None,
) -> int | None:
    """The generic rank of a matrix of functions: its largest exact rank at `points` random
    rational points. The one rank routine of the symbolic half (the invariants' certificate
    and `mechanics.mass_rank` call it with their own evaluators); where no point gives a
    rational matrix, the caller falls back to [`high_precision_rank`][].

    **Arguments:**

    - `evaluate`: `point -> DomainMatrix` over QQ, or None where the entries are not
      rational at that point.
    - `candidate_points`: the points to try, in order (more than `points`, since some may
      not evaluate).
    - `points`: how many evaluated points to take the largest rank over.
    - `target`: the largest rank possible, if known. The rank modulo a large prime is a lower
      bound of the rank over QQ, so reaching `target` at one point proves the generic rank
      at once; it is tried first.

    **Returns:**

    The rank, or None when no candidate point evaluates.
    """
    best, found = 0, 0
    for point in candidate_points:
        matrix = evaluate(point)
        if matrix is None:
            continue
        if target is not None:
            modular = rank_mod_p(matrix.to_list())
            if modular >= target:
                return modular
        best = max(best, matrix.rank())
        found += 1
        if found == points or (target is not None and best >= target):
            break
    return best if found else None


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

    The fallback of [`generic_rank`][] (the certificate's, `mechanics.mass_rank`) for
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
