"""Symmetry groups: Lie algebras of point transformations, given by their generators.

A generator is a vector field xi_a(q) on configuration space, or xi_a(q, t) with the time t
(`TIME`, e.g. a Galilean boost); its lift to TQ is
X_a = xi_a . d/dq + (dxi_a/dq qdot + dxi_a/dt) . d/dqdot. A generator may also carry a
boundary term F_a(q, t) of a quasi-symmetry, X_a L = dF_a/dt (see `symbolic/boundary.py`).
Generator and axis names follow one scheme:
axis k of a block is `x{k}`; e.g. `rotation_x0x1` (charge `angular_momentum_x0x1`),
`translation_x2` (charge `momentum_x2`), `translation_t` (charge `p_t`),
`lorentz_boost_x0x1` (charge `boost_x0x1`), `galilean_boost_x0` (charge `galilean_boost_x0`).
"""

import dataclasses
import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from ..errors import SpecError, SymmetryError
from .coordinates import TIME, Coordinates
from .names import name_problems
from .span import span_coefficients_many

__all__ = [
    "Action",
    "SymmetryGroup",
    "from_generators",
    "galilean_boosts",
    "lorentz",
    "rotations",
    "translations",
    "trivial",
]

_KINDS = ("translation", "coordinate_translation", "rotation", "lorentz", "boost", "custom")


@dataclass(frozen=True)
class Action:
    """How one factor of a group acts, kept for the classical invariant route.

    **Attributes:**

    - `kind`: one of `"translation"` (same shift of every block), `"coordinate_translation"`
      (shift of single coordinates), `"rotation"` (SO(d) or O(d) on blocks), `"lorentz"`
      (SO(p, q) on blocks), `"boost"` (Galilean boosts x -> x + epsilon t of blocks) or
      `"custom"` (anything else: only the general route applies).
    - `blocks`: the blocks acted on. `coordinates`: the coordinates shifted.
    - `metric`: the diagonal of eta for rotations and Lorentz groups.
    - `reflections`: whether the group includes reflections (O rather than SO).
    """

    kind: str
    blocks: tuple[str, ...] = ()
    coordinates: tuple[str, ...] = ()
    metric: tuple[int, ...] = ()
    reflections: bool = False

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}; expected one of {_KINDS}")


