"""A mechanical system: coordinates, symmetry, optional true Lagrangian and parameters."""

import functools
import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sympy

from ..errors import SpecError, SymmetryError
from .coordinates import TIME, Coordinates
from .groups import SymmetryGroup, trivial
from .names import name_problems

__all__ = ["System", "load_spec"]


@dataclass(frozen=True)
class System:
    r"""A declared mechanical system.

    **Arguments:**

    - `name`: an identifier, e.g. `"kepler"`.
    - `coordinates`: the [`Coordinates`][].
    - `symmetry`: the [`SymmetryGroup`][] the network must respect, or None for a system
      without continuous symmetry (stored as the trivial group: no generators, no charges;
      the network then sees q and qdot themselves and conserves only the energy).
    - `lagrangian`: optional true Lagrangian, a SymPy expression in `coordinates.q`,
      `coordinates.qdot` and the parameters (used for data, checks and comparisons).
    - `parameters`: parameter symbol (or name) -> number, e.g. `{r_s: Rational(1, 10)}`.
      They are substituted exactly wherever the Lagrangian is used.
    - `initial_state`: optional `(q0, qdot0)`, two sequences of n numbers: the initial
      condition of the training trajectory and of evaluation rollouts.
    - `candidates`: optional invariants of your own, a list of expressions (named `u1`,
      `u2`, ...) or a dict name -> expression, in `q`, `qdot` and the parameters (strings
      are parsed with the coordinate, velocity and parameter names). `derive_invariants`,
      and so every CLI stage, adds them to the derived set; the certificate says whether
      the union is invariant and complete. Use them where the derived set is incomplete,
      e.g. the non-polynomial invariants of a screw motion.
    - `known_lagrangian`: optional known part K(q, qdot) of the model's Lagrangian, e.g. a
      kinetic term sum qdot^2 / 2 or a gauge term A(q) . qdot: the network learns only the
      rest, L_model = K + f(S). K must be invariant under the symmetry, or change by a total
      derivative X_a K = dF_a/dt (a quasi-symmetry: then F_a is the boundary term of the
      charges); `verify` proves it, so the charges I_a = dL/dqdot . xi_a - F_a stay exactly
      conserved for every weight. A known positive definite kinetic term keeps the learned
      dynamics well posed where f alone would not.
    - `minimal_invariants`: keep only a functionally independent subset of the invariants,
      exactly the rank (see `derive_invariants(minimal=...)` for the trade-off); useful for
      many particles, whose full set grows quadratically.
    - `dissipation`: optional Rayleigh dissipation function R(q, qdot) >= 0 of the true
      system (friction; no explicit time): the equations of motion gain the force
      -dR/dqdot, and unless `learn_dissipation` the model uses this R as known.
    - `learn_dissipation`: the model learns its own R, a non-negative combination of
      invariants that vanish at qdot = 0 (the generated module's `dissipation_basis`);
      `dissipation`, if given, then only serves the true dynamics (data, checks).
    - `forces`: optional generalised forces Q(q, qdot, t), n SymPy expressions (known inputs:
      driving, control; `c.time` for the time), added to the equations of motion
      d/dt dL/dqdot - dL/dq = Q - dR/dqdot of the true system and of the model.
    - `conserved`: names of charges (or `"energy"`) that must stay exactly conserved under
      the forces: `verify` fails, naming it, where the forces change one of them.
    - `rates`: optional declared balance laws, charge name (or `"energy"`) -> its rate
      dI/dt as an expression in q, qdot, t; `verify` proves or refutes each.
    - `periodic`: names of coordinates that are angles (period $2\\pi$). Coordinates that
      appear in the Lagrangians, the dissipation and the forces only inside sin, cos, ...
      of integer combinations are detected without it ([`System.angles`][]). An invariant
      that is an angle (or an integer combination of angles) enters the network as its
      cosine and sine, never raw; trajectory errors and plots wrap these coordinates.

    The Lagrangians may depend on the time explicitly (`c.time`): L(q, qdot, t). The energy
    is then balanced rather than conserved, dE/dt = qdot . (Q - dR/dqdot) - dL/dt.
    """

    name: str
    coordinates: Coordinates
    symmetry: SymmetryGroup | None = None
    lagrangian: sympy.Expr | None = None
    parameters: Mapping[sympy.Symbol, sympy.Expr] = field(default_factory=dict)
    initial_state: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    candidates: Sequence | Mapping | None = None
    minimal_invariants: bool = False
    known_lagrangian: sympy.Expr | None = None
    dissipation: sympy.Expr | None = None
    learn_dissipation: bool = False
    forces: Sequence | None = None
    conserved: Sequence[str] = ()
    rates: Mapping | None = None
    periodic: Sequence[str] = ()

    def __post_init__(self):
        problems = name_problems(self.name, "system name")
        if not isinstance(self.coordinates, Coordinates):
            problems.append(
                f"coordinates is a {type(self.coordinates).__name__}; expected Coordinates "
                "from sn.coordinates(...) or sn.particles(...)"
            )
        if self.symmetry is None and isinstance(self.coordinates, Coordinates):
            object.__setattr__(self, "symmetry", trivial(self.coordinates))
        if not isinstance(self.symmetry, SymmetryGroup):
            problems.append(
                f"symmetry is a {type(self.symmetry).__name__}; expected a SymmetryGroup "
                "from sn.rotations(...), sn.translations(...), ... or a product of them, or "
                "None for a system without continuous symmetry"
            )
        elif self.symmetry.coordinates != self.coordinates:
            problems.append("the symmetry acts on other coordinates than the system's")
        params, param_problems = _parameters(self.parameters)
        problems += param_problems
        object.__setattr__(self, "parameters", params)
        if not problems and self.symmetry.parameters:
            try:  # parameters in generators (a screw's pitch) get their values here
                object.__setattr__(self, "symmetry", self.symmetry.substitute(params))
            except SpecError as error:
                problems += error.problems
        problems += self._initial_state_problems()
        for what in ("lagrangian", "known_lagrangian"):
            if getattr(self, what) is not None and not problems:
                problems += self._expression_problems(what)
        if not problems:
            problems += self._force_problems()
        if not isinstance(self.minimal_invariants, bool):
            problems.append(f"minimal_invariants must be True or False, got "
                            f"{self.minimal_invariants!r}")
        if not problems and self.candidates is not None:
            problems += self._candidate_problems()
        problems += self._periodic_problems()
        if problems:
            raise SpecError(problems, what=f"system {self.name!r}")

    def _periodic_problems(self) -> list[str]:
        if isinstance(self.periodic, str) or not isinstance(self.periodic, Sequence):
            return [f"periodic must be a list of coordinate names, got {self.periodic!r}; "
                    "e.g. periodic=['psi']"]
        object.__setattr__(self, "periodic", tuple(self.periodic))
        names = self.coordinates.names if isinstance(self.coordinates, Coordinates) else ()
        return [f"periodic names {name!r}, which is not a coordinate; the coordinates are "
                f"{tuple(names)}" for name in self.periodic if name not in names]

    @functools.cached_property
    def angles(self) -> tuple[sympy.Symbol, ...]:
        """The periodic coordinates, in coordinate order: those declared `periodic`, and
        those that appear in the true and known Lagrangians, the dissipation and the forces
        only inside sin, cos, ... of integer combinations of symbols (2 pi periodic there)."""
        from .angles import periodic_symbols

        exprs = [self.true_lagrangian, self.known, self.true_dissipation,
                 *(self.true_forces or ())]  # fmt: skip
        detected = set(periodic_symbols(exprs, self.coordinates.q))
        return tuple(s for s in self.coordinates.q if s in detected or s.name in self.periodic)

    def _allowed(self) -> set:
        """The symbols a declaration may mention: state, parameters and the time."""
        return set(self.coordinates.state) | set(self.parameters) | {TIME}

    def _by_name(self, expr: sympy.Expr) -> sympy.Expr:
        """A parameter named by a string (real=True) means any symbol of that name."""
        by_name = {p.name: p for p in self.parameters}
        return expr.xreplace({s: by_name[s.name] for s in expr.free_symbols
                              if s.name in by_name and s != by_name[s.name]})

    def _force_problems(self) -> list[str]:
        from .forces import dissipation_problems, force_problems

        problems, c = [], self.coordinates
        if not isinstance(self.learn_dissipation, bool):
            problems.append(f"learn_dissipation must be True or False, got "
                            f"{self.learn_dissipation!r}")
        if self.dissipation is not None:
            try:
                R = self._by_name(sympy.sympify(self.dissipation))
            except (sympy.SympifyError, TypeError, AttributeError) as error:
                R, more = None, [f"dissipation could not be read as a SymPy expression: "
                                 f"{error}"]
            else:
                R, more = dissipation_problems(R, c, self._allowed(), self.parameters)
            object.__setattr__(self, "dissipation", R)
            problems += more
        if self.forces is not None:
            Q, more = force_problems(self.forces, c, self._allowed())
            if Q is not None:
                Q = tuple(self._by_name(e) for e in Q)
                if all(e == 0 for e in Q):
                    Q = None  # forces that are all zero are no forces (the hash stays)
            object.__setattr__(self, "forces", Q)
            problems += more
        return problems + self._balance_problems()

    def _balance_problems(self) -> list[str]:
        """`conserved` and `rates` must name charges (or the energy)."""
        known = (*self.symmetry.charge_names, "energy")
        problems = []
        if isinstance(self.conserved, str) or not isinstance(self.conserved, Sequence):
            problems.append(f"conserved must be a list of charge names, got "
                            f"{self.conserved!r}; e.g. conserved=[{known[0]!r}]")
        else:
            object.__setattr__(self, "conserved", tuple(self.conserved))
            problems += [f"conserved names {name!r}, which is not a charge; the charges are "
                         f"{known}" for name in self.conserved if name not in known]
        if self.rates is None:
            return problems
        if not isinstance(self.rates, Mapping):
            return problems + [f"rates is a {type(self.rates).__name__}; expected a dict "
                               "charge name -> rate dI/dt (a SymPy expression)"]
        rates = {}
        for name, rate in self.rates.items():
            if name not in known:
                problems.append(f"rates names {name!r}, which is not a charge; the charges "
                                f"are {known}")
                continue
            rate = self._by_name(sympy.sympify(rate))
            unknown = rate.free_symbols - self._allowed()
            if unknown:
                problems.append(f"the declared rate of {name} mentions "
                                f"{sorted(map(str, unknown))}, which are neither coordinates, "
                                "velocities, the time nor parameters")
            rates[name] = rate
        object.__setattr__(self, "rates", rates)
        return problems

    def _candidate_problems(self) -> list[str]:
        from .candidates import prepare_candidates  # (it names System only for type checkers)

        names = None
        if not isinstance(self.candidates, Mapping):
            names = [f"u{j}" for j in range(1, len(list(self.candidates)) + 1)]
        try:
            exprs, names = prepare_candidates(self, self.candidates, names)
        except (SpecError, TypeError) as error:
            return getattr(error, "problems", [str(error)])
        object.__setattr__(self, "candidates", dict(zip(names, exprs)))
        return []

    def __hash__(self):
        return hash((self.name, self.symmetry, self.lagrangian))

    def _initial_state_problems(self) -> list[str]:
        if self.initial_state is None:
            return []
        n = self.coordinates.n if isinstance(self.coordinates, Coordinates) else None
        try:
            q0, qdot0 = self.initial_state
            state = (tuple(float(v) for v in q0), tuple(float(v) for v in qdot0))
        except (TypeError, ValueError):
            return ["initial_state must be a pair (q0, qdot0) of sequences of numbers"]
        if n is not None and (len(state[0]) != n or len(state[1]) != n):
            return [f"initial_state has {len(state[0])} and {len(state[1])} values; "
                    f"expected {n} each (one per coordinate {self.coordinates.names})"]
        object.__setattr__(self, "initial_state", state)
        return []

    def _expression_problems(self, what: str) -> list[str]:
        """Sympify the field `what` (a Lagrangian); its symbols must be known."""
        if isinstance(getattr(self, what), str):  # sympify would parse it with other symbols
            raise TypeError(
                f"{what} is a string ({getattr(self, what)!r}); build it as a SymPy expression "
                "from the symbols of your coordinates, e.g. q, qdot = c.q, c.qdot; "
                "lagrangian=qdot[0]**2 / 2 - q[0]**2 / 2"
            )
        expr = self._by_name(sympy.sympify(getattr(self, what)))
        object.__setattr__(self, what, expr)
        unknown = expr.free_symbols - self._allowed()
        if not unknown:
            return []
        label = "the Lagrangian" if what == "lagrangian" else "the known Lagrangian"
        twins = _same_names(unknown, self._allowed())
        if twins:
            return [f"{label} mentions {text}" for text in twins]
        return [
            f"{label} mentions {sorted(map(str, unknown))}, which are neither "
            f"coordinates {self.coordinates.names}, velocities, the time nor parameters; use "
            "the symbols c.q and c.qdot of your coordinates, c.time for the time, and "
            "declare constants in parameters={...}"
        ]

    @property
    def known(self) -> sympy.Expr | None:
        """The known part of the model's Lagrangian, parameters substituted, or None."""
        if self.known_lagrangian is None:
            return None
        return self.known_lagrangian.xreplace(dict(self.parameters))

    @functools.cached_property
    def boundary(self) -> tuple:
        """The boundary terms F_a of the charges I_a = dL/dqdot . xi_a - F_a, one
        `BoundaryTerm` per generator (see `symnoether.symbolic.boundary`).

        Declared ones (`from_generators(..., boundary=...)`) are taken as given; the others
        are derived from X_a K for a known part K of the model's Lagrangian (f(S) adds
        nothing), else from X_a L of the true Lagrangian, else zero. Exact symmetries have
        F_a = 0. `verify` proves X_a L = dF_a/dt for the true and the model's Lagrangian.
        """
        from .boundary import boundary_terms, declared_boundary_terms

        reference = self.known if self.known is not None else self.true_lagrangian
        if reference is None or self.symmetry.K == 0:
            return declared_boundary_terms(self)
        return boundary_terms(self, reference)

    @property
    def has_boundary(self) -> bool:
        """Whether some charge has a non-zero boundary term (a quasi-symmetry)."""
        return any(b.value != 0 for b in self.boundary)

    @property
    def true_lagrangian(self) -> sympy.Expr | None:
        """The Lagrangian with the parameters substituted (exact), or None."""
        if self.lagrangian is None:
            return None
        return self.lagrangian.xreplace(dict(self.parameters))

    @property
    def true_dissipation(self) -> sympy.Expr | None:
        """The true Rayleigh function, parameters substituted, floats exact, or None."""
        if self.dissipation is None:
            return None
        from .mechanics import exact

        return exact(self.dissipation.xreplace(dict(self.parameters)))

    @property
    def true_forces(self) -> tuple[sympy.Expr, ...] | None:
        """The generalised forces Q, parameters substituted, floats exact, or None."""
        if self.forces is None:
            return None
        from .mechanics import exact

        return tuple(exact(e.xreplace(dict(self.parameters))) for e in self.forces)

    @property
    def has_forces(self) -> bool:
        """Whether the equations of motion have a non-conservative force (known or learned):
        charges and energy then obey balance laws instead of conservation laws."""
        return (self.forces is not None or self.dissipation is not None
                or self.learn_dissipation)

    @property
    def explicit_time(self) -> bool:
        """Whether the equations of motion depend on the time explicitly: L, K or Q mention
        [`TIME`][] (never for a system with a coordinate named t: that is the coordinate)."""
        if TIME in self.coordinates.q:
            return False
        exprs = [self.lagrangian, self.known_lagrangian, *(self.forces or ())]
        return any(e is not None and TIME in e.free_symbols for e in exprs)

    @property
    def time_dependent(self) -> bool:
        """Whether anything depends on the time: the generators, boundary terms or dynamics."""
        return self.symmetry.time_dependent or self.explicit_time

    @property
    def balanced(self) -> bool:
        """Whether some charge or the energy may change: forces or an explicit time."""
        return self.has_forces or self.explicit_time

    def spec_hash(self) -> str:
        """A short hash of the symbolic content, independent of the hash seed."""
        parts = [
            self.name,
            repr(self.coordinates.names),
            repr(sorted(self.coordinates.blocks.items())),
            repr(self.symmetry.names),
            sympy.srepr(self.symmetry.generators),
            repr(self.symmetry.actions),
            sympy.srepr(self.lagrangian),
            repr(sorted((str(k), sympy.srepr(v)) for k, v in self.parameters.items())),
        ]
        if self.minimal_invariants:  # only then, so that older hashes stay valid
            parts.append("minimal_invariants")
        if self.known_lagrangian is not None:  # only then, so that older hashes stay valid
            parts.append("known " + sympy.srepr(self.known_lagrangian))
        if any(F is not None for F in self.symmetry.boundary):  # only then, likewise
            parts.append("boundary " + sympy.srepr(self.symmetry.boundary))
        if self.balanced or self.conserved or self.rates:  # only then (older hashes stay)
            parts.append("forces " + sympy.srepr((self.dissipation, self.forces))
                         + repr((self.learn_dissipation, self.conserved)))
            parts.append(repr(sorted((k, sympy.srepr(v)) for k, v in (self.rates or {}).items())))
        if self.periodic:  # only then, so that older hashes stay valid
            parts.append("periodic " + repr(self.periodic))
        if self.candidates:  # only then, so that older hashes stay valid
            parts.append(repr([(k, sympy.srepr(v)) for k, v in self.candidates.items()]))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _where(path: Path, error: Exception) -> str:
    # " at FILE:LINE (`source`)": the spec's own line the error came from (the deepest
    # frame in the spec file), or that of a syntax error.
    if isinstance(error, SyntaxError) and error.lineno is not None:
        line, text = error.lineno, (error.text or "").strip()
    else:
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if Path(f.filename).resolve() == path.resolve()]
        if not frames:
            return ""
        line, text = frames[-1].lineno, (frames[-1].line or "").strip()
    return f" at {path}:{line}" + (f" (`{text}`)" if text else "")


