"""Render a verified `System` into a JAX module (the bridge between the two halves).

Logic lives here; `templates/model.py.j2` only lays the strings out. Order comes only
from the declaration (coordinates, generators, invariants) so the output is byte-identical
on every machine and every `PYTHONHASHSEED`.
"""

import os
import sys
import types
from pathlib import Path

import jinja2
import sympy

from ..errors import InputError
from ..files import atomic_write, import_file
from ..integrity import is_generated, with_module_hash
from ..progress import stage
from ..symbolic.calculus import derivative
from ..symbolic.kinetic import velocity_structure
from ..symbolic.system import System
from ._functions import Function, _function, _listing, _source, _vector
from .balance import balance_context, force_functions, true_rate_functions
from .printer import CodegenError, VerificationFailed

__all__ = ["generate", "render"]

_TEMPLATE = "model.py.j2"

def _templates_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_templates", here.parent / "templates"):
        if (candidate / _TEMPLATE).is_file():
            return candidate
    raise FileNotFoundError(
        f"symnoether templates not found next to {here}; reinstall the package "
        "(`pip install -e .` from the repository, or the wheel)"
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )

def _invariant_functions(system: System, names, exprs) -> list[Function]:
    c = system.coordinates
    n, M = c.n, len(exprs)
    qn, vn = c.names, [s.name for s in c.qdot]
    doc = [f"Invariant scalars S_j(q, qdot), shape (M,) with M = {M}:", ""]
    doc += _listing(names, exprs)
    invariants = _function("invariants", "q, qdot", doc, system,
                           [("S", (M,), _vector(exprs, names))])
    ds_dq, ds_dv, d2s_dv2, mixed = {}, {}, {}, {}
    # Only by the symbols an invariant contains: with many particles each invariant has a
    # handful of the n symbols, and the other entries are zero (left out of the code). Many
    # invariants use the light differentiator (small sets keep sympy.diff's forms).
    light = M > 32

    def d(e, x):
        return derivative(e, x, light=light)

    for j, (expr, s) in enumerate(zip(exprs, names)):
        free = expr.free_symbols
        for a in (a for a in range(n) if c.q[a] in free):
            ds_dq[(j, a)] = (d(expr, c.q[a]), f"d {s} / d {qn[a]}")
        for a in (a for a in range(n) if c.qdot[a] in free):
            dv = d(expr, c.qdot[a])
            ds_dv[(j, a)] = (dv, f"d {s} / d {vn[a]}")
            used = dv.free_symbols
            mix = sympy.Add(*(d(dv, c.q[b]) * c.qdot[b] for b in range(n)
                              if c.q[b] in used))
            mixed[(j, a)] = (mix, f"sum_b d2 {s} / d {vn[a]} d q_b qdot_b")
            for b in (b for b in range(n) if c.qdot[b] in used):
                d2 = d(dv, c.qdot[b])
                d2s_dv2[(j, a, b)] = (d2, f"d2 {s} / d {vn[a]} d {vn[b]}")
    doc = [
        "The invariants and their closed-form derivatives, for the chain-rule acceleration.",
        "",
        "Returns (S, dS_dq, dS_dqdot, d2S_dqdot2, d2S_dqdot_dq_qdot) with shapes",
        f"({M},), ({M}, {n}), ({M}, {n}), ({M}, {n}, {n}), ({M}, {n}):",
        "dS_dq[j, a] = dS_j/dq_a, dS_dqdot[j, a] = dS_j/dqdot_a,",
        "d2S_dqdot2[j, a, b] = d2S_j/(dqdot_a dqdot_b),",
        "d2S_dqdot_dq_qdot[j, a] = sum_b d2S_j/(dqdot_a dq_b) qdot_b.",
    ]
    arrays = [("S", (M,), _vector(exprs, names)), ("dS_dq", (M, n), ds_dq),
              ("dS_dqdot", (M, n), ds_dv), ("d2S_dqdot2", (M, n, n), d2s_dv2),
              ("d2S_dqdot_dq_qdot", (M, n), mixed)]
    return [invariants, _function("invariant_derivatives", "q, qdot", doc, system, arrays)]


