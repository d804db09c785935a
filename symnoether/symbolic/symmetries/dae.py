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
    return DomainMatrix([[QQ.from_sympy(sympy.Rational(x)) for x in r] for r in rows],
                        (len(rows), width), QQ)


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
        rref = rref.to_Matrix()
        new = [list(rref.row(r)[m:]) for r, p in enumerate(pivots) if p >= m]
        merged = constraints + new
        if _rank(merged, m) == _rank(constraints, m):
            break
        constraints = _basis(merged, m)
        rounds += 1
    N = _nullspace(constraints, m)
    k = N.cols
    if k == 0:
        return LinearDAE(N, sympy.zeros(0, 0), rounds)
    AN, BN = sympy.Matrix(A) * N if A else sympy.zeros(0, k), sympy.Matrix(B) * N if B else None
    if AN.rows == 0 or _rank(AN.tolist(), k) < k:
        return None
    system = AN.row_join(-BN)
    rref, pivots = _dm(system.tolist(), 2 * k).rref()
    rref = rref.to_Matrix()
    M = rref[:k, k:]
    return LinearDAE(N, M, rounds)


def _rank(rows, width) -> int:
    return _dm(rows, width).rank() if rows else 0


def _basis(rows, width) -> list[list]:
    rref, pivots = _dm(rows, width).rref()
    rref = rref.to_Matrix()
    return [list(rref.row(r)) for r in range(len(pivots))]


def _nullspace(rows, m) -> sympy.Matrix:
    if not rows:
        return sympy.eye(m)
    null = _dm(rows, m).nullspace().to_Matrix()
    return null.T if null.rows else sympy.zeros(m, 0)
