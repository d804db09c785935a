"""The generated functions of forces, friction and balance laws (docs/GENERATED_MODULE.md).

Present only for a system with forces, a dissipation function or an explicit time, so the
module of a conservative, autonomous system is unchanged.
"""

from ..symbolic.balance import balances, charge_rates, energy_rate
from ..symbolic.calculus import gradient
from ..symbolic.forces import dissipation_basis
from ..symbolic.system import System
from ._functions import Function, _function, _listing, _source, _vector

__all__ = ["balance_context", "force_functions", "true_rate_functions"]

#: The signature of every new function that may depend on the time.
_TIMED = "q, qdot, *, t=0.0"


def force_functions(system: System, invariants) -> list[Function]:
    """`forces`, `dissipation`, `dissipation_force` and `dissipation_basis`, as declared."""
    c = system.coordinates
    names = [f"Q {name}" for name in c.names]
    functions = []
    if system.forces is not None:
        Q = system.true_forces
        doc = ["The generalised forces Q(q, qdot, t), shape (n,): known inputs (driving,",
               "control) of the equations d/dt dL/dqdot - dL/dq = Q - dR/dqdot:", ""]
        functions.append(_function("forces", _TIMED, doc + _listing(c.names, Q), system,
                                   [("Q", (c.n,), _vector(Q, names))]))
    if system.dissipation is not None:
        R = system.true_dissipation
        doc = ["The Rayleigh dissipation function R(q, qdot) >= 0 of the true system:", "",
               f"R = {_source(R)}"]
        functions.append(_function("dissipation", "q, qdot", doc, system,
                                   [("R", (), {(): (R, "R")})]))
        force = [-d for d in gradient(R, c.qdot)]
        doc = ["The friction force -dR/dqdot, shape (n,):", ""] + _listing(c.names, force)
        functions.append(_function("dissipation_force", "q, qdot", doc, system, [
            ("friction", (c.n,), _vector(force, [f"-dR / d {v}" for v in c.qdot]))]))
    if system.learn_dissipation:
        basis_names, basis = dissipation_basis(system, invariants)
        doc = ["The dissipation basis P_k(q, qdot), shape (P,): invariants >= 0 that vanish",
               "quadratically at qdot = 0; a learned R = sum_k c_k(S) P_k with c_k >= 0 is",
               "then >= 0, zero at rest and invariant by construction:", ""]
        functions.append(_function("dissipation_basis", "q, qdot",
                                   doc + _listing(basis_names, basis), system,
                                   [("P", (len(basis),), _vector(basis, basis_names))]))
    return functions


def true_rate_functions(system: System) -> list[Function]:
    """`true_charge_rates` (known forces) and `true_energy_rate` (with a true Lagrangian)."""
    functions = []
    if system.forces is not None or system.dissipation is not None:
        rates = charge_rates(system)
        doc = ["The rates dI_a/dt = xi_a . (Q - dR/dqdot) of the charges under the known",
               f"forces, shape (K,) = ({len(rates)},):", ""]
        functions.append(_function("true_charge_rates", _TIMED,
                                   doc + _listing(list(rates), list(rates.values())), system,
                                   [("rate", (len(rates),), _vector(rates.values(), rates))]))
    if system.lagrangian is not None and system.balanced:
        rate = energy_rate(system)
        doc = ["The rate of the true energy, dE/dt = qdot . (Q - dR/dqdot) - dL/dt:", "",
               f"dE/dt = {_source(rate)}"]
        functions.append(_function("true_energy_rate", _TIMED, doc, system,
                                   [("rate", (), {(): (rate, "dE/dt")})]))
    return functions


def balance_context(system: System, invariants) -> dict:
    """The template's flags and names of a system with forces or an explicit time."""
    if not system.balanced:
        return {"balanced": False}
    found = balances(system, invariants)
    charges = {b.name: b.conserved for b in found}
    names = ()
    if system.learn_dissipation:
        names = dissipation_basis(system, invariants)[0]
    return {
        "balanced": True,
        "has_forces": system.forces is not None,
        "has_dissipation": system.dissipation is not None,
        "learned_dissipation": system.learn_dissipation,
        "explicit_time": system.explicit_time,
        "conserved_charges": repr(tuple(charges[n] for n in system.symmetry.charge_names)),
        "energy_conserved": charges["energy"],
        "basis_names": _names(names),
    }


def _names(names) -> str:
    quoted = [f'"{name}"' for name in names]
    return f"({quoted[0]},)" if len(quoted) == 1 else f"({', '.join(quoted)})"
