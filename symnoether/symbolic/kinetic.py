"""How each invariant depends on the velocities: what a natural Lagrangian is built from.

A natural Lagrangian $L = \\tfrac12 \\dot q^T M(q) \\dot q - V(q)$ of invariants takes $V$ and
the coefficients of $M$ as functions of the position invariants (degree 0 in $\\dot q$), and
$M$ from the linear invariants $u_i = a_i(q) \\cdot \\dot q$ and the quadratic invariants
$\\dot q^T B_j \\dot q$ with a constant positive semi-definite $B_j$
(`numeric/natural.py`). This module decides both symbolically, exactly: the degree by
expanding in the velocities, the definiteness of a constant rational $B_j$ by its exact
eigenvalues.
"""

from dataclasses import dataclass

import sympy

__all__ = ["VelocityStructure", "velocity_structure"]

#: The degree reported for an invariant that is not a homogeneous polynomial of degree 0, 1
#: or 2 in the velocities (it cannot enter a natural Lagrangian).
OTHER = -1


@dataclass(frozen=True)
class VelocityStructure:
    """Per invariant, its degree in the velocities, and which quadratic ones are kinetic.

    **Fields:**

    - `degrees`: one entry per invariant: 0, 1 or 2 for a homogeneous polynomial of that
        degree in $\\dot q$, else -1.
    - `kinetic_forms`: the indices of the quadratic invariants $\\dot q^T B \\dot q$ whose
        $B$ is constant and positive semi-definite.
    """

    degrees: tuple[int, ...]
    kinetic_forms: tuple[int, ...]


def _degree(expr: sympy.Expr, qdot) -> int:
    try:
        poly = sympy.Poly(sympy.expand(expr), *qdot)
    except sympy.PolynomialError:
        return OTHER
    if poly.is_zero:
        return 0
    degrees = {sum(monomial) for monomial in poly.monoms()}
    return degrees.pop() if len(degrees) == 1 and degrees <= {0, 1, 2} else OTHER


def _constant_semidefinite(expr: sympy.Expr, qdot) -> bool:
    hessian = sympy.hessian(expr, qdot)
    if not all(entry.is_number for entry in hessian):
        return False
    return all(sympy.nsimplify(value) >= 0 for value in hessian.eigenvals())


def velocity_structure(exprs, qdot) -> VelocityStructure:
    """The [`VelocityStructure`][] of invariant expressions.

    **Arguments:**

    - `exprs`: the invariants $S_j(q, \\dot q)$ (SymPy expressions).
    - `qdot`: the velocity symbols.

    **Returns:**

    Their degrees and kinetic forms.
    """
    qdot = tuple(qdot)
    degrees = tuple(_degree(expr, qdot) for expr in exprs)
    forms = tuple(
        j for j, (expr, degree) in enumerate(zip(exprs, degrees))
        if degree == 2 and _constant_semidefinite(expr, qdot)
    )  # fmt: skip
    return VelocityStructure(degrees, forms)
