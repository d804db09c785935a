"""Symbolic verification of a system: closure, invariants, Noether's theorem, regularity.

Every check says what it proved and how: `symbolic` (a normal form is 0), `exact`
(evaluation in QQ at random rational points, with square roots made rational and angles put
on rational points of the circle: a probabilistic identity test, since a non-zero function
of this kind vanishes at a random such point with negligible probability, and one non-zero
value proves failure), `numeric` (evaluation at 40 and 80 digits where no exact point exists,
e.g. exp) or `undecided` (neither a pass nor a failure, with the reason). `verify` never
raises for a failed check; it reports it with its residual.
"""

import contextlib
import dataclasses
import textwrap
from dataclasses import dataclass

import mpmath
import sympy
from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

from ..progress import stage
from .balance import balance_checks, balances
from .boundary import boundary_terms, total_derivative
from .calculus import gradient, jacobian
from .check import Check
from .coordinates import TIME
from .identity import (
    POINTS,
    ExactEvaluator,
    IdentityTest,
    decide_zero,
    point_text,
    points_method,
    rational_points,
    state_symbols,
)
from .mechanics import euler_lagrange, lagrangian_of, mass_rank, solve_acceleration
from .noether import (
    energy,
    noether_charges,
    tidy,
)
from .precise import DIGITS, PreciseEvaluator, compare_precisions, numeric_method

__all__ = ["Check", "VerificationReport", "verify"]

_IDENTITY = "dI_a/dt = X_a L along solutions of the Euler-Lagrange equations"
_QUASI_IDENTITY = ("dI_a/dt = X_a L - dF_a/dt along solutions of the Euler-Lagrange equations "
                   "(F_a: the boundary term of a quasi-symmetry)")


def _identity(system) -> str:
    return _QUASI_IDENTITY if system.has_boundary else _IDENTITY