@dataclass(frozen=True)
class SymmetryGroup:
    """A finite-dimensional Lie algebra of point symmetries, closed under the bracket.

    Build it with [`translations`][], [`rotations`][], [`lorentz`][], [`from_generators`][]
    and products `G1 * G2`. Construction checks closure and raises [`SymmetryError`][]
    when the bracket of two generators leaves their span.

    **Attributes:**

    - `coordinates`: the [`Coordinates`][] it acts on.
    - `generators`: K tuples of n SymPy expressions, the components xi_a(q) (or
      xi_a(q, t) with the time symbol [`TIME`][]).
    - `names`: the K generator names. `charge_names`: the K Noether charge names.
    - `name`: a readable name of the group, e.g. `"SO(3)"`.
    - `actions`: how each factor acts (see [`Action`][]).
    - `boundary`: K entries, the boundary term F_a(q, t) a generator was declared with
      (`from_generators(..., boundary=...)`, `galilean_boosts(..., masses=...)`), or None
      where F_a is derived from the Lagrangian (zero for an exact symmetry); () for all None.
    - `structure_constants`: `{(a, b): (c_1..c_K)}` with [xi_a, xi_b] = sum_c c_c xi_c,
      for every pair a < b whose bracket is non-zero; None while the generators still hold
      parameters without values (see `parameters` and `substitute`).
    """

    coordinates: Coordinates
    generators: tuple[tuple[sympy.Expr, ...], ...]
    names: tuple[str, ...]
    charge_names: tuple[str, ...]
    name: str
    actions: tuple[Action, ...] = ()
    boundary: tuple[sympy.Expr | None, ...] = ()
    structure_constants: Mapping[tuple[int, int], tuple[sympy.Rational, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self):
        generators = tuple(tuple(sympy.sympify(c) for c in xi) for xi in self.generators)
        object.__setattr__(self, "generators", generators)
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "charge_names", tuple(self.charge_names))
        object.__setattr__(self, "actions", tuple(self.actions))
        boundary = tuple(self.boundary) or (None,) * len(generators)
        boundary = tuple(None if F is None else sympy.sympify(F) for F in boundary)
        object.__setattr__(self, "boundary", boundary)
        _raise_if(self._problems())
        # With parameters left (e.g. a pitch k), closure is checked once a System gives them
        # values (see `substitute`).
        constants = None if self.parameters else _structure_constants(self)
        object.__setattr__(self, "structure_constants", constants)

    def __hash__(self):
        return hash((self.coordinates, self.generators, self.names))

    def _problems(self) -> list[str]:
        c = self.coordinates
        problems = []
        if len(self.names) != len(self.generators) or len(self.charge_names) != len(self.names):
            problems.append("names, charge_names and generators must have the same length")
        if len(self.boundary) != len(self.generators):
            problems.append(f"boundary has {len(self.boundary)} entries for "
                            f"{len(self.generators)} generators; give one F_a (or None) each")
        for kind, names in (("generator", self.names), ("charge", self.charge_names)):
            for name in names:
                problems += name_problems(name, f"{kind} name")
            for dup in sorted({n for n in names if names.count(n) > 1}):
                problems.append(
                    f"{kind} name {dup!r} appears twice; when combining groups acting on "
                    "different blocks, pass label=... to a constructor to tell them apart"
                )
        for name, xi in zip(self.names, self.generators):
            if len(xi) != c.n:
                problems.append(f"generator {name!r} has {len(xi)} components, expected {c.n}")
            names = {s.name for s in c.qdot}
            velocities = {s for e in xi for s in e.free_symbols if s.name in names}
            if velocities:
                problems.append(
                    f"generator {name!r} mentions the velocities {sorted(map(str, velocities))};"
                    " a point symmetry xi(q) may depend on the coordinates (and parameters) only"
                )
        for name, F in zip(self.names, self.boundary):
            velocities = set() if F is None else {
                s for s in F.free_symbols if s.name in {v.name for v in c.qdot}}
            if velocities:
                problems.append(
                    f"the boundary term of generator {name!r} mentions the velocities "
                    f"{sorted(map(str, velocities))}; F(q, t) may depend on the coordinates "
                    "and the time only (X L = dF/dt)"
                )
        return problems

    @property
    def time_dependent(self) -> bool:
        """Whether a generator or a declared boundary term depends on the time [`TIME`][]."""
        if TIME in self.coordinates.q:  # a coordinate named t: that symbol is the coordinate
            return False
        return any(TIME in e.free_symbols for xi in self.generators for e in xi) or any(
            TIME in F.free_symbols for F in self.boundary if F is not None)

    def _variables(self) -> tuple[sympy.Symbol, ...]:
        """q, then the time where the generators depend on it (closure treats t as a
        constant: the fields have no d/dt component)."""
        return self.coordinates.q + ((TIME,) if self.time_dependent else ())

    @property
    def parameters(self) -> tuple[sympy.Symbol, ...]:
        """Symbols of the generators other than coordinates, sorted by name (e.g. a pitch k).

        A [`System`][] substitutes the values of its `parameters` for them; a group with
        parameters left has no structure constants until then.
        """
        c = self.coordinates
        free = set().union(set(), *(e.free_symbols for xi in self.generators for e in xi),
                           *(F.free_symbols for F in self.boundary if F is not None))
        return tuple(sorted(free - set(c.state) - {TIME}, key=lambda s: s.name))

    def substitute(self, values: Mapping) -> "SymmetryGroup":
        """The group with parameter values substituted, matched by symbol name.

        **Arguments:**

        - `values`: `{symbol or name: number}`, e.g. a system's `parameters`.

        **Returns:**

        A new [`SymmetryGroup`][] (closure is checked); `SpecError` naming the generators
        whose symbols are neither coordinates nor given a value.
        """
        by_name = {getattr(k, "name", k): sympy.sympify(v) for k, v in values.items()}
        replace = {p: by_name[p.name] for p in self.parameters if p.name in by_name}
        generators = tuple(tuple(e.xreplace(replace) for e in xi) for xi in self.generators)
        boundary = tuple(None if F is None else F.xreplace(replace) for F in self.boundary)
        group = dataclasses.replace(self, generators=generators, boundary=boundary)
        problems = []
        for name, xi, F in zip(group.names, group.generators, group.boundary):
            unknown = set().union(*(e.free_symbols for e in xi), set() if F is None else
                                  F.free_symbols) - set(self.coordinates.q) - {TIME}
            if unknown:
                problems.append(
                    f"generator {name!r} mentions {sorted(map(str, unknown))}, which are not "
                    f"coordinates (the coordinates are {self.coordinates.names}); a point "
                    "symmetry xi(q, t) may depend on the coordinates and the time only, and on "
                    "parameters given a value in System(parameters={...})"
                )
        _raise_if(problems)
        return group

    @property
    def K(self) -> int:
        """The number of generators."""
        return len(self.generators)

    def lift(self, a: int) -> tuple[sympy.Expr, ...]:
        """The 2n components of the lifted field X_a on TQ, in the order of `state`:
        xi_a, then the total time derivative dxi_a/dq qdot + dxi_a/dt."""
        return self._lifts[a]

    @functools.cached_property
    def _lifts(self) -> tuple[tuple[sympy.Expr, ...], ...]:
        c = self.coordinates
        timed = self.time_dependent
        lifts = []
        for xi in self.generators:
            dxi = tuple(_directional(x, c.q, c.qdot) + (sympy.diff(x, TIME) if timed else 0)
                        for x in xi)
            lifts.append(xi + dxi)
        return tuple(lifts)

    def apply(self, a: int, expr: sympy.Expr) -> sympy.Expr:
        """X_a applied to a function on TQ (zero components of X_a are skipped)."""
        state, free = self.coordinates.state, sympy.sympify(expr).free_symbols
        return sympy.Add(*(x * sympy.diff(expr, s)
                           for x, s in zip(self.lift(a), state) if x != 0 and s in free))

    def bracket(self, a: int, b: int) -> tuple[sympy.Expr, ...]:
        """The Lie bracket [xi_a, xi_b]^i = xi_a . d xi_b^i / dq - xi_b . d xi_a^i / dq."""
        return _bracket(self.coordinates.q, self.generators[a], self.generators[b])

    def is_affine(self, a: int) -> bool:
        """Whether xi_a(q) is affine in q (rotations, translations, Lorentz: yes)."""
        q = set(self.coordinates.q)
        # Affine: every first derivative is free of q (only the symbols present matter).
        return all(
            not (sympy.diff(x, s).free_symbols & q)
            for x in self.generators[a] for s in x.free_symbols & q
        )

    def __mul__(self, other: "SymmetryGroup") -> "SymmetryGroup":
        if not isinstance(other, SymmetryGroup):
            return NotImplemented
        if other.coordinates != self.coordinates:
            raise SpecError(
                "the two groups act on different coordinates; build both from the same "
                "Coordinates object",
                what="product of symmetries",
            )
        return SymmetryGroup(
            coordinates=self.coordinates,
            generators=self.generators + other.generators,
            names=self.names + other.names,
            charge_names=self.charge_names + other.charge_names,
            name=f"{self.name} x {other.name}",
            actions=self.actions + other.actions,
            boundary=self.boundary + other.boundary,
        )


