"""Render a verified `System` into a JAX module (the bridge between the two halves).

Logic lives here; `templates/model.py.j2` only lays the strings out. Order comes only
from the declaration (coordinates, generators, invariants) so the output is byte-identical
on every machine and every `PYTHONHASHSEED`.
"""

import os
import sys
import types
from dataclasses import dataclass
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
from .printer import CodegenError, VerificationFailed, print_jax

__all__ = ["generate", "render"]

_TEMPLATE = "model.py.j2"
_DOC_WIDTH = 160
_CSE_CHUNK = 400  # expressions per CSE pass
_DOC_TERMS = 12  # a docstring shows sums of more terms by their first ones


@dataclass(frozen=True)
class Function:
    """One generated function, as strings for the template."""

    name: str
    args: str
    doc: tuple[str, ...]
    unpack: tuple[str, ...]
    body: tuple[str, ...]
    result: str


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


def _source(expr: sympy.Expr) -> str:
    if expr.is_Add and len(expr.args) > _DOC_TERMS:  # printing it all only to cut it is slow
        head = sympy.sstr(sympy.Add(*expr.args[:_DOC_TERMS], evaluate=False), order="none")
        text = f"{head} + ... ({len(expr.args)} terms)"
    else:
        text = sympy.sstr(expr, order="lex")
    return text if len(text) <= _DOC_WIDTH else text[: _DOC_WIDTH - 5] + " ..."


def _used_unpack(system: System, with_qdot: bool, used: set) -> tuple[str, ...]:
    """Unpacking lines with unused names replaced by `_` (ruff flags unused names)."""
    c = system.coordinates
    groups = [("q", c.q)] + ([("qdot", c.qdot)] if with_qdot else [])
    lines = []
    for source, symbols in groups:
        names = [s.name if s in used else "_" for s in symbols]
        if any(name != "_" for name in names):
            comma = "," if len(names) == 1 else ""
            lines.append(f"{', '.join(names)}{comma} = {source}")
    lines.append("_dtype = jnp.result_type(q, qdot)" if with_qdot else "_dtype = q.dtype")
    return tuple(lines)


def _cse(exprs: list[sympy.Expr], labels: list[str]) -> tuple[list[str], list[str]]:
    """Common subexpressions: lines of numbered temporaries and the reduced outputs.

    SymPy's CSE grows faster than linearly with the number of expressions, so long lists
    (many particles) are reduced in consecutive chunks of `_CSE_CHUNK`, in order, with one
    numbering: sharing across chunks is lost, the cost stays linear. Short lists (every
    small system) are one chunk, as before.
    """
    names = sympy.numbered_symbols("_t")
    temps, reduced = [], []
    for start in range(0, len(exprs), _CSE_CHUNK):
        chunk_temps, chunk = sympy.cse(exprs[start:start + _CSE_CHUNK], symbols=names,
                                       order="canonical", list=True)
        temps += chunk_temps
        reduced += chunk
    lines = [f"{t.name} = {print_jax(e, output=f'temporary {t.name}')}" for t, e in temps]
    outputs = [print_jax(e, output=label) for e, label in zip(reduced, labels)]
    return lines, outputs


def _local(name: str) -> str:
    """The name of a local variable in generated code: with a leading underscore, which a
    user's coordinate, velocity or parameter name cannot have, so that they never collide
    (a coordinate named `S`, `dtype` or `xi` is fine)."""
    return f"_{name}"


def _stack(entries: list[tuple[str, str]]) -> list[str]:
    """`jnp.stack([` with one entry a line, each with a `# name` comment."""
    return ["jnp.stack(["] + [f"    {code},  # {label}" for code, label in entries] + ["])"]


def _array_lines(var: str, shape: tuple[int, ...], found: list) -> list[str]:
    """Lines assigning the array `var` from its non-zero entries [(index, code, label)]."""
    if shape == ():
        code = found[0][1] if found else "0"
        return [f"{var} = jnp.asarray({code}, dtype=_dtype)"]
    zeros = f"{var} = jnp.zeros({shape}, dtype=_dtype)"
    if not found:
        return [zeros]
    stack = _stack([(code, label) for _, code, label in found])
    if len(shape) == 1 and len(found) == shape[0]:
        return [f"{var} = {stack[0]}", *stack[1:-1], f"{stack[-1]}.astype(_dtype)"]
    index = tuple(tuple(idx[d] for idx, _, _ in found) for d in range(len(shape)))
    return [zeros, f"{var}_index = {index}", f"{var} = {var}.at[{var}_index].set({stack[0]}",
            *stack[1:-1], f"{stack[-1]})"]


