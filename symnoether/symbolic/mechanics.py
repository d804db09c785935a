"""Euler-Lagrange equations: the mass matrix, the accelerations and degeneracy.

For L(q, qdot) the Euler-Lagrange equations read M(q, qdot) qddot = rhs(q, qdot) with
M = d2L/dqdot2 and rhs = dL/dq - (d2L/dqdot dq) qdot. The closed-form solution works block by
block of M, over a field of rational functions of q in which every square root sqrt(B) is a
new symbol R with R^2 = B; velocities stay out of the gcds by solving for the coefficient of
each velocity monomial separately, with integer coefficients. Schwarzschild takes
a few seconds; `simplify=False` gives the raw LU solution at once.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import sympy
from sympy.polys.domains import QQ, ZZ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

from .coordinates import Coordinates

__all__ = [
    "ExactEvaluator",
    "IdentityTest",
    "decide_zero",
    "euler_lagrange",
    "is_degenerate",
    "lagrangian_of",
    "mass_blocks",
    "mass_rank",
    "node_count",
    "points_method",
    "radicands",
    "rational_points",
    "solve_acceleration",
    "state_symbols",
]


def _coordinates(system_or_coords) -> Coordinates:
    if isinstance(system_or_coords, Coordinates):
        return system_or_coords
    coords = getattr(system_or_coords, "coordinates", None)
    if not isinstance(coords, Coordinates):
        raise TypeError(
            f"expected a System or Coordinates, got {type(system_or_coords).__name__}"
        )
    return coords


def lagrangian_of(system, lagrangian: sympy.Expr | None = None) -> sympy.Expr:
    """The Lagrangian to work with: `lagrangian` if given, else the system's true one.

    **Arguments:**

    - `system`: a [`System`][] (or [`Coordinates`][] when `lagrangian` is given).
    - `lagrangian`: an explicit SymPy Lagrangian in `q` and `qdot`, or None.

    **Returns:**

    A SymPy expression with the system's parameters substituted exactly and every Float
    read as the decimal it prints as. Raises `ValueError` when neither is available.
    """
    if lagrangian is not None:
        parameters = dict(getattr(system, "parameters", {}))
        return _exact(sympy.sympify(lagrangian).xreplace(parameters))
    true = getattr(system, "true_lagrangian", None)
    if true is None:
        name = getattr(system, "name", "these coordinates")
        raise ValueError(
            f"no Lagrangian for {name!r}: the system declares none; pass lagrangian=... "
            "or declare System(..., lagrangian=L_true)"
        )
    return _exact(true)


def _exact(expr: sympy.Expr) -> sympy.Expr:
    """Floats as the decimals they print as (0.1 -> 1/10): identities then hold exactly."""
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sympy.nsimplify(f, rational=True) for f in floats})


def euler_lagrange(
    system_or_coords, lagrangian: sympy.Expr | None = None
) -> tuple[sympy.Matrix, sympy.Matrix]:
    """The Euler-Lagrange equations in the form $M \\ddot q = \\text{rhs}$.

    **Arguments:**

    - `system_or_coords`: a [`System`][] or its [`Coordinates`][].
    - `lagrangian`: the SymPy Lagrangian (default: the system's true Lagrangian).

    **Returns:**

    `(mass_matrix, rhs)`: $M = \\partial^2 L / \\partial \\dot q^2$ (n x n) and
    $\\text{rhs} = \\partial L / \\partial q - (\\partial^2 L/\\partial \\dot q \\partial q)
    \\dot q$ (n x 1), both unsimplified SymPy matrices.
    """
    c = _coordinates(system_or_coords)
    L = lagrangian_of(system_or_coords, lagrangian)
    p = sympy.Matrix([sympy.diff(L, v) for v in c.qdot])
    mass = p.jacobian(c.qdot)
    force = sympy.Matrix([sympy.diff(L, q) for q in c.q])
    return mass, force - p.jacobian(c.q) * sympy.Matrix(c.qdot)


def mass_blocks(mass: sympy.Matrix) -> list[tuple[int, ...]]:
    """The diagonal blocks of M: connected components of its non-zero pattern, in order."""
    n = mass.rows
    label = list(range(n))

    def root(i):
        while label[i] != i:
            i = label[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if mass[i, j] != 0 or mass[j, i] != 0:
                label[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted((tuple(g) for g in groups.values()), key=lambda g: g[0])


def solve_acceleration(
    system, lagrangian: sympy.Expr | None = None, *, simplify: bool = True
) -> tuple[sympy.Expr, ...]:
    """The accelerations qddot(q, qdot) in closed form, from the Euler-Lagrange equations.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: the SymPy Lagrangian (default: the system's true Lagrangian).
    - `simplify`: solve exactly over rational functions (square roots as algebraic
      symbols), reduce and cancel; `False` returns SymPy's raw block LU solution.

    **Returns:**

    The n accelerations, in the order of `system.coordinates.q`. Raises `ValueError` when
    d2L/dqdot2 is singular (a degenerate Lagrangian).
    """
    c = _coordinates(system)
    mass, rhs = euler_lagrange(system, lagrangian)
    if mass_rank(mass, c) < c.n:  # cheap, and catches what a raw LU would not notice
        raise _singular(c, range(c.n))
    qddot: list[sympy.Expr] = [sympy.Integer(0)] * c.n
    for block in mass_blocks(mass):
        sub_mass = mass.extract(list(block), list(block))
        sub_rhs = rhs.extract(list(block), [0])
        if not sub_mass.free_symbols:  # constant block: an exact rational solve suffices
            solution = _solve_constant_block(sub_mass, sub_rhs, c, block, simplify)
        elif simplify:
            solution = _solve_block(sub_mass, sub_rhs, c, block)
        else:
            solution = _solve_block_raw(sub_mass, sub_rhs, c, block)
        for i, value in zip(block, solution):
            qddot[i] = value
    return tuple(qddot)


def _singular(c: Coordinates, block: Sequence[int]) -> ValueError:
    names = [c.names[i] for i in block]
    return ValueError(
        f"the mass matrix d2L/dqdot2 is singular in the velocities of {names}: the "
        "Lagrangian is degenerate, so the Euler-Lagrange equations do not determine the "
        "accelerations. Use a Lagrangian whose Hessian in qdot is invertible (e.g. add a "
        "kinetic term for every coordinate)."
    )


def _solve_constant_block(mass, rhs, c, block, simplify) -> list[sympy.Expr]:
    if mass.rank() < mass.rows:
        raise _singular(c, block)
    solution = mass.inv() * rhs
    if not simplify:
        return list(solution)
    # expand would also expand (x^2 + y^2)^(3/2): keep whichever form is smaller.
    return [min((e, sympy.expand(e)), key=node_count) for e in solution]


def _solve_block_raw(mass, rhs, c, block) -> list[sympy.Expr]:
    try:
        return list(mass.LUsolve(rhs))
    except (ValueError, ZeroDivisionError, sympy.matrices.exceptions.NonInvertibleMatrixError):
        raise _singular(c, block) from None


def _solve_block(mass, rhs, c, block) -> list[sympy.Expr]:
    """Solve one block exactly; see the module docstring for the representation."""
    roots = _root_symbols(list(mass) + list(rhs))
    to_root = _root_replacement(list(mass) + list(rhs), roots)
    mass_r = mass.xreplace(to_root)
    rhs_r = [e.xreplace(to_root) for e in rhs]
    # Velocities stay out of the field when M is free of them: fewer generators, cheaper gcds.
    split = not (mass.free_symbols & set(c.qdot))
    field = _field(list(mass_r) + rhs_r, roots, c, split)
    try:
        M = DomainMatrix([[field.from_sympy(e) for e in row] for row in mass_r.tolist()],
                         mass_r.shape, field)
        monomials, C = _velocity_columns(rhs_r, c.qdot, field, split)
    except (sympy.CoercionFailed, sympy.PolynomialError, sympy.GeneratorsNeeded):
        return _solve_block_raw(mass, rhs, c, block)  # e.g. sin(q): no rational field
    relations = _relations(field, roots)
    if relations:  # smaller entries make a much cheaper LU
        M = M.applyfunc(lambda e: _reduce(field, e, relations))
        C = C.applyfunc(lambda e: _reduce(field, e, relations))
    try:
        X = M.lu_solve(C)
        X = X.applyfunc(lambda e: _reduce(field, e, relations))
    except (DMNonInvertibleMatrixError, ZeroDivisionError):
        # ZeroDivisionError: a pivot that vanishes only once R^2 = B is imposed
        raise _singular(c, block) from None
    back = {R: sympy.sqrt(B) for B, R in roots.items()}
    return [
        _combine(field, [X[i, m].element for m in range(len(monomials))], monomials, back)
        for i in range(mass.rows)
    ]


def _root_symbols(exprs) -> dict[sympy.Expr, sympy.Dummy]:
    """A positive Dummy R for each radicand B of a sqrt in `exprs` (R = sqrt(B))."""
    return {B: sympy.Dummy(f"R{k}", positive=True) for k, B in enumerate(radicands(exprs))}


def _root_replacement(exprs, roots) -> dict[sympy.Expr, sympy.Expr]:
    """B**(k/2) -> R**k for every half-integer power of a radicand."""
    replacement = {}
    for expr in exprs:
        for power in expr.atoms(sympy.Pow):
            if power.base in roots and power.exp.is_Rational and power.exp.q == 2:
                replacement[power] = roots[power.base] ** power.exp.p
    return replacement


def _velocity_columns(rhs, qdot, field, split):
    """Monomials in qdot and the matrix of their coefficients in each rhs row.

    Without `split` (M depends on qdot), the only monomial is 1 and the rows are rhs.
    """
    if not split:
        column = [[field.from_sympy(e)] for e in rhs]
        return [sympy.Integer(1)], DomainMatrix(column, (len(rhs), 1), field)
    coeffs = [sympy.Poly(e, *qdot, domain=field).as_dict(native=True) for e in rhs]
    keys = sorted({m for row in coeffs for m in row}, reverse=True) or [(0,) * len(qdot)]
    monomials = [sympy.Mul(*(v**k for v, k in zip(qdot, m))) for m in keys]
    rows = [[row.get(m, field.zero) for m in keys] for row in coeffs]
    return monomials, DomainMatrix(rows, (len(rhs), len(keys)), field)


def _field(exprs, roots, c, split):
    """ZZ(R_1.., q.., other symbols), roots first (for the remainders mod R^2 - B).

    Velocities are generators only without `split`. Integer coefficients keep the
    polynomial arithmetic in Python ints (QQ is much slower).
    """
    symbols = set().union(*(e.free_symbols for e in exprs)) - set(roots.values())
    known = [s for s in c.q + (() if split else c.qdot) if s in symbols]
    if split:
        symbols -= set(c.qdot)
    others = sorted(symbols - set(known), key=sympy.default_sort_key)
    return ZZ.frac_field(*roots.values(), *known, *others)


def _relations(field, roots):
    """The polynomials R^2 - B in the field's ring, for radicands B polynomial there."""
    relations = []
    for B, R in roots.items():
        if R not in field.symbols:
            continue
        try:
            rel = field.field.ring.from_expr(R**2 - B)
        except (ValueError, sympy.CoercionFailed):
            continue  # a radicand outside the ring stays a free symbol; correct, less reduced
        relations.append((field.field.ring.gens[field.symbols.index(R)], rel))
    return relations


def _reduce(field, element, relations):
    """Reduce a rational function modulo R^2 = B and make its denominator free of each R."""
    num, den = element.numer, element.denom
    for R, rel in relations:
        num, den = num.rem(rel), den.rem(rel)
        conjugate = den.compose(R, -R)
        if conjugate != den:
            num, den = (num * conjugate).rem(rel), (den * conjugate).rem(rel)
    return field.field(num) / field.field(den)


def _combine(field, coefficients, monomials, back) -> sympy.Expr:
    """sum_m c_m monomial_m over one denominator (integer coefficients), R -> sqrt(B)."""
    den = field.field.ring.one
    for coeff in coefficients:
        den = den.lcm(coeff.denom)
    parts = [(coeff.numer * den.exquo(coeff.denom), m) for coeff, m in zip(coefficients, monomials)]
    num = sympy.Add(*(sympy.expand(p.as_expr() * m) for p, m in parts))
    return (num / sympy.factor(den.as_expr())).xreplace(back)


def is_degenerate(system, lagrangian: sympy.Expr | None = None) -> bool:
    """Whether d2L/dqdot2 is singular at generic points (a degenerate Lagrangian).

    **Arguments:**

    - `system`: a [`System`][] (or [`Coordinates`][] with `lagrangian`).
    - `lagrangian`: the SymPy Lagrangian (default: the system's true Lagrangian).

    **Returns:**

    True when the generic rank of the mass matrix is below n: its exact rank at random
    rational points (square roots made rational there); a symbolic determinant if no point
    can be evaluated exactly.
    """
    c = _coordinates(system)
    mass, _ = euler_lagrange(system, lagrangian)
    return mass_rank(mass, c) < c.n


def mass_rank(mass: sympy.Matrix, c: Coordinates, *, points: int = 3) -> int:
    """The generic rank of the mass matrix (exact, at random rational points)."""
    entries = list(mass)
    symbols = state_symbols(c, entries)
    best, evaluated = 0, 0
    for point in rational_points(entries, symbols, 4 * points, seed=7):
        values = ExactEvaluator(point).matrix(mass.tolist())
        if values is None:
            continue
        best = max(best, values.rank())
        evaluated += 1
        if best == c.n or evaluated == points:
            return best
    if evaluated:
        return best
    return 0 if sympy.simplify(mass.det()) == 0 else c.n


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


def _random_rational(rng: random.Random) -> sympy.Rational:
    return sympy.Rational(rng.randint(-97, 97) or 1, rng.randint(1, 29))


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

    A list of `{symbol: Rational}`. For each radicand B in turn, one of its symbols not
    used by an earlier radicand is solved for: if B = a^2 s^2 + b s + c in that symbol s,
    then s = (c - u^2) / (2 a u - b) gives B = (a s + u)^2 for a random rational u. A
    radicand with no such symbol is left as it is (its point may then not be rational).
    """
    rng = random.Random(seed)
    bases = radicands(exprs)
    points = []
    for _ in range(count):
        point = {s: _random_rational(rng) for s in symbols}
        used: set[sympy.Symbol] = set()
        for base in bases:
            _make_square(base, point, used, rng)
            used |= base.free_symbols
        points.append(point)
    return points


def _make_square(base, point, used, rng) -> bool:
    for s in sorted(base.free_symbols - used, key=sympy.default_sort_key):
        if s not in point:
            continue
        others = {k: v for k, v in point.items() if k != s}
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
    u = _random_rational(rng)
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

    Sums, products, integer powers, `Abs` and square roots of rational squares are computed
    in QQ (a Float counts as its exact binary value), with a cache shared by all expressions
    (derivatives share most subtrees); anything else (sin, a non-square root, a pole) makes
    the value unavailable.

    **Arguments:**

    - `point`: `{symbol: rational}`; every free symbol of an evaluated expression.
    """

    def __init__(self, point: dict[sympy.Symbol, sympy.Rational]):
        self._cache = {s: QQ.from_sympy(sympy.Rational(v)) for s, v in point.items()}

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
        else:
            raise _Inexact(expr)
        self._cache[expr] = value
        return value


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
    - `method`: how it was decided, in words.
    - `residual`: the simplified non-zero expression, or None when zero.
    """

    zero: bool
    method: str
    residual: sympy.Expr | None = None


# Expressions with more nodes than this skip expand/cancel: exact evaluation is cheaper.
SYMBOLIC_LIMIT = 3000
POINTS = 8


def decide_zero(
    expr: sympy.Expr, coordinates: Coordinates, *, points: int = POINTS, seed: int = 0
) -> IdentityTest:
    """Decide whether `expr`, a function on TQ, vanishes identically.

    **Arguments:**

    - `expr`: a SymPy expression in `q`, `qdot` (and parameters, which get random values).
    - `coordinates`: the [`Coordinates`][] of TQ.
    - `points`: how many random rational points the probabilistic test uses.
    - `seed`: the seed of those points.

    **Returns:**

    An [`IdentityTest`][]: `expand` (then `cancel`) on small expressions; else, or when
    those leave something, exact evaluation at random rational points, where one non-zero
    value proves the expression non-zero and `points` zeros prove it zero with
    overwhelming probability.
    """
    expr = sympy.sympify(expr)
    if expr == 0:
        return IdentityTest(True, "symbolic identity (zero as built)")
    forms = _normal_forms(expr) if node_count(expr) <= SYMBOLIC_LIMIT else []
    for method, form in forms:
        if form == 0:
            return IdentityTest(True, f"symbolic identity ({method})")
    residual = min((f for _, f in forms), key=node_count, default=expr)
    symbols = state_symbols(coordinates, [expr])
    zeros = 0
    for point in rational_points([expr], symbols, 4 * points, seed=seed):
        value = ExactEvaluator(point).value(expr)
        if value is None:
            continue
        if value != 0:
            where = ", ".join(f"{k} = {v}" for k, v in list(point.items())[: len(symbols)])
            method = f"exact evaluation: non-zero value {value} at ({where})"
            return IdentityTest(False, method, residual)
        zeros += 1
        if zeros == points:
            return IdentityTest(True, points_method(points))
    return IdentityTest(
        False, "undecided: expand/cancel leave a residual and no exact rational point "
        "could be evaluated (a function other than sqrt?)", residual
    )


def points_method(points: int = POINTS) -> str:
    """The name of the probabilistic identity test, for reports."""
    return (
        f"exact evaluation at {points} random rational points (probabilistic identity test)"
    )


def _normal_forms(expr) -> list[tuple[str, sympy.Expr]]:
    expanded = sympy.expand(expr)
    forms = [("expand", expanded)]
    if expanded != 0 and any(p.exp.is_negative or not p.exp.is_Integer
                             for p in expanded.atoms(sympy.Pow)):
        forms.append(("cancel", sympy.cancel(expanded)))
    return forms


def node_count(expr: sympy.Expr) -> int:
    """The number of nodes of an expression tree (a cheap size measure)."""
    return sum(1 for _ in sympy.preorder_traversal(expr))