def trivial(c: Coordinates) -> SymmetryGroup:
    """The trivial group: no continuous symmetry, no generators, no Noether charges.

    What `System(symmetry=None)` uses. The invariants are then the coordinates and
    velocities themselves, and only the energy of an autonomous Lagrangian is conserved.
    """
    if not isinstance(c, Coordinates):
        raise TypeError(f"expected Coordinates, got {type(c).__name__}")
    return SymmetryGroup(c, (), (), (), "trivial")


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise SpecError(problems, what="symmetry")


def _directional(x: sympy.Expr, q, direction) -> sympy.Expr:
    """sum_j dx/dq_j direction_j, differentiating only by the coordinates x contains (many
    particles: a rotation's component holds one coordinate of n)."""
    free = x.free_symbols
    return sympy.Add(*(sympy.diff(x, s) * d for s, d in zip(q, direction) if s in free))


def _bracket(q, xa, xb) -> tuple[sympy.Expr, ...]:
    return tuple(
        sympy.expand(_directional(xb[i], q, xa) - _directional(xa[i], q, xb))
        for i in range(len(q))
    )


def _structure_constants(group: SymmetryGroup) -> dict:
    """Structure constants of a closed algebra; `SymmetryError` for a bracket outside it.

    Membership of each bracket in the constant-coefficient span of the generators is
    decided exactly: on polynomial coefficient vectors over QQ when every field is
    polynomial (one sparse row reduction for all brackets), else by
    [`span_coefficients_many`][]: exact evaluation at random rational points (angles on rational
    points of the circle, so sin^2 + cos^2 = 1 holds there), then the residual proved by the
    identity tests every other check uses.
    """
    K = group.K
    pairs = list(itertools.combinations(range(K), 2))
    brackets = {ab: group.bracket(*ab) for ab in pairs}
    nonzero = [ab for ab in pairs if any(e != 0 for e in brackets[ab])]
    if not nonzero:
        return {}
    targets = [brackets[ab] for ab in nonzero]
    solutions = _span_coefficients_poly(group, targets)
    if solutions is None:  # angles, roots: decided by the identity tests (sin^2 + cos^2 = 1)
        solutions = [coeffs for coeffs, _ in span_coefficients_many(
            targets, group.generators, group.coordinates, seed=1)]
    constants = {}
    for (a, b), br, coeffs in zip(nonzero, targets, solutions):
        if coeffs is None:
            raise SymmetryError(
                f"the symmetry {group.name!r} is not closed: the Lie bracket "
                f"[{group.names[a]}, {group.names[b]}] = {br} is not a constant-coefficient "
                "combination of the generators. Add the missing generator(s) (the bracket "
                "above) or remove one of the two."
            )
        constants[(a, b)] = coeffs
    return constants


