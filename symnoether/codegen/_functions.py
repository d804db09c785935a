"""Generated functions as strings: CSE, array layout and docstrings (shared by `generate.py`
and `balance.py`). Templates only lay these out."""

from dataclasses import dataclass

import sympy

from ..symbolic.system import System
from .printer import print_jax

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
