r"""Special parameter values: where the symmetry algebra of a Lagrangian grows.

The finder substitutes the system's parameter values and solves over QQ. The same
elimination run over the field QQ(p) of the parameters (those of the potential and the
gyroscopic term; the metric's keep their values) has the same ranks as the substituted
one except where a non-zero maximal minor of one of its matrices, or a denominator of an
entry, vanishes. Those polynomials are the elimination's non-zero assumptions: factored
and solved exactly (k = 0, w1 = w2, omega = gamma/2, ...), each root is a candidate, and
the finder is run again there. A candidate is reported as a [`SymmetryCase`][] only when
the dimension (or whether it is proved complete) differs; the re-run proves it, so a
spurious root costs time, not correctness.

Limits: one level (a special value inside a special value is not searched), parameters
inside the metric only at 0, and potentials that are not rational functions of the
coordinates after a rational point is substituted (cos, exp) only at 0; the finder's
`method` says which were examined.
"""

import itertools
from dataclasses import dataclass, field

import sympy
from sympy.polys.domains import QQ

from ..calculus import gradient
from ..identity import rational_points
from .dae import rank_conditions
from .solve import _curl, _dae, _lie_A, _velocity_free

__all__ = ["SymmetryCase", "candidate_values"]


@dataclass(frozen=True)
class SymmetryCase:
    """The symmetry algebra at a special parameter value where its dimension changes.

    **Attributes:**

    - `condition`: the relation, e.g. `"w1 = w2"` or `"k = 0"`.
    - `values`: the parameters whose value differs from the system's, with their value in
      this case (the others keep theirs).
    - `algebra`: the [`SymmetryAlgebra`][] found there (its generators proved).
    """

    condition: str
    values: dict = field(hash=False)
    algebra: object = field(hash=False)

    def __str__(self) -> str:
        changed = ", ".join(f"{p} = {v}" for p, v in self.values.items())
        if self.condition == changed:
            changed = "the others at their values"
        proved = "proved complete" if self.algebra.complete else "not proved complete"
        return f"for {self.condition} ({changed}): {self.algebra.dimension} generators ({proved})"


def candidate_values(system, H, c) -> tuple[list[tuple[str, dict]], str]:
    """The candidate special values of the system's parameters.

    **Arguments:**

    - `system`: the [`System`][] (its Lagrangian with the parameters as symbols).
    - `H`: the [`Homotheties`][] of its metric at the system's values.
    - `c`: its [`Coordinates`][].

    **Returns:**

    `(candidates, note)`: `(condition, changed)` pairs (the parameters whose value differs
    from the system's, with their value there), and what was examined, in words.
    """
    values = dict(system.parameters)
    found = {}
    for p in _sorted(values):
        if values[p] != 0:
            _add(found, f"{p} = 0", {**values, p: sympy.Integer(0)}, values)
    polynomials, note = _conditions(system, H, c)
    for factor in _factors(polynomials):
        for p, root in _roots(factor):
            value = sympy.nsimplify(root.xreplace(values))
            if value.is_real is False or value.has(sympy.zoo, sympy.oo, sympy.nan):
                continue
            condition = f"{p} = {root}"
            _add(found, condition, {**values, p: value}, values)
    return list(found.values()), note


def _add(found: dict, condition: str, case: dict, values: dict) -> None:
    key = tuple(sorted(((str(p), sympy.srepr(v)) for p, v in case.items())))
    if case != values and key not in found:
        found[key] = (condition, {p: v for p, v in case.items() if v != values[p]})


def _sorted(symbols) -> list:
    return sorted(symbols, key=sympy.default_sort_key)


def _conditions(system, H, c) -> tuple[list[sympy.Expr], str]:
    """The elimination over QQ(parameters): its non-zero assumptions, and what was kept."""
    values = dict(system.parameters)
    L = system.lagrangian
    p = gradient(L, c.qdot)
    g = sympy.Matrix([gradient(pi, c.qdot) for pi in p])
    in_metric = set().union(*(e.free_symbols for e in g)) & set(values)
    kept = [s for s in _sorted(values) if s not in in_metric and L.has(s)]
    if not kept:
        return [], "special values: each parameter at 0 (none outside the metric)"
    L = L.xreplace({s: values[s] for s in in_metric})
    at_rest = {v: sympy.Integer(0) for v in c.qdot}
    A = [pi.xreplace(at_rest) for pi in gradient(L, c.qdot)]
    V = -L.xreplace(at_rest)
    K = QQ.frac_field(*kept)
    names = ", ".join(map(str, kept))
    skipped = f"special values: each parameter at 0 ({{}}; the roots in {names} not searched)"
    try:
        conditions = _eliminate(g.xreplace(values), A, V, H, c, K)
    except _NotRational as why:
        return [], skipped.format(why)
    return conditions, (
        f"special values: each parameter at 0, and the roots of the "
        f"elimination's non-zero assumptions over QQ({names}), one level"
    )


class _NotRational(Exception):
    pass


