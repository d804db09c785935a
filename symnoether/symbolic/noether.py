"""Noether charges and the energy of a Lagrangian, and the symmetries it breaks.

For a point symmetry with generator xi_a(q, t) and boundary term F_a(q, t) the Noether
charge is I_a = dL/dqdot . xi_a - F_a; along solutions of the Euler-Lagrange equations
dI_a/dt = X_a L - dF_a/dt, with X_a the lift of xi_a to TQ, so I_a is conserved exactly when
X_a L = dF_a/dt (a symmetry for F_a = 0, else a quasi-symmetry; see `boundary.py`). An
autonomous Lagrangian conserves E = qdot . dL/dqdot - L too; with non-conservative forces or
an explicit time (`c.time`; a coordinate named t is a coordinate, not the time) charges and
energy obey balance laws instead (`balance.py`).
"""

from collections.abc import Sequence

import sympy

from .calculus import gradient
from .identity import (
    bounded_expand,
    decide_zero,
    has_high_powers,
    node_count,
    undefined_derivatives,
)
from .mechanics import lagrangian_of

__all__ = [
    "broken_symmetries",
    "energy",
    "family_lagrangian",
    "noether_charges",
    "symmetry_residuals",
    "tidy",
]

# Above this many nodes a normal form is not worth its cost; the expression is kept as is.
_TIDY_LIMIT = 4000


def noether_charges(
    system, lagrangian: sympy.Expr | None = None, *, boundary=None
) -> dict[str, sympy.Expr]:
    """The Noether charge of every generator of the system's symmetry.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: any SymPy Lagrangian in `q` and `qdot`, e.g. `f(S_1, ..., S_M)` for an
      undefined `sympy.Function` `f` (default: the system's true Lagrangian).
    - `boundary`: the boundary terms F_a, one per generator (default: the system's,
      `system.boundary`: declared, or derived from its known or true Lagrangian; zero for
      exact symmetries).

    **Returns:**

    `{charge_name: I_a}` with
    $I_a = \\partial L/\\partial \\dot q \\cdot \\xi_a(q, t) - F_a(q, t)$, in the order of
    the generators. A charge is computed even when its generator is not a (quasi-)symmetry
    of `lagrangian`; see [`broken_symmetries`][].
    """
    c, group = system.coordinates, system.symmetry
    L = lagrangian_of(system, lagrangian)
    momenta = gradient(L, c.qdot)
    if boundary is None:
        boundary = [b.value for b in system.boundary]
    return {
        name: tidy(sum((p * x for p, x in zip(momenta, xi) if x != 0), sympy.Integer(0)) - F)
        for name, xi, F in zip(group.charge_names, group.generators, boundary)
    }


def energy(system, lagrangian: sympy.Expr | None = None) -> sympy.Expr:
    """The energy $E = \\dot q \\cdot \\partial L/\\partial \\dot q - L$.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: any SymPy Lagrangian (default: the system's true Lagrangian).

    **Returns:**

    The SymPy expression of E (conserved when L does not depend on time explicitly and no
    non-conservative force acts; see `balance.energy_rate`).
    """
    c = system.coordinates
    L = lagrangian_of(system, lagrangian)
    return tidy(sympy.Add(*(v * p for v, p in zip(c.qdot, gradient(L, c.qdot)))) - L)


def symmetry_residuals(system, lagrangian: sympy.Expr | None = None) -> tuple[sympy.Expr, ...]:
    """$X_a L$ for every generator, unsimplified: zero exactly for the symmetries of L.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: any SymPy Lagrangian (default: the system's true Lagrangian).

    **Returns:**

    One expression per generator. The gradient of L on TQ is computed once and contracted
    with each lifted generator (differentiating `f(S)` is the expensive part).
    """
    group, c = system.symmetry, system.coordinates
    L = lagrangian_of(system, lagrangian)
    grad = gradient(L, c.state)
    return tuple(
        sympy.Add(*(x * g for x, g in zip(group.lift(a), grad) if x != 0 and g != 0))
        for a in range(group.K)
    )


def broken_symmetries(
    system, lagrangian: sympy.Expr | None = None
) -> dict[str, sympy.Expr]:
    """The generators that are not symmetries of a Lagrangian, with the residual X_a L.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: any SymPy Lagrangian (default: the system's true Lagrangian).

    **Returns:**

    `{generator_name: X_a L}` (simplified) for every generator with $X_a L \\neq 0$; empty
    when the whole group is a symmetry. Quasi-symmetries (X_a L = dF_a/dt, still conserving
    I_a = dL/dqdot . xi_a - F_a) are listed too; [`boundary_terms`][] tells them apart.
    Zero is decided symbolically, else by exact evaluation at random rational points.
    """
    broken = {}
    residuals = symmetry_residuals(system, lagrangian)
    for name, residual in zip(system.symmetry.names, residuals):
        result = decide_zero(residual, system.coordinates, family=True)
        if not result.zero:
            broken[name] = result.residual
    return broken


def family_lagrangian(invariants: Sequence[sympy.Expr], *, name: str = "f") -> sympy.Expr:
    """The network family $L = f(S_1, \\ldots, S_M)$ with `f` an undefined SymPy function.

    **Arguments:**

    - `invariants`: the invariant expressions S_j.
    - `name`: the name of the undefined function.

    **Returns:**

    `sympy.Function(name)(*invariants)`: every Lagrangian network is an instance.
    """
    return sympy.Function(name)(*invariants)


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """A compact normal form of a charge: the shorter of `expand` and `cancel`.

    Terms with derivatives of an undefined function (the network family) are grouped by
    derivative, each coefficient in its own compact form. `simplify` is never called: it is
    slow on big expressions and its result is not canonical; powers of sums with exponent
    above 2 (Lennard-Jones' r^-12) are never multiplied out, and `cancel` is skipped then.
    """
    expr = sympy.sympify(expr)
    if expr.is_number or node_count(expr) > _TIDY_LIMIT:
        return expr
    atoms = undefined_derivatives(expr)
    if atoms:
        return _tidy_linear(expr, atoms)
    if has_high_powers(expr):  # expand or cancel would multiply out e.g. r^-12
        return bounded_expand(expr)
    candidates = [sympy.expand(expr)]
    if candidates[0].has(sympy.Pow):
        candidates.append(sympy.cancel(candidates[0]))
    return min(candidates, key=lambda e: (node_count(e), sympy.default_sort_key(e)))


def _tidy_linear(expr: sympy.Expr, atoms: list[sympy.Expr]) -> sympy.Expr:
    """expr as sum_k atom_k * coefficient_k (+ rest), each part compact."""
    dummies = [sympy.Dummy(f"d{k}") for k in range(len(atoms))]
    linear = expr.xreplace(dict(zip(atoms, dummies)))
    terms = sympy.collect(bounded_expand(linear), dummies, evaluate=False)
    out = sympy.Integer(0)
    for key, coeff in terms.items():
        coeff = tidy(coeff) if not undefined_derivatives(coeff) else coeff
        out += sympy.factor_terms(coeff) * key
    return out.xreplace(dict(zip(dummies, atoms)))