_SYMBOLIC_MAX_N = 6  # above this many coordinates, conservation is decided at points


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
        """Whether every check passed (an undecided check is not a pass)."""
        return all(c.passed for c in self.checks)

    def failures(self) -> tuple[Check, ...]:
        """The checks that failed (not the undecided ones)."""
        return tuple(c for c in self.checks if c.status == "failed")

    def undecided(self) -> tuple[Check, ...]:
        """The checks that could be neither proved nor refuted."""
        return tuple(c for c in self.checks if c.undecided)

    def check(self, name: str) -> Check:
        """The check called `name` (`KeyError` listing the names if there is none)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check {name!r}; the checks are {[c.name for c in self.checks]}")

    def __str__(self) -> str:
        failed, undecided = len(self.failures()), len(self.undecided())
        verdicts = [f"{failed} FAILED"] * bool(failed) + [f"{undecided} UNDECIDED"] * bool(
            undecided)
        verdict = ", ".join(verdicts) or "all passed"
        width = max((len(c.name) for c in self.checks), default=5)
        lines = [f"verification of {self.system_name!r}: {len(self.checks)} checks, {verdict}"]
        labels = {"passed": "PASS", "failed": "FAIL", "undecided": "UNDECIDED"}
        for c in self.checks:
            lines.append(f"  {labels[c.status]}  {c.name:<{width}}  {c.method}")
            lines += textwrap.wrap(c.detail, 92, initial_indent=" " * 8,
                                   subsequent_indent=" " * 8)
            if c.residual is not None:
                lines.append(f"        residual: {c.residual}")
        return "\n".join(lines + self._balance_summary())

    def _balance_summary(self) -> list[str]:
        """Which quantities the forces keep and which they change (balance checks only)."""
        found = [c for c in self.checks if c.conserved is not None]
        if not found:
            return []
        kept = [c.name[8:-1] for c in found if c.conserved]
        changed = [c.name[8:-1] for c in found if not c.conserved]
        return ["balance laws along the true dynamics:",
                f"  exactly conserved: {', '.join(kept) or 'none'}",
                f"  balanced (changed by the forces or the time): {', '.join(changed) or 'none'}"]


def verify(system, *, invariants=None) -> VerificationReport:
    """Verify a system symbolically: its symmetry, its invariants and Noether's theorem.

    **Arguments:**

    - `system`: a [`System`][].
    - `invariants`: an [`InvariantSet`][] to reuse (default: derived here).

    **Returns:**

    A [`VerificationReport`][] with the checks `closure`, `invariants`, `network_family`,
    `known_lagrangian` (with a known part K: X_a K = dF_a/dt) and, with a true Lagrangian,
    `symmetry[<generator>]` (X_a L = dF_a/dt: a symmetry, F_a = 0, or a quasi-symmetry,
    with F_a derived from X_a L or declared; see `symnoether.symbolic.boundary`),
    `conservation[<charge>]` (of I_a = dL/dqdot . xi_a - F_a), `conservation[energy]` and
    `non_degenerate`. With forces, friction or an explicit time (see
    `symnoether.symbolic.balance`) the conservation checks become `balance[<charge>]` and
    `balance[energy]` (dI/dt equals its derived rate along the true equations of motion;
    `Check.conserved` says whether that rate vanishes identically), and `network_balance`,
    `conserved[<name>]` (for `System(conserved=...)`) and `rate[<name>]` (for
    `System(rates=...)`) are added. Failures are reported, never raised.
    """
    with stage("verify: closure"):
        checks = [_closure_check(system.symmetry)]
    invariant_check, invariants = _invariant_check(system, invariants)
    with stage("verify: network family"):
        family = [_family_check(system, invariants)]
        if system.known_lagrangian is not None:
            family.append(_known_check(system))
        checks += [invariant_check, *family]
    found = ()
    if system.balanced or system.conserved or system.rates:
        with stage("verify: balance laws of the charges and the energy"):
            found = balances(system, invariants)
            checks += balance_checks(system, found,
                                     family_passed=all(ch.passed for ch in family))
    if system.lagrangian is not None:
        L = lagrangian_of(system)
        with stage("verify: symmetries of the true Lagrangian"):
            checks += _symmetry_checks(system, L)
        with stage("verify: equations of motion and their regularity"):
            mass, rhs = euler_lagrange(system, L)
            regular = _degeneracy_check(system, mass)
        if regular.passed:
            stage_name = ("balance" if system.balanced else "conservation")
            with stage(f"verify: {stage_name} along the true dynamics"):
                checks += _conservation_checks(system, L, mass, rhs, found)
        checks.append(regular)
    return VerificationReport(system.name, tuple(checks))


def _closure_check(group) -> Check:
    if group.K == 0:
        return Check("closure", True, "nothing to check", "no continuous symmetry declared: "
                     "the trivial group has no generators and no Noether charges")
    constants = group.structure_constants
    residuals, methods, undecided = [], set(), True
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
                    undecided = undecided and test.undecided
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
        return Check("closure", False, method, detail, residual, undecided=undecided)
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
    if group.K == 0:
        energy = ("its energy obeys the balance law of the forces" if system.balanced
                  else "it still conserves its energy")
        return Check(name, True, "nothing to check", "no continuous symmetry declared: there "
                     "is no Noether charge to conserve, and the network L = f(q, qdot) is "
                     f"unconstrained ({energy})")
    # X_a f(S) = sum_j f_j(S) X_a S_j (the chain rule), and the f_j are independent
    # functions for an undefined f: the family conserves I_a exactly when every coefficient
    # X_a S_j vanishes. They are computed here afresh from the expressions (not read from
    # the set's certificate), without differentiating f(S) symbolically, which would cost
    # seconds for a few dozen invariants.
    from .invariants.certificate import lie_residuals

    failures = [(g, r * sympy.Symbol(f"f_{inv}"), undecided) for g, inv, r, undecided
                in lie_residuals(system, invariants.exprs, invariants.names)]
    family = f"f({', '.join(invariants.names)})"
    detail = (
        f"with L = {family} for an undefined function f, "
        "X_a L = sum_j f_j(S) X_a S_j = 0 for every generator, hence by "
        f"{_identity(system)} every charge I_a = dL/dqdot . xi_a is conserved for every f: for "
        "every set of network weights"
    )
    if system.has_forces:
        detail += (" without forces; with the declared forces they obey the balance law "
                   "instead (network_balance)")
    if system.known_lagrangian is not None:
        detail = detail.replace(f"with L = {family}", f"with L = K + {family}").replace(
            "X_a L = sum_j f_j(S) X_a S_j = 0 for every generator",
            "X_a f(S) = sum_j f_j(S) X_a S_j = 0 for every generator and X_a K = dF_a/dt "
            "(check known_lagrangian)").replace(
            "I_a = dL/dqdot . xi_a is", "I_a = dL/dqdot . xi_a - F_a is")
    elif system.has_boundary and not failures:
        quasi = [(b.generator, b.value) for b in system.boundary if b.value != 0]
        detail = (
            f"X_a {family} = 0 for every generator, but "
            + ", ".join(f"{g} is a quasi-symmetry (F = {F})" for g, F in quasi)
            + ": the network family L = f(S) is exactly invariant, so its charges lack the "
            "boundary terms and it cannot represent the true Lagrangian. Declare the "
            "non-invariant part (e.g. the kinetic or gauge term) as known_lagrangian=...: "
            "L = K + f(S) then conserves I_a = dL/dqdot . xi_a - F_a for every weight")
        return Check(name, False, "chain rule and the boundary terms of the true Lagrangian",
                     detail, quasi[0][1], quasi[0][0])
    method = ("chain rule X_a f(S) = sum_j f_j(S) X_a S_j for an undefined function f; each "
              "coefficient X_a S_j exactly (sparse polynomial arithmetic, else symbolic, "
              "exact or numeric evaluation)")
    if failures:
        generator = failures[0][0]
        residual = sum((r for g, r, _ in failures if g == generator), sympy.Integer(0))
        undecided = all(u for _, _, u in failures)
        detail += f". {'Undecided' if undecided else 'Fails'} for " + ", ".join(
            g for g, _, _ in failures)
        return Check(name, False, method, detail, residual, generator, undecided)
    return Check(name, True, method, detail)


def _known_check(system) -> Check:
    """The known part K of L_model = K + f(S) must be a (quasi-)symmetry: X_a K = dF_a/dt.

    The system's boundary terms are derived from K (or declared and tested on K), so their
    identity tests are this check's.
    """
    terms = system.boundary
    failures = [b for b in terms if not b.holds]
    methods = sorted({b.test.method for b in terms if b.test is not None})
    method = "X_a K - dF_a/dt by " + (", ".join(methods) or "nothing (no generators)")
    quasi = [f"{b.generator}: F = {b.value} ({b.origin})" for b in terms if b.value != 0]
    detail = ("X_a K = dF_a/dt for the known part K of the model's Lagrangian L = K + f(S) and "
              "every generator ("
              + ("; ".join(quasi) if quasi else "F_a = 0: K is invariant")
              + "), so with the network family's check every charge "
              "I_a = dL/dqdot . xi_a - F_a of L is conserved for every set of weights")
    if failures:
        first = failures[0]
        detail = (f"X_a K is not dF_a/dt for {', '.join(b.generator for b in failures)}: "
                  f"{first.reason}. The known part breaks the symmetry, so the model's "
                  "charges would not be conserved")
        residual = first.test.residual if first.test is not None else None
        return Check("known_lagrangian", False, method, detail, residual, first.generator,
                     all(b.test is not None and b.test.undecided for b in failures))
    return Check("known_lagrangian", True, method, detail)


def _symmetry_checks(system, L) -> list[Check]:
    """X_a L = dF_a/dt for the true Lagrangian, with the system's boundary terms F_a."""
    group = system.symmetry
    # Derived from the true Lagrangian already (no known part, nothing declared)? Reuse it.
    own = system.known is None
    terms = system.boundary if own else boundary_terms(system, L)
    checks = []
    for a, (generator, charge) in enumerate(zip(group.names, group.charge_names)):
        term, reference = terms[a], system.boundary[a]
        if not own and term.holds and reference.holds and term.value != reference.value:
            test = decide_zero(total_derivative(term.value - reference.value,
                                                system.coordinates), system.coordinates)
            term = dataclasses.replace(term, F=reference.value, test=test, reason=None if
                                       test.zero else (
                f"X_a L = dF/dt with F = {term.value}, but the known part has "
                f"F = {reference.value}; the model's and the true charges differ"))
        test = term.test
        if term.holds and term.value == 0:
            detail = (f"X_a L = 0 for the true Lagrangian: the lift of {generator} "
                      "annihilates it, so it is a symmetry")
        elif term.holds:
            detail = (f"X_a L = dF_a/dt with F_a = {term.value} ({term.origin}) for the true "
                      f"Lagrangian: {generator} is a quasi-symmetry, and its charge is "
                      f"{charge} = dL/dqdot . xi_a - F_a")
        elif test is not None and test.undecided:
            detail = (f"whether X_a L = dF_a/dt, i.e. whether {generator} is a (quasi-)"
                      "symmetry of the true Lagrangian, could not be decided")
        else:
            detail = (f"X_a L != 0 and not a total time derivative dF_a/dt: {term.reason}. "
                      f"{generator} is not a symmetry of the true Lagrangian, "
                      f"so the true dynamics do not conserve {charge}")
        residual = None if term.holds else (test.residual if test is not None else None)
        checks.append(Check(f"symmetry[{generator}]", term.holds, test.method if test else
                            "declared", detail, residual, generator,
                            bool(test is not None and test.undecided and not term.holds)))
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


