"""Boundary terms of quasi-symmetries: X_a L = dF_a/dt, and the charges I_a = p . xi_a - F_a.

Noether's theorem holds for a generator that changes L by a total time derivative,
X_a L = dF_a/dt with F_a(q, t): along solutions dI_a/dt = X_a L - dF_a/dt = 0 for
I_a = dL/dqdot . xi_a - F_a. An exact symmetry is the case F_a = 0.

Deriving F_a from a residual R = X_a L: a total derivative
dF/dt = dF/dq . qdot + dF/dt is affine in qdot, its qdot-coefficients are the gradient of F
in q and its velocity-free part is dF/dt. So R must be affine in qdot (checked as the
identity R = R_0 + sum_i G_i qdot_i with G_i = dR/dqdot_i at qdot = 0), the field
(G, R_0) on (q, t) must be curl-free (dG_i/dq_j = dG_j/dq_i, dG_i/dt = dR_0/dq_i), and then
F = integral of (G, R_0), one variable at a time. The result is proved by the identity test
R - dF/dt = 0 like every other identity (`symnoether.symbolic.identity`).
"""

from dataclasses import dataclass

import sympy

from .coordinates import TIME
from .identity import IdentityTest, decide_zero, undefined_derivatives
from .noether import symmetry_residuals, tidy

__all__ = ["BoundaryTerm", "boundary_terms", "total_derivative"]


@dataclass(frozen=True)
class BoundaryTerm:
    """The boundary term F_a of one generator for one Lagrangian: X_a L = dF_a/dt.

    **Attributes:**

    - `generator`: the generator's name.
    - `F`: F_a(q, t); 0 for an exact symmetry; None where X_a L is not a total derivative
      (or it could not be decided or integrated: `reason` says which).
    - `origin`: `"given"` (declared with the group), `"symmetry"` (X_a L = 0),
      `"derived"` (integrated from X_a L) or `"none"` (no Lagrangian to derive it from; F = 0).
    - `test`: the identity test of X_a L - dF_a/dt = 0, or None for origin `"none"`.
    - `reason`: why there is no valid F_a, else None.
    """

    generator: str
    F: sympy.Expr | None
    origin: str
    test: IdentityTest | None = None
    reason: str | None = None

    @property
    def holds(self) -> bool:
        """Whether X_a L = dF_a/dt was proved."""
        return self.F is not None and (self.test is None or self.test.zero)

    @property
    def value(self) -> sympy.Expr:
        """F_a, or 0 where there is none (the charge is then the plain p . xi_a)."""
        return sympy.Integer(0) if self.F is None else self.F


def total_derivative(F: sympy.Expr, coordinates) -> sympy.Expr:
    """$dF/dt = \\partial F/\\partial q \\cdot \\dot q + \\partial F/\\partial t$ of F(q, t)."""
    F = sympy.sympify(F)
    free = F.free_symbols
    out = sympy.Add(*(sympy.diff(F, s) * v for s, v in zip(coordinates.q, coordinates.qdot)
                      if s in free))
    if TIME in free and TIME not in coordinates.q:
        out += sympy.diff(F, TIME)
    return out


def boundary_terms(system, lagrangian: sympy.Expr | None = None) -> tuple[BoundaryTerm, ...]:
    """The boundary term of every generator for a Lagrangian.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: a SymPy Lagrangian (parameters are substituted); None: the system's own
      boundary terms, `system.boundary` (from the known part of the model's Lagrangian if
      the system declares one, else from the true Lagrangian, else the declared ones).

    **Returns:**

    One [`BoundaryTerm`][] per generator: the declared F_a (tested), or F_a derived from
    X_a L. Never raises for a residual that is not a total derivative; `reason` says why.
    """
    if lagrangian is None:
        return system.boundary
    from .mechanics import lagrangian_of

    L = lagrangian_of(system, lagrangian)
    group = system.symmetry
    residuals = symmetry_residuals(system, L)
    return tuple(
        _boundary(system, name, R, F) for name, R, F in zip(group.names, residuals, group.boundary)
    )


def declared_boundary_terms(system) -> tuple[BoundaryTerm, ...]:
    """Without a Lagrangian: the declared terms (untested), zero elsewhere."""
    return tuple(
        BoundaryTerm(name, sympy.Integer(0) if F is None else F,
                     "none" if F is None else "given")
        for name, F in zip(system.symmetry.names, system.symmetry.boundary)
    )