def _coefficient_vector(field_, q) -> dict | None:
    """{(component, monomial): coefficient} of a polynomial vector field over QQ, or None."""
    vector = {}
    for i, expr in enumerate(field_):
        try:
            poly = sympy.Poly(expr, *q, domain=QQ)
        except (sympy.PolynomialError, sympy.CoercionFailed, sympy.GeneratorsNeeded):
            return None
        for monom, coeff in poly.terms():
            if coeff:
                vector[(i, monom)] = coeff
    return vector


def _span_coefficients_poly(group, targets) -> list | None:
    """Coefficients of each target in the span of the generators, if all are polynomial."""
    q = group._variables()
    vectors = [_coefficient_vector(f, q) for f in group.generators + tuple(targets)]
    if any(v is None for v in vectors):
        return None
    keys = sorted(set().union(*vectors), key=lambda k: (k[0], k[1]))
    index = {k: r for r, k in enumerate(keys)}
    rows = {}
    for col, vector in enumerate(vectors):
        for key, coeff in vector.items():
            rows.setdefault(index[key], {})[col] = coeff
    matrix = DomainMatrix({r: row for r, row in rows.items()}, (len(keys), len(vectors)), QQ)
    rref, pivots = matrix.rref()
    rref = rref.to_Matrix()
    K = group.K
    solutions = []
    for t in range(len(targets)):
        col = K + t
        if col in pivots:
            solutions.append(None)
            continue
        coeffs = [sympy.Integer(0)] * K
        for row, pivot in enumerate(pivots):
            if pivot < K:
                coeffs[pivot] = sympy.Rational(rref[row, col])
        solutions.append(tuple(coeffs))
    return solutions


