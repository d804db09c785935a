r"""The linear and velocity-free blocks, reduced to a linear DAE in t, and its solutions.

With $\tau = \tau(t)$ and $\xi = \sum_a \alpha_a(t) X_a(q)$ (`determining.py`,
`homotheties.py`):

- linear block: the 1-form $\sum_a \alpha_a \Omega_a + \alpha_a' \Gamma_a$, with
  $\Omega_a = \mathcal L_{X_a} A$ and $\Gamma_a = g X_a$, must be $dF$ for every t. The
  pairs $(\beta, \gamma)$ with $\sum_a \beta_a \Omega_a + \gamma_a \Gamma_a$ closed form a
  subspace E (its curl vanishes: `span.linear_relations`); closed is exact locally, with a
  potential $P_e$ for each basis vector of E. So $(\alpha, \alpha') = \sum_e w_e(t)
  (\beta^e, \gamma^e)$ and $F = \sum_e w_e(t) P_e(q) + f(t)$.
- velocity-free block: $\sum_a \alpha_a (X_a V + c_a V) - \alpha_a' A \cdot X_a
  + \sum_e w_e' P_e + f' = 0$ for all q: the coefficients lie in the relations among these
  functions of q (with $\alpha' = \sum_e w_e \gamma^e$).

Together with $\tau' = \sum_a c_a \alpha_a$ this is a linear DAE with constant rational
coefficients (the Lagrangian is autonomous) in $y = (\tau, w, f)$, with
$\alpha = \sum_e w_e \beta^e$ and $\alpha' = \sum_e w_e \gamma^e$, solved exactly by
`dae.solve_dae`. The constant $f$ (F shifted by a constant, X = 0) is the one trivial
solution; the dimension of the algebra is the dimension of the DAE's solutions minus one.
"""

from dataclasses import dataclass

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from ..identity import decide_zero
from ..span import linear_relations
from .dae import solve_dae
from .determining import NaturalForm
from .homotheties import Homotheties

__all__ = ["Solutions", "solve_blocks"]


@dataclass(frozen=True)
class Solutions:
    """A basis of the Noether point symmetries, as exact functions of t and q.

    **Attributes:**

    - `fields`: k tuples (tau, xi_1..xi_n, F).
    - `time_free`: how many of them, first in `fields`, have tau = 0.
    - `method`: how the blocks were solved, in words.
    """

    fields: tuple[tuple[sympy.Expr, ...], ...]
    time_free: int
    method: str


def _curl(form, q) -> list[sympy.Expr]:
    n = len(q)
    return [sympy.diff(form[j], q[i]) - sympy.diff(form[i], q[j])
            for i in range(n) for j in range(i + 1, n)]


def _lie_A(X, A, q) -> list[sympy.Expr]:
    n = len(q)
    return [sum((X[k] * sympy.diff(A[i], q[k]) + A[k] * sympy.diff(X[k], q[i])
                 for k in range(n)), sympy.Integer(0)) for i in range(n)]


def _potential(form, c) -> tuple[sympy.Expr | None, str]:
    """P with dP = form (a closed 1-form in q), integrated one coordinate at a time."""
    if all(w == 0 for w in form):
        return sympy.Integer(0), ""
    P = sympy.Integer(0)
    for s, w in zip(c.q, form):
        h = sympy.expand(w - sympy.diff(P, s))
        if h == 0 or decide_zero(h, c).zero:
            continue
        part = sympy.integrate(h, s)
        if part.has(sympy.Integral):
            return None, f"SymPy could not integrate {h} in {s}"
        P += part
    tests = [decide_zero(sympy.diff(P, s) - w, c) for s, w in zip(c.q, form)]
    if not all(t.zero for t in tests):
        return None, f"the potential {P} of a closed 1-form failed its proof"
    return sympy.expand(P), ""


