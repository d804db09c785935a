"""Local Lagrangians of lattice fields: one stencil summed over a periodic lattice (issue 25).

A [`LatticeSystem`][] declares `F` real fields at every site of a periodic lattice of shape
`(n_1, ..., n_d)`, d = 1, 2 or 3, and a Lagrangian
$L = \\sum_x [\\,s(\\phi_x, \\dot\\phi_x) + c(\\phi_x, \\phi_{x+o_1}, \\dots)\\,]$: an on-site
term $s$ (the kinetic part and an on-site potential) and a coupling $c$ of the fields on a
stencil of offsets $o_k$ (default: the site and its $+1$ neighbour along each axis). The
global group acts on every site alike:

- `"u1"`: a complex field written as two real fields $(\\mathrm{Re}\\,\\phi, \\mathrm{Im}\\,\\phi)$,
  rotated by a common phase (SO(2) on each site's pair);
- `"shift"`: $\\theta_x \\to \\theta_x + \\epsilon$ on every site (an XY/angle field; with
  `periodic=True` the fields are angles, and the differences enter through cos and sin).

Everything symbolic is done on *one site* and *one stencil*: their invariants and
certificates, the invariance of the true terms, and the structure of the per-site kinetic
energy. Two further checks run on the smallest torus that holds the stencil (side 3 along
each axis, whatever the declared shape): the lattice sum is invariant under the group and
under a translation by one site along each axis, and the charge the module computes,
$I_a = \\sum_x p_x \\cdot \\xi_a(\\phi_x)$ with $p_x = \\partial L/\\partial\\dot\\phi_x$, is
the Noether charge of the torus system (`noether_charges`). Why the sum is invariant on any
torus: the group's vector field at a site involves that site's fields only (`block_local`),
so each stencil term is invariant on its own; a translation reindexes a sum over a periodic
lattice. Nothing here depends on the lattice size.
"""

import itertools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy

from ..errors import InputError
from .coordinates import coordinates, particles
from .groups import from_generators, rotations, translations
from .kinetic import velocity_structure
from .local import LocalCheck, LocalReport
from .system import System

__all__ = [
    "LatticeDerivation",
    "LatticeSystem",
    "derive_lattice",
    "load_lattice_spec",
    "verify_lattice",
]

_GROUPS = ("u1", "shift")


class LatticeSpecError(InputError, ValueError):
    """A lattice system that cannot be used as declared."""


def _default_stencil(dim: int) -> tuple[tuple[int, ...], ...]:
    zero = (0,) * dim
    return (zero,) + tuple(tuple(int(k == mu) for k in range(dim)) for mu in range(dim))


