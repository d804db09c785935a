"""Generalised coordinates q, their velocities qdot, and named vector blocks."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sympy

from ..errors import SpecError
from .names import name_problems

__all__ = ["TIME", "Coordinates", "coordinates", "particles", "velocity_name"]

#: The time t of time-dependent generators xi(q, t) and boundary terms F(q, t) (e.g. a
#: Galilean boost x -> x + epsilon t). It is the symbol `Symbol("t", real=True)`: in a system
#: with a coordinate named `t` (Schwarzschild's) that symbol is the coordinate, and nothing
#: there depends on time.
TIME = sympy.Symbol("t", real=True)


def velocity_name(name: str) -> str:
    """The velocity name of a coordinate: `x` -> `xdot`."""
    return f"{name}dot"


@dataclass(frozen=True)
class Coordinates:
    """Coordinates q = (q_1..q_n) of a configuration space, their velocities and blocks.

    Build it with [`coordinates`][] or [`particles`][] rather than directly.

    **Attributes:**

    - `names`: the coordinate names, in declaration order.
    - `blocks`: block name -> the coordinate names forming that vector, in order.
    - `q`, `qdot`: the SymPy real symbols of the coordinates and of their velocities.
    """

    names: tuple[str, ...]
    blocks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    q: tuple[sympy.Symbol, ...] = field(init=False, repr=False, compare=False)
    qdot: tuple[sympy.Symbol, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        names = tuple(self.names) if not isinstance(self.names, str) else (self.names,)
        blocks = {str(k): tuple(v) for k, v in dict(self.blocks).items()}
        _raise_if(_coordinate_problems(names) + _block_problems(names, blocks))
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "q", tuple(sympy.Symbol(n, real=True) for n in names))
        qdot = tuple(sympy.Symbol(velocity_name(n), real=True) for n in names)
        object.__setattr__(self, "qdot", qdot)

    def __hash__(self):
        return hash((self.names, tuple(self.blocks.items())))

    @property
    def n(self) -> int:
        """The number of coordinates."""
        return len(self.names)

    @property
    def state(self) -> tuple[sympy.Symbol, ...]:
        """The coordinates of TQ: `q` followed by `qdot`."""
        return self.q + self.qdot

    @property
    def time(self) -> sympy.Symbol:
        """The time symbol [`TIME`][] for time-dependent generators and boundary terms.

        A `SpecError` when a coordinate is named `t` (that name is then the coordinate).
        """
        if TIME.name in self.names:
            raise SpecError(
                "a coordinate is named 't', so t is that coordinate, not the time; rename the "
                "coordinate (e.g. 'x0') to use time-dependent generators",
                what="coordinates",
            )
        return TIME

    def index(self, name: str) -> int:
        """The position of coordinate `name` in `q`."""
        if name not in self.names:
            raise ValueError(f"unknown coordinate {name!r}; the coordinates are {self.names}")
        return self.names.index(name)

    def symbol(self, name: str) -> sympy.Symbol:
        """The SymPy symbol of coordinate `name`."""
        return self.q[self.index(name)]

    def block(self, name: str) -> tuple[sympy.Symbol, ...]:
        """The q symbols of block `name`."""
        return tuple(self.q[i] for i in self.block_indices(name))

    def block_velocity(self, name: str) -> tuple[sympy.Symbol, ...]:
        """The qdot symbols of block `name`."""
        return tuple(self.qdot[i] for i in self.block_indices(name))

    def block_indices(self, name: str) -> tuple[int, ...]:
        """The positions in `q` of the coordinates of block `name`."""
        if name not in self.blocks:
            known = tuple(self.blocks) or "none (pass blocks=... to coordinates())"
            raise ValueError(f"unknown block {name!r}; the blocks are {known}")
        return tuple(self.names.index(c) for c in self.blocks[name])


def _coordinate_problems(names: tuple[str, ...]) -> list[str]:
    problems = [] if names else ["no coordinates given; declare at least one, e.g. 'x y z'"]
    seen: set[str] = set()
    for name in names:
        problems += name_problems(name, "coordinate name")
        if name in seen:
            problems.append(f"coordinate name {name!r} is declared twice; names must be unique")
        seen.add(name)
    for name in names:
        if isinstance(name, str) and velocity_name(name) in seen:
            problems.append(
                f"coordinate {velocity_name(name)!r} clashes with the velocity of {name!r}; "
                "rename one of them"
            )
    return problems


def _block_problems(names: tuple[str, ...], blocks: dict[str, tuple[str, ...]]) -> list[str]:
    problems = []
    for block, members in blocks.items():
        problems += name_problems(block, "block name")
        if not members:
            problems.append(f"block {block!r} is empty; list its coordinates")
        for member in members:
            if member not in names:
                problems.append(
                    f"block {block!r} lists {member!r}, which is not a coordinate "
                    f"(the coordinates are {names})"
                )
        if len(set(members)) != len(members):
            problems.append(f"block {block!r} lists a coordinate twice: {members}")
    return problems


def _raise_if(problems: list[str], what: str = "coordinates") -> None:
    if problems:
        raise SpecError(problems, what=what)


def coordinates(
    names: str | Sequence[str], blocks: Mapping[str, Sequence[str]] | None = None
) -> Coordinates:
    """Declare generalised coordinates.

    **Arguments:**

    - `names`: the coordinate names, space or comma separated (`"t x y z"`) or a sequence.
    - `blocks`: optional named vector blocks, block name -> coordinate names, e.g.
      `{"x": ["x", "y", "z"]}`. Groups act on blocks.

    **Returns:**

    A [`Coordinates`][]; velocity symbols are named `<name>dot`.
    """
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    elif not isinstance(names, Sequence):
        raise TypeError(f"names must be a str or a sequence of str, got {type(names).__name__}")
    return Coordinates(tuple(names), dict(blocks or {}))


def particles(n: int, dim: int = 3, *, prefix: str = "x") -> Coordinates:
    """Coordinates of `n` point particles in `dim` dimensions.

    **Arguments:**

    - `n`: the number of particles (>= 1).
    - `dim`: the space dimension (>= 1).
    - `prefix`: the block prefix; particle `i` (from 1) is block `f"{prefix}{i}"` with
      coordinates `f"{prefix}{i}_0"`, ..., `f"{prefix}{i}_{dim-1}"`.

    **Returns:**

    A [`Coordinates`][] with blocks `x1`, ..., `xn`.
    """
    for value, what in ((n, "n"), (dim, "dim")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{what} must be >= 1, got {value}")
    blocks = {f"{prefix}{i}": [f"{prefix}{i}_{k}" for k in range(dim)] for i in range(1, n + 1)}
    names = [c for members in blocks.values() for c in members]
    return coordinates(names, blocks)
