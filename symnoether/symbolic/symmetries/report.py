"""The result of the symmetry finder: generators, charges, proofs, structure constants.

Printed by `symnoether symmetries SPEC` ([`SymmetryAlgebra.table`][]) and written for
scripts by `--json` ([`SymmetryAlgebra.as_json`][]).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import sympy

from ..coordinates import Coordinates
from ..groups import SymmetryGroup
from ..identity import IdentityTest

__all__ = ["NoetherSymmetry", "SymmetryAlgebra"]


@dataclass(frozen=True)
class NoetherSymmetry:
    """One generator X = tau d/dt + xi . d/dq with boundary term F: prX L + L D_t tau = D_t F.

    **Attributes:**

    - `name`: e.g. `"X1"`.
    - `tau`, `xi`, `F`: SymPy expressions in the time and q (`xi`: n of them).
    - `charge`: the conserved $I = \\partial L/\\partial\\dot q \\cdot (\\xi - \\dot q \\tau)
      + L \\tau - F$.
    - `proof`: the identity test of the symmetry condition (see `identity.decide_zero`).
    """

    name: str
    tau: sympy.Expr
    xi: tuple[sympy.Expr, ...]
    F: sympy.Expr
    charge: sympy.Expr
    proof: IdentityTest

    def __post_init__(self):
        if not isinstance(self.proof, IdentityTest):
            raise TypeError(f"proof must be an IdentityTest, got {type(self.proof).__name__}")
        object.__setattr__(self, "xi", tuple(self.xi))

    @property
    def proved(self) -> bool:
        """Whether the symmetry condition was proved."""
        return self.proof.zero


@dataclass(frozen=True)
class SymmetryAlgebra:
    """Every Noether point symmetry of a Lagrangian that the finder found, and how far the
    list is proved complete.

    **Attributes:**

    - `system`: the system's name. `coordinates`: its [`Coordinates`][].
    - `time`: the time symbol of tau, xi and F.
    - `generators`: the basis, a tuple of [`NoetherSymmetry`][]; those with tau = 0 first.
    - `structure_constants`: `{(a, b): (c_1..c_k)}` with [X_a, X_b] = sum_c c_c X_c on
      (t, q) for every non-zero bracket, a < b; None where a bracket was not decided.
    - `complete`: True only when the basis is proved to span all Noether point symmetries
      (near generic points); False when that could not be proved (see `undecided`).
    - `group`: the generators with tau = 0 as a [`SymmetryGroup`][] with their boundary
      terms, for `System(symmetry=...)`; the trivial group when there is none.
    - `method`: the steps, in words. `undecided`: what could not be decided, in words.
    - `cases`: the [`SymmetryCase`][]s: special parameter values at which the dimension
      changes, each with its algebra (empty when none were found or none were examined;
      `method` says which).
    """

    system: str
    coordinates: Coordinates
    time: sympy.Symbol
    generators: tuple[NoetherSymmetry, ...]
    structure_constants: Mapping[tuple[int, int], tuple[sympy.Rational, ...]] | None
    complete: bool
    group: SymmetryGroup
    method: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()
    cases: tuple = ()

    def __post_init__(self):
        for name in ("generators", "method", "undecided", "cases"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        problems = [f"generator {k} is a {type(g).__name__}, expected a NoetherSymmetry"
                    for k, g in enumerate(self.generators) if not isinstance(g, NoetherSymmetry)]
        if self.complete and (self.undecided or not all(g.proved for g in self.generators)):
            problems.append("complete=True needs every generator proved and nothing undecided")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def dimension(self) -> int:
        """The number of generators found."""
        return len(self.generators)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.generators)

    def table(self) -> str:
        """The readable report: generators, charges, proofs, structure constants, limits."""
        status = "proved complete" if self.complete else "NOT proved complete"
        lines = [f"Noether point symmetries of {self.system}: {self.dimension} ({status})"]
        q = ", ".join(self.coordinates.names)
        rows = [("generator", "tau", f"xi ({q})", "F")] + [
            (g.name, str(g.tau), "(" + ", ".join(map(str, g.xi)) + ")", str(g.F))
            for g in self.generators]
        widths = [max(len(r[k]) for r in rows) for k in range(3)]
        for k, r in enumerate(rows):
            lines.append("  " + "  ".join(x.ljust(w) for x, w in zip(r, widths)) + "  " + r[3])
            if k == 0:
                lines.append("  " + "-" * (sum(widths) + 6 + len(r[3])))
        for g in self.generators:
            lines.append(f"  {g.name}: charge I = {g.charge}")
            lines.append(f"  {' ' * len(g.name)}  {'PROVED' if g.proved else 'NOT PROVED'}: "
                         f"{g.proof.method}")
        lines += self._bracket_lines()
        lines += self._group_lines()
        lines += [f"method: {m}" for m in self.method]
        lines += [f"undecided: {u}" for u in self.undecided]
        for case in self.cases:
            lines.append(f"case: {case}")
            lines += [f"  {g.name}: tau = {g.tau}, xi = ({', '.join(map(str, g.xi))}), "
                      f"F = {g.F}{'' if g.proved else ' (NOT PROVED)'}"
                      for g in case.algebra.generators]
        return "\n".join(lines)

    def _group_lines(self) -> list[str]:
        """What `.group` holds, and which generators with tau = 0 it leaves out and why."""
        held = set(self.group.names)
        out = [f"group: {', '.join(self.group.names) or 'none'} (`.group`, the proved "
               "generators with tau = 0, a SymmetryGroup for System(symmetry=...))"]
        unproved = [g.name for g in self.generators
                    if g.tau == 0 and g.name not in held and not g.proved]
        other = [g.name for g in self.generators
                 if g.tau == 0 and g.name not in held and g.proved]
        if unproved:
            out.append(f"  not in the group (NOT PROVED): {', '.join(unproved)}")
        if other:
            out.append(f"  not in the group (proved, but time-dependent while a coordinate "
                       f"is named t, or refused by from_generators: see undecided): "
                       f"{', '.join(other)}")
        return out

    def _bracket_lines(self) -> list[str]:
        if self.structure_constants is None:
            return ["structure constants: not decided"]
        if not self.structure_constants:
            return ["structure constants: all brackets vanish (abelian)"]
        out = ["structure constants:"]
        for (a, b), coeffs in sorted(self.structure_constants.items()):
            combo = " + ".join({1: n, -1: f"-{n}"}.get(c, f"{c}*{n}")
                               for c, n in zip(coeffs, self.names) if c != 0)
            out.append(f"  [{self.names[a]}, {self.names[b]}] = {combo.replace('+ -', '- ')}")
        return out

    def __str__(self) -> str:
        return self.table()

    def as_json(self) -> dict:
        """The report as plain JSON data (expressions as SymPy strings)."""
        return {
            "system": self.system,
            "coordinates": list(self.coordinates.names),
            "time": str(self.time),
            "dimension": self.dimension,
            "complete": self.complete,
            "generators": [
                {"name": g.name, "tau": str(g.tau), "xi": [str(x) for x in g.xi],
                 "F": str(g.F), "charge": str(g.charge), "proved": g.proved,
                 "method": g.proof.method}
                for g in self.generators],
            "structure_constants": None if self.structure_constants is None else [
                {"a": self.names[a], "b": self.names[b], "coefficients": [str(c) for c in cs]}
                for (a, b), cs in sorted(self.structure_constants.items())],
            "group": list(self.group.names),
            "method": list(self.method),
            "undecided": list(self.undecided),
            "cases": [{"condition": case.condition,
                       "values": {str(p): str(v) for p, v in case.values.items()},
                       **{k: v for k, v in case.algebra.as_json().items()
                          if k in ("dimension", "complete", "generators", "undecided")}}
                      for case in self.cases],
        }