def _conservation_checks(system, L, mass, rhs, found=()) -> list[Check]:
    group = system.symmetry
    generators = dict(zip(group.charge_names, group.names))
    rates = {b.name: b.rate for b in found} if system.balanced else {}
    # The closed-form qddot pays off for small systems (a symbolic proof); with many
    # coordinates substituting it builds huge trees, and exact evaluation is much cheaper.
    if mass.free_symbols or system.coordinates.n > _SYMBOLIC_MAX_N:
        gradients = _quantity_gradients(system, L, mass, rates)
        tests = _conservation_at_points(system, gradients, mass, rhs)
    else:
        quantities = dict(noether_charges(system, L))
        quantities["energy"] = energy(system, L)
        tests = _conservation_symbolic(system, L, quantities, rates)
    if system.balanced:
        by_name = {b.name: b for b in found}
        return [_balance_check(system, name, test, generators.get(name), by_name[name])
                for name, test in tests.items()]
    checks = []
    for name, test in tests.items():
        generator = generators.get(name)
        minus_F = " - F" if system.has_boundary else ""
        what = "the energy E = qdot . dL/dqdot - L" if generator is None else (
            f"{name} = dL/dqdot . xi{minus_F} of {generator}")
        explicit = " + dI/dt (explicit)" if system.symmetry.time_dependent else ""
        detail = (f"dI/dt = dI/dq . qdot + dI/dqdot . qddot{explicit} = 0 for {what}, along "
                  "the true Euler-Lagrange equations solved independently (Noether: "
                  f"{_identity(system)})")
        if test.undecided:
            detail = detail.replace("= 0 for", "= 0 (undecided) for")
        elif not test.zero:
            detail = detail.replace("= 0 for", "!= 0 for")
        checks.append(Check(f"conservation[{name}]", test.zero, test.method, detail,
                            test.residual, generator, test.undecided))
    return checks


