"""Angles: points at which sines and cosines are rational, for exact identity tests.

A symbol that appears inside sin, cos, ... gets the value 2 atan(u) for a random rational
u, where cos = (1 - u^2) / (1 + u^2) and sin = 2u / (1 + u^2) are rational. These points
are Zariski dense on the unit circle (a rational parametrisation), so an expression rational
in the sines and cosines of integer combinations of angles that vanishes at them vanishes
identically: the identity test stays exact, with no `trigsimp`.
"""

from dataclasses import dataclass

import sympy

__all__ = ["TRIG", "Angle", "angle_symbols", "periodic_symbols", "trig_linear"]


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


def _outside_trig(expr: sympy.Expr, symbol: sympy.Symbol, seen: dict) -> bool:
    # Whether `symbol` occurs in `expr` other than inside sin, cos, ... of an integer
    # combination of symbols (where the expression is 2 pi periodic in it).
    if expr in seen:
        return seen[expr]
    if expr == symbol:
        found = True
    elif symbol not in expr.free_symbols:
        found = False
    elif isinstance(expr, TRIG):
        found = trig_linear(expr.args[0]) is None
    else:
        found = any(_outside_trig(arg, symbol, seen) for arg in expr.args)
    seen[expr] = found
    return found


def periodic_symbols(exprs, symbols) -> tuple[sympy.Symbol, ...]:
    """The `symbols` (in their order) that appear in `exprs`, and there only inside sin,
    cos, ... of integer combinations of symbols: the expressions are $2\\pi$ periodic in
    each of them. A symbol that appears nowhere is not one of them.

    **Arguments:**

    - `exprs`: SymPy expressions (a Lagrangian, its known part, forces, ...).
    - `symbols`: the candidates (the coordinates).

    **Returns:**

    The periodic symbols found.
    """
    exprs = [sympy.sympify(e) for e in exprs if e is not None]
    found = []
    for symbol in symbols:
        used = [e for e in exprs if symbol in e.free_symbols]
        if used and not any(_outside_trig(e, symbol, {}) for e in used):
            found.append(symbol)
    return tuple(found)
