r"""The homotheties of a metric, $\mathcal L_X g = c\, g$ with a constant c, and a proof that
the basis found is complete.

**Finding them.** An ansatz: X is a combination, with unknown rational coefficients, of
monomials of degree at most d in the coordinates and in the cosines and sines of the
angles (the symbols inside sin and cos of the Lagrangian), times the unit fields
$\partial_{q_i}$; the constant c is one more unknown. The condition is linear in the
unknowns, and its solutions are the constant linear relations among the functions
$\mathcal L_{b_k \partial_i} g$ and $g$ (`span.linear_relations`: exact).

**Completeness.** A homothety is an affine collineation, so on a connected domain it is
determined by its 1-jet $(X(p), \partial X(p))$ at one point p (as a Killing field is).
The Taylor coefficients of an actual homothety at p satisfy the Taylor coefficients of
$\mathcal L_X g - c g$ up to any order k, which involve those of X up to order k + 1 and
those of g up to order k + 1 only. So the dimension of the projection onto 1-jets (and c)
of the solutions of that finite linear system is an upper bound of the dimension of the
homothety algebra. When the ansatz reaches that bound, the basis is complete (near
generic points: the whole finder is local).
"""

import itertools
from dataclasses import dataclass
from math import factorial

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from ..angles import angle_symbols
from ..identity import ExactEvaluator, rational_points
from ..span import linear_relations

__all__ = ["Homotheties", "homotheties", "jet_bound"]


@dataclass(frozen=True)
class Homotheties:
    """A basis of the homotheties of a metric.

    **Attributes:**

    - `fields`: h tuples of n SymPy expressions, the fields X_a(q).
    - `factors`: the h constants c_a with L_{X_a} g = c_a g (0 for Killing fields).
    - `complete`: whether the basis was proved complete (`bound` reached).
    - `bound`: the upper bound of the dimension from the 1-jets, or None if not computed.
    - `method`: how they were found and bounded, in words.
    """

    fields: tuple[tuple[sympy.Expr, ...], ...]
    factors: tuple[sympy.Rational, ...]
    complete: bool
    bound: int | None
    method: str


def homotheties(g: sympy.Matrix, c, *, angles=frozenset(), max_degree: int = 2) -> Homotheties:
    """The homothety algebra of `g`, by an ansatz of increasing degree, and its bound.

    **Arguments:**

    - `g`: the n x n metric in `c.q`.
    - `c`: the [`Coordinates`][].
    - `angles`: coordinates whose cosines and sines join the ansatz (those of the
      Lagrangian; the metric's own are always added).
    - `max_degree`: the largest degree of the ansatz.

    **Returns:**

    A [`Homotheties`][].
    """
    angles = set(angles) | angle_symbols(list(g))
    bound, bound_method = None, "not bounded"
    found, order = None, -1
    # The order-1 and -2 systems of many coordinates are big, and the third derivatives of
    # a non-polynomial metric (Schwarzschild's square roots) swell: order 1 there.
    polynomial = all(e.is_polynomial(*c.q) for e in g)
    max_order = 0 if c.n > 6 else 2 if polynomial or c.n < 4 else 1
    for degree in range(1, max_degree + 1):
        found, method = _ansatz(g, c, angles, degree)
        if found is None:
            return Homotheties((), (), False, None, method)
        # A higher order only tightens the bound: raise it while the ansatz is below it.
        while (bound is None or bound > len(found[0])) and order < max_order:
            order += 1
            bound, bound_method = jet_bound(g, c, order)
        if bound is not None and len(found[0]) >= bound:
            return Homotheties(found[0], found[1], True, bound,
                               f"{method}, degree {degree}; {bound_method}")
    curved = angle_symbols(list(g))
    if len(curved) == 1 and bound is not None and c.n <= 3:
        # Round metrics (the sphere's sin^2 theta) have Killing fields with cot theta and
        # the sines of the other coordinates: one wider ansatz before giving up (for one
        # angle only: with more, its size and the time it takes grow fast).
        extra = [sympy.cos(s) / sympy.sin(s) for s in sorted(curved, key=sympy.default_sort_key)]
        wide, method = _ansatz(g, c, set(c.q), max_degree, extra)
        if wide is not None and len(wide[0]) >= bound:
            return Homotheties(wide[0], wide[1], True, bound,
                               f"{method} (cos, sin of every coordinate and cot of the "
                               f"metric's angles), degree {max_degree}; {bound_method}")
    return Homotheties(found[0], found[1], False, bound,
                       f"{method}, degree <= {max_degree}; {bound_method}: the ansatz found "
                       f"{len(found[0])} of at most {bound}")


