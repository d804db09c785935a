"""Non-conservative forces: a Rayleigh dissipation function and generalised forces.

A system may declare a Rayleigh function R(q, qdot) >= 0 (friction) and generalised forces
Q(q, qdot, t) (driving, control). The equations of motion are then the Lagrange-d'Alembert
equations

    d/dt dL/dqdot - dL/dq = Phi,   Phi = Q - dR/dqdot,

and Phi, the non-conservative force, is what every balance law contracts with (see
`balance.py`). A friction that is to be learned is declared with `learn_dissipation=True`:
the model's R is then a non-negative combination of the *dissipation basis*, invariants
P_k(q, qdot) >= 0 that vanish (quadratically) at qdot = 0, with coefficients that are
functions of the invariants (see [`dissipation_basis`][]).
"""

from collections.abc import Sequence

import sympy
from sympy.polys.domains import QQ

from .calculus import gradient
from .coordinates import TIME
from .identity import ExactEvaluator, decide_zero, rational_points, state_symbols

__all__ = ["dissipation_basis", "dissipation_problems", "force_problems",
           "nonconservative_force"]

_SIGN_POINTS = 16  # random points at which R >= 0 and qdot . dR/dqdot >= 0 are sampled


def nonconservative_force(system, *, dissipation: sympy.Expr | None = None
                          ) -> tuple[sympy.Expr, ...]:
    """The non-conservative force $\\Phi = Q - \\partial R/\\partial \\dot q$ of a system.

    **Arguments:**

    - `system`: a [`System`][].
    - `dissipation`: a Rayleigh function to use instead of the system's true one (e.g. 0).

    **Returns:**

    n SymPy expressions (parameters substituted, floats read as decimals); zeros for a
    conservative system.
    """
    c = system.coordinates
    R = system.true_dissipation if dissipation is None else sympy.sympify(dissipation)
    Q = system.true_forces or (sympy.Integer(0),) * c.n
    dR = gradient(R, c.qdot) if R is not None and R != 0 else [0] * c.n
    return tuple(sympy.sympify(f - d) for f, d in zip(Q, dR))


def force_problems(forces, c, allowed: set) -> tuple[tuple | None, list[str]]:
    """Validate generalised forces Q: n SymPy expressions in q, qdot, t and the parameters."""
    if isinstance(forces, str) or not isinstance(forces, Sequence | sympy.MatrixBase):
        return None, [f"forces is a {type(forces).__name__}; expected a sequence of "
                      f"{c.n} SymPy expressions Q_i(q, qdot, t), one per coordinate "
                      f"{c.names} (a tuple, list or sympy.Matrix)"]
    try:
        exprs = tuple(sympy.sympify(e) for e in list(forces))  # a Matrix flattens
    except (sympy.SympifyError, TypeError) as error:
        return None, [f"forces could not be read as SymPy expressions: {error}"]
    problems = []
    if len(exprs) != c.n:
        problems.append(f"forces has {len(exprs)} components; expected {c.n}, one generalised "
                        f"force per coordinate {c.names} (0 where none acts)")
    unknown = set().union(*(e.free_symbols for e in exprs)) - allowed
    if unknown:
        problems.append(_unknown_text("the forces", unknown, c, time=True))
    return exprs, problems


def dissipation_problems(R, c, allowed: set, parameters) -> tuple[sympy.Expr | None, list[str]]:
    """Validate a Rayleigh function R(q, qdot): known symbols, no time, R >= 0 where sampled."""
    if not isinstance(R, sympy.Expr):
        return None, [f"dissipation is a {type(R).__name__}; expected a SymPy expression "
                      "R(q, qdot) (a Rayleigh function), or learn_dissipation=True to learn it"]
    problems = []
    if TIME in R.free_symbols and TIME not in c.q:
        problems.append("the dissipation function mentions the time t; a Rayleigh function "
                        "R(q, qdot) is autonomous. Write a time-dependent friction as a "
                        "generalised force, forces=[...] with c.time")
    unknown = R.free_symbols - allowed - {TIME}
    if unknown:
        problems.append(_unknown_text("the dissipation function", unknown, c, time=False))
    if not R.free_symbols & set(c.qdot) and not problems:
        problems.append(f"the dissipation function {R} does not depend on the velocities "
                        f"{tuple(map(str, c.qdot))}, so its force -dR/dqdot is zero; a "
                        "Rayleigh function is e.g. b/2 * qdot**2")
    if not problems:
        problems += _sign_problems(R.xreplace(dict(parameters)), c)
    return R, problems


