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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    # Imports under `if TYPE_CHECKING:` never run.
    return {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
            for statement in node.body for n in ast.walk(statement)}  # fmt: skip


def _targets(node, module: str, is_package: bool, modules: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module.split(".")[: None if is_package else -1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        base = ".".join(base + ([node.module] if node.module else []))
    else:
        base = node.module
    # `from package import submodule` imports the submodule.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def _import_graph() -> dict[str, set[str]]:
    # Every import statement of the package (module level or inside a function: a deferred
    # import is still a dependency), to the package's own modules; importing a.b.c also
    # runs the __init__ of a.b and of a.
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {module: set() for module in files}
    for module, path in files.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, module, path.name == "__init__.py", set(files)):
                while target:
                    if target in files and target != module and not module.startswith(
                            target + "."):  # (a module's own packages are already running)
                        graph[module].add(target)
                    target = target.rpartition(".")[0]
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    # The strongly connected components with more than one module (Tarjan).
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while not component or v not in component:
                component.add(stack.pop())
            on_stack.difference_update(component)
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# Cycles known and being removed elsewhere. Empty since issue 23 (evaluate <-> plots went
# with numeric/curves.py); nothing may be added to it.
KNOWN_CYCLES: list[frozenset[str]] = []


def test_the_package_has_no_import_cycles():
    cycles = _cycles(_import_graph())
    assert [c for c in cycles if c not in KNOWN_CYCLES] == [], cycles


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [frozenset("abc")]
    graph = _import_graph()
    assert "symnoether.numeric.positions" in graph["symnoether.numeric.data"]
    assert "symnoether.numeric._npz" in graph["symnoether.numeric.positions"]