def _basis_functions(c, angles, degree: int, extra=()) -> list[sympy.Expr]:
    gens = list(c.q) + [f(s) for s in sorted(angles, key=sympy.default_sort_key)
                        for f in (sympy.cos, sympy.sin)] + list(extra)
    monomials = [sympy.Integer(1)]
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(gens, d):
            monomials.append(sympy.Mul(*combo))
    return monomials


def _lie_g(g, c, X) -> list[sympy.Expr]:
    """The independent components (j <= l) of the Lie derivative L_X g."""
    n, q = c.n, c.q
    out = []
    for j in range(n):
        for m in range(j, n):
            e = sum((X[k] * sympy.diff(g[j, m], q[k]) for k in range(n) if X[k] != 0), 0)
            e += sum((g[k, m] * sympy.diff(X[k], q[j]) + g[j, k] * sympy.diff(X[k], q[m])
                      for k in range(n) if X[k] != 0), 0)
            out.append(sympy.expand(e))
    return out


def _ansatz(g, c, angles, degree, extra=()):
    n = c.n
    basis = _basis_functions(c, angles, degree, extra)
    # cos^2 + sin^2 = 1 makes some monomials dependent: keep an independent subset, or
    # the relations would count combinations that vanish as fields.
    dependent = linear_relations([(b,) for b in basis], c)
    if not dependent.decided:
        return None, f"homotheties undecided ({dependent.method})"
    drop = {max(k for k, x in enumerate(r) if x) for r in dependent.basis}
    basis = [b for k, b in enumerate(basis) if k not in drop]
    unknowns, functions = [], []
    for i in range(n):
        for b in basis:
            X = [sympy.Integer(0)] * n
            X[i] = b
            unknowns.append(X)
            functions.append(_lie_g(g, c, X))
    functions.append([-g[j, m] for j in range(n) for m in range(j, n)])
    relations = linear_relations(functions, c)
    if not relations.decided:
        return None, f"homotheties undecided ({relations.method})"
    fields, factors = [], []
    for r in relations.basis:
        X = tuple(sympy.expand(sum((k * u[i] for k, u in zip(r, unknowns) if k), 0))
                  for i in range(n))
        fields.append(X)
        factors.append(sympy.Rational(r[-1]))
    return _normalise(fields, factors), (f"ansatz of {len(unknowns)} monomial fields "
                                         f"({relations.method})")


def _normalise(fields, factors):
    """Killing fields first, then at most one proper homothety (c != 0), scaled to c = 2."""
    proper = [k for k, f in enumerate(factors) if f != 0]
    if not proper:
        return tuple(fields), tuple(factors)
    k0 = proper[0]
    scale = 2 / factors[k0]
    H = tuple(sympy.expand(scale * x) for x in fields[k0])
    killing = []
    for k, (X, f) in enumerate(zip(fields, factors)):
        if k == k0:
            continue
        killing.append(tuple(sympy.expand(x - f / 2 * h) for x, h in zip(X, H)))
    return tuple(killing) + (H,), (sympy.Integer(0),) * len(killing) + (sympy.Integer(2),)


# Truncated polynomials in the shifted variables s = q - p: {exponent tuple: QQ}.


def _mul(a: dict, b: dict, order: int) -> dict:
    out: dict = {}
    for ea, ca in a.items():
        da = sum(ea)
        for eb, cb in b.items():
            if da + sum(eb) > order:
                continue
            e = tuple(x + y for x, y in zip(ea, eb))
            out[e] = out.get(e, QQ.zero) + ca * cb
    return {e: v for e, v in out.items() if v}


def _diff(a: dict, i: int) -> dict:
    out = {}
    for e, v in a.items():
        if e[i]:
            f = list(e)
            f[i] -= 1
            out[tuple(f)] = v * e[i]
    return out