def _boundary(system, name: str, R: sympy.Expr, given: sympy.Expr | None) -> BoundaryTerm:
    c = system.coordinates
    if given is not None:
        test = decide_zero(R - total_derivative(given, c), c, family=True)
        reason = None if test.zero else (
            "X_a L - dF_a/dt != 0 for the declared boundary term F_a = "
            f"{given}" if not test.undecided else "X_a L - dF_a/dt = 0 could not be decided")
        return BoundaryTerm(name, given, "given", test, reason)
    test = decide_zero(R, c, family=True)
    if test.zero:
        return BoundaryTerm(name, sympy.Integer(0), "symmetry", test)
    if test.undecided:
        return BoundaryTerm(name, None, "derived", test,
                            "whether X_a L vanishes or is a total derivative could not be decided")
    if undefined_derivatives(R):
        return BoundaryTerm(name, None, "derived", test,
                            "X_a L involves the derivatives of an undefined function, so no "
                            "boundary term is derived for it")
    F, reason = _integrate(R, c, system.time_dependent)
    if F is None:
        return BoundaryTerm(name, None, "derived", test, reason)
    proof = decide_zero(R - total_derivative(F, c), c)
    reason = None if proof.zero else (
        f"the integrated F = {F} does not satisfy X_a L = dF/dt; declare the boundary term "
        "with boundary=[...]")
    return BoundaryTerm(name, F if proof.zero else None, "derived", proof, reason)


def _integrate(R: sympy.Expr, c, timed: bool) -> tuple[sympy.Expr | None, str | None]:
    """F with dF/dt = R, or (None, why not)."""
    at_rest = {v: sympy.Integer(0) for v in c.qdot}
    R0 = R.xreplace(at_rest)
    G = [sympy.diff(R, v).xreplace(at_rest) for v in c.qdot]
    if any(e.has(sympy.zoo, sympy.nan, sympy.oo) for e in [R0, *G]) or not decide_zero(
        R - R0 - sympy.Add(*(g * v for g, v in zip(G, c.qdot))), c
    ).zero:
        return None, (
            f"X_a L = {tidy(R)} is not affine in the velocities, while a total derivative "
            "dF/dt = dF/dq . qdot + dF/dt of any F(q, t) is: this is not a quasi-symmetry")
    variables, field = list(c.q), [tidy(g) for g in G]
    if timed:
        variables.append(TIME)
        field.append(tidy(R0))
    elif not decide_zero(R0, c).zero:
        return None, (
            f"X_a L = {tidy(R)} has the velocity-free part {tidy(R0)}, which the total "
            "derivative dF/dt = dF/dq . qdot of an F(q) cannot have (only time-dependent "
            "generators may have an F(q, t))")
    curl = _curl(variables, field, c)
    if curl is not None:
        return None, (
            f"X_a L = {tidy(R)} is affine in the velocities, but its coefficients are not a "
            f"gradient: {curl}, so no F(q, t) has dF/dt = X_a L (not a quasi-symmetry)")
    F = sympy.Integer(0)
    for w, g in zip(variables, field):
        h = g - sympy.diff(F, w)
        if decide_zero(h, c).zero:
            continue
        part = sympy.integrate(tidy(h), w)
        if part.has(sympy.Integral):
            return None, (f"X_a L = {tidy(R)} looks like a total derivative, but SymPy could "
                          f"not integrate {h} in {w}; declare F with boundary=[...]")
        F += part
    return tidy(F), None


def _curl(variables, field, c) -> str | None:
    """A failed integrability condition dG_i/dw_j = dG_j/dw_i, in words, or None."""
    def part(w):
        return "the velocity-free part" if w == TIME else f"the coefficient of {w}dot"

    for i, (wi, gi) in enumerate(zip(variables, field)):
        for wj, gj in zip(variables[i + 1:], field[i + 1:]):
            if gi == 0 and gj == 0:
                continue
            difference = sympy.diff(gi, wj) - sympy.diff(gj, wi)
            test = decide_zero(difference, c)
            if not test.zero:
                return (f"d/d{wj} of {part(wi)} minus d/d{wi} of {part(wj)} is "
                        f"{test.residual} != 0")
    return None