def _block_dim(c: Coordinates, blocks: Sequence[str], what: str) -> int:
    problems = []
    if isinstance(blocks, str):
        raise TypeError(f"{what}: blocks must be a list of block names, e.g. [{blocks!r}]")
    if not blocks:
        problems.append(f"{what}: no blocks given; name the vector blocks it acts on")
    for b in blocks:
        if b not in c.blocks:
            known = tuple(c.blocks) or "none (declare them with coordinates(..., blocks=...))"
            problems.append(f"{what}: unknown block {b!r}; the blocks are {known}")
    if len(set(blocks)) != len(blocks):
        problems.append(f"{what}: a block is listed twice in {list(blocks)}")
    _raise_if(problems)
    dims = {b: len(c.blocks[b]) for b in blocks}
    if len(set(dims.values())) != 1:
        raise SpecError(
            f"{what}: the blocks must have the same length, got {dims}", what="symmetry"
        )
    return dims[blocks[0]]


def _suffix(label: str | None) -> str:
    if label is None:
        return ""
    _raise_if(name_problems(label, "label"))
    return f"_{label}"


def _charge_names(group: SymmetryGroup, charge_names: Sequence[str] | None) -> SymmetryGroup:
    # A built-in group with charges of the user's names (a U(1) of a complex field: "charge").
    if charge_names is None:
        return group
    if isinstance(charge_names, str) or len(charge_names) != group.K:
        raise SpecError(f"charge_names={charge_names!r}: give a list of {group.K} name(s), one "
                        f"per generator {group.names}", what="symmetry")
    return dataclasses.replace(group, charge_names=tuple(charge_names))


def translations(
    c: Coordinates,
    blocks: Sequence[str] | None = None,
    *,
    coordinates: Sequence[str] | None = None,
    label: str | None = None,
    charge_names: Sequence[str] | None = None,
) -> SymmetryGroup:
    """Translations: the same shift of every block, or shifts of single coordinates.

    **Arguments:**

    - `c`: the coordinates.
    - `blocks`: blocks of equal length d; d generators `translation_x{k}` shift axis k of
      every block at once (charges `momentum_x{k}`, the total momentum).
    - `coordinates`: instead, single coordinates; one generator `translation_{name}` each
      (charge `p_{name}`), e.g. time translation of `t`.
    - `label`: optional suffix of the names, to tell several such groups apart.
    - `charge_names`: optional names of the charges, one per generator, in their order.

    **Returns:**

    A [`SymmetryGroup`][].
    """
    if (blocks is None) == (coordinates is None):
        raise TypeError("translations() takes exactly one of blocks=... or coordinates=...")
    s = _suffix(label)
    if coordinates is not None:
        if isinstance(coordinates, str):
            raise TypeError(f"coordinates must be a list of names, e.g. [{coordinates!r}]")
        unknown = [x for x in coordinates if x not in c.names]
        if unknown or not coordinates:
            raise SpecError(
                f"translations: unknown coordinates {unknown or '(none given)'}; the "
                f"coordinates are {c.names}",
                what="symmetry",
            )
        gens = [tuple(int(n == x) for n in c.names) for x in coordinates]
        return _charge_names(SymmetryGroup(
            c, tuple(gens), tuple(f"translation_{x}{s}" for x in coordinates),
            tuple(f"p_{x}{s}" for x in coordinates),
            f"T({', '.join(coordinates)})", (Action("coordinate_translation",
                                                   coordinates=tuple(coordinates)),),
        ), charge_names)
    d = _block_dim(c, blocks, "translations")
    gens = []
    for k in range(d):
        axis = {c.block_indices(b)[k] for b in blocks}
        gens.append(tuple(int(i in axis) for i in range(c.n)))
    return _charge_names(SymmetryGroup(
        c, tuple(gens), tuple(f"translation_x{k}{s}" for k in range(d)),
        tuple(f"momentum_x{k}{s}" for k in range(d)), f"T({d})",
        (Action("translation", blocks=tuple(blocks)),),
    ), charge_names)


