"""Symbolic verification of a system: closure, invariants, Noether's theorem, regularity.

Every check says what it proved and how: a symbolic identity, or exact evaluation at random
rational points (a probabilistic identity test: a non-zero rational function vanishes at a
random rational point with negligible probability, and one non-zero value is a proof of
failure). `verify` never raises for a failed check; it reports it with its residual.
"""

import textwrap
from dataclasses import dataclass

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

from .identity import (
    POINTS,
    ExactEvaluator,
    IdentityTest,
    decide_zero,
    points_method,
    rational_points,
    state_symbols,
)
from .mechanics import euler_lagrange, lagrangian_of, mass_rank, solve_acceleration
from .noether import (
    decide_zero_family,
    energy,
    family_lagrangian,
    noether_charges,
    symmetry_residuals,
    tidy,
)

__all__ = ["Check", "VerificationReport", "verify"]

_IDENTITY = "dI_a/dt = X_a L along solutions of the Euler-Lagrange equations"


@dataclass(frozen=True)
class Check:
    """One verified statement.

    **Attributes:**

    - `name`: e.g. `"closure"`, `"symmetry[rotation_x0x1]"`, `"conservation[energy]"`.
    - `passed`: whether it holds.
    - `method`: how it was decided, e.g. `"symbolic identity (expand)"`.
    - `detail`: what was checked, in a sentence, with the identity used.
    - `residual`: the simplified non-zero residual when it failed, else None.
    - `generator`: the generator it is about, or None.
    """

    name: str
    passed: bool
    method: str
    detail: str
    residual: sympy.Basic | None = None
    generator: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"a check needs a non-empty name, got {self.name!r}")
        object.__setattr__(self, "passed", bool(self.passed))