def _balance_check(system, name, test, generator, balance) -> Check:
    """dI/dt = rate along the true equations of motion with forces, and what it means."""
    if generator is None:
        what = "the energy E = qdot . dL/dqdot - L"
        law = "dE/dt = qdot . (Q - dR/dqdot) - dL/dt"
    else:
        minus_F = " - F" if system.has_boundary else ""
        what = f"{name} = dL/dqdot . xi{minus_F} of {generator}"
        law = "dI_a/dt = X_a L - dF_a/dt + xi_a . (Q - dR/dqdot) = xi_a . (Q - dR/dqdot)"
    relation = "=" if test.zero else "= (undecided)" if test.undecided else "!="
    symbol = "dE/dt" if generator is None else "dI/dt"
    detail = (f"{symbol} {relation} {balance.rate} for {what}, along the true equations of "
              f"motion{' with the forces' if system.has_forces else ''}, solved "
              f"independently (balance law: {law}). ")
    if balance.test.zero:
        detail += f"{name} is exactly conserved: its rate vanishes identically"
    elif balance.test.undecided:
        detail += f"whether {name} is conserved could not be decided"
    else:
        timed = generator is None and TIME not in system.coordinates.q and TIME in (
            lagrangian_of(system).free_symbols)
        causes = [w for w, present in (("the forces", system.has_forces), (
            "the explicit time dependence of L", timed)) if present]
        verb = "changes" if causes == ["the explicit time dependence of L"] else "change"
        detail += (f"{name} is balanced, not conserved: {' and '.join(causes)} {verb} it "
                   "(information, not a failure)")
    return Check(f"balance[{name}]", test.zero, test.method, detail, test.residual,
                 generator, test.undecided, conserved=balance.test.zero)


def _time_derivative(c, quantity, qddot) -> sympy.Expr:
    dq, dv = gradient(quantity, c.q), gradient(quantity, c.qdot)
    explicit = sympy.diff(quantity, TIME) if TIME not in c.q else 0  # time-dependent charges
    return sympy.Add(*(d * v for d, v in zip(dq, c.qdot) if d != 0),
                     *(d * a for d, a in zip(dv, qddot) if d != 0), explicit)