def _same_names(unknown, known) -> list[str]:
    # Symbols that have the name of a coordinate, velocity or parameter but other SymPy
    # assumptions (a hand-made Symbol("xdot")): SymPy takes them for different symbols.
    by_name = {s.name: s for s in known}
    return [
        f"Symbol({s.name!r}) with assumptions {_assumptions(s)}, but the system's symbol of "
        f"that name has {_assumptions(by_name[s.name])}: the names match, the assumptions "
        "differ, so SymPy treats them as different symbols. Use the system's own symbols "
        f"(c.q, c.qdot, or sympy.Symbol({s.name!r}, real=True))"
        for s in sorted(unknown, key=sympy.default_sort_key) if s.name in by_name
    ]


def _assumptions(symbol: sympy.Symbol) -> str:
    given = symbol._assumptions_orig  # as the user wrote them, not the derived ones
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(given.items())) + "}"


def _parameters(parameters) -> tuple[dict, list[str]]:
    if not isinstance(parameters, Mapping):
        return {}, [f"parameters is a {type(parameters).__name__}; expected a dict"]
    params, problems = {}, []
    for key, value in parameters.items():
        symbol = sympy.Symbol(key, real=True) if isinstance(key, str) else key
        if not isinstance(symbol, sympy.Symbol):
            problems.append(f"parameter {key!r} is not a SymPy symbol or a name")
            continue
        problems += name_problems(symbol.name, "parameter name")
        number = sympy.nsimplify(sympy.sympify(value)) if not isinstance(value, str) else None
        if number is None or not number.is_number or not number.is_real:
            problems.append(f"parameter {key!r} = {value!r} is not a real number")
            continue
        params[symbol] = number
    return params, problems


