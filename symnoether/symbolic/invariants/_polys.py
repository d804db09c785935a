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
    "variables",
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
    walked = _Walker(symbols).sparse(expr)
    if walked is not None:
        return walked
    try:  # e.g. a sum that cancels a non-polynomial part
        poly = sympy.Poly(expr, *symbols, domain=QQ)
    except BasePolynomialError:
        return None
    return {m: c for m, c in poly.as_dict(native=True).items() if c}


class _Walker:
    """Builds the sparse form by walking the expression tree (sums, products, powers).

    Much faster than `sympy.Poly` with hundreds of generators (many particles): no
    expansion of SymPy trees, only dict arithmetic. Returns None for anything that is not
    a polynomial with rational coefficients in the symbols as written.
    """

    def __init__(self, symbols: Sequence[sympy.Symbol]):
        self.index = {s: i for i, s in enumerate(symbols)}
        self.zero = (0,) * len(symbols)

    def sparse(self, expr) -> dict | None:
        if expr.is_Rational:
            return {self.zero: QQ(expr.p, expr.q)} if expr else {}
        if expr.is_Symbol:
            i = self.index.get(expr)
            if i is None:
                return None
            return {self.zero[:i] + (1,) + self.zero[i + 1:]: QQ.one}
        if expr.is_Add or expr.is_Mul:
            parts = [self.sparse(a) for a in expr.args]
            if any(p is None for p in parts):
                return None
            combine = _add if expr.is_Add else _mul
            out = parts[0]
            for part in parts[1:]:
                out = combine(out, part)
            return out
        if expr.is_Pow and expr.exp.is_Integer and expr.exp >= 0:
            base = self.sparse(expr.base)
            if base is None:
                return None
            out = {self.zero: QQ.one}
            for _ in range(int(expr.exp)):
                out = _mul(out, base)
            return out
        return None


def _add(a: dict, b: dict) -> dict:
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, QQ.zero) + c
    return {m: c for m, c in out.items() if c}


def _mul(a: dict, b: dict) -> dict:
    out: dict = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            key = tuple(x + y for x, y in zip(ma, mb))
            out[key] = out.get(key, QQ.zero) + ca * cb
    return {m: c for m, c in out.items() if c}


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


def variables(poly: dict) -> list[int]:
    """The indices of the variables that `poly` depends on, sorted."""
    found: set[int] = set()
    for monom in poly:
        found.update(v for v, e in enumerate(monom) if e)
    return sorted(found)


def apply_field(field: Sequence[dict | None], poly: dict, support=None) -> dict:
    """The derivative of `poly` along the vector field with sparse components `field`.

    `support`: `variables(poly)` if already known (it costs a pass over every exponent).
    """
    out: dict = {}
    support = [v for v in (variables(poly) if support is None else support) if field[v]]
    terms = {v: [(tuple((w, k) for w, k in enumerate(fm) if k), fc) for fm, fc in field[v].items()]
             for v in support}
    for monom, coeff in poly.items():
        for v in support:
            e = monom[v]
            if not e:
                continue
            scaled = coeff * e
            for shifts, fcoeff in terms[v]:
                key = list(monom)  # a copy in C; only a few entries change
                key[v] -= 1
                for w, k in shifts:
                    key[w] += k
                key = tuple(key)
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