def _eliminate(g, A, V, H, c, K) -> list[sympy.Expr]:
    """`solve.solve_blocks` over K = QQ(parameters), collecting the rank conditions."""
    q, X, cs, h = c.q, H.fields, H.factors, len(H.fields)
    conditions: list = []
    Gamma = [
        [sum((g[i, k] * x[k] for k in range(c.n)), sympy.Integer(0)) for i in range(c.n)] for x in X
    ]
    Omega = [_lie_A(x, A, q) for x in X] if any(a != 0 for a in A) else [[0] * c.n] * h
    E = _relations([_curl(f, q) for f in Omega + Gamma], c, K, conditions)
    P = []
    for e in E:
        one_form = [
            sum((b * o[i] for b, o in zip(e[:h], Omega) if b), sympy.Integer(0))
            + sum((gm * G[i] for gm, G in zip(e[h:], Gamma) if gm), sympy.Integer(0))
            for i in range(c.n)
        ]
        P.append(_potential(one_form, q))
    psi = []
    if any(a != 0 for a in A):
        AX = [sum((a * x for a, x in zip(A, f)), sympy.Integer(0)) for f in X]
        psi = [
            -sympy.expand(sum((vec[h + k] * AX[k] for k in range(h)), sympy.Integer(0)))
            for vec in E
        ]
    functions = _velocity_free(X, cs, V, c) + P + [1] + psi
    functions = [f.as_expr() if isinstance(f, sympy.Poly) else sympy.sympify(f) for f in functions]
    split = _relations([(f,) for f in functions], c, K, conditions)
    _dae(h, E, cs, split, gyroscopic=bool(psi), domain=K, conditions=conditions)
    return conditions


def _potential(form, q) -> sympy.Expr:
    P = sympy.Integer(0)
    for s, w in zip(q, form):
        rest = sympy.cancel(w - sympy.diff(P, s))
        if rest != 0:
            part = sympy.integrate(rest, s)
            if part.has(sympy.Integral):
                raise _NotRational(f"SymPy could not integrate {rest} in {s}")
            P += part
    return sympy.expand(P)


def _relations(functions, c, K, conditions) -> list[list[sympy.Expr]]:
    """The relations over K among functions of q (monomial coefficients, or values at
    rational points), and the rank conditions of their matrix."""
    rows = _coefficient_rows(functions, c.q, K)
    if rows is None:
        rows = _value_rows(functions, c.q, K)
    m = len(functions)
    if not rows:
        return [[sympy.Integer(int(i == j)) for i in range(m)] for j in range(m)]
    from sympy.polys.matrices import DomainMatrix

    entries = {r: {j: K.convert(x) for j, x in row.items()} for r, row in enumerate(rows.values())}
    matrix = DomainMatrix(entries, (len(rows), m), K)
    conditions.extend(rank_conditions(matrix))
    null = matrix.nullspace().to_Matrix()
    return [list(null.row(r)) for r in range(null.rows)]


def _coefficient_rows(functions, q, K) -> dict | None:
    rows: dict = {}
    for j, f in enumerate(functions):
        for i, expr in enumerate(f):
            if expr == 0:
                continue
            try:
                poly = sympy.Poly(expr, *q, domain=K)
            except (sympy.PolynomialError, sympy.CoercionFailed, sympy.GeneratorsNeeded):
                return None
            for monom, coeff in poly.terms():
                if coeff:
                    rows.setdefault((i, monom), {})[j] = coeff
    return rows


def _value_rows(functions, q, K) -> dict:
    flat = [e for f in functions for e in f]
    width = len(functions[0])
    need = len(functions) + 4
    rows: dict = {}
    points = rational_points(
        [e.xreplace({s: 1 for s in K.symbols}) for e in flat], list(q), 4 * need, seed=11
    )
    for k, point in enumerate(itertools.islice(points, need)):
        for i in range(width):
            row = {}
            for j in range(len(functions)):
                value = sympy.cancel(functions[j][i].xreplace(point))
                try:
                    x = K.from_sympy(value)
                except (sympy.CoercionFailed, sympy.PolynomialError):
                    raise _NotRational(
                        f"{functions[j][i]} is not rational in the parameters at rational points"
                    ) from None
                if x:
                    row[j] = x
            if row:
                rows[(k, i)] = row
    return rows


def _factors(polynomials) -> list[sympy.Expr]:
    """The distinct irreducible factors (up to sign) of the conditions, in a fixed order."""
    out = {}
    for poly in polynomials:
        _, factors = sympy.factor_list(sympy.expand(poly))
        for f, _ in factors:
            if f.free_symbols:
                key = sympy.srepr(
                    min(sympy.expand(f), sympy.expand(-f), key=sympy.default_sort_key)
                )
                out.setdefault(key, f)
    return [out[k] for k in sorted(out)]


def _roots(factor) -> list[tuple[sympy.Symbol, sympy.Expr]]:
    """Solutions of factor = 0 for one parameter in terms of the others: the first
    parameter in which it is linear, else real roots in the first one."""
    symbols = _sorted(factor.free_symbols)
    linear = [s for s in symbols if sympy.degree(factor, s) == 1]
    p = linear[0] if linear else symbols[0]
    roots = sympy.solve(factor, p)
    return [(p, r) for r in roots if r.is_real is not False]