@dataclass(frozen=True)
class LatticeSystem:
    """Fields on a periodic lattice with a Lagrangian summed over one stencil per site.

    **Fields:**

    - `name`: the system's name (an identifier).
    - `shape`: the lattice, a tuple of 1 to 3 sizes (each >= 3) of this declaration (data and
        evaluation; the generated module and a trained model work for any shape).
    - `fields`: the names of the `F` real fields at a site, e.g. `("re", "im")`.
    - `symmetry`: `"u1"` (exactly two fields: a common phase rotation) or `"shift"` (every
        field shifted by the same constant).
    - `site`: the true on-site term `site(f, v) -> sympy.Expr` of two `F x 1` matrices (the
        fields and velocities at a site); `None` for $\\tfrac12|v|^2$.
    - `coupling`: the true stencil term `coupling(fs) -> sympy.Expr`, `fs` a list of `F x 1`
        matrices in stencil order (`fs[0]` the site itself); no velocities, so the mass
        matrix of the true system is block diagonal. `None` without a true Lagrangian.
    - `stencil`: the offsets, a tuple of d-tuples starting with the zero offset; default
        the site and its +1 neighbour along each axis.
    - `periodic`: the fields are angles (only with `"shift"`): invariants enter through
        cos and sin of the differences.
    - `parameters`: values of the parameters of the terms.
    - `initial_state`: `(q0, qdot0)` flat tuples of `sites * F` numbers (site-major, in
        C order of `shape`, the fields of a site consecutive), or `None`.
    """

    name: str
    shape: tuple[int, ...]
    fields: tuple[str, ...]
    symmetry: str
    site: Callable | None = None
    coupling: Callable | None = None
    stencil: tuple[tuple[int, ...], ...] | None = None
    periodic: bool = False
    parameters: Mapping = field(default_factory=dict)
    initial_state: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(self.shape))
        object.__setattr__(self, "fields", tuple(self.fields))
        if self.stencil is None and 1 <= len(self.shape) <= 3:
            object.__setattr__(self, "stencil", _default_stencil(len(self.shape)))
        if self.stencil is not None:
            object.__setattr__(self, "stencil", tuple(tuple(o) for o in self.stencil))
        problems = self._problems()
        if problems:
            raise LatticeSpecError(
                "invalid LatticeSystem:\n  "
                + "\n  ".join(problems)
                + "\nfix the declaration (see docs/WRITING_A_SPEC.md, "
                "'Lattice fields')"
            )

    def _problems(self) -> list[str]:
        problems = []
        if not str(self.name).isidentifier():
            problems.append(f"name must be an identifier, got {self.name!r}")
        if not (1 <= len(self.shape) <= 3) or not all(
            isinstance(n, int) and n >= 3 for n in self.shape
        ):
            problems.append(
                f"shape must be 1 to 3 integers >= 3 (a periodic lattice), got {self.shape!r}"
            )
        if not self.fields or not all(str(f).isidentifier() for f in self.fields):
            problems.append(f"fields must be a non-empty tuple of identifiers, got {self.fields!r}")
        if self.symmetry not in _GROUPS:
            problems.append(f"symmetry must be one of {_GROUPS}, got {self.symmetry!r}")
        if self.symmetry == "u1" and len(self.fields) != 2:
            problems.append(
                "symmetry 'u1' rotates one complex field written as two real "
                f"fields (re, im): give exactly 2 fields, got {len(self.fields)}"
            )
        if self.periodic and self.symmetry != "shift":
            problems.append("periodic=True (angle fields) needs symmetry 'shift'")
        for label in ("site", "coupling"):
            value = getattr(self, label)
            if value is not None and not callable(value):
                problems.append(f"{label} must be a function of SymPy matrices, got {value!r}")
        d = len(self.shape)
        st = self.stencil or ()
        if not st or st[0] != (0,) * d or any(len(o) != d for o in st) or len(set(st)) < len(st):
            problems.append(
                f"stencil must be distinct {d}-tuples starting with the zero "
                f"offset {(0,) * d}, got {self.stencil!r}"
            )
        if self.initial_state is not None and not problems:
            size = self.sites * len(self.fields)
            q0, qdot0 = self.initial_state
            if len(q0) != size or len(qdot0) != size:
                problems.append(
                    f"initial_state must hold two tuples of sites * fields = {size}"
                    f" numbers, got {len(q0)} and {len(qdot0)}"
                )
        return problems

    @property
    def sites(self) -> int:
        """The number of sites of the declared shape."""
        return math.prod(self.shape)

    def points_system(self, points: int, *, with_terms: bool) -> System:
        """The [`System`][] of `points` sites' fields (block `x{k+1}` for point k) with the
        group acting on each alike; with `with_terms`, its Lagrangian is the site term at
        point 0 plus the coupling of the stencil (`points` = stencil size) or the site term
        alone (`points` = 1)."""
        F = len(self.fields)
        c = particles(points, dim=F)
        blocks = [f"x{k + 1}" for k in range(points)]
        if self.symmetry == "u1":
            group = rotations(c, blocks=blocks)
        else:
            group = translations(c, blocks=blocks)
        lagrangian = None
        if with_terms:
            fs = [sympy.Matrix(c.block(b)) for b in blocks]
            vs = [sympy.Matrix(c.block_velocity(b)) for b in blocks]
            lagrangian = self.site_term(fs[0], vs[0])
            if points > 1 and self.coupling is not None:
                lagrangian = lagrangian + sympy.sympify(self.coupling(fs))
        return System(
            name=f"{self.name}_{points}",
            coordinates=c,
            symmetry=group,
            lagrangian=lagrangian,
            parameters=dict(self.parameters),
        )

    def site_term(self, f, v) -> sympy.Expr:
        """The true on-site term at `(f, v)` (default $\\tfrac12|v|^2$)."""
        if self.site is None:
            return v.dot(v) / 2
        return sympy.sympify(self.site(f, v))