def load_declaration(path: str | Path) -> object:
    """The module-level `system` a spec file defines, whatever its type: a [`System`][],
    or the `sn.ParticleSystem` of a local spec (the command line reads both).

    **Arguments:**

    - `path`: the spec file.

    **Returns:**

    The object (`None` when the file defines no `system`). Raises `SpecError` for a missing
    file or a file that fails to import (the original error is chained).
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist", what="spec")
    name = f"_symnoether_spec_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (SpecError, SymmetryError):
        raise
    except Exception as error:
        raise SpecError(
            f"spec file {str(path)!r} failed to import{_where(path, error)}: "
            f"{type(error).__name__}: {error}",
            what="spec",
        ) from error
    finally:
        sys.modules.pop(name, None)
    return getattr(module, "system", None)


def load_spec(path: str | Path) -> System:
    """Import a spec file (a Python file defining a module-level `system`) and return it.

    **Arguments:**

    - `path`: the spec file.

    **Returns:**

    The [`System`][] it defines. Raises `SpecError` for a missing file, a file that fails
    to import (the original error is chained) or one without a `system`.
    """
    return as_system(load_declaration(path), path)


def as_system(system: object, path: str | Path) -> System:
    """`system` if it is a [`System`][], else the `SpecError` of a spec without one."""
    if not isinstance(system, System):
        raise SpecError(
            f"spec file {str(path)!r} must define a module-level `system = sn.System(...)` "
            f"(or `sn.ParticleSystem(...)` for the local commands); found "
            f"{type(system).__name__}",
            what="spec",
        )
    return system
