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


def _dm(rows: list[list], width: int) -> DomainMatrix:
    """A sparse DomainMatrix over QQ from rows of rationals (ints, Rationals or QQ)."""
    sparse = {}
    for r, row in enumerate(rows):
        entries = {j: QQ.convert(x) for j, x in enumerate(row) if x}
        if entries:
            sparse[r] = entries
    return DomainMatrix(sparse, (len(rows), width), QQ)


def _rows(matrix: DomainMatrix, count: int | None = None) -> list[list]:
    dense = matrix.to_dense().rep.to_ddm()
    return [list(r) for r in (dense if count is None else dense[:count])]


def solve_dae(A: list[list], B: list[list], m: int) -> LinearDAE | None:
    """Solve A y' + B y = 0 (rows of rationals); None when a free function remains.

    **Arguments:**

    - `A`, `B`: lists of rows of length m (the same number of rows).
    - `m`: the number of unknown functions.

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
        rref, pivots = _dm(rows, 2 * m).rref()
        dense = _rows(rref, len(pivots))
        new = [dense[r][m:] for r, p in enumerate(pivots) if p >= m]
        if not new:
            break
        merged = constraints + new
        if _rank(merged, m) == len(constraints):
            break
        constraints = _basis(merged, m)
        rounds += 1
    N = _nullspace(constraints, m)
    k = N.cols
    if k == 0:
        return LinearDAE(N, sympy.zeros(0, 0), rounds)
    Nd = _dm(N.tolist(), k)
    AN, BN = _dm(A, m) * Nd, _dm(B, m) * Nd
    if AN.rank() < k:
        return None
    rref, pivots = AN.hstack(-BN).rref()
    M = sympy.Matrix([[QQ.to_sympy(x) for x in row[k:]] for row in _rows(rref, k)])
    return LinearDAE(N, M, rounds)


def _rank(rows, width) -> int:
    return _dm(rows, width).rank() if rows else 0


def _basis(rows, width) -> list[list]:
    rref, pivots = _dm(rows, width).rref()
    return _rows(rref, len(pivots))


def _nullspace(rows, m) -> sympy.Matrix:
    if not rows:
        return sympy.eye(m)
    null = _dm(rows, m).nullspace().to_Matrix()
    return null.T if null.rows else sympy.zeros(m, 0)