def _exponents(n: int, order: int) -> list[tuple[int, ...]]:
    out = []
    for d in range(order + 1):
        for combo in itertools.combinations_with_replacement(range(n), d):
            e = [0] * n
            for i in combo:
                e[i] += 1
            out.append(tuple(e))
    return out


def _taylor(g, c, order: int):
    """The Taylor polynomials of the entries of g to `order` at an exact point, or None."""
    n = c.n
    exps = _exponents(n, order)
    derivs = {}
    for j in range(n):
        for m in range(j, n):  # g is symmetric: the lower triangle is copied below
            d = {exps[0]: g[j, m]}
            for e in exps[1:]:
                i = next(k for k in range(n) if e[k])
                prev = list(e)
                prev[i] -= 1
                d[e] = sympy.diff(d[tuple(prev)], c.q[i]) if d[tuple(prev)] != 0 else 0
            derivs[(j, m)] = d
    exprs = [v for d in derivs.values() for v in d.values()]
    for point in rational_points(exprs, c.q, 12, seed=5):
        ev = ExactEvaluator(point)
        values = {key: {e: ev.value(v) for e, v in d.items()} for key, d in derivs.items()}
        if all(x is not None for d in values.values() for x in d.values()):
            scale = {e: QQ(1, _factorial(e)) for e in exps}
            taylor = {key: {e: x * scale[e] for e, x in d.items() if x}
                      for key, d in values.items()}
            taylor.update({(m, j): v for (j, m), v in list(taylor.items())})
            return taylor
    return None


def _factorial(e) -> int:
    out = 1
    for k in e:
        out *= factorial(k)
    return out


def jet_bound(g, c, order: int) -> tuple[int | None, str]:
    """An upper bound of the dimension of the homothety algebra of g from its jets.

    **Arguments:**

    - `g`: the metric; `c`: the [`Coordinates`][].
    - `order`: k, the order up to which the Taylor coefficients of L_X g - c g are imposed.

    **Returns:**

    `(bound, method)`: the dimension of the projection onto (1-jet of X, c) of the
    solutions of the truncated system at one exact point, or None where the metric's
    derivatives are not rational at any point tried.
    """
    n = c.n
    G = _taylor(g, c, order + 1)
    if G is None:
        return None, "no exact point for the jet bound"
    unknown_exps = _exponents(n, order + 1)
    columns = [(i, e) for e in unknown_exps for i in range(n)] + ["c"]
    rows: dict = {}
    for col, unknown in enumerate(columns):
        for (j, m), entry in _lie_columns(G, unknown, n, order).items():
            for e, v in entry.items():
                rows.setdefault((j, m, e), {})[col] = v
    low = [k for k, u in enumerate(columns) if u == "c" or sum(u[1]) <= 1]
    high = {k: h for h, k in enumerate(k for k in range(len(columns)) if k not in set(low))}
    full = _rank(rows, len(columns))
    high_rank = _rank({r: {high[k]: v for k, v in row.items() if k in high}
                       for r, row in rows.items()}, len(high))
    bound = len(low) - full + high_rank
    return bound, (f"complete: at most {bound} by the 1-jets of the Taylor system of order "
                   f"{order} at an exact point")


def _lie_columns(G, unknown, n, order) -> dict:
    """{(j, m): truncated polynomial} of L_X g - c g for one unknown monomial field."""
    out = {}
    if unknown == "c":
        for j in range(n):
            for m in range(j, n):
                entry = {e: -v for e, v in G[(j, m)].items() if sum(e) <= order}
                if entry:
                    out[(j, m)] = entry
        return out
    i, e = unknown
    mono = {e: QQ.one}
    d_mono = [_diff(mono, k) for k in range(n)]
    for j in range(n):
        for m in range(j, n):
            entry = _mul(mono, _diff(G[(j, m)], i), order)
            for part in (_mul(G[(i, m)], d_mono[j], order), _mul(G[(j, i)], d_mono[m], order)):
                for x, v in part.items():
                    entry[x] = entry.get(x, QQ.zero) + v
            entry = {x: v for x, v in entry.items() if v}
            if entry:
                out[(j, m)] = entry
    return out


def _rank(rows: dict, width: int) -> int:
    rows = {k: r for k, r in rows.items() if r}
    if not rows or not width:
        return 0
    return DomainMatrix(dict(enumerate(rows.values())), (len(rows), width), QQ).rank()
