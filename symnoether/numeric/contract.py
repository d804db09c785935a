# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The generated-module contract, written once: what the numeric half relies on.

A generated module (`sn.generate`, `templates/model.py.j2`) is a plain Python module; these
`typing.Protocol`s say which constants and functions it has, with their types and shapes.
A module satisfies a protocol structurally (PEP 544), so type checkers accept a generated
module wherever a `GeneratedModule` is expected; at run time `check_module` checks that the
members are there. docs/GENERATED_MODULE.md explains each member, and
tests/test_contract.py checks a freshly generated module against these classes, member by
member.

Shapes: `n` coordinates, `m` invariants, `k` generators (and charges). Every function takes
one state; batch with `jax.vmap`.

Time-dependent generators (Galilean boosts; `TIME_DEPENDENT = True`, see
`GeneratedModuleWithBoundary`) add a keyword `t` (default 0) to `generators`, `boundary`,
`noether_charges` and `true_charges`; the signatures below are those of every other module.
"""

from collections.abc import Callable
from types import ModuleType
from typing import Protocol

from jaxtyping import Array, Float, Scalar

__all__ = [
    "OPTIONAL",
    "GeneratedModule",
    "GeneratedModuleWithBoundary",
    "GeneratedModuleWithKnownLagrangian",
    "GeneratedModuleWithLagrangian",
    "blocks",
    "check_module",
    "known_lagrangian",
    "members",
    "periodic",
    "time_keywords",
]

Lagrangian = Callable[[Float[Array, " n"], Float[Array, " n"]], Scalar]


class GeneratedModule(Protocol):
    """What every generated module provides."""

    #: The system's name.
    SYSTEM_NAME: str
    #: The n coordinates, in declaration order.
    COORDINATE_NAMES: tuple[str, ...]
    #: Their velocities (`x` -> `xdot`).
    VELOCITY_NAMES: tuple[str, ...]
    #: The declared vector blocks, name -> coordinate names (used for plots).
    BLOCKS: dict[str, tuple[str, ...]]
    #: The coordinates that are angles (period 2 pi): errors and plots wrap them.
    PERIODIC_COORDINATES: tuple[str, ...]
    #: Whether the certificate proved the invariants functionally complete.
    INVARIANTS_COMPLETE: bool
    #: The m invariant scalars.
    INVARIANT_NAMES: tuple[str, ...]
    #: Per invariant, its degree in the velocities (0, 1, 2; -1 otherwise).
    INVARIANT_DEGREES: tuple[int, ...]
    #: The quadratic invariants with a constant positive semi-definite velocity Hessian.
    KINETIC_FORMS: tuple[int, ...]
    #: The k symmetry generators.
    GENERATOR_NAMES: tuple[str, ...]
    #: The k Noether charges, one per generator, same order.
    CHARGE_NAMES: tuple[str, ...]
    #: Per generator: is xi_a(q) affine in q? (the variational integrator conserves exactly
    #: the charges of affine generators)
    LINEAR_GENERATORS: tuple[bool, ...]
    #: The system's parameters, baked into the code as exact constants.
    PARAMETERS: dict[str, float]
    #: Whether the true-Lagrangian functions of `GeneratedModuleWithLagrangian` exist.
    HAS_LAGRANGIAN: bool
    #: Hash of the symbolic specification the module was made from.
    SPEC_HASH: str
    #: Hash of the module's own text (`symnoether.integrity`): checked when it is loaded,
    #: and recorded by a run folder.
    MODULE_HASH: str

    def invariants(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Float[Array, " m"]:
        """The invariant scalars S_j."""
        ...

    def invariant_derivatives(
        self, q: Float[Array, " n"], qdot: Float[Array, " n"]
    ) -> tuple[
        Float[Array, " m"],
        Float[Array, "m n"],
        Float[Array, "m n"],
        Float[Array, "m n n"],
        Float[Array, "m n"],
    ]:
        """`(S, dS_dq, dS_dqdot, d2S_dqdot2, d2S_dqdot_dq_qdot)` in closed form, for the
        chain rule (`dynamics.euler_lagrange_terms`)."""
        ...

    def generators(self, q: Float[Array, " n"]) -> Float[Array, "k n"]:
        """The vector fields xi_a(q)."""
        ...

    def noether_charges(
        self, lagrangian: Lagrangian, q: Float[Array, " n"], qdot: Float[Array, " n"]
    ) -> Float[Array, " k"]:
        """I_a = dL/dqdot . xi_a(q) for any JAX `lagrangian(q, qdot) -> scalar`."""
        ...

    def energy(
        self, lagrangian: Lagrangian, q: Float[Array, " n"], qdot: Float[Array, " n"]
    ) -> Scalar:
        """E = qdot . dL/dqdot - L."""
        ...


class GeneratedModuleWithLagrangian(GeneratedModule, Protocol):
    """What a generated module of a system with a true Lagrangian adds
    (`HAS_LAGRANGIAN = True`)."""

    def lagrangian(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The true Lagrangian."""
        ...

    def acceleration(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Float[Array, " n"]:
        """qddot from SymPy's Euler-Lagrange equations, closed form."""
        ...

    def true_charges(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Float[Array, " k"]:
        """The Noether charges of the true Lagrangian, closed form."""
        ...

    def true_energy(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The energy of the true Lagrangian, closed form."""
        ...


class GeneratedModuleWithKnownLagrangian(GeneratedModule, Protocol):
    """What a generated module adds when its system declares a known part K of the model's
    Lagrangian (the network's Lagrangian is then K + f(S)). Modules without one, older ones
    included, have neither member."""

    #: Always `True` where present.
    HAS_KNOWN_LAGRANGIAN: bool

    def known_lagrangian(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The known part K(q, qdot)."""
        ...


class GeneratedModuleWithBoundary(GeneratedModule, Protocol):
    """What a generated module adds when some generator is a quasi-symmetry,
    X_a L = dF_a/dt with a non-zero boundary term F_a(q, t) (`HAS_BOUNDARY = True`); its
    `noether_charges` and `true_charges` then return I_a = dL/dqdot . xi_a - F_a. Modules
    without one, older ones included, have neither member. Where the generators or the
    boundary terms depend on the time (`TIME_DEPENDENT = True`), `generators`, `boundary`,
    `noether_charges` and `true_charges` take the time as a keyword `t` (default 0)."""

    #: Always `True` where present.
    HAS_BOUNDARY: bool

    def boundary(self, q: Float[Array, " n"]) -> Float[Array, " k"]:
        """The boundary terms F_a(q) (or F_a(q, t) with the keyword `t`), 0 for exact
        symmetries."""
        ...


#: Members that `check_module` does not insist on, since the numeric half reads them with a
#: default or not at all: a hand-written module may leave them out.
OPTIONAL: frozenset[str] = frozenset(
    {"VELOCITY_NAMES", "BLOCKS", "INVARIANTS_COMPLETE", "GENERATOR_NAMES", "PARAMETERS",
     "SPEC_HASH", "MODULE_HASH", "INVARIANT_DEGREES", "KINETIC_FORMS",
     "PERIODIC_COORDINATES"}
)  # fmt: skip


def time_keywords(module: ModuleType, t) -> dict:
    """`{"t": t}` for a module whose charges depend on the time (`TIME_DEPENDENT`, e.g.
    Galilean boosts), else `{}`: the charge functions of other modules take no time.

    **Arguments:**

    - `module`: a generated module.
    - `t`: the time (a number or a scalar array).

    **Returns:**

    Keyword arguments for `generators`, `boundary`, `noether_charges` and `true_charges`.
    """
    return {"t": t} if getattr(module, "TIME_DEPENDENT", False) else {}


def blocks(module: ModuleType) -> dict[str, tuple[str, ...]]:
    """The module's declared vector blocks (optional `BLOCKS`: name -> coordinate names),
    or `{}` for a module that declares none.

    **Arguments:**

    - `module`: a generated module.

    **Returns:**

    The blocks, as a dict.
    """
    return dict(getattr(module, "BLOCKS", None) or {})


def periodic(module: ModuleType) -> tuple[int, ...]:
    """The indices of the module's periodic coordinates (optional `PERIODIC_COORDINATES`),
    or `()` for a module that declares none.

    **Arguments:**

    - `module`: a generated module.

    **Returns:**

    The indices into `COORDINATE_NAMES`, in their order.
    """
    names = list(module.COORDINATE_NAMES)
    return tuple(names.index(name) for name in getattr(module, "PERIODIC_COORDINATES", ()))


def known_lagrangian(module: ModuleType) -> Lagrangian | None:
    """The module's known part K(q, qdot) of the model's Lagrangian
    (`GeneratedModuleWithKnownLagrangian`), or `None`: modules without one, older ones
    included, lack the member.

    **Arguments:**

    - `module`: a generated module.

    **Returns:**

    `module.known_lagrangian` or `None`.
    """
    if getattr(module, "HAS_KNOWN_LAGRANGIAN", False):
        return module.known_lagrangian
    return None


def members(protocol: type) -> tuple[str, ...]:
    """The members a protocol declares itself (not those of its bases), constants first,
    each group in declaration order.

    **Arguments:**

    - `protocol`: `GeneratedModule` or `GeneratedModuleWithLagrangian`.

    **Returns:**

    The names.
    """
    constants = tuple(protocol.__dict__.get("__annotations__", {}))
    functions = tuple(
        name for name, value in protocol.__dict__.items()
        if callable(value) and not name.startswith("_")
    )  # fmt: skip
    return constants + functions


def check_module(module: ModuleType, *, need_lagrangian: bool = False) -> ModuleType:
    """Check that `module` provides the generated-module contract, or raise a `TypeError`.

    **Arguments:**

    - `module`: a generated module (docs/GENERATED_MODULE.md).
    - `need_lagrangian`: also require the true-Lagrangian functions
        (`GeneratedModuleWithLagrangian`) and `HAS_LAGRANGIAN = True`.

    **Returns:**

    `module`, unchanged. The `TypeError` lists every missing member.
    """
    if not isinstance(module, ModuleType):
        raise TypeError(
            f"expected a generated Python module (from `sn.generate` or `load_module`), "
            f"got {type(module).__name__}"
        )
    required = [name for name in members(GeneratedModule) if name not in OPTIONAL]
    if need_lagrangian:
        required += members(GeneratedModuleWithLagrangian)
    missing = [name for name in required if not hasattr(module, name)]
    if need_lagrangian and getattr(module, "HAS_LAGRANGIAN", None) is False:
        missing.append("HAS_LAGRANGIAN = True")
    if missing:
        raise TypeError(
            f"module {module.__name__!r} does not follow the generated-module contract "
            f"(symnoether/numeric/contract.py): missing {', '.join(missing)}. Regenerate it "
            "with `sn.generate` (a true Lagrangian is needed for data generation)."
        )
    return module
