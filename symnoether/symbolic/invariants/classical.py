"""The classical invariants of translations, rotations and Lorentz groups acting on blocks.

Translations are removed by differences (and Galilean boosts, which shift velocities, by
differences of velocities), then the remaining vectors are contracted with the metric and,
for groups without reflections, with the Levi-Civita symbol (the first fundamental theorem
of invariant theory for SO(p, q) and O(p, q)).
"""

import itertools
import re
from dataclasses import dataclass

import sympy

from ..coordinates import Coordinates, velocity_name
from ..groups import Action, SymmetryGroup

__all__ = ["ClassicalUnsupported", "classical_invariants"]

_LEIBNIZ_MAX = 5  # up to this dimension the determinant is written as its Leibniz sum


class ClassicalUnsupported(Exception):
    """The group's structure is outside the classical route; the message says why."""


@dataclass(frozen=True)
class _Vector:
    """A named vector of SymPy expressions transforming under a rotation or Lorentz group."""

    name: str
    components: tuple[sympy.Expr, ...]


def classical_invariants(group: SymmetryGroup) -> tuple[list[sympy.Expr], list[str]]:
    """The classical invariant scalars of `group`, in a deterministic order, and their names.

    The set, in this order:

    1. coordinates in no acted-on block: each q_i unless it is translated (e.g. `t`), then
       each qdot_i (e.g. `tdot`), in declaration order;
    2. blocks translated but not rotated: the components of their differences (`x12_0`),
       then their velocity components;
    3. per rotation or Lorentz action, in declaration order, the vectors v_1..v_m of its
       blocks (positions, then velocities, each in block declaration order): every
       contraction a . eta . b for a <= b (named `a_b`), then, unless the group has
       reflections, the Levi-Civita contractions eps(v_1, .., v_{d-1}, v_k) for k >= d
       (`eps_a_b_c`): m - d + 1 of them, not all C(m, d) d-subsets. The dot products alone
       have the full rank; these fix the orientation (SO rather than O) wherever
       v_1..v_{d-1} are independent. The set grows as m^2.

    A translation of blocks B1..Bk (as listed in `translations(...)`) keeps the differences
    B1 - Bi for i >= 2, named `x12` for x1 - x2 (blocks named prefix + one digit), else
    `d_B1_Bi`; the position of B1 itself is dropped. Velocities are always translation
    invariant. Galilean boosts (`galilean_boosts`) of the same blocks shift every velocity
    alike, so the velocities are differenced the same way (`x12dot` for x1dot - x2dot) and
    the velocity of B1 is dropped: the invariants are those of relative motion.

    The set can be functionally redundant (e.g. two particles in 2D: eight invariants of rank
    five); the certificate reports the rank, and `derive_invariants(..., minimal=True)`
    keeps an independent subset of exactly that rank.

    **Arguments:**

    - `group`: a [`SymmetryGroup`][] built from `translations`, `rotations` and `lorentz`.

    **Returns:**

    `(exprs, names)`. Raises `ClassicalUnsupported` for any other structure (custom
    generators, overlapping blocks, translations that mix rotated and unrotated blocks).
    """
    c = group.coordinates
    _check_structure(group)
    translated = _translation_reference(group.actions)
    shifted = {x for a in group.actions if a.kind == "coordinate_translation"
               for x in a.coordinates}
    rotations = [a for a in group.actions if a.kind in ("rotation", "lorentz")]
    acted = [b for b in c.blocks if b in translated or any(b in r.blocks for r in rotations)]
    taken = _taken_names(c)
    positions = {b: _position(c, b, translated, taken) for b in acted}
    boosted = {b for a in group.actions if a.kind == "boost" for b in a.blocks}
    velocities = {b: _velocity(c, b, positions[b], translated[b] if b in boosted else None)
                  for b in acted}
    out = _scalars(c, acted, shifted)
    unrotated = [b for b in acted if not any(b in r.blocks for r in rotations)]
    out += _components(c, unrotated, positions, velocities)
    for action in rotations:
        blocks = [b for b in acted if b in action.blocks]
        vectors = [positions[b] for b in blocks if positions[b] is not None]
        vectors += [velocities[b] for b in blocks if velocities[b] is not None]
        out += _contractions(vectors, action)
    return [e for _, e in out], _unique(out, c)