def _time_args(system: System, args: str) -> str:
    """`args` plus the keyword time `t` where anything depends on it (`TIME_DEPENDENT`)."""
    return f"{args}, *, t=0.0" if system.time_dependent else args


def _dynamics_args(system: System, args: str) -> str:
    """`args` plus the keyword time `t` where the dynamics depend on it (`EXPLICIT_TIME`)."""
    return f"{args}, *, t=0.0" if system.explicit_time else args


def _generator_function(system: System) -> Function:
    G, c = system.symmetry, system.coordinates
    of = "xi_a(q, t)" if system.time_dependent else "xi_a(q)"
    doc = [f"The generators {of} of {G.name}, shape (K, n) = ({G.K}, {c.n}):", ""]
    doc += [f"{a:>3}  {name} = ({', '.join(_source(x) for x in xi)})"
            for a, (name, xi) in enumerate(zip(G.names, G.generators))]
    entries = {(a, i): (x, f"{G.names[a]}: {c.names[i]} component")
               for a, xi in enumerate(G.generators) for i, x in enumerate(xi)}
    return _function("generators", _time_args(system, "q"), doc, system,
                     [("xi", (G.K, c.n), entries)])


def _boundary_function(system: System) -> Function:
    G = system.symmetry
    terms = [b.value for b in system.boundary]
    doc = ["Boundary terms F_a of the quasi-symmetries, X_a L = dF_a/dt, shape (K,): the",
           "charges are I_a = dL/dqdot . xi_a - F_a (0 for exact symmetries).", ""]
    doc += _listing(G.names, terms)
    return _function("boundary", _time_args(system, "q"), doc, system,
                     [("F", (G.K,), _vector(terms, G.names))])


def _true_functions(system: System) -> list[Function]:
    from ..symbolic.mechanics import euler_lagrange, solve_acceleration
    from ..symbolic.noether import energy, noether_charges

    c, L = system.coordinates, system.true_lagrangian
    n = c.n
    accel_names = [f"{s.name}dot" for s in c.qdot]
    functions = [_function("lagrangian", _dynamics_args(system, "q, qdot"), [
        "The true Lagrangian:", "", f"L = {_source(L)}"], system, [("L", (), {(): (L, "L")})])]
    mass, rhs = euler_lagrange(system, L)
    qddot = None
    if all(not e.free_symbols for e in mass) or n <= 4:
        try:
            qddot = solve_acceleration(system)
        except ValueError:  # singular mass matrix: only reachable with force=True
            qddot = None
    if qddot is not None:
        doc = ["qddot from the Euler-Lagrange equations, solved in closed form by SymPy:", ""]
        if system.has_forces:
            doc[0] = ("qddot from d/dt dL/dqdot - dL/dq = Q - dR/dqdot (the known forces), "
                      "solved in closed form by SymPy:")
        doc += _listing(accel_names, qddot)
        functions.append(_function("acceleration", _dynamics_args(system, "q, qdot"), doc,
                                   system, [("qddot", (n,), _vector(qddot, accel_names))]))
    else:
        functions.append(_solved_acceleration(system, mass, rhs))
    charges = noether_charges(system)
    formula = "I_a = dL/dqdot . xi_a(q)"
    if system.time_dependent or system.has_boundary:
        formula = ("I_a = dL/dqdot . xi_a(q, t) - F_a(q, t)" if system.time_dependent
                   else "I_a = dL/dqdot . xi_a(q) - F_a(q)")
    doc = [f"Noether charges of the true Lagrangian, {formula}:", ""]
    doc += _listing(list(charges), list(charges.values()))
    functions.append(_function("true_charges", _time_args(system, "q, qdot"), doc, system,
                               [("I", (len(charges),), _vector(charges.values(), charges))]))
    E = energy(system)
    functions.append(_function("true_energy", _dynamics_args(system, "q, qdot"), [
        "Energy of the true Lagrangian:", "", f"E = {_source(E)}"], system,
        [("E", (), {(): (E, "E")})]))
    return functions + true_rate_functions(system)


