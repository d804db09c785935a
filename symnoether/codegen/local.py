"""Generate the JAX module of a local particle system: per-term functions, any N.

The module holds the functions of one body and one pair (invariants, generators, true
terms) and sums them over particles with array code, so its text and the time to write it
do not depend on the number of particles (docs/WRITING_A_SPEC.md, "Local Lagrangians").
"""

from pathlib import Path

import sympy

from .._version import __version__
from ..files import atomic_write
from ..integrity import with_module_hash
from ..symbolic.local import LocalDerivation, ParticleSystem, derive_local, verify_local
from .generate import _environment
from .printer import VerificationFailed, print_jax

__all__ = ["generate_local", "render_local"]


def _body(exprs, labels, inputs) -> list[str]:
    """Unpacking lines, CSE temporaries and one `# label` line per output."""
    exprs = [sympy.sympify(e) for e in exprs]
    used = set().union(*(e.free_symbols for e in exprs))
    lines = []
    for var, symbols in inputs:
        names = [s.name if s in used else "_" for s in symbols]
        if any(n != "_" for n in names):
            lines.append(f"{', '.join(names)}{',' if len(names) == 1 else ''} = {var}")
    temps, reduced = sympy.cse(
        exprs, symbols=sympy.numbered_symbols("_t"), order="canonical", list=True
    )
    lines += [f"{t.name} = {print_jax(e, output=f'temporary {t.name}')}" for t, e in temps]
    outs = []
    for e, label in zip(reduced, labels):
        code = print_jax(e, output=label)
        if not sympy.sympify(e).free_symbols:
            code = f"jnp.asarray({code}, dtype=_dtype)"
        outs.append(f"{code},  # {label}")
    return lines, outs


def _function(name: str, args: str, doc: str, exprs, labels, inputs) -> dict:
    """A template record: unpacking lines, CSE temporaries, one `# label` line per output
    (also the lattice module's, codegen/lattice.py)."""
    lines, outs = _body(exprs, labels, inputs)
    return {"name": name, "args": args, "doc": doc, "lines": lines, "outputs": outs}


def _context(d: LocalDerivation, report) -> dict:
    s = d.system
    values = {
        sympy.Symbol(str(k), **sympy.Symbol(str(k)).assumptions0) if isinstance(k, str) else k: v
        for k, v in s.parameters.items()
    }
    one, two = s.term_system(1), s.term_system(2)
    x, v = one.coordinates.q, one.coordinates.qdot
    x1, x2 = two.coordinates.q[: s.dim], two.coordinates.q[s.dim :]
    v1, v2 = two.coordinates.qdot[: s.dim], two.coordinates.qdot[s.dim :]
    body_in = [("x", x), ("v", v)]
    pair_in = [("x1", x1), ("v1", v1), ("x2", x2), ("v2", v2)]
    pos = [d.pair.exprs[i] for i in d.pair_positions]
    funcs = [
        _function(
            "body_invariants",
            "x, v",
            "Invariants of one body.",
            d.body.exprs,
            d.body.names,
            body_in,
        ),
        _function(
            "pair_invariants",
            "x1, v1, x2, v2",
            "Invariants of one pair.",
            d.pair.exprs,
            d.pair.names,
            pair_in,
        ),
        _function(
            "pair_position_invariants",
            "x1, x2",
            "The pair invariants without velocities (a pair potential's inputs).",
            pos,
            [d.pair.names[i] for i in d.pair_positions],
            pair_in[::2],
        ),
    ]
    gens = [sympy.sympify(c) for xi in d.generators for c in xi]
    labels = [f"{n}[{k}]" for n in d.charge_names for k in range(s.dim)]
    funcs.append(
        _function(
            "_body_generators_flat",
            "x",
            "The generators at one body, flat.",
            gens,
            labels,
            [("x", x)],
        )
    )
    true = s.pair is not None
    block_mass = False
    if true:
        # Without velocities in the pair term, d2L/dqdot2 is block diagonal (one d x d
        # block per body): the true acceleration solves the blocks, O(N) memory.
        block_mass = not (sympy.sympify(two.lagrangian).free_symbols & set(two.coordinates.qdot))
        body = sympy.sympify(one.lagrangian).subs(values)
        pair = sympy.sympify(two.lagrangian).subs(values)
        funcs.append(
            _function(
                "body_lagrangian", "x, v", "The true one-body term.", [body], ["body"], body_in
            )
        )
        funcs.append(
            _function(
                "pair_lagrangian",
                "x1, v1, x2, v2",
                "The true pair term.",
                [pair],
                ["pair"],
                pair_in,
            )
        )
    return {
        "version": __version__,
        "system": s.name,
        "dim": s.dim,
        "count": s.count,
        "cutoff": None if s.cutoff is None else float(s.cutoff),
        "body_names": tuple(d.body.names),
        "pair_names": tuple(d.pair.names),
        "pair_positions": tuple(d.pair_positions),
        "charge_names": tuple(d.charge_names),
        "checks": [
            f"{c.name}: {'proved' if c.passed else 'FAILED'} ({c.detail})" for c in report.checks
        ],
        "functions": funcs,
        "true": true,
        "block_mass": block_mass,
        "initial_state": s.initial_state,
    }


def render_local(system: ParticleSystem) -> str:
    """The module's source text (derive, verify, render); a `VerificationFailed` if a
    check fails."""
    d = derive_local(system)
    report = verify_local(system, d)
    failed = tuple(c.name for c in report.checks if not c.passed)
    if failed:
        raise VerificationFailed(f"{system.name}: local checks failed: {', '.join(failed)}", failed)
    text = _environment().get_template("local_model.py.j2").render(**_context(d, report))
    return with_module_hash(text)


def generate_local(system: ParticleSystem, path) -> Path:
    """Write the module of `system` to `path` (atomically) and return the path."""
    path = Path(path)
    text = render_local(system).encode()
    return atomic_write(path, lambda f: f.write(text))