@dataclass(frozen=True)
class VerificationReport:
    """The outcome of [`verify`][]: every check, in order.

    **Attributes:**

    - `system_name`: the name of the verified system.
    - `checks`: the [`Check`][]s.
    """

    system_name: str
    checks: tuple[Check, ...]

    def __post_init__(self):
        object.__setattr__(self, "checks", tuple(self.checks))

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    def failures(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if not c.passed)

    def check(self, name: str) -> Check:
        """The check called `name` (`KeyError` listing the names if there is none)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check {name!r}; the checks are {[c.name for c in self.checks]}")

    def __str__(self) -> str:
        failed = len(self.failures())
        verdict = "all passed" if not failed else f"{failed} FAILED"
        width = max((len(c.name) for c in self.checks), default=5)
        lines = [f"verification of {self.system_name!r}: {len(self.checks)} checks, {verdict}"]
        for c in self.checks:
            lines.append(f"  {'PASS' if c.passed else 'FAIL'}  {c.name:<{width}}  {c.method}")
            lines += textwrap.wrap(c.detail, 92, initial_indent=" " * 8,
                                   subsequent_indent=" " * 8)
            if c.residual is not None:
                lines.append(f"        residual: {c.residual}")
        return "\n".join(lines)


def verify(system, *, invariants=None) -> VerificationReport:
    """Verify a system symbolically: its symmetry, its invariants and Noether's theorem.

    **Arguments:**

    - `system`: a [`System`][].
    - `invariants`: an [`InvariantSet`][] to reuse (default: derived here).

    **Returns:**

    A [`VerificationReport`][] with the checks `closure`, `invariants`, `network_family`
    and, with a true Lagrangian, `symmetry[<generator>]`, `conservation[<charge>]`,
    `conservation[energy]` and `non_degenerate`. Failures are reported, never raised.
    """
    checks = [_closure_check(system.symmetry)]
    invariant_check, invariants = _invariant_check(system, invariants)
    checks += [invariant_check, _family_check(system, invariants)]
    if system.lagrangian is not None:
        L = lagrangian_of(system)
        checks += _symmetry_checks(system, L)
        mass, rhs = euler_lagrange(system, L)
        regular = _degeneracy_check(system, mass)
        if regular.passed:
            checks += _conservation_checks(system, L, mass, rhs)
        checks.append(regular)
    return VerificationReport(system.name, tuple(checks))


def _closure_check(group) -> Check:
    constants = group.structure_constants
    residuals, methods = [], set()
    for a in range(group.K):
        for b in range(a + 1, group.K):
            coeffs = constants.get((a, b), (0,) * group.K)
            bracket = group.bracket(a, b)
            for i, component in enumerate(bracket):
                combo = sum(c * xi[i] for c, xi in zip(coeffs, group.generators) if c)
                test = decide_zero(component - combo, group.coordinates)
                methods.add(test.method)
                if not test.zero:
                    residuals.append((group.names[a], group.names[b], test.residual))
    table = "; ".join(_bracket_text(group, a, b, cs) for (a, b), cs in constants.items())
    detail = (
        f"the {group.K} generator{'s' if group.K != 1 else ''} of {group.name} span a Lie "
        "algebra: every Lie bracket [xi_a, xi_b] minus sum_c C^c_ab xi_c is 0 with the "
        "structure constants "
        + (f"{table}" if table else "all zero (abelian)")
    )
    method = "each Lie bracket component by " + ", ".join(sorted(methods) or ["(none)"])
    if residuals:
        a, b, residual = residuals[0]
        detail += f". Not closed: [{a}, {b}] leaves the span"
        return Check("closure", False, method, detail, residual)
    return Check("closure", True, method, detail)


def _bracket_text(group, a, b, coeffs) -> str:
    terms = [f"{c}*{n}" if c != 1 else n for c, n in zip(coeffs, group.names) if c]
    combo = " + ".join(terms).replace("+ -", "- ").replace("-1*", "-")
    return f"[{group.names[a]}, {group.names[b]}] = {combo}"


def _invariant_check(system, invariants):
    if invariants is None:
        from .invariants import derive_invariants  # heavy; only when verify needs it

        try:
            invariants = derive_invariants(system)
        except Exception as error:  # another module's failure is a failed check here
            detail = f"the invariants could not be derived: {type(error).__name__}: {error}"
            return Check("invariants", False, "derive_invariants", detail), None
    cert = invariants.certificate
    passed = cert.invariant and cert.complete
    detail = (
        f"{len(invariants.exprs)} invariants {', '.join(invariants.names)} (route "
        f"{invariants.route!r}): X_a S_j = 0 for every generator "
        f"({'yes' if cert.invariant else 'NO'}); functionally complete: rank of "
        f"dS/d(q, qdot) = {cert.rank}, expected 2n - r = {cert.expected_rank} with orbit "
        f"dimension r = {cert.orbit_dimension} ({'yes' if cert.complete else 'NO'})"
    )
    if cert.notes:
        detail += ". " + " ".join(cert.notes)
    residual, generator = None, None
    if cert.residuals:
        generator, _, residual = cert.residuals[0]
        detail += ". Not invariant: " + "; ".join(
            f"X[{g}] {name} = {r}" for g, name, r in cert.residuals[:4])
    method = "certificate: exact invariance identities and generic rank at rational points"
    check = Check("invariants", passed, method, detail, residual, generator)
    return check, invariants


def _family_check(system, invariants) -> Check:
    name = "network_family"
    if invariants is None:
        return Check(name, False, "not run", "no invariant set, so the network family "
                     "L = f(S_1..S_M) could not be checked")
    group = system.symmetry
    L = family_lagrangian(invariants.exprs)
    failures, methods = [], set()
    for generator, residual in zip(group.names, symmetry_residuals(system, L)):
        test = decide_zero_family(residual, system.coordinates)
        methods.update(test.method.split(", "))
        if not test.zero:
            failures.append((generator, test.residual))
    detail = (
        f"with L = f({', '.join(invariants.names)}) for an undefined function f, "
        "X_a L = sum_j f_j(S) X_a S_j = 0 for every generator, hence by "
        f"{_IDENTITY} every charge I_a = dL/dqdot . xi_a is conserved for every f: for "
        "every set of network weights"
    )
    method = ("symbolic chain rule on an undefined function f; each coefficient X_a S_j of "
              f"f_j(S) by {', '.join(sorted(methods))}")
    if failures:
        generator, residual = failures[0]
        detail += f". Fails for {', '.join(g for g, _ in failures)}"
        return Check(name, False, method, detail, residual, generator)
    return Check(name, True, method, detail)


def _symmetry_checks(system, L) -> list[Check]:
    group = system.symmetry
    checks = []
    residuals = symmetry_residuals(system, L)
    for generator, charge, residual in zip(group.names, group.charge_names, residuals):
        test = decide_zero_family(residual, system.coordinates)
        if test.zero:
            detail = (f"X_a L = 0 for the true Lagrangian: the lift of {generator} "
                      "annihilates it, so it is a symmetry")
        else:
            detail = (f"X_a L != 0: {generator} is not a symmetry of the true Lagrangian, "
                      f"so the true dynamics do not conserve {charge}")
        checks.append(Check(f"symmetry[{generator}]", test.zero, test.method, detail,
                            test.residual, generator))
    return checks


def _degeneracy_check(system, mass) -> Check:
    c = system.coordinates
    rank = mass_rank(mass, c)
    method = "exact rank at random rational points"
    if rank == c.n:
        detail = (f"d2L/dqdot2 of the true Lagrangian has full rank {c.n} at generic points: "
                  "the Euler-Lagrange equations determine qddot")
        return Check("non_degenerate", True, method, detail)
    detail = (
        f"d2L/dqdot2 of the true Lagrangian has generic rank {rank} < n = {c.n}: the "
        "Lagrangian is degenerate, its Euler-Lagrange equations do not determine qddot, and "
        "a degenerate Lagrangian cannot be learned this way (the network is fitted to "
        "accelerations). The conservation checks were skipped"
    )
    residual = sympy.ImmutableMatrix(mass.applyfunc(tidy))
    return Check("non_degenerate", False, method, detail, residual)


def _conservation_checks(system, L, mass, rhs) -> list[Check]:
    group = system.symmetry
    quantities = dict(noether_charges(system, L))
    quantities["energy"] = energy(system, L)
    generators = dict(zip(group.charge_names, group.names))
    if mass.free_symbols:
        tests = _conservation_at_points(system, quantities, mass, rhs)
    else:
        tests = _conservation_symbolic(system, L, quantities)
    checks = []
    for name, test in tests.items():
        generator = generators.get(name)
        what = "the energy E = qdot . dL/dqdot - L" if generator is None else (
            f"{name} = dL/dqdot . xi of {generator}")
        detail = (f"dI/dt = dI/dq . qdot + dI/dqdot . qddot = 0 for {what}, along the true "
                  "Euler-Lagrange equations solved independently (Noether: "
                  f"{_IDENTITY})")
        if not test.zero:
            detail = detail.replace("= 0 for", "!= 0 for")
        checks.append(Check(f"conservation[{name}]", test.zero, test.method, detail,
                            test.residual, generator))
    return checks


def _time_derivative(c, quantity, qddot) -> sympy.Expr:
    return sum(
        (sympy.diff(quantity, q) * v for q, v in zip(c.q, c.qdot)), sympy.Integer(0)
    ) + sum((sympy.diff(quantity, v) * a for v, a in zip(c.qdot, qddot)), sympy.Integer(0))


def _conservation_symbolic(system, L, quantities) -> dict:
    """Constant mass matrix: substitute the closed-form qddot and simplify."""
    c = system.coordinates
    qddot = solve_acceleration(system, L)
    tests = {}
    for name, quantity in quantities.items():
        test = decide_zero(_time_derivative(c, quantity, qddot), c)
        method = f"{test.method}, closed-form qddot of the Euler-Lagrange equations substituted"
        tests[name] = IdentityTest(test.zero, method, test.residual)
    return tests


def _conservation_at_points(system, quantities, mass, rhs) -> dict:
    """Exact evaluation: at each point solve M qddot = rhs over QQ, then evaluate dI/dt."""
    c = system.coordinates
    gradients = {
        name: ([sympy.diff(Q, q) for q in c.q], [sympy.diff(Q, v) for v in c.qdot])
        for name, Q in quantities.items()
    }
    exprs = list(mass) + list(rhs) + [e for gq, gv in gradients.values() for e in gq + gv]
    nonzero: dict[str, str] = {}
    used = 0
    symbols = state_symbols(c, exprs)
    for point in rational_points(exprs, symbols, 4 * POINTS, seed=3):
        values = _values_at(point, mass, rhs, gradients, c)
        if values is None:
            continue
        used += 1
        where = ", ".join(f"{s} = {point[s]}" for s in symbols)
        for name, value in values.items():
            if value != 0 and name not in nonzero:
                nonzero[name] = f"dI/dt = {value} != 0 at ({where})"
        if used == POINTS:
            break
    solve = "M and rhs evaluated exactly, M qddot = rhs solved over QQ"
    method = f"{points_method(used)}: {solve} at each point"
    tests = {}
    for name in quantities:
        if name in nonzero:
            residual = _on_shell_residual(system, name)
            text = (f"exact evaluation at a random rational point ({solve}): {nonzero[name]}; "
                    "the residual shown is X_a L, which dI/dt equals on solutions")
            tests[name] = IdentityTest(False, text, residual)
        else:
            undecided = f"undecided: only {used} of {POINTS} rational points could be evaluated"
            tests[name] = IdentityTest(used == POINTS, method if used == POINTS else undecided)
    return tests


def _values_at(point, mass, rhs, gradients, c) -> dict | None:
    ev = ExactEvaluator(point)
    M, b = ev.matrix(mass.tolist()), ev.matrix(rhs.tolist())
    if M is None or b is None:
        return None
    try:
        qddot = M.lu_solve(b).to_list_flat()
    except (DMNonInvertibleMatrixError, ZeroDivisionError):
        return None  # a singular point: degeneracy is checked separately
    qdot = [QQ.from_sympy(point[v]) for v in c.qdot]
    out = {}
    for name, (gq, gv) in gradients.items():
        dq, dv = ev.values(gq), ev.values(gv)
        if dq is None or dv is None:
            return None
        out[name] = sum((a * b for a, b in zip(dq, qdot)), QQ.zero) + sum(
            (a * b for a, b in zip(dv, qddot)), QQ.zero)
    return out


def _on_shell_residual(system, charge) -> sympy.Expr | None:
    """By Noether's identity the residual of dI_a/dt on solutions is X_a L (tidied)."""
    group = system.symmetry
    if charge not in group.charge_names:
        return None
    return tidy(group.apply(group.charge_names.index(charge), lagrangian_of(system)))