def _pseudo_rotations(
    c: Coordinates, blocks: Sequence[str], metric: tuple[int, ...], label: str | None
) -> tuple[list, list, list]:
    """Generators of SO(eta): for i < j, (A x)_i = -eta_jj x_j, (A x)_j = eta_ii x_i."""
    gens, names, charges = [], [], []
    s = _suffix(label)
    for i, j in itertools.combinations(range(len(metric)), 2):
        xi = [sympy.Integer(0)] * c.n
        for b in blocks:
            block = c.block_indices(b)
            xi[block[i]] = -metric[j] * c.q[block[j]]
            xi[block[j]] = metric[i] * c.q[block[i]]
        gens.append(tuple(xi))
        if metric[i] == metric[j]:
            names.append(f"rotation_x{i}x{j}{s}")
            charges.append(f"angular_momentum_x{i}x{j}{s}")
        else:
            names.append(f"lorentz_boost_x{i}x{j}{s}")
            charges.append(f"boost_x{i}x{j}{s}")
    return gens, names, charges


def rotations(
    c: Coordinates, blocks: Sequence[str], *, reflections: bool = False, label: str | None = None,
    charge_names: Sequence[str] | None = None,
) -> SymmetryGroup:
    """Rotations SO(d) (or O(d) with `reflections=True`), the same rotation on every block.

    **Arguments:**

    - `c`: the coordinates.
    - `blocks`: blocks of equal length d >= 2.
    - `reflections`: include reflections (O(d)); the Lie algebra is the same, but the
      invariants then exclude the Levi-Civita contractions.
    - `label`: optional suffix of the names.
    - `charge_names`: optional names of the charges, one per generator, in their order;
      e.g. `["charge"]` for the U(1) = SO(2) of a complex field.

    **Returns:**

    A [`SymmetryGroup`][] with generators `rotation_x{i}x{j}` (charges
    `angular_momentum_x{i}x{j}`) for i < j.
    """
    d = _block_dim(c, blocks, "rotations")
    if d < 2:
        raise SpecError("rotations need blocks of length >= 2", what="symmetry")
    metric = (1,) * d
    gens, names, charges = _pseudo_rotations(c, blocks, metric, label)
    action = Action("rotation", blocks=tuple(blocks), metric=metric, reflections=reflections)
    name = f"{'O' if reflections else 'SO'}({d})"
    group = SymmetryGroup(c, tuple(gens), tuple(names), tuple(charges), name, (action,))
    return _charge_names(group, charge_names)


def lorentz(
    c: Coordinates,
    blocks: Sequence[str],
    *,
    signature: tuple[int, int],
    reflections: bool = False,
    label: str | None = None,
    charge_names: Sequence[str] | None = None,
) -> SymmetryGroup:
    """Pseudo-orthogonal group SO(p, q) with metric diag(-1 (p times), +1 (q times)).

    **Arguments:**

    - `c`: the coordinates.
    - `blocks`: blocks of equal length p + q.
    - `signature`: `(p, q)`, e.g. `(1, 3)` for the Lorentz group of Minkowski space.
    - `reflections`: include reflections (O(p, q)): no Levi-Civita invariants.
    - `label`: optional suffix of the names.
    - `charge_names`: optional names of the charges, one per generator, in their order.

    **Returns:**

    A [`SymmetryGroup`][]: rotations within the positive (or negative) axes and boosts
    `lorentz_boost_x{i}x{j}` (charges `boost_x{i}x{j}`) that mix the two.
    """
    if (
        not isinstance(signature, tuple | list)
        or len(signature) != 2
        or not all(isinstance(v, int) and v >= 0 for v in signature)
    ):
        raise TypeError(f"signature must be a pair (p, q) of ints >= 0, got {signature!r}")
    p, q = signature
    d = _block_dim(c, blocks, "lorentz")
    if p + q != d or d < 2:
        raise SpecError(
            f"lorentz: signature {tuple(signature)} has p + q = {p + q}, but the blocks have "
            f"length {d}; choose (p, q) with p + q = {d} (and d >= 2)",
            what="symmetry",
        )
    metric = (-1,) * p + (1,) * q
    gens, names, charges = _pseudo_rotations(c, blocks, metric, label)
    action = Action("lorentz", blocks=tuple(blocks), metric=metric, reflections=reflections)
    name = f"{'O' if reflections else 'SO'}({p},{q})"
    group = SymmetryGroup(c, tuple(gens), tuple(names), tuple(charges), name, (action,))
    return _charge_names(group, charge_names)