def solve_blocks(form: NaturalForm, H: Homotheties, c, t) -> tuple[Solutions | None, str]:
    """The Noether symmetries of a natural Lagrangian, given its homotheties.

    **Arguments:**

    - `form`: the [`NaturalForm`][] of the Lagrangian; `H`: the [`Homotheties`][] of its
      metric; `c`: the [`Coordinates`][]; `t`: the time symbol.

    **Returns:**

    `(solutions, note)`: the [`Solutions`][] and how, or `(None, reason)`.
    """
    q, g, A, V = c.q, form.g, form.A, form.V
    X, cs = H.fields, H.factors
    h = len(X)
    Gamma = [[sum((g[i, k] * x[k] for k in range(c.n)), sympy.Integer(0)) for i in range(c.n)]
             for x in X]
    Omega = [_lie_A(x, A, q) for x in X] if any(a != 0 for a in A) else [[0] * c.n] * h
    closed = linear_relations([_curl(f, q) for f in Omega + Gamma], c)
    if not closed.decided:
        return None, f"which 1-forms are closed: {closed.method}"
    E = closed.basis
    P = []
    for e in E:
        one_form = [sum((b * o[i] for b, o in zip(e[:h], Omega) if b), sympy.Integer(0))
                    + sum((gm * G[i] for gm, G in zip(e[h:], Gamma) if gm), sympy.Integer(0))
                    for i in range(c.n)]
        potential, why = _potential(one_form, c)
        if potential is None:
            return None, why
        P.append(potential)
    # With a gyroscopic term, eta . A adds A . d(xi)/dt = sum_a alpha_a' A . X_a, and
    # alpha' = sum_e gamma^e w_e: the functions psi_e = sum_a gamma^e_a A . X_a multiply w.
    psi = []
    if any(a != 0 for a in A):
        AX = [sum((a * x for a, x in zip(A, field) if a != 0 and x != 0), sympy.Integer(0))
              for field in X]
        psi = [-sympy.expand(sum((vec[h + k] * AX[k] for k in range(h) if vec[h + k] != 0),
                                 sympy.Integer(0))) for vec in E]
    functions = _velocity_free(X, cs, V, c) + P + [1] + psi
    split = linear_relations([(f,) for f in functions], c)
    if not split.decided:
        return None, f"splitting the velocity-free block in q: {split.method}"
    dae = _dae(h, E, cs, split.basis, gyroscopic=bool(psi))
    if dae is None:
        return None, "the reduced equations in t leave a free function (infinitely many)"
    fields, time_free = _fields(dae, X, P, E, h, c, t)
    method = (f"{h} homotheties, {len(E)} closed 1-form combinations ({closed.method}), "
              f"velocity-free block split in q ({split.method}); a linear DAE in t of "
              f"{2 + len(E)} unknowns solved exactly: {dae.dimension} solutions, one of "
              "them the trivial constant F")
    return Solutions(tuple(fields), time_free, method), method


def _velocity_free(X, cs, V, c) -> list:
    """X_a V + c_a V for each homothety: `Poly`s over QQ when all are polynomial (no
    expansion of big potentials), else expressions."""
    q = c.q
    try:
        Vp = sympy.Poly(V, *q, domain=sympy.QQ)
        Xp = [[sympy.Poly(x, *q, domain=sympy.QQ) for x in field] for field in X]
    except (sympy.PolynomialError, sympy.CoercionFailed, sympy.GeneratorsNeeded):
        return [sympy.expand(sum((x[k] * sympy.diff(V, q[k]) for k in range(c.n) if x[k] != 0),
                                 sympy.Integer(0)) + ck * V) for x, ck in zip(X, cs)]
    grad = [Vp.diff(s) for s in q]
    out = []
    for field, ck in zip(Xp, cs):
        phi = Vp * ck
        for x, d in zip(field, grad):
            if not x.is_zero and not d.is_zero:
                phi = phi + x * d
        out.append(phi)
    return out


def _dae(h, E, cs, relations, *, gyroscopic: bool, domain=QQ, conditions=None):
    """Rows of A y' + B y = 0 for y = (tau, w_1..e, f), with alpha = sum_e beta^e w_e:

    tau' = sum_a c_a alpha_a; alpha' = sum_e gamma^e w_e; and (alpha, w', f') in the span
    of the relations of the velocity-free block (orthogonal to their annihilator).
    """
    e = len(E)
    m = 2 + e
    A, B = [], []
    a, b = [0] * m, [0] * m
    a[0] = 1
    for j, vec in enumerate(E):
        b[1 + j] = -sum((cs[k] * vec[k] for k in range(h)), 0)
    A.append(a)
    B.append(b)
    for k in range(h):
        a, b = [0] * m, [0] * m
        for j, vec in enumerate(E):
            a[1 + j] = vec[k]
            b[1 + j] = -vec[h + k]
        if any(a) or any(b):
            A.append(a)
            B.append(b)
    width = h + 2 * e + 1 if gyroscopic else h + e + 1
    for ann in _annihilator(relations, width, domain):
        a, b = [0] * m, [0] * m
        for j, vec in enumerate(E):
            b[1 + j] = sum((ann[k] * vec[k] for k in range(h)), 0)
            a[1 + j] = ann[h + j]
        a[m - 1] = ann[h + e]
        if gyroscopic:  # the coefficients of psi_e multiply w_e itself
            for j in range(e):
                b[1 + j] += ann[h + e + 1 + j]
        A.append(a)
        B.append(b)
    return solve_dae(A, B, m, domain=domain, conditions=conditions)