def _solved_acceleration(system: System, mass, rhs) -> Function:
    c = system.coordinates
    n = c.n
    doc = ["qddot from the Euler-Lagrange equations d2L/dqdot2 qddot = rhs, with the mass",
           "matrix and rhs = dL/dq - (d2L/dqdot dq) qdot in closed form, solved by LU."]
    if system.balanced:
        doc[1] = ("matrix and rhs = dL/dq - (d2L/dqdot dq) qdot - d2L/dqdot dt + Q - dR/dqdot "
                  "in closed form, solved by LU.")
    entries = {(a, b): (mass[a, b], f"d2L / d {c.qdot[a]} d {c.qdot[b]}")
               for a in range(n) for b in range(n)}
    rhs_names = [f"rhs {name}" for name in c.names]
    f = _function("acceleration", _dynamics_args(system, "q, qdot"), doc, system,
                  [("mass", (n, n), entries), ("rhs", (n,), _vector(list(rhs), rhs_names))])
    return Function(f.name, f.args, f.doc, f.unpack, f.body, "jnp.linalg.solve(_mass, _rhs)")


def _py_tuple(names) -> str:
    names = [f'"{name}"' for name in names]
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"  # () when empty


def _module_context(system: System, invariants, report, force: bool) -> dict:
    from .._version import __version__

    G = system.symmetry
    with stage("generate: invariants and their derivatives"):
        functions = _invariant_functions(system, invariants.names, invariants.exprs)
        functions.append(_generator_function(system))
        if system.has_boundary:
            functions.append(_boundary_function(system))
    if system.known_lagrangian is not None:
        K = system.known
        functions.append(_function(
            "known_lagrangian", _dynamics_args(system, "q, qdot"),
            ["The known part K of the model's Lagrangian L = K + f(S) (the network adds it):",
             "", f"K = {_source(K)}"], system, [("K", (), {(): (K, "K")})]))
    functions += force_functions(system, invariants)
    has_lagrangian = system.lagrangian is not None
    with stage("generate: true Lagrangian, acceleration and charges"):
        true_functions = _true_functions(system) if has_lagrangian else []
    structure = velocity_structure(invariants.exprs, system.coordinates.qdot)
    failures = [] if report is None else [
        f"{ch.name} ({ch.status}): {ch.detail}" for ch in report.checks if not ch.passed
    ]
    return {
        "version": __version__,
        "system": system.name,
        "spec_hash": system.spec_hash(),
        "verified": report is not None and report.ok,
        "forced": force and bool(failures),
        "failures": failures,
        "coordinates": _py_tuple(system.coordinates.names),
        "velocities": _py_tuple(s.name for s in system.coordinates.qdot),
        "blocks": "{" + ", ".join(f'"{name}": {_py_tuple(members)}' for name, members
                                  in system.coordinates.blocks.items()) + "}",
        "periodic": _py_tuple(a.name for a in system.angles),
        "invariant_names": _py_tuple(invariants.names),
        "complete": invariants.certificate.complete,
        "degrees": repr(structure.degrees),
        "kinetic_forms": repr(structure.kinetic_forms),
        "generator_names": _py_tuple(G.names),
        "charge_names": _py_tuple(G.charge_names),
        "linear": repr(tuple(G.is_affine(a) for a in range(G.K))),
        "parameters": "{" + ", ".join(f'"{k.name}": {float(v)!r}' for k, v in sorted(
            system.parameters.items(), key=lambda kv: kv[0].name)) + "}",
        "has_lagrangian": has_lagrangian,
        "has_known": system.known_lagrangian is not None,
        "has_boundary": system.has_boundary,
        "time_dependent": system.time_dependent,
        "lagrangian_explicit_time": system.lagrangian_explicit_time,
        "functions": functions,
        "true_functions": true_functions,
        **balance_context(system, invariants),
    }