@dataclass(frozen=True)
class LatticeDerivation:
    """The per-site and per-stencil results [`derive_lattice`][] gives the code generator.

    **Fields:**

    - `site`: the [`InvariantSet`][] of one site (fields and velocities).
    - `site_positions`, `site_linear`, `site_forms`: indices into `site.exprs` of the
        position invariants, the invariants linear in the velocities and the constant
        positive semi-definite quadratic forms (`symbolic/kinetic.py`).
    - `linear_rows`: the rows $a_i(\\phi)$ of the linear invariants $a_i \\cdot \\dot\\phi$.
    - `form_hessians`: the constant Hessians $H_j$ of the forms.
    - `stencil_exprs`, `stencil_names`: the stencil's position invariants (cos/sin of the
        differences for periodic fields), in the stencil's coordinates.
    - `generators`, `charge_names`: the K one-site generators (tuples of F expressions).
    """

    system: LatticeSystem
    site: object
    site_positions: tuple[int, ...]
    site_linear: tuple[int, ...]
    site_forms: tuple[int, ...]
    linear_rows: tuple[tuple[sympy.Expr, ...], ...]
    form_hessians: tuple[tuple[tuple[sympy.Expr, ...], ...], ...]
    stencil_exprs: tuple[sympy.Expr, ...]
    stencil_names: tuple[str, ...]
    stencil_expected_rank: int
    generators: tuple[tuple[sympy.Expr, ...], ...]
    charge_names: tuple[str, ...]


def _stencil_invariants(system: LatticeSystem):
    from .invariants.derive import derive_invariants

    stencil = system.points_system(len(system.stencil), with_terms=False)
    inv = derive_invariants(stencil, require_complete=True)
    velocities = set(stencil.coordinates.qdot)
    picked = [
        (e, n)
        for e, n in zip(inv.exprs, inv.names)
        if not (sympy.sympify(e).free_symbols & velocities)
    ]
    if system.periodic:
        picked = [(fn(e), f"{fn.__name__}_{n}") for e, n in picked for fn in (sympy.cos, sympy.sin)]
    exprs, names = zip(*picked)
    expected = len(stencil.coordinates.q) - 1  # one-parameter group, free on generic states
    return tuple(exprs), tuple(names), expected


def _charge_names(system: LatticeSystem, group) -> tuple[str, ...]:
    # The lattice's own names: the U(1) charge, the total momentum of each shifted field.
    if system.symmetry == "u1":
        return ("u1_charge",)
    return tuple(f"total_momentum_{name}" for name in system.fields)[: group.K]


def derive_lattice(system: LatticeSystem) -> LatticeDerivation:
    """Derive the invariants of one site and of one stencil, the per-site kinetic
    structure and the one-site generators.

    **Arguments:**

    - `system`: the [`LatticeSystem`][].

    **Returns:**

    A [`LatticeDerivation`][]; its size and the time it takes do not depend on `shape`.
    """
    from .invariants.derive import derive_invariants

    if not isinstance(system, LatticeSystem):
        raise TypeError(f"derive_lattice expects an sn.LatticeSystem, got {type(system).__name__}")
    one = system.points_system(1, with_terms=False)
    site = derive_invariants(one, require_complete=True)
    qdot = one.coordinates.qdot
    structure = velocity_structure(site.exprs, qdot)
    positions = tuple(i for i, d in enumerate(structure.degrees) if d == 0)
    linear = tuple(i for i, d in enumerate(structure.degrees) if d == 1)
    forms = tuple(structure.kinetic_forms)
    if not linear and not forms:
        raise LatticeSpecError(
            f"{system.name}: a site has no invariant linear or quadratic "
            "in the velocities, so no kinetic energy can be built"
        )
    rows = tuple(tuple(sympy.diff(site.exprs[i], v) for v in qdot) for i in linear)
    hessians = tuple(
        tuple(tuple(row) for row in sympy.hessian(site.exprs[j], qdot).tolist()) for j in forms
    )
    exprs, names, expected = _stencil_invariants(system)
    group = one.symmetry
    return LatticeDerivation(
        system,
        site,
        positions,
        linear,
        forms,
        rows,
        hessians,
        exprs,
        names,
        expected,
        group.generators,
        _charge_names(system, group),
    )


def _zero(expr) -> bool:
    expr = sympy.sympify(expr)
    if expr.has(sympy.cos, sympy.sin):
        return sympy.simplify(sympy.expand_trig(expr)) == 0
    reduced = sympy.cancel(sympy.together(expr))
    return reduced == 0 or sympy.simplify(reduced) == 0