def _conservation_symbolic(system, L, quantities, rates) -> dict:
    """Constant mass matrix: substitute the closed-form qddot and simplify."""
    c = system.coordinates
    qddot = solve_acceleration(system, L)
    tests = {}
    for name, quantity in quantities.items():
        rate = rates.get(name, 0)
        test = decide_zero(_time_derivative(c, quantity, qddot) - rate, c)
        method = f"{test.method}, closed-form qddot of the Euler-Lagrange equations substituted"
        tests[name] = IdentityTest(test.zero, method, test.residual, test.undecided)
    return tests


def _quantity_gradients(system, L, mass, rates) -> dict:
    """{name: (dI/dq, dI/dqdot, dI/dt - rate)} of every charge and the energy.

    With p = dL/dqdot: I_a = p . xi_a - F_a gives dI_a = J_p^T xi_a + J_xi^T p - dF_a (and
    the explicit dI_a/dt = dp/dt . xi_a + p . dxi_a/dt - dF_a/dt where something depends on
    the time), and E = qdot . p - L gives dE/dq = J_{p,q}^T qdot - dL/dq, dE/dqdot = M qdot
    and dE/dt = qdot . dp/dt - dL/dt. Only p (small) is differentiated again; the big
    gradient of L is the one already computed. The expected rate of a balance law (0 for a
    conservation law) is subtracted from the explicit part, so every entry must vanish.
    """
    c, group = system.coordinates, system.symmetry
    p = gradient(L, c.qdot)
    dp_dq = jacobian(p, c.q)  # dp_dq[i, j] = d p_i / d q_j
    timed = system.time_dependent
    dp_dt = [sympy.diff(pi, TIME) for pi in p] if timed else [0] * c.n
    out = {}
    for name, xi, term in zip(group.charge_names, group.generators, system.boundary):
        F = term.value
        dxi = jacobian(xi, c.q)
        dF = gradient(F, c.q)
        dq = [sympy.Add(*(dp_dq[i, j] * xi[i] + dxi[i, j] * p[i] for i in range(c.n)
                          if xi[i] != 0)) - dF[j] for j in range(c.n)]
        dv = [sympy.Add(*(mass[i, j] * xi[i] for i in range(c.n) if xi[i] != 0))
              for j in range(c.n)]
        dt = (sympy.Add(*(sympy.diff(x, TIME) * pi + x * d for x, pi, d in zip(xi, p, dp_dt)))
              - sympy.diff(F, TIME)) if timed else sympy.Integer(0)
        out[name] = (dq, dv, dt - rates.get(name, 0))
    force = gradient(L, c.q)
    dt = (sympy.Add(*(v * d for v, d in zip(c.qdot, dp_dt))) - sympy.diff(L, TIME)
          if timed else sympy.Integer(0))
    out["energy"] = (
        [sympy.Add(*(dp_dq[i, j] * c.qdot[i] for i in range(c.n))) - force[j]
         for j in range(c.n)],
        [sympy.Add(*(mass[i, j] * c.qdot[i] for i in range(c.n))) for j in range(c.n)],
        dt - rates.get("energy", 0),
    )
    return out


def _conservation_at_points(system, gradients, mass, rhs) -> dict:
    """At each random point solve M qddot = rhs, then evaluate dI/dt.

    `gradients`: {name: (dI/dq, dI/dqdot)}. Exactly over QQ where the point allows it
    (rational entries); else with mpmath at 40 and 80 digits (see
    `symnoether.symbolic.precise`).
    """
    c = system.coordinates
    quantities = list(gradients)
    exprs = list(mass) + list(rhs) + [e for gq, gv, gt in gradients.values()
                                      for e in gq + gv + [gt]]
    symbols = state_symbols(c, exprs)
    nonzero: dict[str, str] = {}
    used, inexact = 0, []
    for point in rational_points(exprs, symbols, 4 * POINTS, seed=3):
        values = _rates(ExactEvaluator(point), mass, rhs, gradients, c, _solve_exact)
        if values is None:
            inexact.append(point)
            continue
        used += 1
        for name, value in values.items():
            if value != 0 and name not in nonzero:
                nonzero[name] = f"dI/dt = {value} != 0 at ({point_text(point, symbols)})"
        if used == POINTS:
            break
    solve = "M and rhs evaluated exactly, M qddot = rhs solved over QQ"
    if used == POINTS or nonzero:
        method = f"{points_method(used)}: {solve} at each point"
        return _rate_tests(system, quantities, nonzero, method, solve, "exact evaluation",
                           "rational")
    return _conservation_numeric(system, quantities, mass, rhs, gradients, inexact, symbols)


