"""Balance laws: how the charges and the energy change under forces and an explicit time.

Noether's identity holds for every motion q(t), not only for solutions: with the charge
I_a = dL/dqdot . xi_a - F_a and the lift X_a of xi_a,

    dI_a/dt = X_a L - dF_a/dt + xi_a . (d/dt dL/dqdot - dL/dq).

Along the Lagrange-d'Alembert equations d/dt dL/dqdot - dL/dq = Phi, Phi = Q - dR/dqdot
(`forces.py`), and for a (quasi-)symmetry X_a L = dF_a/dt this leaves the balance law

    dI_a/dt = xi_a . Phi = xi_a . (Q - dR/dqdot),

and in the same way dE/dt = qdot . Phi - dL/dt for E = qdot . dL/dqdot - L (an explicit
time drains or feeds the energy). A charge is exactly conserved where its rate vanishes
identically: a friction along z, R = b/2 zdot^2, keeps the angular momentum about z
(xi_z . dR/dqdot = 0), an isotropic one keeps none.

The network family obeys the same law for every weight: X_a f(S) = 0 (the check
`network_family`) makes the identity above give dI_a/dt = xi_a . Phi for L = K + f(S) under
the same forces. A learned friction R = sum_k c_k(S) P_k (`forces.dissipation_basis`) has
xi_a . dR/dqdot = sum_k c_k xi_a . dP_k/dqdot + sum_kj P_k dc_k/dS_j xi_a . dS_j/dqdot, which
vanishes for every c exactly when every xi_a . dP_k/dqdot and xi_a . dS_j/dqdot does.
"""

from dataclasses import dataclass

import sympy

from .calculus import gradient
from .check import Check
from .coordinates import TIME
from .forces import dissipation_basis, nonconservative_force
from .identity import IdentityTest, decide_zero
from .noether import tidy

__all__ = ["Balance", "balance_checks", "balances", "charge_rates", "energy_rate"]


def charge_rates(system, force=None) -> dict[str, sympy.Expr]:
    """The rate of every Noether charge, $dI_a/dt = \\xi_a \\cdot \\Phi$.

    **Arguments:**

    - `system`: a [`System`][].
    - `force`: the non-conservative force Phi, n expressions (default: the system's
      known one, Q - dR/dqdot).

    **Returns:**

    `{charge_name: rate}` in the order of the generators (valid for the generators that are
    (quasi-)symmetries of the Lagrangian, which `verify` checks).
    """
    group = system.symmetry
    force = nonconservative_force(system) if force is None else tuple(force)
    return {name: tidy(sympy.Add(*(x * f for x, f in zip(xi, force) if x != 0 and f != 0)))
            for name, xi in zip(group.charge_names, group.generators)}


def energy_rate(system, lagrangian: sympy.Expr | None = None, force=None) -> sympy.Expr:
    """The rate of the energy, $dE/dt = \\dot q \\cdot \\Phi - \\partial L/\\partial t$.

    **Arguments:**

    - `system`: a [`System`][].
    - `lagrangian`: the Lagrangian (default: the true one, else the known part K, else an
      autonomous one).
    - `force`: the non-conservative force (default: the system's known Q - dR/dqdot).

    **Returns:**

    The rate, a SymPy expression (0 for a conservative, autonomous system).
    """
    from .mechanics import lagrangian_of

    c = system.coordinates
    force = nonconservative_force(system) if force is None else tuple(force)
    if lagrangian is None:
        lagrangian = system.lagrangian if system.lagrangian is not None else system.known
    L = lagrangian_of(system, lagrangian) if lagrangian is not None else sympy.Integer(0)
    explicit = sympy.diff(L, TIME) if TIME not in c.q else sympy.Integer(0)
    return tidy(sympy.Add(*(v * f for v, f in zip(c.qdot, force) if f != 0)) - explicit)


@dataclass(frozen=True)
class Balance:
    """The balance law of one charge (or of the energy).

    **Attributes:**

    - `name`: the charge's name, or `"energy"`.
    - `rate`: dI/dt under the system's known forces (and explicit time).
    - `test`: the identity test of `rate == 0` on TQ (and in t): conserved or not.
    - `learned`: with a learned friction, the test that every learned R = sum_k c_k(S) P_k
      keeps the charge (xi_a . dR/dqdot = 0 for every c), else None.
    """

    name: str
    rate: sympy.Expr
    test: IdentityTest
    learned: IdentityTest | None = None

    @property
    def conserved(self) -> bool:
        """Exactly conserved: the rate vanishes identically (for every learned R too)."""
        return self.test.zero and (self.learned is None or self.learned.zero)


def balances(system, invariants=None) -> tuple[Balance, ...]:
    """The balance law of every charge and of the energy, each decided conserved or not.

    **Arguments:**

    - `system`: a [`System`][].
    - `invariants`: its `InvariantSet` (needed with `learn_dissipation`: the learned R is
      built from them); derived when needed and not given.

    **Returns:**

    One [`Balance`][] per charge, in the order of the generators, then the energy's.
    """
    c = system.coordinates
    rates = dict(charge_rates(system))
    rates["energy"] = energy_rate(system)
    learned = {}
    if system.learn_dissipation:
        learned = _learned_tests(system, _invariants(system, invariants))
    return tuple(Balance(name, rate, decide_zero(rate, c), learned.get(name))
                 for name, rate in rates.items())