def galilean_boosts(
    c: Coordinates,
    blocks: Sequence[str],
    *,
    masses: Mapping[str, object] | Sequence | None = None,
    label: str | None = None,
) -> SymmetryGroup:
    """Galilean boosts x -> x + epsilon t e_k, the same on every block: time-dependent.

    With [`translations`][] and [`rotations`][] of the same blocks they close into the
    Galilei algebra ([boost, translation] = 0, rotations rotate boosts). The lift of a boost
    shifts every velocity by e_k, so it changes the kinetic energy
    T = sum_b m_b |xdot_b|^2 / 2 by a total derivative, X T = d/dt (sum_b m_b x_b,k): a
    quasi-symmetry with boundary term F_k = M x_cm,k and the conserved charge
    I_k = t P_k - M x_cm,k (minus the textbook K_k = M x_cm,k - P_k t).

    **Arguments:**

    - `c`: the coordinates (none may be named `t`: that is the time).
    - `blocks`: blocks of equal length d; d generators `galilean_boost_x{k}` (charges
      `boost_charge_x{k}`).
    - `masses`: optional masses of the blocks (a mapping block -> mass, or a sequence in the
      order of `blocks`; numbers or parameter symbols): they give the boundary terms
      F_k = sum_b m_b x_b,k. Without them, `verify` derives F_k from the Lagrangian.
    - `label`: optional suffix of the names.

    **Returns:**

    A [`SymmetryGroup`][] (action kind `"boost"`).
    """
    d = _block_dim(c, blocks, "galilean_boosts")
    t = c.time
    s = _suffix(label)
    mass = _block_masses(blocks, masses)
    gens, boundary = [], []
    for k in range(d):
        axis = {c.block_indices(b)[k] for b in blocks}
        gens.append(tuple(t if i in axis else sympy.Integer(0) for i in range(c.n)))
        if mass is not None:
            boundary.append(sympy.Add(*(m * c.block(b)[k] for b, m in zip(blocks, mass))))
    return SymmetryGroup(
        c, tuple(gens), tuple(f"galilean_boost_x{k}{s}" for k in range(d)),
        tuple(f"boost_charge_x{k}{s}" for k in range(d)), f"Boosts({d})",
        (Action("boost", blocks=tuple(blocks)),), tuple(boundary),
    )


def _block_masses(blocks, masses) -> list | None:
    if masses is None:
        return None
    if isinstance(masses, Mapping):
        missing = [b for b in blocks if b not in masses]
        if missing:
            raise SpecError(f"galilean_boosts: masses has no entry for blocks {missing}",
                            what="symmetry")
        masses = [masses[b] for b in blocks]
    masses = list(masses)
    if len(masses) != len(blocks):
        raise SpecError(f"galilean_boosts: {len(masses)} masses for {len(blocks)} blocks; give "
                        "one per block", what="symmetry")
    try:
        return [sympy.sympify(m) for m in masses]
    except sympy.SympifyError as error:
        raise SpecError(f"galilean_boosts: a mass is not a number or symbol ({error})",
                        what="symmetry") from None