def _conservation_numeric(system, quantities, mass, rhs, gradients, points, symbols) -> dict:
    c = system.coordinates
    verdicts: dict[str, list[str]] = {name: [] for name in quantities}
    nonzero: dict[str, str] = {}
    used = 0
    for point in points:
        low = _rates(PreciseEvaluator(point, DIGITS), mass, rhs, gradients, c, _solve_mp)
        high = _rates(PreciseEvaluator(point, 2 * DIGITS), mass, rhs, gradients, c, _solve_mp)
        if low is None or high is None:
            continue
        used += 1
        for name in quantities:
            verdict = compare_precisions(low[name], high[name])
            verdicts[name].append(verdict.verdict)
            if verdict.verdict == "nonzero" and name not in nonzero:
                nonzero[name] = (f"dI/dt = {mpmath.nstr(verdict.value, 8)} != 0 at "
                                 f"({point_text(point, symbols)})")
        if used == POINTS:
            break
    solve = f"M qddot = rhs solved with mpmath at {DIGITS} and {2 * DIGITS} digits"
    method = f"{numeric_method(used)}; {solve} at each point"
    tests = _rate_tests(system, quantities, nonzero, method, solve, "numeric evaluation",
                        "rational")
    for name, found in verdicts.items():
        if name in nonzero or (used == POINTS and all(v == "zero" for v in found)):
            continue
        why = (f"only {used} of {POINTS} random points could be evaluated (exactly or to 80 "
               "digits)" if used < POINTS else
               "at some points dI/dt neither vanished nor stabilised with the precision")
        tests[name] = IdentityTest(False, f"undecided: {why}", undecided=True)
    return tests


def _rate_tests(system, quantities, nonzero, method, solve, how, kind) -> dict:
    tests = {}
    for name in quantities:
        if name in nonzero:
            text = (f"{how} at a random {kind} point ({solve}): {nonzero[name]}; the residual "
                    "shown is X_a L - dF_a/dt, which dI/dt equals on solutions")
            tests[name] = IdentityTest(False, text, _on_shell_residual(system, name))
        else:
            tests[name] = IdentityTest(True, method)
    return tests


def _solve_exact(ev, mass, rhs):
    M, b = ev.matrix(mass.tolist()), ev.matrix(rhs.tolist())
    if M is None or b is None:
        return None
    try:
        return M.lu_solve(b).to_list_flat()
    except (DMNonInvertibleMatrixError, ZeroDivisionError):
        return None  # a singular point: degeneracy is checked separately


def _solve_mp(ev, mass, rhs):
    M, b = ev.values(list(mass)), ev.values(list(rhs))
    if M is None or b is None:
        return None
    n = mass.rows
    with mpmath.workdps(ev.digits):
        try:
            x = mpmath.lu_solve(mpmath.matrix([M[i * n:(i + 1) * n] for i in range(n)]),
                                mpmath.matrix(b))
        except ZeroDivisionError:
            return None
        return [x[i] for i in range(n)]


def _rates(ev, mass, rhs, gradients, c, solve) -> dict | None:
    """{name: dI/dt} at the evaluator's point, or None where it cannot be evaluated."""
    # mpmath arithmetic outside workdps would round the sums below to 15 digits.
    digits = getattr(ev, "digits", None)
    with mpmath.workdps(digits) if digits else contextlib.nullcontext():
        qddot = solve(ev, mass, rhs)
        qdot = ev.values(list(c.qdot))
        if qddot is None or qdot is None:
            return None
        out = {}
        for name, (gq, gv, gt) in gradients.items():
            dq, dv, dt = ev.values(gq), ev.values(gv), ev.values([gt])
            if dq is None or dv is None or dt is None:
                return None
            out[name] = sum(a * b for a, b in zip(dq, qdot)) + sum(
                a * b for a, b in zip(dv, qddot)) + dt[0]
        return out


def _on_shell_residual(system, charge) -> sympy.Expr | None:
    """By Noether's identity the residual of dI_a/dt on solutions is X_a L - dF_a/dt."""
    group = system.symmetry
    if charge not in group.charge_names:
        return None
    a = group.charge_names.index(charge)
    return tidy(group.apply(a, lagrangian_of(system))
                - total_derivative(system.boundary[a].value, system.coordinates))

