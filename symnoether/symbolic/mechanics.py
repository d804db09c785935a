"""Euler-Lagrange equations: the mass matrix, the accelerations and degeneracy.

For L(q, qdot, t) and a non-conservative force Phi = Q - dR/dqdot (generalised forces and
a Rayleigh function; see `forces.py`) the equations of motion read M qddot = rhs with
M = d2L/dqdot2 and rhs = dL/dq - (d2L/dqdot dq) qdot - d2L/dqdot dt + Phi. The closed-form
solution works block by block of M, over a field of rational functions of q in which every
square root sqrt(B) is a new symbol R with R^2 = B; velocities stay out of the gcds by
solving for the coefficient of each velocity monomial separately, with integer coefficients.
Schwarzschild takes a few seconds; `simplify=False` gives the raw LU solution at once.
"""

from collections.abc import Sequence

import sympy
from sympy.polys.domains import ZZ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

from .calculus import gradient, jacobian
from .coordinates import TIME, Coordinates
from .exact import generic_rank, high_precision_rank
from .identity import (
    ExactEvaluator,
    bounded_expand,
    node_count,
    radicands,
    rational_points,
    state_symbols,
)

_EXPAND_LIMIT = 120

__all__ = [
    "euler_lagrange",
    "exact",
    "is_degenerate",
    "lagrangian_of",
    "mass_blocks",
    "mass_rank",
    "solve_acceleration",
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
        return exact(sympy.sympify(lagrangian).xreplace(parameters))
    true = getattr(system, "true_lagrangian", None)
    if true is None:
        name = getattr(system, "name", "these coordinates")
        raise ValueError(
            f"no Lagrangian for {name!r}: the system declares none; pass lagrangian=... "
            "or declare System(..., lagrangian=L_true)"
        )
    return exact(true)


def exact(expr: sympy.Expr) -> sympy.Expr:
    """Floats as the decimals they print as (0.1 -> 1/10): identities then hold exactly."""
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sympy.nsimplify(f, rational=True) for f in floats})


def euler_lagrange(
    system_or_coords, lagrangian: sympy.Expr | None = None, *, force=None
) -> tuple[sympy.Matrix, sympy.Matrix]:
    """The equations of motion in the form $M \\ddot q = \\text{rhs}$.

    **Arguments:**

    - `system_or_coords`: a [`System`][] or its [`Coordinates`][].
    - `lagrangian`: the SymPy Lagrangian (default: the system's true Lagrangian).
    - `force`: the non-conservative force Phi (n expressions); default: the system's
      known one, Q - dR/dqdot (zero for a conservative system or bare coordinates).

    **Returns:**

    `(mass_matrix, rhs)`: $M = \\partial^2 L / \\partial \\dot q^2$ (n x n) and
    $\\text{rhs} = \\partial L / \\partial q - (\\partial^2 L/\\partial \\dot q \\partial q)
    \\dot q - \\partial^2 L/\\partial \\dot q \\partial t + \\Phi$ (n x 1), both
    unsimplified SymPy matrices (the t-derivative only for an explicit time).
    """
    c = _coordinates(system_or_coords)
    L = lagrangian_of(system_or_coords, lagrangian)
    if force is None:
        force = _system_force(system_or_coords, c)
    p = gradient(L, c.qdot)
    mass = jacobian(p, c.qdot)
    dL = gradient(L, c.q)
    mixed = [sympy.Add(*(d * v for d, v in zip(row, c.qdot) if d != 0))
             for row in jacobian(p, c.q).tolist()]
    if TIME not in c.q and TIME in L.free_symbols:  # d/dt of p has an explicit part
        mixed = [m + sympy.diff(pi, TIME) for m, pi in zip(mixed, p)]
    return mass, sympy.Matrix([f - m + phi for f, m, phi in zip(dL, mixed, force)])


def _system_force(system_or_coords, c: Coordinates) -> tuple:
    if isinstance(system_or_coords, Coordinates) or not system_or_coords.has_forces:
        return (0,) * c.n
    from .forces import nonconservative_force

    return nonconservative_force(system_or_coords)


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
    system, lagrangian: sympy.Expr | None = None, *, simplify: bool = True, force=None
) -> tuple[sympy.Expr, ...]:
    """The accelerations qddot(q, qdot) in closed form, from the Euler-Lagrange equations.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: the SymPy Lagrangian (default: the system's true Lagrangian).
    - `simplify`: solve exactly over rational functions (square roots as algebraic
      symbols), reduce and cancel; `False` returns SymPy's raw block LU solution.
    - `force`: the non-conservative force (default: the system's, Q - dR/dqdot).

    **Returns:**

    The n accelerations, in the order of `system.coordinates.q`. Raises `ValueError` when
    d2L/dqdot2 is singular (a degenerate Lagrangian).
    """
    c = _coordinates(system)
    mass, rhs = euler_lagrange(system, lagrangian, force=force)
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
    # expand would also expand (x^2 + y^2)^(3/2): keep whichever form is smaller (big ones
    # as they are: expanding them is slow and seldom smaller).
    return [e if node_count(e) > _EXPAND_LIMIT else min((e, bounded_expand(e)), key=node_count)
            for e in solution]


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
    except (sympy.CoercionFailed, sympy.PolynomialError, sympy.GeneratorsNeeded, ValueError):
        # e.g. sin(q) or exp(t): no rational field (ValueError from the field's from_sympy)
        return _solve_block_raw(mass, rhs, c, block)
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
    """The generic rank of the mass matrix: exact at random rational points (where radicands
    are squares and angles have rational sines), else at 50 digits
    (`exact.high_precision_rank`)."""
    entries = list(mass)
    symbols = state_symbols(c, entries)
    rows = mass.tolist()
    candidates = rational_points(entries, symbols, 4 * points, seed=7)
    rank = generic_rank(
        lambda point: ExactEvaluator(point).matrix(rows), candidates, points=points, target=c.n
    )
    return rank if rank is not None else high_precision_rank(rows, symbols, points=points)