def _invariants(system, invariants):
    if invariants is not None:
        return invariants
    from .invariants import derive_invariants

    return derive_invariants(system)


def _learned_tests(system, invariants) -> dict[str, IdentityTest]:
    """Per charge and for the energy: is it kept by every learned friction?"""
    c, group = system.coordinates, system.symmetry
    _, basis = dissipation_basis(system, invariants)
    fields = [gradient(P, c.qdot) for P in basis]
    if basis:
        fields += [gradient(S, c.qdot) for S in invariants.exprs]
    weights = [sympy.Dummy(f"c{k}") for k in range(len(fields))]
    out = {}
    for name, xi in zip(group.charge_names, group.generators):
        combination = sympy.Add(*(w * sympy.Add(*(x * d for x, d in zip(xi, field)))
                                  for w, field in zip(weights, fields)))
        out[name] = decide_zero(combination, c)
    # The dissipated power qdot . dR/dqdot = 2 R of a quadratic R vanishes for no c != 0.
    out["energy"] = IdentityTest(not basis, "a learned R >= 0 that is not zero dissipates "
                                 "energy" if basis else "empty dissipation basis: R = 0")
    return out


def balance_checks(system, found: tuple[Balance, ...], *, family_passed: bool) -> list[Check]:
    """`conserved[<name>]` for each declared conserved charge, `rate[<name>]` for each
    declared rate, and `network_balance` for a system with forces."""
    by_name = {b.name: b for b in found}
    checks = [_conserved_check(system, by_name[name]) for name in system.conserved]
    for name, declared in (system.rates or {}).items():
        checks.append(_rate_check(system, by_name[name], declared))
    if system.has_forces:
        checks.append(_network_check(system, found, family_passed))
    return checks


def _conserved_check(system, balance: Balance) -> Check:
    name, test = balance.name, balance.test
    generator = _generator(system, name)
    declared = f"{name} is declared conserved (System(conserved=[...]))"
    if test.zero and (balance.learned is None or balance.learned.zero):
        learned = " and xi_a . dR/dqdot = 0 for every learned R" if balance.learned else ""
        detail = (f"{declared}: its rate {_formula(name)} vanishes identically{learned}, so "
                  "the forces keep it exactly, for the true system and every set of weights")
        return Check(f"conserved[{name}]", True, test.method, detail, generator=generator)
    if not test.zero:
        causes = "the forces or the explicit time" if name == "energy" else "the forces"
        detail = (f"{declared}, but {causes} change it at the rate {_formula(name)} = "
                  f"{balance.rate} ({test.method}): they break {name}. Remove it from "
                  "conserved=[...], or use forces and friction that leave it invariant")
        return Check(f"conserved[{name}]", False, test.method, detail, balance.rate,
                     generator, test.undecided)
    learned = balance.learned
    detail = (f"{declared}, and the known forces keep it, but a learned friction "
              f"R = sum_k c_k(S) P_k changes it ({learned.method}): the invariant "
              "dissipation basis breaks it. Remove it from conserved=[...] or declare the "
              "friction (dissipation=...) instead of learning it")
    return Check(f"conserved[{name}]", False, learned.method, detail, learned.residual,
                 generator, learned.undecided)


def _rate_check(system, balance: Balance, declared: sympy.Expr) -> Check:
    from .mechanics import exact

    name = balance.name
    declared = exact(declared.xreplace(dict(system.parameters)))
    test = decide_zero(declared - balance.rate, system.coordinates)
    detail = (f"the declared rate d{name}/dt = {declared} equals the derived one "
              f"{_formula(name)} = {balance.rate}")
    if not test.zero:
        detail = (f"the declared rate d{name}/dt = {declared} is not the derived one "
                  f"{_formula(name)} = {balance.rate}; they differ by "
                  f"{tidy(declared - balance.rate)}")
    return Check(f"rate[{name}]", test.zero, test.method, detail,
                 None if test.zero else tidy(declared - balance.rate),
                 _generator(system, name), test.undecided)


def _network_check(system, found, family_passed: bool) -> Check:
    known = "K + f(S)" if system.known_lagrangian is not None else "f(S)"
    friction = ("a learned R = sum_k c_k(S) P_k >= 0 (the dissipation basis) plus Q"
                if system.learn_dissipation else "the known forces Q - dR/dqdot")
    kept = [b.name for b in found if b.conserved and b.name != "energy"]
    detail = (f"the model L = {known} under {friction}: by Noether's identity with forces, "
              "dI_a/dt = X_a L - dF_a/dt + xi_a . Phi = xi_a . Phi for every set of weights, "
              "since X_a f(S) = 0 (network_family); exactly conserved for every weight: "
              + (", ".join(kept) if kept else "none"))
    if not family_passed:
        detail += ". Not established: the network family check did not pass"
    return Check("network_balance", family_passed,
                 "Noether's identity with forces and the network family check", detail)


def _formula(name: str) -> str:
    return ("qdot . (Q - dR/dqdot) - dL/dt" if name == "energy"
            else "xi_a . (Q - dR/dqdot)")


def _generator(system, name: str) -> str | None:
    group = system.symmetry
    return dict(zip(group.charge_names, group.names)).get(name)
