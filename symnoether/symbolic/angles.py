"""Angles: points at which sines and cosines are rational, for exact identity tests.

A symbol that appears inside sin, cos, ... gets the value 2 atan(u) for a random rational
u, where cos = (1 - u^2) / (1 + u^2) and sin = 2u / (1 + u^2) are rational. These points
are Zariski dense on the unit circle (a rational parametrisation), so an expression rational
in the sines and cosines of integer combinations of angles that vanishes at them vanishes
identically: the identity test stays exact, with no `trigsimp`.
"""

from dataclasses import dataclass

import sympy

__all__ = ["TRIG", "Angle", "angle_symbols", "trig_linear"]


TRIG = (sympy.sin, sympy.cos, sympy.tan, sympy.cot, sympy.sec, sympy.csc)


@dataclass(frozen=True)
class Angle:
    """The value 2 atan(u) of an angle symbol at a point, with rational cos and sin."""

    u: sympy.Rational

    @property
    def cos(self) -> sympy.Rational:
        return (1 - self.u**2) / (1 + self.u**2)

    @property
    def sin(self) -> sympy.Rational:
        return 2 * self.u / (1 + self.u**2)

    def __str__(self) -> str:
        return f"2*atan({self.u})"


def trig_linear(arg: sympy.Expr) -> dict[sympy.Symbol, int] | None:
    """`{symbol: k}` when `arg` is an integer combination sum_s k_s s of symbols, else None."""
    terms = sympy.sympify(arg).as_coefficients_dict()
    out = {}
    for term, coeff in terms.items():
        if not isinstance(term, sympy.Symbol) or not coeff.is_Integer:
            return None
        out[term] = int(coeff)
    return out or None


def angle_symbols(exprs) -> set[sympy.Symbol]:
    """Symbols inside the argument of a trigonometric function in `exprs`."""
    found: set[sympy.Symbol] = set()
    for expr in exprs:
        for node in sympy.sympify(expr).atoms(*TRIG):
            found |= node.args[0].free_symbols
    return found
