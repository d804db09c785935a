"""The symbolic half never imports jax; the numeric half never imports sympy."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symnoether"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "half, forbidden",
    [("symbolic", {"jax", "jaxlib", "equinox", "optax"}), ("codegen", {"jax", "equinox"}),
     ("numeric", {"sympy"})],
)
def test_halves_do_not_import_each_other(half, forbidden):
    files = sorted((PACKAGE / half).rglob("*.py"))
    assert files
    for path in files:
        bad = _imports(path) & forbidden
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_numeric_does_not_reach_symbolic_by_relative_import():
    for path in sorted((PACKAGE / "numeric").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module:
                assert not node.module.startswith(("symbolic", "codegen")), path
