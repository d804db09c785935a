"""Generate the JAX module of a lattice field: per-site and per-stencil functions, any shape.

The module holds the functions of one site and one stencil (invariants, the kinetic
structure, generators, true terms) and the stencil's offsets; sums over the lattice are
array code (`jnp.roll`), so its text and the time to write it do not depend on the
lattice's size (docs/WRITING_A_SPEC.md, "Lattice fields").
"""

from pathlib import Path

import sympy

from .._version import __version__
from ..files import atomic_write
from ..integrity import with_module_hash
from ..symbolic.lattice import LatticeDerivation, LatticeSystem, derive_lattice, verify_lattice
from .generate import _environment
from .local import _function
from .printer import VerificationFailed

__all__ = ["generate_lattice", "render_lattice"]


def _constant(matrix) -> tuple:
    return tuple(tuple(float(x) for x in row) for row in matrix)


def _context(d: LatticeDerivation, report) -> dict:
    s = d.system
    values = {sympy.Symbol(str(k)) if isinstance(k, str) else k: v for k, v in s.parameters.items()}
    one = s.points_system(1, with_terms=True)
    S = len(s.stencil)
    stencil = s.points_system(S, with_terms=True)
    f, v = one.coordinates.q, one.coordinates.qdot
    site_in = [("f", f), ("v", v)]
    stencil_in = [("fs.reshape(-1)", stencil.coordinates.q)]
    names = d.site.names
    rows = [e for row in d.linear_rows for e in row]
    funcs = [
        _function(
            "site_position_invariants",
            "f",
            "The position invariants of one site.",
            [d.site.exprs[i] for i in d.site_positions],
            [names[i] for i in d.site_positions],
            site_in[:1],
        ),
        _function(
            "_site_linear_rows_flat",
            "f",
            "The rows a_i(f) of the site's linear invariants a_i . v, flat.",
            rows,
            [f"d {names[i]} / d v[{k}]" for i in d.site_linear for k in range(len(f))],
            site_in[:1],
        ),
        _function(
            "stencil_position_invariants",
            "fs",
            "The position invariants of one stencil, fs of shape (STENCIL_SIZE, FIELDS).",
            d.stencil_exprs,
            d.stencil_names,
            stencil_in,
        ),
        _function(
            "_site_generators_flat",
            "f",
            "The generators at one site, flat.",
            [c for xi in d.generators for c in xi],
            [f"{n}[{k}]" for n in d.charge_names for k in range(len(f))],
            site_in[:1],
        ),
    ]
    true = s.coupling is not None
    if true:
        site = sympy.sympify(one.lagrangian).xreplace(values)
        coupling = sympy.sympify(
            s.coupling([sympy.Matrix(stencil.coordinates.block(f"x{k + 1}")) for k in range(S)])
        ).xreplace(values)
        funcs.append(
            _function(
                "site_lagrangian", "f, v", "The true on-site term.", [site], ["site"], site_in
            )
        )
        funcs.append(
            _function(
                "coupling_lagrangian",
                "fs",
                "The true stencil term.",
                [coupling],
                ["coupling"],
                stencil_in,
            )
        )
    return {
        "version": __version__,
        "system": s.name,
        "shape": s.shape,
        "fields": s.fields,
        "stencil": s.stencil,
        "periodic": s.periodic,
        "site_names": tuple(names),
        "site_position_names": tuple(names[i] for i in d.site_positions),
        "site_linear_names": tuple(names[i] for i in d.site_linear),
        "site_form_names": tuple(names[i] for i in d.site_forms),
        "form_hessians": tuple(_constant(h) for h in d.form_hessians),
        "stencil_names": tuple(d.stencil_names),
        "charge_names": tuple(d.charge_names),
        "checks": [
            f"{c.name}: {'proved' if c.passed else 'FAILED'} ({c.detail})" for c in report.checks
        ],
        "functions": funcs,
        "true": true,
    }


def render_lattice(system: LatticeSystem) -> str:
    """The module's source text (derive, verify, render); a `VerificationFailed` if a
    check fails."""
    d = derive_lattice(system)
    report = verify_lattice(system, d)
    failed = tuple(c.name for c in report.checks if not c.passed)
    if failed:
        raise VerificationFailed(
            f"{system.name}: lattice checks failed: {', '.join(failed)}", failed
        )
    text = _environment().get_template("lattice_model.py.j2").render(**_context(d, report))
    return with_module_hash(text)


def generate_lattice(system: LatticeSystem, path) -> Path:
    """Write the module of `system` to `path` (atomically) and return the path.

    **Arguments:**

    - `system`: the [`LatticeSystem`][].
    - `path`: the file to write.

    **Returns:** the path. The text does not depend on `system.shape` except for the
    `SHAPE` line (the initial state stays in the spec).
    """
    path = Path(path)
    text = render_lattice(system).encode()
    return atomic_write(path, lambda f: f.write(text))
