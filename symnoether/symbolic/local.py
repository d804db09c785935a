"""Local Lagrangians of identical particles: one-body terms plus pair terms (issue 25).

A [`ParticleSystem`][] declares N identical particles in `dim` dimensions whose Lagrangian
is $L = \\sum_i B(x_i, \\dot x_i) + \\sum_{i<j} P(x_i, \\dot x_i, x_j, \\dot x_j)$, with an
optional cutoff radius beyond which a pair does not interact. Everything symbolic is done on
*one* term: the invariants of one body and of one pair (the group acting on one and on two
particles), their certificates, the invariance of the true terms and the charge density of
one body. Nothing here depends on N, so the symbolic stages take the same time for 8
particles and for 4,096.

Why the sum is invariant, whatever N: the declared group acts on every particle by the same
vector field $\\xi(x_i)$, which involves that particle's coordinates only (checked:
`block_local`); the pair group is this action on two particles (by construction). Each
term is then invariant on its own, and so is their sum. Permutations of identical particles
reindex the sum over bodies and over unordered pairs, provided the pair term is symmetric
under exchange (checked for the true term: `exchange`; the numeric family symmetrises its
learned pair term, `numeric/local.py`). The total charge of generator $a$ is
$I_a = \\sum_i p_i \\cdot \\xi_a(x_i)$ with $p_i = \\partial L/\\partial \\dot x_i$.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy

from ..errors import InputError
from .coordinates import particles
from .groups import SymmetryGroup, rotations, translations
from .system import System

__all__ = ["LocalCheck", "LocalReport", "ParticleSystem", "derive_local", "load_local_spec",
           "verify_local"]

_GROUPS = ("translations", "rotations")


class LocalSpecError(InputError, ValueError):
    """A local system that cannot be used as declared."""


@dataclass(frozen=True)
class ParticleSystem:
    """N identical particles with a Lagrangian summed over bodies and pairs.

    **Fields:**

    - `name`: the system's name (an identifier).
    - `dim`: the dimension of space.
    - `count`: N, the number of particles of this declaration (data and evaluation; the
        generated module works for any N).
    - `body`: the true one-body term, a function `body(x, v) -> sympy.Expr` of two
        `dim x 1` SymPy matrices; `None` for the free particle $\\tfrac12|v|^2$.
    - `pair`: the true pair term `pair(x1, v1, x2, v2) -> sympy.Expr`, symmetric under
        exchange; `None` for a system without a true Lagrangian (then give data).
    - `symmetry`: the group acting on every particle alike: a tuple of
        `"translations"` and/or `"rotations"` (SO(dim); O(dim) with `reflections`).
    - `cutoff`: the radius beyond which pairs do not interact, or `None` (all pairs).
    - `parameters`: values of the parameters of the terms.
    - `initial_state`: `(q0, qdot0)` flat tuples of `count * dim` numbers, or `None`.
    """

    name: str
    dim: int
    count: int
    body: Callable | None = None
    pair: Callable | None = None
    symmetry: tuple[str, ...] = _GROUPS
    cutoff: float | None = None
    reflections: bool = False
    parameters: Mapping = field(default_factory=dict)
    initial_state: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "symmetry", tuple(self.symmetry))
        problems = []
        if not str(self.name).isidentifier():
            problems.append(f"name must be an identifier, got {self.name!r}")
        if not isinstance(self.dim, int) or self.dim < 1:
            problems.append(f"dim must be an integer >= 1, got {self.dim!r}")
        if not isinstance(self.count, int) or self.count < 2:
            problems.append(f"count must be an integer >= 2 (particles), got {self.count!r}")
        unknown = [g for g in self.symmetry if g not in _GROUPS]
        if unknown or not self.symmetry:
            problems.append(f"symmetry must be a non-empty tuple of {_GROUPS}, got "
                            f"{self.symmetry!r}")
        for label in ("body", "pair"):
            value = getattr(self, label)
            if value is not None and not callable(value):
                problems.append(f"{label} must be a function of SymPy matrices, got {value!r}")
        if self.cutoff is not None and not (float(self.cutoff) > 0):
            problems.append(f"cutoff must be a positive radius or None, got {self.cutoff!r}")
        if self.initial_state is not None and isinstance(self.count, int):
            q0, qdot0 = self.initial_state
            size = self.count * self.dim if isinstance(self.dim, int) else None
            if len(q0) != size or len(qdot0) != size:
                problems.append(f"initial_state must hold two tuples of count * dim = {size} "
                                f"numbers, got {len(q0)} and {len(qdot0)}")
        if problems:
            raise LocalSpecError("invalid ParticleSystem:\n  " + "\n  ".join(problems)
                                 + "\nfix the declaration (see docs/WRITING_A_SPEC.md, "
                                 "'Local Lagrangians')")

    def term_system(self, bodies: int) -> System:
        """The [`System`][] of one term: `bodies` = 1 (one body) or 2 (one pair), with the
        declared group acting on each particle alike."""
        c = particles(bodies, dim=self.dim)
        blocks = [f"x{i + 1}" for i in range(bodies)]
        group = None
        if "translations" in self.symmetry:
            group = translations(c, blocks=blocks)
        if "rotations" in self.symmetry and self.dim >= 2:
            rot = rotations(c, blocks=blocks, reflections=self.reflections)
            group = rot if group is None else group * rot
        if group is None:
            raise LocalSpecError(f"{self.name}: no generator left for dim = {self.dim}")
        xs = [sympy.Matrix(c.block(b)) for b in blocks]
        vs = [sympy.Matrix(c.block_velocity(b)) for b in blocks]
        lagrangian = None
        if bodies == 1:
            lagrangian = self.body_term(xs[0], vs[0])
        elif self.pair is not None:
            lagrangian = sympy.sympify(self.pair(xs[0], vs[0], xs[1], vs[1]))
        return System(name=f"{self.name}_{'body' if bodies == 1 else 'pair'}",
                      coordinates=c, symmetry=group, lagrangian=lagrangian,
                      parameters=dict(self.parameters))

    def body_term(self, x, v) -> sympy.Expr:
        """The true one-body term at `(x, v)` (default $\\tfrac12|v|^2$)."""
        if self.body is None:
            return v.dot(v) / 2
        return sympy.sympify(self.body(x, v))


@dataclass(frozen=True)
class LocalCheck:
    """One proved statement about a local system: `name`, `passed`, `detail`."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class LocalReport:
    """What [`verify_local`][] proved: `.ok` and `.checks`."""

    checks: tuple[LocalCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass(frozen=True)
class LocalDerivation:
    """The per-term results [`derive_local`][] gives the code generator.

    **Fields:** `body` and `pair`, the [`InvariantSet`][]s of one body and one pair;
    `pair_positions`, the indices of the pair invariants that do not involve velocities
    (the inputs of a learned pair potential); `generators`, the K one-body generators
    (tuples of `dim` expressions in the body's coordinates), `charge_names`.
    """

    system: ParticleSystem
    body: object
    pair: object
    pair_positions: tuple[int, ...]
    generators: tuple[tuple[sympy.Expr, ...], ...]
    charge_names: tuple[str, ...]
    body_coordinates: tuple
    pair_coordinates: tuple


def derive_local(system: ParticleSystem) -> LocalDerivation:
    """Derive the invariants of one body and of one pair, and the one-body generators.

    **Arguments:**

    - `system`: the [`ParticleSystem`][].

    **Returns:**

    A [`LocalDerivation`][]; its size and the time it takes do not depend on `count`.
    """
    from .invariants.derive import derive_invariants

    if not isinstance(system, ParticleSystem):
        raise TypeError(f"derive_local expects an sn.ParticleSystem, got {type(system).__name__}")
    one, two = system.term_system(1), system.term_system(2)
    body = derive_invariants(one, require_complete=True)
    pair = derive_invariants(two, require_complete=True)
    velocities = set(two.coordinates.qdot)
    positions = tuple(i for i, e in enumerate(pair.exprs)
                      if not (sympy.sympify(e).free_symbols & velocities))
    if not positions:
        raise LocalSpecError(f"{system.name}: the pair has no position invariant, so no pair "
                             "potential can be learned")
    group: SymmetryGroup = one.symmetry
    return LocalDerivation(system, body, pair, positions, group.generators,
                           group.charge_names, one.coordinates, two.coordinates)


def _zero(expr) -> bool:
    # The terms are rational in the coordinates (a potential in r^2, polynomial kinetic
    # terms): `cancel` decides zero exactly and fast; `simplify` is the fallback.
    reduced = sympy.cancel(sympy.together(sympy.sympify(expr)))
    return reduced == 0 or sympy.simplify(reduced) == 0


def verify_local(system: ParticleSystem, derivation: LocalDerivation | None = None
                 ) -> LocalReport:
    """Prove what makes the sum over bodies and pairs invariant, on one term.

    Checks: each one-body and pair invariant is annihilated by every lifted generator (the
    certificates of `derive_invariants`, complete sets); the pair group's generators act
    block by block with the one-body field on each particle (`block_local`: then the
    group of N particles restricts to every pair as the pair group, so every term of the
    sum is invariant); the true one-body and pair terms are invariant; the true pair term
    is symmetric under exchange of its particles (so the sum is permutation-invariant).

    **Returns:** a [`LocalReport`][].
    """
    d = derivation or derive_local(system)
    checks = []
    for label, inv in (("body", d.body), ("pair", d.pair)):
        cert = inv.certificate
        checks.append(LocalCheck(f"{label}_invariants", bool(cert.invariant and cert.complete),
                                 f"{len(inv.exprs)} invariants, rank {cert.rank} of "
                                 f"{cert.expected_rank}"))
    one, two = system.term_system(1), system.term_system(2)
    q1, q2 = one.coordinates.q, two.coordinates.q
    dim = system.dim
    local = True
    for xi1, xi2 in zip(one.symmetry.generators, two.symmetry.generators):
        for body in range(2):
            subs = dict(zip(q1, q2[body * dim:(body + 1) * dim]))
            expected = [sympy.sympify(x).subs(subs, simultaneous=True) for x in xi1]
            local &= all(_zero(a - b) for a, b in
                         zip(xi2[body * dim:(body + 1) * dim], expected))
    checks.append(LocalCheck("block_local", local, "every pair generator is the one-body "
                             "field on each particle"))
    for label, term in (("body", one), ("pair", two)):
        if term.lagrangian is None:
            continue
        L = term.lagrangian
        residuals = [term.symmetry.apply(a, L) for a in range(term.symmetry.K)]
        checks.append(LocalCheck(f"true_{label}_invariant", all(_zero(r) for r in residuals),
                                 f"X_a {label} = 0 for {term.symmetry.K} generators"))
    if two.lagrangian is not None:
        n = len(q2)
        swap = dict(zip(q2, q2[dim:] + q2[:dim]))
        swap.update(zip(two.coordinates.qdot[:n],
                        two.coordinates.qdot[dim:] + two.coordinates.qdot[:dim]))
        swapped = two.lagrangian.subs(swap, simultaneous=True)
        checks.append(LocalCheck("exchange", _zero(swapped - two.lagrangian),
                                 "pair(x1, v1, x2, v2) = pair(x2, v2, x1, v1)"))
    return LocalReport(tuple(checks))


def load_local_spec(path) -> ParticleSystem:
    """The `system = sn.ParticleSystem(...)` a spec file defines (a `LocalSpecError`
    otherwise)."""
    import runpy
    from pathlib import Path

    if not Path(path).is_file():
        raise LocalSpecError(f"spec file {str(path)!r} does not exist")
    system = runpy.run_path(str(path)).get("system")
    if not isinstance(system, ParticleSystem):
        raise LocalSpecError(f"spec file {str(path)!r} must define a module-level "
                             f"`system = sn.ParticleSystem(...)`, got {type(system).__name__}")
    return system