def _annihilator(relations, width, domain=QQ) -> list[list]:
    """A basis of the vectors orthogonal to every relation (over QQ, or QQ(parameters))."""
    if not relations:
        return [[int(i == j) for i in range(width)] for j in range(width)]
    matrix = DomainMatrix([[domain.convert(x) for x in r] for r in relations],
                          (len(relations), width), domain)
    null = matrix.nullspace().to_Matrix()
    return [list(null.row(r)) for r in range(null.rows)]


def _exp(M: sympy.Matrix, t) -> sympy.Matrix:
    """exp(M t) exactly, block by block of M's coupling pattern: a finite sum for a
    nilpotent block, else SymPy's Jordan form, in real form (cos, sin)."""
    k = M.rows
    out = sympy.zeros(k, k)
    for block in _blocks(M):
        sub = M.extract(block, block)
        E = _exp_block(sub, t)
        for a, i in enumerate(block):
            for b, j in enumerate(block):
                out[i, j] = E[a, b]
    return out


def _blocks(M: sympy.Matrix) -> list[list[int]]:
    """The connected components of the graph with an edge i - j where M_ij or M_ji != 0."""
    k, seen, blocks = M.rows, set(), []
    for start in range(k):
        if start in seen:
            continue
        stack, block = [start], []
        seen.add(start)
        while stack:
            i = stack.pop()
            block.append(i)
            for j in range(k):
                if j not in seen and (M[i, j] != 0 or M[j, i] != 0):
                    seen.add(j)
                    stack.append(j)
        blocks.append(sorted(block))
    return blocks


def _exp_block(M: sympy.Matrix, t) -> sympy.Matrix:
    k = M.rows
    power, out = sympy.eye(k), sympy.eye(k)
    for j in range(1, k + 1):
        power = power * M
        if power.is_zero_matrix:
            return out
        out += power * t**j / sympy.factorial(j)
    E = (M * t).exp()
    return E.applyfunc(lambda x: sympy.expand(sympy.expand_complex(x.rewrite(sympy.cos))))


def _fields(dae, X, P, E, h, c, t):
    """The generators (tau, xi, F) of a basis of the solutions modulo the constant F: those
    with tau = 0 first (initial values unobservable in tau), then unit initial values."""
    N, M = dae.N, dae.M
    k = N.cols
    f_col = next(j for j in range(k) if N[N.rows - 1, j] != 0)  # the pure-f column
    Md = DomainMatrix([[QQ.convert(x) for x in row] for row in M.tolist()], (k, k), QQ)
    row = DomainMatrix([[QQ.convert(x) for x in N.row(0)]], (1, k), QQ)
    observe = [row]
    for _ in range(k - 1):
        observe.append(observe[-1] * Md)
    free = DomainMatrix.vstack(*observe).nullspace().to_dense().rep.to_ddm()
    free = [[x if j != f_col else QQ.zero for j, x in enumerate(v)] for v in free]
    free = [v for v in free if any(v)]
    if free:
        rref, pivots = DomainMatrix(free, (len(free), k), QQ).rref()
        free = rref.to_dense().rep.to_ddm()[:len(pivots)]
    else:
        pivots = ()
    units = [[QQ.one if i == j else QQ.zero for i in range(k)] for j in range(k)
             if j not in pivots and j != f_col]
    expMt = _exp(M, t)
    fields = []
    for v in list(free) + units:
        column = expMt * sympy.Matrix([QQ.to_sympy(x) for x in v])
        y = N * column
        tau = sympy.expand(y[0])
        w = y[1:1 + len(E)]
        alpha = [sum((vec[j] * wj for vec, wj in zip(E, w) if vec[j] != 0), sympy.Integer(0))
                 for j in range(h)]
        xi = tuple(sympy.expand(sum((a * x[i] for a, x in zip(alpha, X) if a != 0),
                                    sympy.Integer(0))) for i in range(c.n))
        F = sympy.expand(sum((wj * p for wj, p in zip(w, P) if wj != 0 and p != 0),
                             y[-1]))
        fields.append((tau,) + xi + (F,))
    return fields, len(free)
