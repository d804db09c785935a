r"""Linear differential-algebraic equations with constant rational coefficients, exactly.

$A\, y'(t) + B\, y(t) = 0$ for $y(t) \in \mathbb R^m$. Rows without a derivative are
constraints $C y = 0$; every solution also satisfies their derivatives $C y' = 0$, which
are added to the system; row reduction then may expose new constraints, and so on until
none appears (at most m rounds). At that point every consistent initial value
$y(0) \in W = \ker C$ has exactly one solution when $A$ restricted to $W$ is injective:
$y = N z$, $z' = M z$, and the solution space has dimension $\dim W$. Otherwise some
combination of $y$ is a free function of t: infinitely many solutions.
"""

from dataclasses import dataclass

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

__all__ = ["LinearDAE", "solve_dae"]


@dataclass(frozen=True)
class LinearDAE:
    """The solutions y = N exp(M t) z0 of a linear DAE, z0 in QQ^k.

    **Attributes:**

    - `N`: the m x k basis of the consistent initial values W (SymPy Matrix).
    - `M`: the k x k matrix of z' = M z.
    - `rounds`: how many rounds of differentiated constraints it took.
    """

    N: sympy.Matrix
    M: sympy.Matrix
    rounds: int

    @property
    def dimension(self) -> int:
        return self.N.cols


def _dm(rows: list[list], width: int, domain=QQ) -> DomainMatrix:
    """A sparse DomainMatrix over `domain` (QQ, or QQ(parameters)) from rows of its
    elements (or ints, Rationals, SymPy expressions it converts)."""
    sparse = {}
    for r, row in enumerate(rows):
        entries = {j: domain.convert(x) for j, x in enumerate(row) if x}
        entries = {j: x for j, x in entries.items() if x}
        if entries:
            sparse[r] = entries
    return DomainMatrix(sparse, (len(rows), width), domain)


def _rows(matrix: DomainMatrix, count: int | None = None) -> list[list]:
    dense = matrix.to_dense().rep.to_ddm()
    return [list(r) for r in (dense if count is None else dense[:count])]


def solve_dae(A: list[list], B: list[list], m: int, *, domain=QQ,
              conditions: list | None = None) -> LinearDAE | None:
    """Solve A y' + B y = 0 (rows of rationals); None when a free function remains.

    **Arguments:**

    - `A`, `B`: lists of rows of length m (the same number of rows).
    - `m`: the number of unknown functions.
    - `domain`: the field of the coefficients: QQ, or QQ(parameters) for the search of
      special parameter values (`cases.py`).
    - `conditions`: a list to which, over QQ(parameters), the polynomials in the
      parameters whose vanishing could change a rank of the elimination are appended.

    **Returns:**

    A [`LinearDAE`][], or None when the solution space is infinite-dimensional.
    """
    zero = [0] * m
    constraints: list[list] = []
    rounds = 0
    while True:
        rows = [a + b for a, b in zip(A, B)] + [c + zero for c in constraints]
        if not rows:
            break
        matrix = _dm(rows, 2 * m, domain)
        _record(matrix, conditions)
        rref, pivots = matrix.rref()
        dense = _rows(rref, len(pivots))
        new = [dense[r][m:] for r, p in enumerate(pivots) if p >= m]
        if not new:
            break
        merged = constraints + new
        if _rank(merged, m, domain) == len(constraints):
            break
        constraints = _basis(merged, m, domain)
        rounds += 1
    if constraints:
        _record(_dm(constraints, m, domain), conditions)
    N = _nullspace(constraints, m, domain)
    k = N.cols
    if k == 0:
        return LinearDAE(N, sympy.zeros(0, 0), rounds)
    Nd = _dm(N.tolist(), k, domain)
    AN, BN = _dm(A, m, domain) * Nd, _dm(B, m, domain) * Nd
    _record(AN, conditions)
    if AN.rank() < k:
        return None
    rref, pivots = AN.hstack(-BN).rref()
    M = sympy.Matrix([[domain.to_sympy(x) for x in row[k:]] for row in _rows(rref, k)])
    return LinearDAE(N, M, rounds)


def _record(matrix: DomainMatrix, conditions: list | None) -> None:
    if conditions is not None and not matrix.domain.is_QQ:
        conditions.extend(rank_conditions(matrix))


def rank_conditions(matrix: DomainMatrix) -> list[sympy.Expr]:
    """Polynomials in the parameters, one of which vanishes wherever the rank of a matrix
    over QQ(parameters) may drop: Gaussian elimination over QQ(parameters) that prefers
    constant pivots stays valid, step for step, at every value where no pivot and no
    denominator vanishes, and gives the same rank there.

    **Arguments:**

    - `matrix`: a DomainMatrix over a fraction field QQ(p_1..p_k).

    **Returns:**

    The non-constant numerators and denominators of the pivots and the denominators of
    the entries, as SymPy expressions (not factored).
    """
    K = matrix.domain
    rows = [list(r) for r in matrix.to_dense().rep.to_ddm()]
    out = {K.denom(x) for r in rows for x in r if x}
    width = matrix.shape[1]
    for j in range(width):
        live = [r for r in rows if r[j]]
        if not live:
            continue
        pivot = min(live, key=lambda r: _size(K, r[j]))
        rows = [r for r in rows if r is not pivot]
        out |= {K.numer(pivot[j]), K.denom(pivot[j])}
        inverse = K.one / pivot[j]
        for r in rows:
            if r[j]:
                factor = r[j] * inverse
                for k in range(j, width):
                    if pivot[k]:
                        r[k] -= factor * pivot[k]
    return sorted((e for e in (K.to_sympy(x) for x in out) if e.free_symbols),
                  key=sympy.default_sort_key)


def _size(K, x) -> tuple[int, int]:
    parts = (K.numer(x), K.denom(x))
    return (sum(max((sum(m) for m in p.monoms()), default=0) for p in parts),
            sum(len(p.terms()) for p in parts))


def _rank(rows, width, domain=QQ) -> int:
    return _dm(rows, width, domain).rank() if rows else 0


def _basis(rows, width, domain=QQ) -> list[list]:
    rref, pivots = _dm(rows, width, domain).rref()
    return _rows(rref, len(pivots))


def _nullspace(rows, m, domain=QQ) -> sympy.Matrix:
    if not rows:
        return sympy.eye(m)
    null = _dm(rows, m, domain).nullspace().to_Matrix()
    return null.T if null.rows else sympy.zeros(m, 0)