def _check_structure(group: SymmetryGroup) -> None:
    actions = group.actions
    if not actions and group.K == 0:  # no symmetry: the invariants are q and qdot
        return
    if not actions:
        raise ClassicalUnsupported("the group records no actions (it was built directly)")
    if any(a.kind == "custom" for a in actions):
        raise ClassicalUnsupported("it has custom generators (from_generators)")
    blocks = list(dict.fromkeys(b for a in actions for b in a.blocks))
    _check_disjoint(group.coordinates, blocks)
    _check_one_action_each(actions)
    _check_translations_rotate_together(actions)
    _check_boosts_translate(actions)
    _check_shifts_outside_blocks(group.coordinates, actions, blocks)


def _check_boosts_translate(actions) -> None:
    translated = [set(a.blocks) for a in actions if a.kind == "translation"]
    for boost in (a for a in actions if a.kind == "boost"):
        if set(boost.blocks) not in translated:
            raise ClassicalUnsupported(
                f"the Galilean boosts of {list(boost.blocks)} come without translations of "
                "the same blocks; only with them are the invariants those of relative motion "
                "(add sn.translations(c, blocks=...) of the same blocks)"
            )


def _check_one_action_each(actions) -> None:
    for kinds in (("translation",), ("boost",), ("rotation", "lorentz")):
        counted = [b for a in actions if a.kind in kinds for b in a.blocks]
        twice = sorted({b for b in counted if counted.count(b) > 1})
        if twice:
            raise ClassicalUnsupported(f"blocks {twice} are acted on by two {kinds[0]}s")


def _check_translations_rotate_together(actions) -> None:
    for t in (a for a in actions if a.kind == "translation"):
        for r in (a for a in actions if a.kind in ("rotation", "lorentz")):
            inside = set(t.blocks) & set(r.blocks)
            if inside and inside != set(t.blocks):
                raise ClassicalUnsupported(
                    f"the translation of {list(t.blocks)} mixes blocks rotated by "
                    f"{list(r.blocks)} with others, so their differences are not vectors"
                )


def _check_shifts_outside_blocks(c: Coordinates, actions, blocks) -> None:
    in_blocks = {x for b in blocks for x in c.blocks[b]}
    for a in actions:
        both = sorted(set(a.coordinates) & in_blocks)
        if a.kind == "coordinate_translation" and both:
            raise ClassicalUnsupported(
                f"coordinates {both} are shifted on their own but also belong to a block "
                "acted on as a vector"
            )


def _check_disjoint(c: Coordinates, blocks: list[str]) -> None:
    for b1, b2 in itertools.combinations(blocks, 2):
        if set(c.blocks[b1]) & set(c.blocks[b2]):
            raise ClassicalUnsupported(f"blocks {b1!r} and {b2!r} share coordinates")


def _translation_reference(actions: tuple[Action, ...]) -> dict[str, str]:
    """block -> the reference block (first listed) of the translation acting on it."""
    return {b: a.blocks[0] for a in actions if a.kind == "translation" for b in a.blocks}


def _taken_names(c: Coordinates) -> set[str]:
    return set(c.names) | {velocity_name(n) for n in c.names} | set(c.blocks) | {
        velocity_name(b) for b in c.blocks
    }


def _position(c, block, translated, taken) -> _Vector | None:
    if block not in translated:
        return _Vector(block, c.block(block))
    ref = translated[block]
    if ref == block:
        return None
    name = _difference_name(ref, block, taken)
    taken.add(name)
    return _Vector(name, tuple(a - b for a, b in zip(c.block(ref), c.block(block))))


