"""`prove_candidates`: symmetries a trained model suggests, proved (or refuted) exactly.

The numeric half (`symnoether.numeric.discover.symmetry_candidates`) solves the Noether
condition in least squares on a trained network's Lagrangian and snaps the solutions to
rational affine fields $\\xi = A q + b$ with boundary terms $F = c \\cdot q$. This module
takes those plain numbers (it never imports the numeric half) and decides each candidate
on the system's true Lagrangian with the same identity tests as `find_symmetries`: a
candidate the data suggested but the true system does not have is reported NOT PROVED.
"""

from collections.abc import Mapping
from fractions import Fraction

import sympy

from ...errors import SpecError
from ..calculus import gradient
from ..identity import decide_zero
from ..mechanics import lagrangian_of
from ..noether import tidy
from .brackets import structure_constants
from .determining import prolonged_condition
from .find import _result, time_symbol
from .report import NoetherSymmetry, SymmetryAlgebra

__all__ = ["prove_candidates"]


def _rational(text, where: str) -> sympy.Rational:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"{where}: {text!r} is not a rational number (e.g. '1', '-1/2')",
                        what="symmetry candidates") from None
    return sympy.Rational(value.numerator, value.denominator)


def _field(candidate: Mapping, k: int, c) -> tuple[list, sympy.Expr]:
    n = len(c.q)
    where = f"candidate {k}"
    try:
        A, b, cc = candidate["A"], candidate["b"], candidate["c"]
    except (KeyError, TypeError):
        raise SpecError(f"{where} must be a mapping with keys 'A', 'b' and 'c' (what "
                        "symmetry_candidates(...).as_json()['generators'] holds)",
                        what="symmetry candidates") from None
    if len(A) != n or any(len(row) != n for row in A) or len(b) != n or len(cc) != n:
        raise SpecError(f"{where}: A must be {n} x {n} and b, c of length {n} for the "
                        f"coordinates {list(c.names)}; the model was trained on another "
                        "system", what="symmetry candidates")
    A = [[_rational(x, f"{where}, A[{i}][{j}]") for j, x in enumerate(row)]
         for i, row in enumerate(A)]
    xi = [sum((A[i][j] * c.q[j] for j in range(n)), _rational(b[i], f"{where}, b[{i}]"))
          for i in range(n)]
    F = sum((_rational(x, f"{where}, c[{i}]") * c.q[i] for i, x in enumerate(cc)),
            sympy.Integer(0))
    return xi, F


def _decide(L, c, t, candidate, k):
    """The first of the candidate's snaps (closest, then its simpler `alternatives`) that
    is a symmetry of L, or the closest one refuted; with the change of the one used
    (None for the closest)."""
    xi, F = _field(candidate, k, c)
    proof = decide_zero(prolonged_condition(L, c, sympy.Integer(0), xi, F, t), c)
    if proof.zero:
        return xi, F, proof, None
    for other in candidate.get("alternatives", ()) if isinstance(candidate, Mapping) else ():
        xi2, F2 = _field(other, k, c)
        proof2 = decide_zero(prolonged_condition(L, c, sympy.Integer(0), xi2, F2, t), c)
        if proof2.zero:
            return xi2, F2, proof2, float(other.get("snap_error", 0.0))
    return xi, F, proof, None


def prove_candidates(system, candidates, *, source: str = "a trained model") -> SymmetryAlgebra:
    """Decide each candidate symmetry on the system's true Lagrangian.

    **Arguments:**

    - `system`: a [`System`][] with a true Lagrangian, in the coordinates the model was
      trained on (the same order).
    - `candidates`: the `"generators"` of `symmetry_candidates(...).as_json()`: mappings
      with `"A"`, `"b"`, `"c"` as rational strings, optionally `"alternatives"` (simpler
      snaps of the same direction, tried in order when the closest is refuted: a proof is
      exact whichever snap it is for), or a `SymmetryCandidates`-like dict holding them
      under `"generators"`.
    - `source`: where the candidates come from, for the report.

    **Returns:**

    A [`SymmetryAlgebra`][] with one generator per candidate (tau = 0), each PROVED or NOT
    PROVED on the true Lagrangian, and `.group` of the proved ones for
    `System(symmetry=...)`. It is never `complete`: a model shows only the affine
    symmetries its data have; `find_symmetries` decides the complete algebra.
    """
    if isinstance(candidates, Mapping):
        candidates = candidates.get("generators", ())
    c = system.coordinates
    try:
        L = lagrangian_of(system, None)
    except ValueError as error:
        raise SpecError(f"{error}; proving candidate symmetries needs the true Lagrangian",
                        what="symmetry candidates") from None
    t = time_symbol(c)
    p = gradient(L, c.qdot)
    generators, simpler = [], []
    for k, candidate in enumerate(candidates):
        xi, F, proof, used = _decide(L, c, t, candidate, k)
        if used:
            simpler.append(f"X{k + 1}: the closest snap was refuted; the simpler one with "
                           f"entries changed by up to {used:.2g} is proved")
        charge = tidy(sum((pi * x for pi, x in zip(p, xi)), sympy.Integer(0)) - F)
        generators.append(NoetherSymmetry(f"X{k + 1}", sympy.Integer(0), xi, F, charge, proof))
    refuted = [g.name for g in generators if not g.proved]
    steps = [f"candidates: {len(generators)} affine fields xi = A q + b, F = c . q, found "
             f"in least squares on {source}; each decided on the true Lagrangian (the "
             "closest rational snap first, then the simpler ones the model allows)"]
    steps += simpler
    undecided = ["a model shows only the affine symmetries of its data; `symnoether "
                 "symmetries SPEC` (find_symmetries) decides the complete algebra"]
    if refuted:
        undecided.append(f"{', '.join(refuted)}: suggested by the model, NOT a symmetry of "
                         "the true Lagrangian (the model learned an approximate symmetry, "
                         "or the tolerance is too loose)")
    proved = [g for g in generators if g.proved]
    constants = None
    if len(proved) == len(generators):
        constants = structure_constants([(g.tau,) + g.xi for g in generators], c, t)
    return _result(system, t, generators, constants, False, steps, undecided, len(generators))