def _numeric_rank(exprs, symbols, seed: int = 0) -> int:
    # The generic rank of the Jacobian, at a random rational point (exact for rational
    # expressions; 40 digits and a relative threshold with cos/sin).
    rng = random.Random(seed)
    point = {s: sympy.Rational(rng.randint(1, 97), rng.randint(1, 13) + 1) for s in symbols}
    jac = sympy.Matrix([[sympy.diff(e, s) for s in symbols] for e in exprs]).subs(point)
    if all(x.is_Rational for x in jac):
        return jac.rank()
    import mpmath

    mpmath.mp.dps = 40
    values = mpmath.matrix([[sympy.N(x, 40) for x in row] for row in jac.tolist()])
    singular = mpmath.svd_r(values, compute_uv=False)
    return sum(1 for s in singular if s > mpmath.mpf(10) ** -25 * max(singular))


def _torus(system: LatticeSystem):
    """The smallest torus (side 3 along each axis, or more for a wide stencil): its
    coordinates, symbols per site and true Lagrangian."""
    d, F = len(system.shape), len(system.fields)
    side = max(3, 2 * max(abs(x) for o in system.stencil for x in o) + 1)
    sites = list(itertools.product(range(side), repeat=d))
    names = [f"f{'_'.join(map(str, x))}_{k}" for x in sites for k in range(F)]
    c = coordinates(
        " ".join(names), blocks={f"s{i}": names[i * F : (i + 1) * F] for i in range(len(sites))}
    )
    index = {x: i for i, x in enumerate(sites)}

    def at(x, offset):
        return index[tuple((a + b) % side for a, b in zip(x, offset))]

    f = [sympy.Matrix(c.q[i * F : (i + 1) * F]) for i in range(len(sites))]
    v = [sympy.Matrix(c.qdot[i * F : (i + 1) * F]) for i in range(len(sites))]
    L = sympy.Integer(0)
    for x in sites:
        i = index[x]
        L += system.site_term(f[i], v[i])
        if system.coupling is not None:
            L += sympy.sympify(system.coupling([f[at(x, o)] for o in system.stencil]))
    values = {
        sympy.Symbol(str(k)) if isinstance(k, str) else k: val
        for k, val in system.parameters.items()
    }
    return c, sites, side, at, L.xreplace(values), f, v


def _torus_checks(system: LatticeSystem, d: LatticeDerivation) -> list[LocalCheck]:
    c, sites, side, at, L, f, v = _torus(system)
    F, checks = len(system.fields), []
    # The global group on the whole torus: each site's field by the one-site generator.
    one = system.points_system(1, with_terms=False).coordinates.q
    gens = []
    for xi in d.generators:
        comp = {}
        for i in range(len(sites)):
            subs = dict(zip(one, f[i]))
            for k in range(F):
                comp[c.q[i * F + k]] = sympy.sympify(xi[k]).xreplace(subs)
        gens.append(comp)
    group = from_generators(c, gens, name="lattice_group", charge_names=list(d.charge_names))
    torus = System(name=f"{system.name}_torus", coordinates=c, symmetry=group, lagrangian=L)
    residuals = [group.apply(a, L) for a in range(group.K)]
    checks.append(
        LocalCheck(
            "sum_group_invariant",
            all(_zero(r) for r in residuals),
            f"X_a of the lattice sum = 0 on the {side}^{len(system.shape)} torus",
        )
    )
    moved = True
    for mu in range(len(system.shape)):
        step = tuple(int(k == mu) for k in range(len(system.shape)))
        shift = {}
        for x in sites:
            i, j = sites.index(x), at(x, step)
            shift.update(zip(c.q[i * F : (i + 1) * F], c.q[j * F : (j + 1) * F]))
            shift.update(zip(c.qdot[i * F : (i + 1) * F], c.qdot[j * F : (j + 1) * F]))
        moved &= _zero(L.xreplace(shift) - L)
    checks.append(
        LocalCheck(
            "sum_translation_invariant",
            moved,
            "L is unchanged by a translation of one site along each axis (same torus)",
        )
    )
    from .noether import noether_charges

    expected = noether_charges(torus)
    p = [sympy.diff(L, x) for x in c.qdot]
    same = True
    for a, name in enumerate(d.charge_names):
        mine = sum(
            p[i * F + k] * gens[a][c.q[i * F + k]] for i in range(len(sites)) for k in range(F)
        )
        same &= _zero(mine - expected[name])
    checks.append(
        LocalCheck(
            "charges",
            same,
            "sum_x p_x . xi_a(f_x) equals the Noether "
            "charge of the torus system for " + ", ".join(d.charge_names),
        )
    )
    return checks