def _arrays(arrays) -> tuple[list[str], str]:
    """Body lines and the returned names for arrays sharing one CSE pass.

    Each array is (var, shape, {index: (expr, label)}); zero entries are left out. `var`
    is the array's name in the docstrings; in the code it is `_var` (see `_local`).
    """
    arrays = [(_local(var), shape, entries) for var, shape, entries in arrays]
    exprs, owners = [], []
    for a, (_, _, entries) in enumerate(arrays):
        for idx, (expr, label) in entries.items():
            if expr != 0:
                exprs.append(expr)
                owners.append((a, idx, label))
    lines, codes = _cse(exprs, [f"{arrays[a][0][1:]}{list(idx)}" for a, idx, _ in owners])
    per_array = [[] for _ in arrays]
    for (a, idx, label), code in zip(owners, codes):
        per_array[a].append((idx, code, label))
    for (var, shape, _), found in zip(arrays, per_array):
        lines += _array_lines(var, shape, found)
    return lines, ", ".join(var for var, _, _ in arrays)


def _vector(exprs, labels) -> dict:
    return {(i,): (e, label) for i, (e, label) in enumerate(zip(exprs, labels))}


def _function(name, args, doc, system, arrays) -> Function:
    body, result = _arrays(arrays)
    used = set().union(*(sympy.sympify(e).free_symbols
                         for _, _, entries in arrays for e, _ in entries.values()))
    unpack = _used_unpack(system, "qdot" in args, used)
    return Function(name, args, tuple(doc), unpack, tuple(body), result)


def _listing(names, exprs) -> list[str]:
    return [f"{i:>3}  {n} = {_source(e)}" for i, (n, e) in enumerate(zip(names, exprs))]


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
    """`args` plus the keyword time `t` where the generators depend on it."""
    return f"{args}, *, t=0.0" if system.symmetry.time_dependent else args


def _generator_function(system: System) -> Function:
    G, c = system.symmetry, system.coordinates
    of = "xi_a(q, t)" if G.time_dependent else "xi_a(q)"
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
    functions = [_function("lagrangian", "q, qdot", ["The true Lagrangian:", "",
                           f"L = {_source(L)}"], system, [("L", (), {(): (L, "L")})])]
    mass, rhs = euler_lagrange(system, L)
    qddot = None
    if all(not e.free_symbols for e in mass) or n <= 4:
        try:
            qddot = solve_acceleration(system)
        except ValueError:  # singular mass matrix: only reachable with force=True
            qddot = None
    if qddot is not None:
        doc = ["qddot from the Euler-Lagrange equations, solved in closed form by SymPy:", ""]
        doc += _listing(accel_names, qddot)
        functions.append(_function("acceleration", "q, qdot", doc, system,
                                   [("qddot", (n,), _vector(qddot, accel_names))]))
    else:
        functions.append(_solved_acceleration(system, mass, rhs))
    charges = noether_charges(system)
    formula = "I_a = dL/dqdot . xi_a(q)"
    if system.symmetry.time_dependent or system.has_boundary:
        formula = ("I_a = dL/dqdot . xi_a(q, t) - F_a(q, t)" if system.symmetry.time_dependent
                   else "I_a = dL/dqdot . xi_a(q) - F_a(q)")
    doc = [f"Noether charges of the true Lagrangian, {formula}:", ""]
    doc += _listing(list(charges), list(charges.values()))
    functions.append(_function("true_charges", _time_args(system, "q, qdot"), doc, system,
                               [("I", (len(charges),), _vector(charges.values(), charges))]))
    E = energy(system)
    functions.append(_function("true_energy", "q, qdot", ["Energy of the true Lagrangian:",
                               "", f"E = {_source(E)}"], system, [("E", (), {(): (E, "E")})]))
    return functions


def _solved_acceleration(system: System, mass, rhs) -> Function:
    c = system.coordinates
    n = c.n
    doc = ["qddot from the Euler-Lagrange equations d2L/dqdot2 qddot = rhs, with the mass",
           "matrix and rhs = dL/dq - (d2L/dqdot dq) qdot in closed form, solved by LU."]
    entries = {(a, b): (mass[a, b], f"d2L / d {c.qdot[a]} d {c.qdot[b]}")
               for a in range(n) for b in range(n)}
    rhs_names = [f"rhs {name}" for name in c.names]
    f = _function("acceleration", "q, qdot", doc, system,
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
            "known_lagrangian", "q, qdot",
            ["The known part K of the model's Lagrangian L = K + f(S) (the network adds it):",
             "", f"K = {_source(K)}"], system, [("K", (), {(): (K, "K")})]))
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
        "time_dependent": G.time_dependent,
        "functions": functions,
        "true_functions": true_functions,
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