def from_generators(
    c: Coordinates,
    generators: Iterable[Mapping],
    *,
    name: str,
    names: Sequence[str] | None = None,
    charge_names: Sequence[str] | None = None,
    boundary: Sequence | None = None,
) -> SymmetryGroup:
    """A custom symmetry from its generators, given as coordinate -> xi component maps.

    **Arguments:**

    - `c`: the coordinates.
    - `generators`: one mapping per generator, from a coordinate (its SymPy symbol or its
      name) to that component of xi(q); components left out are zero. E.g.
      `[{x: -y, y: x}]` for rotations about the z axis.
    - `name`: the group's name; also the generator name when there is one generator, or
      the prefix `f"{name}_{a}"` of several.
    - `names`, `charge_names`: optional explicit names (default charge `I_<generator>`).
    - `boundary`: optional boundary terms of quasi-symmetries, one per generator: F_a(q, t)
      with X_a L = dF_a/dt (the charge is then I_a = dL/dqdot . xi_a - F_a), or None where
      F_a should be derived from the Lagrangian (as it is without this argument).
      Components and boundary terms may use the time `c.time` (or the name `"t"`).

    **Returns:**

    A [`SymmetryGroup`][] (closure is checked).
    """
    problems = name_problems(name, "group name")
    local = dict(zip(c.names, c.q))
    if "t" not in local:
        local["t"] = TIME
    maps = list(generators)
    if not maps:
        problems.append("no generators given; pass a list of coordinate -> component maps")
    gens = []
    for a, mapping in enumerate(maps):
        if not isinstance(mapping, Mapping):
            problems.append(f"generator {a} is a {type(mapping).__name__}; expected a dict")
            continue
        xi = [sympy.Integer(0)] * c.n
        for key, value in mapping.items():
            key_name = key if isinstance(key, str) else getattr(key, "name", repr(key))
            if key_name not in c.names or not (isinstance(key, str) or key in c.q):
                problems.append(
                    f"generator {a}: {key!r} is not a coordinate (the coordinates are "
                    f"{c.names}); use a coordinate symbol from c.q or its name"
                )
                continue
            try:
                component = sympy.sympify(value, locals=local)
                if not isinstance(component, sympy.Expr):
                    raise TypeError
                xi[c.index(key_name)] = component
            except (sympy.SympifyError, TypeError, SyntaxError):
                problems.append(f"generator {a}: component {value!r} is not a SymPy expression")
        gens.append(tuple(xi))
    terms, boundary_problems = _boundary_terms(boundary, len(gens), local)
    _raise_if(problems + boundary_problems)
    if names is None:
        names = [name] if len(gens) == 1 else [f"{name}_{a}" for a in range(len(gens))]
    if charge_names is None:
        charge_names = [f"I_{n}" for n in names]
    return SymmetryGroup(c, tuple(gens), tuple(names), tuple(charge_names), name,
                         (Action("custom"),), terms)


def _boundary_terms(boundary, K: int, local: dict) -> tuple[tuple, list[str]]:
    if boundary is None:
        return (), []
    if isinstance(boundary, str | sympy.Basic) or not isinstance(boundary, Sequence):
        return (), [f"boundary must be a list of {K} expressions (or None), one per generator; "
                    f"got {type(boundary).__name__}"]
    if len(boundary) != K:
        return (), [f"boundary has {len(boundary)} entries for {K} generators; give one "
                    "F_a (or None) per generator"]
    terms, problems = [], []
    for a, F in enumerate(boundary):
        try:
            term = None if F is None else sympy.sympify(F, locals=local)
            if term is not None and not isinstance(term, sympy.Expr):
                raise TypeError
        except (sympy.SympifyError, TypeError, SyntaxError):
            problems.append(f"boundary term {a}: {F!r} is not a SymPy expression")
            term = None
        terms.append(term)
    return tuple(terms), problems