def render(system: System, *, invariants=None, report=None, force: bool = False) -> str:
    """The source of the generated module for `system` (nothing is written or verified).

    **Arguments:**

    - `system`: the [`System`][].
    - `invariants`: an `InvariantSet` to use; derived when None.
    - `report`: the `VerificationReport` to record in the header, if any.
    - `force`: record that the module was generated although checks failed.

    **Returns:**

    The module source, a str.
    """
    if invariants is None:
        from ..symbolic.invariants import derive_invariants

        invariants = derive_invariants(system)
    context = _module_context(system, invariants, report, force)
    return with_module_hash(_environment().get_template(_TEMPLATE).render(**context))


def _check_overwrite(system: System, path: Path) -> None:
    if not path.exists():
        return
    if path.is_dir():
        raise InputError(f"cannot write the module to {str(path)!r}: it is a folder; give "
                         "a file name, e.g. -o model.py")
    if is_generated(path):
        return
    raise InputError(
        f"refusing to overwrite {str(path)!r}: it is not a module generated by symnoether "
        "(a spec file, say), and nothing was written. Choose another output file, or pass "
        "--force (overwrite=True) to replace it"
    )


def generate(
    system: System, path: str | os.PathLike | None = None, *, invariants=None,
    force: bool = False, overwrite: bool = False,
) -> types.ModuleType:
    """Verify `system`, generate its JAX module, write it atomically and import it.

    **Arguments:**

    - `system`: the [`System`][].
    - `path`: where to write the module; None keeps it in memory only.
    - `invariants`: an `InvariantSet` (e.g. user candidates); derived when None.
    - `force`: write even when a verification check fails (the header records it).
    - `overwrite`: replace `path` even when it is not a module symnoether generated (the
        spec file, any other file); by default that is refused with an `InputError`.
        Generated modules are always replaced.

    **Returns:**

    The imported module (see docs/GENERATED_MODULE.md for what it provides).
    """
    from ..symbolic.invariants import derive_invariants
    from ..symbolic.verify import verify

    if not isinstance(system, System):
        raise TypeError(f"generate() takes a System, got {type(system).__name__}")
    if path is not None and not overwrite:
        _check_overwrite(system, Path(path))
    if invariants is None:
        invariants = derive_invariants(system)
    report = verify(system, invariants=invariants)
    if not report.ok and not force:
        unproved = [ch for ch in report.checks if not ch.passed]
        failed = "\n".join(f"  - {ch.name} ({ch.status}): {ch.detail}" for ch in unproved)
        raise VerificationFailed(
            f"system {system.name!r} failed verification, so no module was written:\n{failed}\n"
            "Fix the declaration, or pass force=True (`--force`) to generate anyway; the "
            "module's header then records the failed checks.",
            tuple(ch.name for ch in unproved),
        )
    source = render(system, invariants=invariants, report=report, force=force)
    try:  # never write a module Python cannot load
        code = compile(source, f"<symnoether generated: {system.name}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as error:
        raise CodegenError(
            f"the module generated for {system.name!r} does not compile in Python "
            f"({type(error).__name__}: {error}); nothing was written. Please report this."
        ) from error
    if path is None:
        return _load_source(source, code, system)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda file: file.write(source.encode()))
    return import_file(path)


def _load_source(source: str, code: types.CodeType, system: System) -> types.ModuleType:
    name = f"symnoether_generated_{system.name}_{system.spec_hash()}"
    module = types.ModuleType(name)
    module.__dict__["__source__"] = source
    exec(code, module.__dict__)
    sys.modules[name] = module
    return module
