"""The symbolic half never imports jax; the numeric half never imports sympy."""

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from systems import kepler

import symnoether as sn

PACKAGE = Path(__file__).resolve().parent.parent / "symnoether"
# Subprocesses import this checkout's package, installed or not.
_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(PACKAGE.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}  # fmt: skip


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


# Imports the whole numeric half, trains a tiny network on a generated module and
# integrates it; prints the heavy modules that got loaded.
_NUMERIC_ONLY = """
import sys
import jax
import symnoether.numeric.data as data
import symnoether.numeric.integrate as integrate
import symnoether.numeric.network as network
import symnoether.numeric.train as train
from symnoether.numeric.run import load_module

module = load_module(sys.argv[1])
dataset = data.trajectory_data(module, [1.0, 0.0, 0.0], [0.0, 1.1, 0.1], t_final=2.0,
                               key=jax.random.key(0))
model = network.LagrangianNetwork(module, width=4, depth=1, key=jax.random.key(1))
result = train.train(model, dataset, steps=2, batch_size=4, progress=False,
                     key=jax.random.key(2))
assert result.losses.shape == (1,)
integrate.integrate(result.model, dataset.q[0], dataset.qdot[0], dt=0.01, steps=2)
print(sorted(name for name in ("sympy", "jinja2") if name in sys.modules))
"""


def test_numeric_half_trains_without_sympy_or_jinja2(tmp_path):
    sn.generate(kepler(), tmp_path / "m.py")
    out = subprocess.run(
        [sys.executable, "-c", _NUMERIC_ONLY, str(tmp_path / "m.py")],
        capture_output=True, text=True, cwd=tmp_path, env=_ENV,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_symbolic_half_imports_without_jax():
    code = (
        "import sys, symnoether, symnoether.symbolic.verify, symnoether.codegen.generate; "
        "print(sorted(m for m in ('jax', 'equinox', 'optax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_ENV)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_top_level_names_are_lazy_and_complete():
    assert set(sn.__all__) <= set(dir(sn))
    for name in sn.__all__:
        assert getattr(sn, name) is getattr(
            importlib.import_module(f"symnoether.{sn._EXPORTS[name][0]}"), name
        )
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        sn.nonexistent  # noqa: B018


def test_type_checking_imports_match_the_lazy_table():
    # The `if TYPE_CHECKING:` block of __init__.py is what IDEs see; it must name exactly
    # the lazily exported names, from the same submodules.
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If))
    seen = {alias.asname: (node.module, alias.name) for node in block.body for alias in node.names}
    assert seen == sn._EXPORTS