def _velocity(c, block, position, reference) -> _Vector | None:
    """The block's velocity, or with a boost (`reference`: the block its translation
    differences against) its difference from the reference block's velocity."""
    if reference is None:
        return _Vector(velocity_name(block), c.block_velocity(block))
    if position is None:  # the reference block: its velocity is not boost invariant
        return None
    return _Vector(velocity_name(position.name), tuple(
        a - b for a, b in zip(c.block_velocity(reference), c.block_velocity(block))))


def _difference_name(ref: str, other: str, taken: set[str]) -> str:
    """`x12` for x1 - x2 (same prefix, one-digit indices), else `d_x1_x2`; never a taken name."""
    m1, m2 = re.fullmatch(r"(\D+)(\d)", ref), re.fullmatch(r"(\D+)(\d)", other)
    name = f"d_{ref}_{other}"
    if m1 and m2 and m1.group(1) == m2.group(1):
        name = f"{m1.group(1)}{m1.group(2)}{m2.group(2)}"
    if name in taken:
        name = f"d_{ref}_{other}"
    while name in taken:
        name += "_"
    return name


def _scalars(c: Coordinates, acted: list[str], shifted: set[str]) -> list[tuple]:
    in_blocks = {x for b in acted for x in c.blocks[b]}
    free = [i for i, name in enumerate(c.names) if name not in in_blocks]
    out = [(c.names[i], c.q[i]) for i in free if c.names[i] not in shifted]
    return out + [(c.qdot[i].name, c.qdot[i]) for i in free]


def _components(c: Coordinates, blocks: list[str], positions: dict, velocities: dict
                ) -> list[tuple]:
    out = []
    for b in blocks:
        if positions[b] is not None:
            out += [(f"{positions[b].name}_{k}", e) for k, e in enumerate(positions[b].components)]
    for b in blocks:
        v = velocities[b]
        if v is not None and v.components == c.block_velocity(b):
            out += [(s.name, s) for s in v.components]
        elif v is not None:
            out += [(f"{v.name}_{k}", e) for k, e in enumerate(v.components)]
    return out


def _contractions(vectors: list[_Vector], action: Action) -> list[tuple]:
    eta = action.metric
    out = [
        (f"{u.name}_{v.name}", _dot(u.components, v.components, eta))
        for u, v in itertools.combinations_with_replacement(vectors, 2)
    ]
    d = len(eta)
    if not action.reflections and len(vectors) >= d:
        # The first d - 1 vectors with each later one: the dot products are already
        # functionally complete, and these few fix the orientation wherever the first d - 1
        # vectors are independent (every other d-subset is then a function of them).
        head = vectors[: d - 1]
        out += [
            ("eps_" + "_".join(v.name for v in head + [last]),
             _det([v.components for v in head + [last]]))
            for last in vectors[d - 1:]
        ]
    return out


def _dot(u, v, eta) -> sympy.Expr:
    return sympy.Add(*[g * a * b for g, a, b in zip(eta, u, v)])


def _det(columns) -> sympy.Expr:
    """det[v_1 ... v_d], the Levi-Civita contraction eps_{i1..id} v_1^i1 ... v_d^id."""
    d = len(columns)
    if d > _LEIBNIZ_MAX:
        return sympy.expand(sympy.Matrix(columns).T.det(method="berkowitz"))
    terms = []
    for perm in itertools.permutations(range(d)):
        inversions = sum(1 for i, j in itertools.combinations(range(d), 2) if perm[i] > perm[j])
        product = sympy.Mul(*[columns[k][perm[k]] for k in range(d)])
        terms.append(-product if inversions % 2 else product)
    return sympy.Add(*terms)


def _unique(named: list[tuple[str, sympy.Expr]], c: Coordinates) -> list[str]:
    """The names made unique: a clash (e.g. from underscores in block names, or with a
    coordinate or velocity name for another quantity) gets `_2`, `_3`, ..."""
    state = {s.name: s for s in c.state}
    out: list[str] = []
    for name, expr in named:
        candidate, k = name, 2
        while candidate in out or (candidate in state and expr != state[candidate]):
            candidate, k = f"{name}_{k}", k + 1
        out.append(candidate)
    return out
