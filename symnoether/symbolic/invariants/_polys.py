"""Sparse polynomials over QQ on TQ: the exact arithmetic behind both routes and the certificate.

A polynomial in the state variables s = (q, qdot) is a dict {exponent tuple: coefficient},
with coefficients in SymPy's `QQ`. This keeps the hot loops (applying a vector field,
gradients at rational points) in plain Python arithmetic instead of SymPy expression trees.
"""

from collections.abc import Sequence

import sympy
from sympy.polys.domains import QQ
from sympy.polys.polyerrors import BasePolynomialError

__all__ = [
    "apply_field",
    "from_sympy_point",
    "gradient",
    "monomial_value",
    "to_expr",
    "to_sparse",
    "value",
]

Monomial = tuple[int, ...]


def to_sparse(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> dict | None:
    """`expr` as {monomial: coefficient}, or None unless a polynomial with rational coefficients.

    Floats are refused: converting them to rationals would certify something other than
    what the user wrote.
    """
    expr = sympy.sympify(expr)
    simple = _simple(expr, symbols)
    if simple is not None:
        return simple
    if expr.has(sympy.Float):
        return None
    try:
        poly = sympy.Poly(expr, *symbols, domain=QQ)
    except BasePolynomialError:
        return None
    return {m: c for m, c in poly.as_dict(native=True).items() if c}


def _simple(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> dict | None:
    """The sparse form of 0, a rational, or a rational times one symbol, without `Poly`.

    The lifted fields of translations, rotations and Lorentz groups consist of these only,
    and building a `Poly` for each component dominated the running time.
    """
    coeff, rest = expr.as_coeff_Mul() if expr.is_Mul else (sympy.Integer(1), expr)
    if not coeff.is_Rational:
        return None
    zero = (0,) * len(symbols)
    if rest.is_Rational:
        value = coeff * rest
        return {zero: QQ(value.p, value.q)} if value else {}
    if rest.is_Symbol and rest in symbols:
        v = list(symbols).index(rest)
        return {zero[:v] + (1,) + zero[v + 1 :]: QQ(coeff.p, coeff.q)}
    return None


def to_expr(poly: dict, symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
    """The SymPy expression of a sparse polynomial."""
    if not poly:
        return sympy.Integer(0)
    return sympy.Poly.from_dict(poly, *symbols, domain=QQ).as_expr()


def apply_field(field: Sequence[dict | None], poly: dict) -> dict:
    """The derivative of `poly` along the vector field with sparse components `field`."""
    out: dict = {}
    for monom, coeff in poly.items():
        for v, e in enumerate(monom):
            if not e or not field[v]:
                continue
            base = monom[:v] + (e - 1,) + monom[v + 1 :]
            scaled = coeff * e
            for fmonom, fcoeff in field[v].items():
                key = tuple(a + b for a, b in zip(base, fmonom))
                out[key] = out.get(key, QQ.zero) + scaled * fcoeff
    return {m: c for m, c in out.items() if c}


def monomial_value(monom: Monomial, point: Sequence) -> object:
    """The value of a monomial at a point (a sequence of `QQ` elements)."""
    result = QQ.one
    for x, e in zip(point, monom):
        if e:
            result *= x**e
    return result


def value(poly: dict, point: Sequence) -> object:
    """The exact value of a sparse polynomial at a rational point."""
    return sum((c * monomial_value(m, point) for m, c in poly.items()), QQ.zero)


def gradient(poly: dict, point: Sequence) -> list:
    """The exact gradient at a point whose coordinates are all non-zero.

    d(m)/ds_v = e_v m / s_v, so each monomial is evaluated once; `exact.random_points`
    never draws a zero coordinate.
    """
    grad = [QQ.zero] * len(point)
    for monom, coeff in poly.items():
        term = coeff * monomial_value(monom, point)
        for v, e in enumerate(monom):
            if e:
                grad[v] += term * e / point[v]
    return grad


def from_sympy_point(point: dict, symbols: Sequence[sympy.Symbol]) -> list:
    """A point of `exact.random_points` as a list of `QQ` elements, in `symbols` order."""
    return [QQ(point[s].p, point[s].q) for s in symbols]
