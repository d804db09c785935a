"""MkDocs hook: the API reference page, generated from `symnoether._EXPORTS`.

Every public name of `symnoether/__init__.py` gets its entry, grouped by the part of the
package it lives in, so the page can never fall behind the package (tests/test_docs.py
checks it too). Each entry renders the object's docstring with mkdocstrings.
"""

from mkdocs.structure.files import File

SECTIONS = {  # first part of the submodule -> heading
    "errors": "Errors",
    "symbolic": "Declare, derive, verify (SymPy)",
    "codegen": "Generate (the bridge)",
    "numeric": "Train, integrate, evaluate (JAX)",
}
INTRO = """# API reference

`import symnoether as sn`: every public name, by stage. The symbolic half never imports
JAX and the numeric half never imports SymPy; the generated module is the bridge
([Architecture](ARCHITECTURE.md)).
"""


def exports() -> dict[str, tuple[str, str]]:
    """Public name -> (submodule, attribute). Importing `symnoether` loads neither half."""
    import symnoether

    return symnoether._EXPORTS


# Objects that public names return or take, documented where their docstrings point.
SUPPORTING = (
    "symnoether.symbolic.groups.Action",
    "symnoether.symbolic.invariants.certificate.Certificate",
    "symnoether.symbolic.check.Check",
    "symnoether.symbolic.noether.broken_symmetries",
    "symnoether.symbolic.balance.Balance",
    "symnoether.numeric.integrate._integrate.IntegrationResult",
    "symnoether.numeric.integrate._base.LagrangianTerm",
    "symnoether.numeric.integrate._base.StepInfo",
    "symnoether.numeric.integrate._base.default_tol",
    "symnoether.numeric.position_loss.discrete_rollout",
    "symnoether.numeric.position_loss.implicit_newton",
    "symnoether.numeric.newton.newton",
    "symnoether.numeric.newton.NewtonResult",
    "symnoether.numeric.matrix_free.BlockSweeps",
)


def api_markdown() -> str:
    lines = [INTRO]
    by_section: dict[str, list[str]] = {key: [] for key in SECTIONS}
    for name, (submodule, _) in exports().items():
        by_section[submodule.split(".")[0]].append(name)
    for key, heading in SECTIONS.items():
        lines.append(f"## {heading}\n")
        for name in by_section[key]:
            lines.append(f"::: symnoether.{name}\n")
    lines.append("## Supporting types and functions\n")
    lines.append("What the public names above return or take.\n")
    lines += [f"::: {path}\n" for path in SUPPORTING]
    return "\n".join(lines)


def on_files(files, config):
    files.append(File.generated(config, "api.md", content=api_markdown()))
    return files
