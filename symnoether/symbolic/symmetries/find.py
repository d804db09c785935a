"""`find_symmetries`: the stages in order (determining equations, homotheties, solve,
proofs, report)."""

import dataclasses

import sympy

from ...errors import SpecError, SymmetryError
from ..angles import angle_symbols
from ..calculus import gradient
from ..coordinates import TIME
from ..groups import from_generators, trivial
from ..identity import decide_zero
from ..mechanics import lagrangian_of
from ..noether import tidy
from .brackets import structure_constants
from .cases import SymmetryCase, candidate_values
from .determining import natural_form, prolonged_condition
from .homotheties import homotheties
from .report import NoetherSymmetry, SymmetryAlgebra
from .solve import solve_blocks

__all__ = ["find_symmetries"]


def find_symmetries(system, *, lagrangian: sympy.Expr | None = None,
                    max_degree: int = 2, cases: bool = True) -> SymmetryAlgebra:
    r"""Every Noether point symmetry of a Lagrangian, each proved, with the structure constants.

    Finds a basis of the fields $X = \tau(t, q)\,\partial_t + \xi(t, q) \cdot \partial_q$
    with boundary terms $F(t, q)$ such that $\mathrm{pr}X\,L + L\,D_t\tau = D_tF$, and their
    conserved charges $I = \partial L/\partial \dot q \cdot (\xi - \dot q\,\tau) + L\tau - F$.
    The method (see `symnoether/symbolic/symmetries/`): split the condition by powers of the
    velocities, find the homotheties of the metric with a bound that proves them complete,
    then solve the remaining equations exactly as a linear DAE in t.

    **Arguments:**

    - `system`: a [`System`][] with a true Lagrangian (or pass `lagrangian`).
    - `lagrangian`: optional SymPy Lagrangian in `q`, `qdot` instead of the system's.
    - `max_degree`: the largest degree of the homothety ansatz.
    - `cases`: also search at the special values of the system's parameters and report
      where the dimension differs ([`SymmetryCase`][]): each parameter at 0 (a coupling
      0: the free particle), and the roots of the elimination's non-zero assumptions
      over QQ(parameters), e.g. w1 = w2 for an anisotropic oscillator (`cases.py`).

    **Returns:**

    A [`SymmetryAlgebra`][]. It says `complete=True` only when the basis is proved to span
    every Noether point symmetry; otherwise `undecided` says which part was not decided
    (a Lagrangian not quadratic in the velocities, homotheties beyond the ansatz, ...).
    """
    c = system.coordinates
    try:
        L = lagrangian_of(system, lagrangian)
    except ValueError as error:
        raise SpecError(f"{error}; the symmetry finder needs a Lagrangian",
                        what="symmetry search") from None
    t = time_symbol(c)
    steps, undecided = [], []
    form, note = natural_form(L, c)
    steps.append(f"velocity split: {note}")
    if form is None:
        return _result(system, t, [], {}, False, steps, [note])
    H = homotheties(form.g, c, angles=angle_symbols([L]), max_degree=max_degree)
    steps.append(f"homotheties of the metric: {len(H.fields)} ({H.method})")
    if not H.complete:
        undecided.append(f"the homotheties of the metric: {H.method}")
    solutions, note = solve_blocks(form, H, c, t)
    if solutions is None:
        return _result(system, t, [], {}, False, steps, undecided + [note])
    steps.append(f"remaining blocks: {note}")
    generators = _generators(L, c, t, solutions)
    failed = [g.name for g in generators if not g.proved]
    if failed:
        undecided.append(f"the symmetry condition of {', '.join(failed)} was not proved")
    constants = structure_constants([(g.tau,) + g.xi for g in generators], c, t)
    if constants is None:
        undecided.append("a Lie bracket of two generators was not decided in their span")
    complete = not undecided
    result = _result(system, t, generators, constants, complete, steps, undecided,
                     solutions.time_free)
    if cases and lagrangian is None and system.parameters:
        found, note = _cases(system, result, H, max_degree)
        result = dataclasses.replace(result, cases=found, method=result.method + (note,))
    return result


def time_symbol(c) -> sympy.Symbol:
    """The time of tau, xi and F: `TIME`, or `time` when a coordinate is named t."""
    return TIME if TIME not in c.q else sympy.Symbol("time", real=True)


def _cases(system, result, H, max_degree) -> tuple[tuple, str]:
    """The algebras at the special parameter values where the dimension differs."""
    candidates, note = candidate_values(system, H, system.coordinates)
    out = []
    for condition, changed in candidates:
        L = system.lagrangian.xreplace({**system.parameters, **changed})
        if L.has(sympy.zoo, sympy.nan, sympy.oo):
            continue
        other = find_symmetries(system, lagrangian=L, max_degree=max_degree, cases=False)
        if other.dimension != result.dimension or other.complete != result.complete:
            out.append(SymmetryCase(condition, changed, other))
    return tuple(out), note


def _generators(L, c, t, solutions) -> list[NoetherSymmetry]:
    out = []
    p = gradient(L, c.qdot)
    for k, field in enumerate(solutions.fields):
        tau, xi, F = field[0], field[1:-1], field[-1]
        proof = decide_zero(prolonged_condition(L, c, tau, xi, F, t), c)
        charge = tidy(sum((pi * (x - v * tau) for pi, x, v in zip(p, xi, c.qdot)),
                          sympy.Integer(0)) + L * tau - F)
        out.append(NoetherSymmetry(f"X{k + 1}", tau, xi, F, charge, proof))
    return out


def _result(system, t, generators, constants, complete, steps, undecided, time_free=0):
    group, note = _group(system.coordinates, generators[:time_free], t)
    if note:
        undecided = list(undecided) + [note]
        complete = False
    if system.parameters:
        steps = list(steps) + ["parameters: the system's values are substituted"]
    return SymmetryAlgebra(system.name, system.coordinates, t, tuple(generators), constants,
                           complete, group, tuple(steps), tuple(undecided))


def _group(c, generators, t):
    """The proved generators with tau = 0 as a SymmetryGroup (with boundary terms)."""
    usable = [g for g in generators if g.proved and (t == TIME or not any(
        t in e.free_symbols for e in g.xi + (g.F,)))]
    if not usable:
        return trivial(c), None
    try:
        group = from_generators(
            c, [dict(zip(c.q, g.xi)) for g in usable], name="noether",
            names=[g.name for g in usable], charge_names=[f"I_{g.name}" for g in usable],
            boundary=[g.F for g in usable])
    except (SpecError, SymmetryError) as error:
        return trivial(c), f"the generators with tau = 0 did not form a SymmetryGroup: {error}"
    return group, None
