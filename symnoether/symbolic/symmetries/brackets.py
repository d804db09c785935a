"""Structure constants of the symmetry algebra: [X_a, X_b] = sum_c C_ab^c X_c on (t, q).

The brackets of fields (tau, xi) on (t, q) are Noether symmetries again, so each lies in
the span of the basis. Polynomial fields (free particles, Galilei, oscillators' cos t are
not) are bracketed as sparse polynomials over QQ and each bracket is solved exactly against
k independent coefficient rows of the basis, then checked on every row; anything else goes
through `span.span_coefficients_many` (exact evaluation, every combination proved).
"""

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from ..span import span_coefficients_many

__all__ = ["structure_constants"]


def structure_constants(fields, c, t) -> dict | None:
    """`{(a, b): coefficients}` for every non-zero bracket, or None where one is undecided.

    **Arguments:**

    - `fields`: k tuples (tau, xi_1..xi_n) of SymPy expressions in t and q.
    - `c`: the [`Coordinates`][]; `t`: the time symbol.
    """
    variables = (t,) + tuple(c.q)
    sparse = _sparse(fields, variables)
    if sparse is not None:
        return _exact(sparse, len(variables))
    pairs, brackets = [], []
    for a in range(len(fields)):
        for b in range(a + 1, len(fields)):
            bracket = [sympy.expand(_act(fields[a], fb, variables)
                                    - _act(fields[b], fa, variables))
                       for fa, fb in zip(fields[a], fields[b])]
            if any(e != 0 for e in bracket):
                pairs.append((a, b))
                brackets.append(bracket)
    constants = {}
    for ab, (coeffs, _) in zip(pairs, span_coefficients_many(brackets, fields, c, seed=7)):
        if coeffs is None:
            return None
        if any(coeffs):  # a bracket that vanishes only by an identity (cos^2 + sin^2)
            constants[ab] = coeffs
    return constants


def _act(field, f, variables):
    return sum((x * sympy.diff(f, s) for x, s in zip(field, variables) if x != 0 and f != 0),
               sympy.Integer(0))


# Sparse polynomials: {exponent tuple: QQ}.


def _sparse(fields, variables):
    out = []
    for field in fields:
        row = []
        for e in field:
            try:
                poly = sympy.Poly(e, *variables, domain=QQ)
            except (sympy.PolynomialError, sympy.CoercionFailed, sympy.GeneratorsNeeded):
                return None
            row.append({m: v for m, v in poly.terms() if v})
        out.append(row)
    return out


def _diff(p: dict, i: int) -> dict:
    out = {}
    for m, v in p.items():
        if m[i]:
            e = list(m)
            e[i] -= 1
            out[tuple(e)] = v * m[i]
    return out


def _add_product(out: dict, a: dict, b: dict, sign) -> None:
    for ma, va in a.items():
        for mb, vb in b.items():
            m = tuple(x + y for x, y in zip(ma, mb))
            out[m] = out.get(m, QQ.zero) + sign * va * vb


def _bracket(fa, fb, nvars) -> list[dict]:
    out = []
    for pa, pb in zip(fa, fb):
        comp: dict = {}
        for s in range(nvars):
            if fa[s] and pb:
                _add_product(comp, fa[s], _diff(pb, s), QQ.one)
            if fb[s] and pa:
                _add_product(comp, fb[s], _diff(pa, s), -QQ.one)
        out.append({m: v for m, v in comp.items() if v})
    return out


def _exact(fields, nvars) -> dict | None:
    """Brackets solved against k independent coefficient rows of the basis, checked on all."""
    k = len(fields)
    keys = sorted({(i, m) for f in fields for i, p in enumerate(f) for m in p})
    index = {key: r for r, key in enumerate(keys)}
    columns = [{index[(i, m)]: v for i, p in enumerate(f) for m, v in p.items()}
               for f in fields]
    transpose = DomainMatrix(dict(enumerate(columns)), (k, len(keys)), QQ)
    _, rows = transpose.rref()  # k independent rows of the basis (it is independent)
    if len(rows) < k:
        return None
    square = DomainMatrix([[columns[j].get(r, QQ.zero) for j in range(k)] for r in rows],
                          (k, k), QQ)
    inverse = square.inv().to_dense().rep.to_ddm()
    constants = {}
    for a in range(k):
        for b in range(a + 1, k):
            target = _bracket(fields[a], fields[b], nvars)
            vector = {index.get((i, m)): v for i, p in enumerate(target) for m, v in p.items()}
            if not vector:
                continue
            if None in vector:  # a monomial no generator has: outside the span
                return None
            coeffs = [sum((inverse[j][s] * vector.get(r, QQ.zero) for s, r in enumerate(rows)
                           if r in vector), QQ.zero) for j in range(k)]
            rebuilt: dict = {}
            for j, x in enumerate(coeffs):
                if x:
                    for r, v in columns[j].items():
                        rebuilt[r] = rebuilt.get(r, QQ.zero) + x * v
            if {r: v for r, v in rebuilt.items() if v} != vector:
                return None
            constants[(a, b)] = tuple(QQ.to_sympy(x) for x in coeffs)
    return constants