def _definite_floor(d: LatticeDerivation) -> bool:
    # F(phi) = A^T A + 1/2 sum_j H_j: positive semi-definite term by term; definite for
    # every state if the constant part is definite: 1/2 sum H_j, plus A^T A where A is
    # constant.
    n = len(d.system.fields)
    constant = sympy.zeros(n, n)
    for h in d.form_hessians:
        constant += sympy.Matrix(h) / 2
    rows = sympy.Matrix(d.linear_rows) if d.linear_rows else sympy.zeros(0, n)
    if rows.shape[0] and all(x.is_number for x in rows):
        constant += rows.T * rows
    return all(sympy.nsimplify(e) > 0 for e in constant.eigenvals())


def verify_lattice(
    system: LatticeSystem, derivation: LatticeDerivation | None = None
) -> LocalReport:
    """Prove, on one site, one stencil and the smallest torus, what makes the lattice sum
    invariant and the learned family well posed.

    Checks: `site_invariants` (the site's set is invariant and complete); `stencil_invariants`
    (every stencil invariant is annihilated by every generator, and their rank is the
    stencil's fields minus the orbit dimension); `block_local` (the stencil group is the
    one-site field on each point); `kinetic_definite` (the per-site kinetic floor
    $A^T A + \\tfrac12\\sum_j H_j$ is positive definite at every state, so the learned mass
    blocks are, whatever the weights); `true_site_invariant` / `true_stencil_invariant`;
    `sum_group_invariant`, `sum_translation_invariant` and `charges` on the torus.

    **Returns:** a [`LocalReport`][].
    """
    d = derivation or derive_lattice(system)
    cert = d.site.certificate
    checks = [
        LocalCheck(
            "site_invariants",
            bool(cert.invariant and cert.complete),
            f"{len(d.site.exprs)} invariants, rank {cert.rank} of {cert.expected_rank}",
        )
    ]
    stencil = system.points_system(len(system.stencil), with_terms=True)
    G = stencil.symmetry
    ok = all(_zero(G.apply(a, e)) for a in range(G.K) for e in d.stencil_exprs)
    rank = _numeric_rank(d.stencil_exprs, stencil.coordinates.q)
    checks.append(
        LocalCheck(
            "stencil_invariants",
            ok and rank == d.stencil_expected_rank,
            f"{len(d.stencil_exprs)} position invariants, rank {rank} of {d.stencil_expected_rank}",
        )
    )
    F = len(system.fields)
    q1 = system.points_system(1, with_terms=False).coordinates.q
    local = True
    for xi1, xiS in zip(d.generators, G.generators):
        for k in range(len(system.stencil)):
            subs = dict(zip(q1, stencil.coordinates.q[k * F : (k + 1) * F]))
            local &= all(
                _zero(a - sympy.sympify(b).subs(subs, simultaneous=True))
                for a, b in zip(xiS[k * F : (k + 1) * F], xi1)
            )
    checks.append(
        LocalCheck(
            "block_local", local, "every stencil generator is the one-site field on each point"
        )
    )
    checks.append(
        LocalCheck(
            "kinetic_definite",
            _definite_floor(d),
            "A^T A + 1/2 sum_j H_j is positive definite at every state",
        )
    )
    one = system.points_system(1, with_terms=True)
    for label, term in (("site", one), ("stencil", stencil)):
        if label == "stencil" and system.coupling is None:
            continue
        residuals = [term.symmetry.apply(a, term.lagrangian) for a in range(term.symmetry.K)]
        checks.append(
            LocalCheck(
                f"true_{label}_invariant",
                all(_zero(r) for r in residuals),
                f"X_a {label} term = 0 for {term.symmetry.K} generators",
            )
        )
    if system.coupling is not None:
        checks += _torus_checks(system, d)
    return LocalReport(tuple(checks))


def load_lattice_spec(path) -> LatticeSystem:
    """The `system = sn.LatticeSystem(...)` a spec file defines (a `LatticeSpecError`
    otherwise)."""
    import runpy
    from pathlib import Path

    if not Path(path).is_file():
        raise LatticeSpecError(f"spec file {str(path)!r} does not exist")
    system = runpy.run_path(str(path)).get("system")
    if not isinstance(system, LatticeSystem):
        raise LatticeSpecError(
            f"spec file {str(path)!r} must define a module-level "
            f"`system = sn.LatticeSystem(...)`, got {type(system).__name__}"
        )
    return system
