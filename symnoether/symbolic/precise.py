"""High-precision evaluation: the identity test where exact rational evaluation cannot go.

exp, log, a square root of a non-square, or an angle that also appears outside sines and
cosines have no exact rational value at a rational point. There the expression is evaluated
with mpmath at the same random point twice, with D and 2D significant digits. The rounding
error of a value shrinks by about 10^-D from the first evaluation to the second, while a
true non-zero value stays put, so:

- `zero` at a point: the second value is at least 10^(D/2) times smaller than the first
  (or both are exactly 0);
- `nonzero`: the two values agree to D/2 digits and are not 0;
- anything else is `unclear` (reported as undecided, never as a pass).

Zero at every one of several random points is a probabilistic identity test, as for exact
evaluation, with the additional (stated) assumption that the expression is analytic near
the points.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import sympy

from .angles import Angle

__all__ = [
    "DIGITS",
    "Comparison",
    "PreciseEvaluator",
    "compare_precisions",
    "evaluate_twice",
    "numeric_method",
]

DIGITS = 40  # D: the first working precision; the second is 2D

_FUNCTIONS = {
    sympy.sin: mpmath.sin, sympy.cos: mpmath.cos, sympy.tan: mpmath.tan,
    sympy.cot: mpmath.cot, sympy.sec: mpmath.sec, sympy.csc: mpmath.csc,
    sympy.exp: mpmath.exp, sympy.log: mpmath.log, sympy.sinh: mpmath.sinh,
    sympy.cosh: mpmath.cosh, sympy.tanh: mpmath.tanh, sympy.asin: mpmath.asin,
    sympy.acos: mpmath.acos, sympy.atan: mpmath.atan, sympy.asinh: mpmath.asinh,
    sympy.atan2: mpmath.atan2, sympy.erf: mpmath.erf,
}


class _Unavailable(Exception):
    """The expression is not real, or not defined, at the point."""


class PreciseEvaluator:
    """Evaluates SymPy expressions with mpmath at one point and a fixed precision.

    **Arguments:**

    - `point`: `{symbol: Rational or Angle}` (an [`Angle`][] is 2 atan(u)).
    - `digits`: the working precision in significant decimal digits.
    """

    def __init__(self, point: dict, digits: int):
        self.digits = digits
        with mpmath.workdps(digits):
            self._cache = {s: self._number(v) for s, v in point.items()}

    @staticmethod
    def _number(value):
        if isinstance(value, Angle):
            return 2 * mpmath.atan(mpmath.mpf(value.u.p) / value.u.q)
        value = sympy.Rational(value)
        return mpmath.mpf(value.p) / value.q

    def value(self, expr: sympy.Expr):
        """The value as an `mpmath.mpf`, or None where it is not real or not defined."""
        with mpmath.workdps(self.digits):
            try:
                return self._eval(sympy.sympify(expr))
            except (_Unavailable, ZeroDivisionError, ValueError, TypeError):
                return None

    def values(self, exprs) -> list | None:
        """All values, or None if any is unavailable."""
        out = [self.value(e) for e in exprs]
        return None if any(v is None for v in out) else out

    def _eval(self, expr):
        cached = self._cache.get(expr)
        if cached is not None:
            return cached
        value = self._compute(expr)
        if isinstance(value, mpmath.mpc) or not mpmath.isfinite(value):
            raise _Unavailable(expr)
        self._cache[expr] = value
        return value

    def _compute(self, expr):
        if expr.is_Rational:
            return mpmath.mpf(expr.p) / expr.q
        if expr.is_Float:
            return mpmath.mpf(sympy.Rational(expr).p) / sympy.Rational(expr).q
        if expr.is_Add:
            return mpmath.fsum(self._eval(a) for a in expr.args)
        if expr.is_Mul:
            return mpmath.fprod(self._eval(a) for a in expr.args)
        if expr.is_Pow:
            return self._power(expr)
        if isinstance(expr, sympy.Abs):
            return abs(self._eval(expr.args[0]))
        if expr.func in _FUNCTIONS:
            return _FUNCTIONS[expr.func](*(self._eval(a) for a in expr.args))
        if expr.is_number:  # pi, E, and other constants
            return mpmath.mpf(sympy.N(expr, self.digits + 5))
        raise _Unavailable(expr)

    def _power(self, expr):
        base, exp = self._eval(expr.base), expr.exp
        if exp.is_Integer:
            if base == 0 and exp < 0:
                raise ZeroDivisionError
            return base ** int(exp)
        if base < 0:
            raise _Unavailable(expr)
        if base == 0:
            raise ZeroDivisionError
        return mpmath.power(base, self._eval(exp))


@dataclass(frozen=True)
class Comparison:
    """The verdict at one point from the values at D and 2D digits."""

    verdict: str  # "zero", "nonzero" or "unclear"
    value: object  # the 2D-digit value


def compare_precisions(low, high, digits: int = DIGITS) -> Comparison:
    """Classify one point from its values `low` (D digits) and `high` (2D digits)."""
    with mpmath.workdps(2 * digits):
        return _compare(low, high, digits)


def _compare(low, high, digits: int) -> Comparison:
    shrink = mpmath.mpf(10) ** (-(digits // 2))
    if high == 0 and low == 0:
        return Comparison("zero", high)
    if abs(high) <= shrink * max(abs(low), mpmath.mpf(10) ** (-digits)):
        return Comparison("zero", high)
    if high != 0 and abs(high - low) <= shrink * abs(high):
        return Comparison("nonzero", high)
    return Comparison("unclear", high)


def evaluate_twice(exprs: Sequence[sympy.Expr], point: dict, digits: int = DIGITS):
    """The values of `exprs` at `point` with D and 2D digits: (low, high) or None."""
    low = PreciseEvaluator(point, digits).values(exprs)
    high = PreciseEvaluator(point, 2 * digits).values(exprs) if low is not None else None
    return None if high is None else (low, high)


def numeric_method(points: int, digits: int = DIGITS) -> str:
    """The name of the high-precision identity test, for reports."""
    return (f"numeric ({digits} and {2 * digits} digits, {points} random points): the value "
            "shrank with the working precision at every point (probabilistic identity test)")
