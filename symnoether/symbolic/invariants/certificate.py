"""The certificate of an invariant set: exact invariance and functional completeness.

For invariants S_1..S_M on TQ (dim 2n) and a group with lifted generators X_1..X_K:

- invariance: X_a S_j is identically 0 for every a, j (and S_j is unchanged by the
  reflection of a group that includes reflections, which the Lie algebra cannot see);
- completeness: the generic rank of dS/d(q, qdot) equals 2n - r, where r is the generic rank
  of the 2n x K matrix of lifted generators (the orbit dimension; for generators that depend
  on the time, at a generic time).

Ranks are exact: the matrices are evaluated at random rational points and row-reduced
modulo a large prime (a lower bound of the rank over QQ, so reaching the largest possible
rank is a proof) or, when that falls short, over QQ. Polynomial invariants take a sparse
path (no SymPy trees in the loops).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from ...errors import format_problems
from ..candidates import prepare_candidates
from ..coordinates import TIME
from ..exact import (
    generic_rank,
    high_precision_rank,
    independent_rows_mod_p,
    random_points,
)
from ..identity import decide_zero
from ..system import System
from ._polys import (
    apply_field,
    from_sympy_point,
    gradient,
    to_expr,
    to_sparse,
    value,
    variables,
)

__all__ = ["Certificate", "certify", "independent_subset", "lie_residuals"]

# The orbit dimension of time-dependent generators (Galilean boosts) is their rank at a
# fixed generic time: the invariants live on TQ, at every time alike.
_GENERIC_TIME = sympy.Rational(7, 3)


@dataclass(frozen=True)
class Certificate:
    """The proof that a set of scalars is invariant, and how complete it is.

    **Attributes:**

    - `invariant`: X_a S_j simplifies to exactly 0 for every generator a and invariant j
      (and, for groups with reflections, S_j is unchanged by the reflection).
    - `residuals`: `((generator_name, invariant_name, residual), ...)`, the non-zero ones
      only; a reflection appears as generator `reflection_<blocks>`.
    - `rank`: the generic rank of dS/d(q, qdot), exact at random rational points.
    - `expected_rank`: 2n - r.
    - `orbit_dimension`: r, the generic rank of the lifted generators {X_a}.
    - `complete`: `invariant` and `rank == expected_rank`.
    - `notes`: plain-language remarks (why incomplete, redundancy, degree bound, ...).
    """

    invariant: bool
    residuals: tuple
    rank: int
    expected_rank: int
    orbit_dimension: int
    complete: bool
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "residuals", tuple(tuple(r) for r in self.residuals))
        object.__setattr__(self, "notes", tuple(self.notes))
        problems = []
        for what in ("rank", "expected_rank", "orbit_dimension"):
            value = getattr(self, what)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(f"{what} must be an int >= 0, got {value!r}")
        if any(len(r) != 3 for r in self.residuals):
            problems.append("each residual must be (generator_name, invariant_name, residual)")
        if self.invariant != (not self.residuals):
            problems.append("invariant must be True exactly when there are no residuals")
        if not problems and self.complete != (
            self.invariant and self.rank == self.expected_rank
        ):
            problems.append("complete must equal invariant and rank == expected_rank")
        if problems:
            raise ValueError(format_problems("invalid Certificate", problems))


def certify(
    system: System,
    exprs: Iterable | Mapping,
    *,
    names: Sequence[str] | None = None,
) -> Certificate:
    """Certify candidate invariants of a system's symmetry: exact invariance and rank.

    **Arguments:**

    - `system`: the [`System`][].
    - `exprs`: the candidates: SymPy expressions (or strings) in the coordinates and
      velocities, or a mapping name -> expression. The system's parameters are substituted.
    - `names`: optional names of a sequence of candidates (used in the residuals);
      default `s1`, `s2`, ... (a candidate that is a single coordinate or velocity keeps its
      name).

    **Returns:**

    A [`Certificate`][].
    """
    exprs, names = prepare_candidates(system, exprs, names)
    return build_certificate(system, exprs, names)


def build_certificate(
    system: System, exprs: Sequence[sympy.Expr], names: Sequence[str], notes: Sequence[str] = ()
) -> Certificate:
    """The certificate of already validated expressions, with extra `notes` first."""
    group = system.symmetry
    state = system.coordinates.state
    sparse = [to_sparse(e, state) for e in exprs]
    lifts = [group.lift(a) for a in range(group.K)]
    residuals = _lie_residuals(group, lifts, exprs, sparse, names)
    residuals += _reflection_residuals(system, exprs, sparse, names)
    r, r_note = _orbit_dimension(lifts, state)
    expected = len(state) - r
    rank, rank_note = _functional_rank(exprs, sparse, state, expected)
    invariant = not residuals
    notes = list(notes) + [n for n in (r_note, rank_note) if n]
    notes += _reflection_notes(system)
    notes += _summary_notes(residuals, len(exprs), rank, expected, len(state), r)
    return Certificate(
        invariant=invariant,
        residuals=tuple(residuals),
        rank=rank,
        expected_rank=expected,
        orbit_dimension=r,
        complete=invariant and rank == expected,
        notes=tuple(notes),
    )


def orbit_dimension(system: System) -> int:
    """r: the generic rank of the 2n x K matrix of lifted generators of `system.symmetry`."""
    group = system.symmetry
    return _orbit_dimension([group.lift(a) for a in range(group.K)], system.coordinates.state)[0]


# --- invariance -------------------------------------------------------------------------


def _lie_residuals(group, lifts, exprs, sparse, names, *, flags: bool = False) -> list[tuple]:
    # `(generator, invariant, residual)`, or with `flags` also whether the residual is
    # undecided (neither proved zero nor shown non-zero) rather than a counterexample.
    state = group.coordinates.state
    sparse_lifts = [_sparse_field(lift, state) for lift in lifts]
    derivatives: dict[int, list] = {}
    supports = [variables(p) if p is not None else None for p in sparse]
    residuals = []
    for a in range(group.K):
        for j, expr in enumerate(exprs):
            if sparse[j] is not None and sparse_lifts[a] is not None:
                residual = to_expr(apply_field(sparse_lifts[a], sparse[j], supports[j]), state)
                undecided = False  # exact arithmetic decides
            else:
                if j not in derivatives:
                    derivatives[j] = [sympy.diff(expr, s) for s in state]
                terms = [f * d for f, d in zip(lifts[a], derivatives[j]) if f != 0 and d != 0]
                residual, undecided = _residual(sympy.Add(*terms), group.coordinates)
            if residual != 0:
                entry = (group.names[a], names[j], residual)
                residuals.append((*entry, undecided) if flags else entry)
    return residuals


def _residual(expr, coordinates) -> tuple[sympy.Expr, bool]:
    """`(0, False)` when `expr` is decided zero (symbolic, exact or numeric), else its
    residual and whether the test was undecided (rather than showing it non-zero)."""
    test = decide_zero(expr, coordinates)
    return (sympy.Integer(0), False) if test.zero else (test.residual, test.undecided)


def lie_residuals(system: System, exprs: Sequence[sympy.Expr], names: Sequence[str]
                  ) -> list[tuple]:
    """`(generator, invariant, X_a S_j, undecided)` for every X_a S_j not proved zero,
    computed afresh; `undecided` when the identity test could neither prove it zero nor
    show it non-zero.

    Sparse polynomial arithmetic where the invariant and the lifted field are polynomial,
    else `decide_zero` (exact at rational points, angles included, else 80 digits). Used by
    the certificate and, independently of any certificate object, by `verify`.
    """
    group, state = system.symmetry, system.coordinates.state
    lifts = [group.lift(a) for a in range(group.K)]
    return _lie_residuals(group, lifts, exprs, [to_sparse(e, state) for e in exprs], names,
                          flags=True)


def _sparse_field(components, state) -> list | None:
    field = [to_sparse(f, state) for f in components]
    return None if any(f is None for f in field) else field


def reflections(system: System) -> list[tuple[str, tuple[str, ...], tuple[int, ...]]]:
    """(name, blocks, flipped state indices) of each reflection the group includes.

    For a rotation or Lorentz action with `reflections=True` the reflection flips the last
    axis of each of its blocks, positions and velocities; with the identity component it
    generates the whole group.
    """
    c = system.coordinates
    out = []
    for action in system.symmetry.actions:
        if action.reflections and action.kind in ("rotation", "lorentz"):
            last = [c.block_indices(b)[-1] for b in action.blocks]
            flipped = tuple(last) + tuple(c.n + i for i in last)
            out.append((f"reflection_{'_'.join(action.blocks)}", action.blocks, flipped))
    return out


def _reflection_residuals(system, exprs, sparse, names) -> list[tuple]:
    state = system.coordinates.state
    residuals = []
    for name, _, flipped in reflections(system):
        flip = {state[i]: -state[i] for i in flipped}
        for j, expr in enumerate(exprs):
            if sparse[j] is not None:
                odd = {m: -2 * c for m, c in sparse[j].items()
                       if sum(m[i] for i in flipped) % 2}
                residual = to_expr(odd, state)
            else:
                residual = _residual(expr.xreplace(flip) - expr, system.coordinates)
            if residual != 0:
                residuals.append((name, names[j], residual))
    return residuals


# --- ranks ------------------------------------------------------------------------------


def _orbit_dimension(lifts, state) -> tuple[int, str | None]:
    if not lifts:
        return 0, None
    if TIME not in state:  # time-dependent generators: the rank at a generic time
        lifts = [tuple(sympy.sympify(e).xreplace({TIME: _GENERIC_TIME}) for e in lift)
                 for lift in lifts]
    rows = [[_entry(e, state) for e in lift] for lift in lifts]
    rank = _exact_rank([_row_values(row) for row in rows], state)
    if rank is not None:
        return rank, None
    rank = high_precision_rank([list(lift) for lift in lifts], state)
    return rank, (
        "the orbit dimension r was computed numerically (50 digits): the lifted generators "
        "are not rational at rational points"
    )


def _functional_rank(exprs, sparse, state, target=None) -> tuple[int, str | None]:
    if not exprs:
        return 0, None
    row_fns, symbolic = _gradient_rows(exprs, sparse, state)
    rank = _exact_rank(row_fns, state, target=target)
    if rank is not None:
        return rank, None
    rows = [symbolic.get(j) or [sympy.diff(e, s) for s in state] for j, e in enumerate(exprs)]
    return high_precision_rank(rows, state), (
        "the rank of dS/d(q, qdot) was computed numerically (50 digits): the invariants' "
        "derivatives are not rational at rational points"
    )


def _gradient_rows(exprs, sparse, state) -> tuple[list, dict[int, list]]:
    """Evaluators of each gradient row (sparse where polynomial), and the symbolic rows."""
    symbolic: dict[int, list] = {}
    row_fns = []
    for j, expr in enumerate(exprs):
        if sparse[j] is not None:
            row_fns.append(_sparse_gradient(sparse[j]))
        else:
            symbolic[j] = [sympy.diff(expr, s) for s in state]
            row_fns.append(_row_values([_entry(e, state) for e in symbolic[j]]))
    return row_fns, symbolic


def _sparse_gradient(poly):
    return lambda point, qq: gradient(poly, qq)


def _entry(expr, state):
    """An evaluator of one matrix entry: sparse when polynomial, else the SymPy expression."""
    poly = to_sparse(expr, state)
    return ("poly", poly) if poly is not None else ("expr", sympy.sympify(expr))


def _row_values(entries):
    def values(point, qq):
        out = []
        for kind, item in entries:
            if kind == "poly":
                out.append(value(item, qq))
                continue
            v = item.xreplace(point)
            if not v.is_Rational:
                return None
            out.append(QQ(v.p, v.q))
        return out

    return values


def _exact_rank(row_fns, state, *, points: int = 3, seed: int = 0,
                target: int | None = None) -> int | None:
    """The generic rank of the rows `row_fns` (`exact.generic_rank`); None if no point is
    rational."""

    def evaluate(point):
        qq = from_sympy_point(point, state)
        rows = [fn(point, qq) for fn in row_fns]
        if any(r is None for r in rows):
            return None
        return DomainMatrix(rows, (len(rows), len(state)), QQ)

    return generic_rank(
        evaluate, random_points(state, 4 * points, seed=seed), points=points, target=target
    )


def independent_subset(system: System, exprs: Sequence[sympy.Expr]) -> list[int] | None:
    """Indices of a subset of `exprs` with independent gradients at a random rational point.

    Greedy, in the given order, modulo a large prime (see `exact.independent_rows_mod_p`);
    None when the gradients are not rational at rational points. The certificate of the
    subset then proves (or refutes) that its rank is the generic one.
    """
    state = system.coordinates.state
    fns, _ = _gradient_rows(exprs, [to_sparse(e, state) for e in exprs], state)
    for point in random_points(state, 4, seed=11):
        qq = from_sympy_point(point, state)
        rows = [fn(point, qq) for fn in fns]
        if all(r is not None for r in rows):
            return independent_rows_mod_p(rows)
    return None


# --- notes ------------------------------------------------------------------------------


def _reflection_notes(system) -> list[str]:
    return [
        f"invariance under {name} (the flip of the last axis of {', '.join(blocks)}) was "
        "checked too: the group includes reflections, which its Lie algebra cannot see"
        for name, blocks, _ in reflections(system)
    ]


def _summary_notes(residuals, M, rank, expected, two_n, r) -> list[str]:
    notes = []
    if residuals:
        gen, inv, res = residuals[0]
        notes.append(
            f"not invariant: {len(residuals)} non-zero residual(s); e.g. {gen} applied to "
            f"{inv} gives {res}"
        )
    if rank < expected:
        notes.append(
            f"incomplete: the {M} invariant(s) have functional rank {rank}, but "
            f"2n - r = {two_n} - {r} = {expected}; {expected - rank} functionally "
            "independent invariant(s) are missing"
        )
    elif rank > expected:
        notes.append(
            f"rank {rank} exceeds 2n - r = {expected}: some expressions cannot be invariant"
        )
    if M > rank and not residuals:
        notes.append(
            f"functionally redundant: {M} invariants of rank {rank}, so {M - rank} of them are "
            "functions of the others (harmless for the network)"
        )
    return notes