def _unknown_text(what: str, unknown, c, *, time: bool) -> str:
    allowed = "coordinates, velocities, the time c.time nor parameters" if time else (
        "coordinates, velocities nor parameters")
    return (f"{what} mention {sorted(map(str, unknown))}, which are neither {allowed} "
            f"(the coordinates are {c.names}); use the symbols c.q and c.qdot and declare "
            "constants in parameters={...}")


def _sign_problems(R: sympy.Expr, c) -> list[str]:
    """R >= 0 and the dissipated power qdot . dR/dqdot >= 0 at random rational points.

    A sample, not a proof: a negative value refutes, exactly; where no point can be
    evaluated exactly (exp, ...) nothing is claimed.
    """
    power = sympy.Add(*(v * d for v, d in zip(c.qdot, gradient(R, c.qdot))))
    symbols = state_symbols(c, [R, power])
    for point in rational_points([R, power], symbols, _SIGN_POINTS, seed=11):
        ev = ExactEvaluator(point)
        for value, what in ((ev.value(R), "R"), (ev.value(power), "qdot . dR/dqdot")):
            if value is not None and value < QQ.zero:
                where = ", ".join(f"{s} = {point[s]}" for s in symbols)
                return [f"the dissipation function R = {R} is not a friction: {what} = "
                        f"{value} < 0 at ({where}); a Rayleigh function is >= 0 and "
                        "dissipates (qdot . dR/dqdot >= 0), e.g. b/2 * qdot**2 with b > 0"]
    return []


def dissipation_basis(system, invariants) -> tuple[tuple[str, ...], tuple[sympy.Expr, ...]]:
    """Invariants P_k >= 0 that vanish quadratically at qdot = 0: a learned R = sum_k c_k P_k.

    **Arguments:**

    - `system`: a [`System`][].
    - `invariants`: its `InvariantSet`.

    **Returns:**

    `(names, exprs)`: every invariant S_j that is a positive semi-definite quadratic form
    in qdot (homogeneous of degree 2, Hessian d2S/dqdot2 positive semi-definite at random
    rational points), then the square of every invariant homogeneous of degree 1 in qdot,
    named `<name>_sq`, in the order of the invariants. A network R = sum_k c_k(S) P_k with
    c_k >= 0 is then >= 0, vanishes at qdot = 0, and is invariant, by construction.
    """
    c = system.coordinates
    names, exprs = [], []
    for name, S in zip(invariants.names, invariants.exprs):
        degree = _velocity_degree(S, c)
        if degree == 2 and _semidefinite(S, c):
            names.append(name)
            exprs.append(S)
        elif degree == 1:
            names.append(f"{name}_sq")
            exprs.append(S**2)
    return tuple(names), tuple(exprs)


def _velocity_degree(S: sympy.Expr, c) -> int | None:
    """k where S(q, s qdot) = s^k S(q, qdot) identically (k = 1 or 2), else None."""
    if not S.free_symbols & set(c.qdot):
        return None
    s = sympy.Dummy("s")
    scaled = S.xreplace({v: s * v for v in c.qdot})
    for k in (1, 2):
        if decide_zero(scaled - s**k * S, c).zero:
            return k
    return None


def _semidefinite(S: sympy.Expr, c, points: int = 4) -> bool:
    """Whether the constant-in-qdot Hessian of S is positive semi-definite at random points."""
    hessian = [gradient(d, c.qdot) for d in gradient(S, c.qdot)]
    entries = [e for row in hessian for e in row]
    symbols = state_symbols(c, entries)
    checked = 0
    for point in rational_points(entries, symbols, 4 * points, seed=13):
        values = ExactEvaluator(point).values(entries)
        if values is None:
            continue
        n = c.n
        if not _psd([values[i * n:(i + 1) * n] for i in range(n)]):
            return False
        checked += 1
        if checked == points:
            return True
    return False  # not decidable exactly: leave it out rather than risk R < 0


def _psd(rows: list[list]) -> bool:
    """Positive semi-definiteness of a symmetric rational matrix: pivoted LDL^T, exact."""
    a = [list(r) for r in rows]
    n = len(a)
    active = list(range(n))
    while active:
        k = max(active, key=lambda i: a[i][i])
        pivot = a[k][k]
        if pivot < 0:
            return False
        if pivot == 0:  # then the whole remaining block must vanish
            return all(a[i][j] == 0 for i in active for j in active)
        active.remove(k)
        for i in active:
            factor = a[i][k] / pivot
            for j in active:
                a[i][j] -= factor * a[k][j]
    return True
