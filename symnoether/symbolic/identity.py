"""Exact identity tests: evaluation at random rational points where square roots are rational.

A probabilistic identity test for expressions with square roots: points are chosen so that
every radicand is a perfect square, so the evaluation stays in QQ and is exact. Used by
`noether` and `verify` where full simplification is too slow.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from .angles import TRIG, Angle, angle_symbols, trig_linear
from .coordinates import Coordinates
from .exact import random_rational

__all__ = [
    "POINTS",
    "ExactEvaluator",
    "IdentityTest",
    "bounded_expand",
    "decide_zero",
    "has_high_powers",
    "node_count",
    "point_text",
    "points_method",
    "radicands",
    "rational_points",
    "state_symbols",
]


def state_symbols(c: Coordinates, exprs) -> list[sympy.Symbol]:
    """The symbols of TQ, then any other free symbol of `exprs` (parameters), sorted."""
    extra = set().union(*(sympy.sympify(e).free_symbols for e in exprs)) - set(c.state)
    return list(c.state) + sorted(extra, key=sympy.default_sort_key)


# Exact evaluation at random rational points, square roots included. A point is drawn so
# that every radicand is the square of a rational, which keeps all values in QQ; such points
# are Zariski dense on the variety R^2 = B, so the probabilistic identity test stays valid.


def radicands(exprs) -> list[sympy.Expr]:
    """The non-constant bases B of half-integer powers B**(k/2) in `exprs`, sorted."""
    bases = set()
    for expr in exprs:
        for power in sympy.sympify(expr).atoms(sympy.Pow):
            exp = power.exp
            if exp.is_Rational and exp.q == 2 and power.base.free_symbols:
                bases.add(power.base)
    return sorted(bases, key=sympy.default_sort_key)


def rational_points(
    exprs, symbols: Sequence[sympy.Symbol], count: int, *, seed: int = 0
) -> list[dict[sympy.Symbol, sympy.Rational]]:
    """`count` random rational points at which the radicands of `exprs` are squares.

    **Arguments:**

    - `exprs`: the expressions to be evaluated (their radicands are made squares).
    - `symbols`: the symbols to assign.
    - `count`: the number of points.
    - `seed`: the seed of a private RNG (deterministic).

    **Returns:**

    A list of `{symbol: Rational or Angle}`: a symbol inside a sine or cosine gets an
    [`Angle`][] with rational cos and sin. For each radicand B in turn, one of its symbols not
    used by an earlier radicand is solved for: if B = a^2 s^2 + b s + c in that symbol s,
    then s = (c - u^2) / (2 a u - b) gives B = (a s + u)^2 for a random rational u. A
    radicand with no such symbol is left as it is (its point may then not be rational).
    """
    rng = random.Random(seed)
    bases = radicands(exprs)
    angles = angle_symbols(exprs)
    points = []
    for _ in range(count):
        point = {s: Angle(random_rational(rng)) if s in angles else random_rational(rng)
                 for s in symbols}
        used: set[sympy.Symbol] = set(angles)
        for base in bases:
            _make_square(base, point, used, rng)
            used |= base.free_symbols
        points.append(point)
    return points


def _make_square(base, point, used, rng) -> bool:
    for s in sorted(base.free_symbols - used, key=sympy.default_sort_key):
        if s not in point:
            continue
        if isinstance(point[s], Angle):
            continue
        others = {k: v for k, v in point.items() if k != s and not isinstance(v, Angle)}
        try:
            poly = sympy.Poly(base.xreplace(others), s, domain=QQ)
        except (sympy.PolynomialError, sympy.CoercionFailed):
            continue
        value = _square_root_point(poly, rng)
        if value is not None:
            point[s] = value
            return True
    return False


def _square_root_point(poly: sympy.Poly, rng: random.Random) -> sympy.Rational | None:
    """A rational s with poly(s) a rational square, or None (degree 1 or 2 only)."""
    coeffs = [sympy.Rational(c) for c in poly.all_coeffs()]
    u = random_rational(rng)
    if len(coeffs) == 2:  # b s + c = u^2
        b, c = coeffs
        return (u**2 - c) / b
    if len(coeffs) != 3:
        return None
    a2, b, c = coeffs
    a = sympy.sqrt(a2)
    if not a.is_Rational or 2 * a * u - b == 0:
        return None
    return (c - u**2) / (2 * a * u - b)


class _Inexact(Exception):
    """A value at the point is not a rational number (or not defined there)."""


class ExactEvaluator:
    """Evaluates SymPy expressions exactly over QQ at one rational point.

    Sums, products, integer powers, `Abs`, square roots of rational squares and the
    trigonometric functions of integer combinations of [`Angle`][]s are computed in QQ (a
    Float counts as its exact binary value), with a cache shared by all expressions
    (derivatives share most subtrees); anything else (exp, a bare angle, a non-square root,
    a pole) makes the value unavailable.

    **Arguments:**

    - `point`: `{symbol: rational}`; every free symbol of an evaluated expression.
    """

    def __init__(self, point: dict[sympy.Symbol, sympy.Rational]):
        self._cache = {s: QQ.from_sympy(sympy.Rational(v)) for s, v in point.items()
                       if not isinstance(v, Angle)}
        self._angles = {s: (QQ.from_sympy(v.cos), QQ.from_sympy(v.sin))
                        for s, v in point.items() if isinstance(v, Angle)}

    def value(self, expr: sympy.Expr):
        """The exact value as a QQ element, or None where it is not rational or undefined."""
        try:
            return self._eval(sympy.sympify(expr))
        except (_Inexact, ZeroDivisionError):
            return None

    def values(self, exprs) -> list | None:
        """All values, or None if any is unavailable."""
        out = [self.value(e) for e in exprs]
        return None if any(v is None for v in out) else out

    def matrix(self, rows) -> DomainMatrix | None:
        """A DomainMatrix over QQ of the values of `rows`, or None."""
        flat = self.values([e for row in rows for e in row])
        if flat is None:
            return None
        n, m = len(rows), len(rows[0]) if rows else 0
        return DomainMatrix([flat[i * m:(i + 1) * m] for i in range(n)], (n, m), QQ)

    def _eval(self, expr):
        cached = self._cache.get(expr)
        if cached is not None:
            return cached
        if expr.is_Rational:
            value = QQ(int(expr.p), int(expr.q))
        elif expr.is_Float:  # its exact binary value: identities hold for it as written
            value = QQ.from_sympy(sympy.Rational(expr))
        elif expr.is_Add:
            value = sum((self._eval(a) for a in expr.args), QQ.zero)
        elif expr.is_Mul:
            value = QQ.one
            for a in expr.args:
                value *= self._eval(a)
        elif expr.is_Pow and expr.exp.is_Rational and expr.exp.q in (1, 2):
            value = _power(self._eval(expr.base), int(expr.exp.p), int(expr.exp.q))
        elif isinstance(expr, sympy.Abs):  # sqrt(x**2) of a real x
            value = abs(self._eval(expr.args[0]))
        elif isinstance(expr, TRIG):
            value = self._trig(expr)
        else:
            raise _Inexact(expr)
        self._cache[expr] = value
        return value


    def _trig(self, expr):
        """sin, cos, ... of sum_s k_s s: e^(i arg) = prod_s (cos s + i sin s)^k_s in QQ(i)."""
        combination = trig_linear(expr.args[0])
        if combination is None or any(s not in self._angles for s in combination):
            raise _Inexact(expr)
        re, im = QQ.one, QQ.zero
        for s, k in combination.items():
            c, sn = self._angles[s]
            if k < 0:  # on the unit circle the inverse is the conjugate
                sn, k = -sn, -k
            for _ in range(k):
                re, im = re * c - im * sn, re * sn + im * c
        ratios = {sympy.sin: (im, QQ.one), sympy.cos: (re, QQ.one), sympy.tan: (im, re),
                  sympy.cot: (re, im), sympy.sec: (QQ.one, re), sympy.csc: (QQ.one, im)}
        num, den = ratios[expr.func]
        return num / den  # ZeroDivisionError at a pole: the point is skipped

def _power(base, p: int, q: int):
    if q == 2:
        base = _rational_sqrt(base)
    if p < 0:
        if base == 0:
            raise ZeroDivisionError
        return (1 / base) ** (-p)
    return base**p


def _rational_sqrt(value):
    if value < 0:
        raise _Inexact(value)
    num, den = int(value.numerator), int(value.denominator)
    rn, rd = math.isqrt(num), math.isqrt(den)
    if rn * rn != num or rd * rd != den:
        raise _Inexact(value)
    return QQ(rn, rd)


@dataclass(frozen=True)
class IdentityTest:
    """The outcome of deciding whether an expression is identically zero.

    **Attributes:**

    - `zero`: whether it is (proved symbolically, or with overwhelming probability).
    - `method`: how it was decided, in words; it starts with the kind of decision:
      `symbolic`, `exact`, `numeric` or `undecided`.
    - `residual`: the simplified non-zero expression, or None when zero.
    - `undecided`: neither proved zero nor shown non-zero (then `zero` is False and
      `method` says why).
    """

    zero: bool
    method: str
    residual: sympy.Expr | None = None
    undecided: bool = False

    def __post_init__(self):
        if self.zero and self.undecided:
            raise ValueError("an identity test cannot be both zero and undecided")


# Expressions with more nodes than this skip expand/cancel: exact evaluation is cheaper.
SYMBOLIC_LIMIT = 3000
POINTS = 8


def decide_zero(
    expr: sympy.Expr,
    coordinates: Coordinates,
    *,
    family: bool = False,
    points: int = POINTS,
    seed: int = 0,
) -> IdentityTest:
    r"""Decide whether `expr`, a function on TQ, vanishes identically.

    **Arguments:**

    - `expr`: a SymPy expression in `q`, `qdot` (and parameters, which get random values).
    - `coordinates`: the [`Coordinates`][] of TQ.
    - `family`: `expr` is linear in derivatives of undefined functions, e.g. $X_a f(S)$ for
      the network family $f(S)$, and must vanish for *every* `f`. An expression
      $\sum_j \partial_j f(S)\, c_j(q, \dot q)$ does exactly when every coefficient $c_j$
      does, so each is decided on its own; the residual keeps the non-zero coefficients
      with their derivatives of `f`.
    - `points`: how many random points the probabilistic tests use.
    - `seed`: the seed of those points.

    **Returns:**

    An [`IdentityTest`][], decided by the first of these that applies:

    1. `symbolic`: `expand` (then `cancel`) gives 0, on small expressions without high
       powers of sums (whose expansion can explode);
    2. `exact`: evaluation in QQ at random rational points (square roots made rational,
       angles on rational points of the circle): one non-zero value proves the expression
       non-zero, `points` zeros prove it zero with overwhelming probability;
    3. `numeric`: where no exact point exists (exp, log, ...), evaluation at D and 2D digits
       (see `symnoether.symbolic.precise`);
    4. `undecided`, with the reason, when none of these could decide.
    """
    expr = sympy.sympify(expr)
    if family and undefined_derivatives(expr):
        return _decide_family(expr, coordinates, points=points, seed=seed)
    if expr == 0:
        return IdentityTest(True, "symbolic identity (zero as built)")
    forms = _normal_forms(expr) if node_count(expr) <= SYMBOLIC_LIMIT else []
    for method, form in forms:
        if form == 0:
            return IdentityTest(True, f"symbolic identity ({method})")
    residual = min((f for _, f in forms), key=node_count, default=expr)
    symbols = state_symbols(coordinates, [expr])
    candidates = rational_points([expr], symbols, 4 * points, seed=seed)
    zeros, inexact = 0, []
    for point in candidates:
        value = ExactEvaluator(point).value(expr)
        if value is None:
            inexact.append(point)
            continue
        if value != 0:
            method = f"exact evaluation: non-zero value {value} at ({point_text(point, symbols)})"
            return IdentityTest(False, method, residual)
        zeros += 1
        if zeros == points:
            return IdentityTest(True, points_method(points))
    return _decide_numerically(expr, residual, inexact, symbols, points - zeros)


def _decide_family(expr, coordinates, **kwargs) -> IdentityTest:
    atoms = undefined_derivatives(expr)
    dummies = [sympy.Dummy(f"d{k}") for k in range(len(atoms))]
    linear = expr.xreplace(dict(zip(atoms, dummies)))
    parts = [(atom, sympy.diff(linear, d)) for atom, d in zip(atoms, dummies)]
    parts.append((sympy.Integer(1), linear.xreplace({d: 0 for d in dummies})))
    results = [(atom, decide_zero(coeff, coordinates, **kwargs)) for atom, coeff in parts]
    if all(r.zero for _, r in results):
        return IdentityTest(True, ", ".join(sorted({r.method for _, r in results})))
    failed = [r for _, r in results if not r.zero and not r.undecided]
    undecided = not failed
    method = ", ".join(sorted({r.method for r in failed} if failed else
                              {r.method for _, r in results if r.undecided}))  # fmt: skip
    residual = sum((atom * r.residual for atom, r in results if not r.zero), sympy.Integer(0))
    return IdentityTest(False, method, residual, undecided=undecided)


def undefined_derivatives(expr: sympy.Expr) -> list[sympy.Expr]:
    """The outermost derivatives of undefined functions in `expr` (Subs or Derivative)."""
    found = []

    def visit(node):
        if isinstance(node, sympy.Subs | sympy.Derivative) and node.atoms(
            sympy.core.function.AppliedUndef
        ):
            found.append(node)
            return
        for arg in node.args:
            visit(arg)

    visit(expr)
    return sorted(set(found), key=sympy.default_sort_key)


def _decide_numerically(expr, residual, candidates, symbols, needed) -> IdentityTest:
    from .precise import DIGITS, compare_precisions, evaluate_twice, numeric_method

    zeros, unclear = 0, 0
    for point in candidates:
        values = evaluate_twice([expr], point)
        if values is None:
            continue
        verdict = compare_precisions(values[0][0], values[1][0])
        if verdict.verdict == "nonzero":
            method = (f"numeric evaluation ({DIGITS} and {2 * DIGITS} digits agree): non-zero "
                      f"value {_short(verdict.value)} at ({point_text(point, symbols)})")
            return IdentityTest(False, method, residual)
        if verdict.verdict == "unclear":
            unclear += 1
            continue
        zeros += 1
        if zeros == needed:
            return IdentityTest(True, numeric_method(needed))
    why = (f"{unclear} point(s) gave values that neither vanished nor stabilised with the "
           "precision" if unclear else "the expression could not be evaluated to a real "
           "number at enough random points (complex values or singularities)")
    return IdentityTest(False, f"undecided: {why}", residual, undecided=True)


def _short(value) -> str:
    return mpmath.nstr(value, 8)


def point_text(point, symbols) -> str:
    """A point for reports: `x = 3/7, theta = 2*atan(1/5), ...` in the order of `symbols`."""
    return ", ".join(f"{s} = {point[s]}" for s in symbols)


def points_method(points: int = POINTS) -> str:
    """The name of the exact probabilistic identity test, for reports."""
    return (
        f"exact evaluation at {points} random rational points (probabilistic identity test)"
    )


def _normal_forms(expr) -> list[tuple[str, sympy.Expr]]:
    if has_high_powers(expr):
        return [("expand", bounded_expand(expr))]
    expanded = sympy.expand(expr)
    forms = [("expand", expanded)]
    if expanded != 0 and any(p.exp.is_negative or not p.exp.is_Integer
                             for p in expanded.atoms(sympy.Pow)):
        forms.append(("cancel", sympy.cancel(expanded)))
    return forms


def has_high_powers(expr: sympy.Expr) -> bool:
    """Whether `expr` has a power of a sum with |exponent| > 2 (e.g. 1/r^12 in x, y, z).

    Expanding such a power, or putting it over a common denominator, multiplies out a
    multinomial whose size grows combinatorially, so normal forms are skipped for it.
    """
    return any(p.base.is_Add and p.exp.is_Rational and abs(p.exp) > 2
               for p in sympy.sympify(expr).atoms(sympy.Pow))


def bounded_expand(expr: sympy.Expr) -> sympy.Expr:
    """`expand`, keeping powers of sums with |exponent| > 2 unexpanded (see above)."""
    return sympy.expand(expr, multinomial=not has_high_powers(expr))


def node_count(expr: sympy.Expr) -> int:
    """The number of nodes of an expression tree (a cheap size measure)."""
    return sum(1 for _ in sympy.preorder_traversal(expr))
