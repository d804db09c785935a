"""Generated modules against SymPy, the contract, determinism and hostile input."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from systems import expm as _expm

import symnoether as sn
from symnoether.codegen.generate import render
from symnoether.codegen.printer import CodegenError, print_jax
from symnoether.integrity import module_problems
from symnoether.symbolic.invariants import derive_invariants
from symnoether.symbolic.noether import energy, noether_charges

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "oscillator_model.py"

FAST = ["kepler", "two_particles_2d", "two_particles_3d", "two_particles_4d"]
ALL = [*FAST, pytest.param("schwarzschild", marks=pytest.mark.slow)]


def _spec(name: str) -> sn.System:
    if name.startswith("two_particles"):
        os.environ["SYMNOETHER_DIM"] = name[-2]
        try:
            return sn.load_spec(ROOT / "examples/two_particles/spec.py")
        finally:
            del os.environ["SYMNOETHER_DIM"]
    return sn.load_spec(ROOT / f"examples/{name}/spec.py")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            system = _spec(name)
            path = tmp_path_factory.mktemp(name) / "model.py"
            cache[name] = (system, sn.generate(system, path), path)
        return cache[name]

    return get


def _states(n: int, count: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.5, 1.5, (count, n)) * rng.choice([-1, 1], (count, n))
    return jnp.asarray(q), jnp.asarray(rng.normal(0, 0.5, (count, n)))


def _lambdify(system, exprs):
    c = system.coordinates
    return sympy.lambdify([c.q, c.qdot], list(exprs), "jax")


@pytest.mark.parametrize("name", ALL)
def test_generated_functions_match_lambdify(generated, name):
    system, module, _ = generated(name)
    c = system.coordinates
    inv = derive_invariants(system)
    charges = noether_charges(system)
    checks = [
        (module.invariants, inv.exprs),
        (module.lagrangian, [system.true_lagrangian]),
        (module.true_charges, list(charges.values())),
        (module.true_energy, [energy(system)]),
    ]
    xi = [x for g in system.symmetry.generators for x in g]
    for q, v in zip(*_states(c.n)):
        for function, exprs in checks:
            want = jnp.asarray(_lambdify(system, exprs)(q, v), dtype=jnp.float64)
            got = jnp.ravel(function(q, v))
            np.testing.assert_allclose(got, jnp.ravel(want), rtol=1e-12, atol=1e-12)
        want = jnp.asarray([float(sympy.sympify(e).subs(dict(zip(c.q, map(float, q)))))
                            for e in xi])
        np.testing.assert_allclose(jnp.ravel(module.generators(q)), want, rtol=1e-12,
                                   atol=1e-12)


def _batched(function):
    return jax.jit(jax.vmap(function))


@pytest.mark.parametrize("name", ALL)
def test_invariant_derivatives_match_autodiff(generated, name):
    _, module, _ = generated(name)
    q, v = _states(len(module.COORDINATE_NAMES), 3, seed=1)
    S, dq, dv, dvv, mixed = _batched(module.invariant_derivatives)(q, v)

    def autodiff(q, v):
        hess = jax.jacfwd(jax.jacfwd(module.invariants, 1), 1)(q, v)
        cross = jax.jacfwd(jax.jacfwd(module.invariants, 1), 0)(q, v)
        return (module.invariants(q, v), jax.jacfwd(module.invariants, 0)(q, v),
                jax.jacfwd(module.invariants, 1)(q, v), hess, cross @ v)

    for got, want in zip((S, dq, dv, dvv, mixed), _batched(autodiff)(q, v)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_acceleration_matches_numerical_euler_lagrange(generated, name):
    _, module, _ = generated(name)
    L = module.lagrangian

    def numerical(q, v):
        mass = jax.hessian(L, 1)(q, v)
        rhs = jax.grad(L, 0)(q, v) - jax.jacfwd(jax.grad(L, 1), 0)(q, v) @ v
        return jnp.linalg.solve(mass, rhs)

    q, v = _states(len(module.COORDINATE_NAMES), 3, seed=2)
    np.testing.assert_allclose(_batched(module.acceleration)(q, v), _batched(numerical)(q, v),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", FAST)
def test_noether_charges_of_true_lagrangian_equal_true_charges(generated, name):
    _, module, _ = generated(name)
    q, v = _states(len(module.COORDINATE_NAMES), 3, seed=3)
    charges = _batched(lambda q, v: module.noether_charges(module.lagrangian, q, v))
    np.testing.assert_allclose(charges(q, v), _batched(module.true_charges)(q, v),
                               rtol=1e-12, atol=1e-12)
    energy = _batched(lambda q, v: module.energy(module.lagrangian, q, v))
    np.testing.assert_allclose(energy(q, v), _batched(module.true_energy)(q, v), rtol=1e-12)


def _group_element(module, n, seed):
    """A random finite element exp(sum_a c_a xi_a) of an affine group, acting on (q, qdot)."""
    coeffs = np.random.default_rng(seed).normal(size=len(module.GENERATOR_NAMES))
    field = lambda x: jnp.asarray(coeffs) @ module.generators(x)  # noqa: E731
    A = np.asarray(jax.jacfwd(field)(jnp.zeros(n)))
    b = np.asarray(field(jnp.zeros(n)))
    augmented = np.zeros((n + 1, n + 1))
    augmented[:n, :n], augmented[:n, n] = A, b
    flow = _expm(augmented)
    return lambda q, v: (flow[:n, :n] @ q + flow[:n, n], flow[:n, :n] @ v)


@pytest.mark.parametrize("name", FAST)
def test_invariants_are_invariant_under_finite_group_elements(generated, name):
    _, module, _ = generated(name)
    n = len(module.COORDINATE_NAMES)
    assert all(module.LINEAR_GENERATORS)
    q, v = _states(n, 3, seed=4)
    moved = [_group_element(module, n, i)(np.asarray(qi), np.asarray(vi))
             for i, (qi, vi) in enumerate(zip(q, v))]
    q2, v2 = jnp.asarray([m[0] for m in moved]), jnp.asarray([m[1] for m in moved])
    assert not np.allclose(q2, q)
    invariants = _batched(module.invariants)
    np.testing.assert_allclose(invariants(q2, v2), invariants(q, v), rtol=1e-10, atol=1e-10)


def test_float32_in_float32_out_and_transforms(generated):
    _, module, _ = generated("kepler")
    q, v = _states(3, 5)
    q32, v32 = q.astype(jnp.float32), v.astype(jnp.float32)
    for function in (module.invariants, module.acceleration, module.true_charges,
                     module.lagrangian, module.true_energy):
        out = jax.jit(jax.vmap(function))(q32, v32)
        assert out.dtype == jnp.float32 and out.shape[0] == 5
    for array in module.invariant_derivatives(q32[0], v32[0]):
        assert array.dtype == jnp.float32
    assert module.generators(q32[0]).dtype == jnp.float32
    grad = jax.grad(lambda q: module.invariants(q, v[0]).sum())(q[0])
    assert grad.shape == (3,)


def test_generated_module_passes_ruff(generated):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    paths = [str(generated(name)[2]) for name in FAST]
    config = str(ROOT / "pyproject.toml")
    result = subprocess.run([ruff, "check", "--no-cache", "--config", config, *paths],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _oscillator() -> sn.System:
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    k = sympy.Symbol("k", positive=True)
    L = sum(v**2 for v in c.qdot) / 2 - k * sum(x**2 for x in c.q) / 2
    return sn.System("oscillator", c, sn.rotations(c, ["x"]), lagrangian=L,
                     parameters={k: sympy.Rational(3, 2)})


def test_golden_file():
    source = render(_oscillator(), report=None)
    assert module_problems("golden", source) == []  # the hash it carries is its own
    # The hash covers the version line, so both are masked: the golden file stays valid
    # across releases.
    source = source.replace(f"symnoether {sn.__version__}", "symnoether VERSION")
    source = re.sub(r'MODULE_HASH = "[0-9a-f]+"', 'MODULE_HASH = "HASH"', source)
    if os.environ.get("SYMNOETHER_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(source)
    assert source == GOLDEN.read_text(), (
        "generated code changed; if intended, rerun with SYMNOETHER_UPDATE_GOLDEN=1 and review "
        "the diff of tests/golden/oscillator_model.py"
    )


def test_rendering_is_identical_across_hash_seeds(tmp_path):
    script = (
        "import sys, os; os.environ['SYMNOETHER_DIM'] = '3'\n"
        "import symnoether as sn\n"
        "from symnoether.codegen.generate import render\n"
        f"s = sn.load_spec({str(ROOT / 'examples/two_particles/spec.py')!r})\n"
        "sys.stdout.write(render(s))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONHASHSEED": seed, "JAX_PLATFORMS": "cpu"})
        for seed in ("1", "12345")
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert outputs[0] == outputs[1] and "def invariants" in outputs[0]


def test_generate_in_memory_and_atomic_write(tmp_path):
    system = _oscillator()
    module = sn.generate(system)
    assert module.SYSTEM_NAME == "oscillator" and module.PARAMETERS == {"k": 1.5}
    path = tmp_path / "sub" / "osc.py"
    sn.generate(system, path)
    assert path.is_file() and not list(path.parent.glob("*.tmp"))
    assert "Do not edit" in path.read_text() and str(tmp_path) not in path.read_text()


def test_generate_refuses_a_failed_verification_unless_forced(tmp_path):
    c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
    X, V = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    broken = sn.System("broken", c, sn.rotations(c, ["x"]),
                       lagrangian=V.dot(V) / 2 + 1 / sympy.sqrt(X.dot(X)) + X[0] / 10)
    with pytest.raises(CodegenError, match="(?s)failed verification.*force=True"):
        sn.generate(broken, tmp_path / "broken.py")
    assert not (tmp_path / "broken.py").exists()
    module = sn.generate(broken, tmp_path / "broken.py", force=True)
    assert "WARNING: generated with force=True" in module.__doc__


def test_strict_printer_names_the_output():
    x = sympy.Symbol("x")
    with pytest.raises(CodegenError, match="output 'S\\[2\\]'"):
        print_jax(sympy.Function("f")(x), output="S[2]")
    with pytest.raises(CodegenError, match="besselj"):
        print_jax(sympy.besselj(1, x), output="L")
    assert print_jax(sympy.Max(x, 1), output="m") == "jnp.maximum(1, x)"


@pytest.mark.parametrize(
    "hostile",
    ['__import__("os").system("x")', "x; import os", "x\ny", "_private", "print"],
)
def test_hostile_names_never_reach_code(hostile):
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    with pytest.raises(sn.SpecError):
        sn.coordinates([hostile, "y"])
    with pytest.raises(sn.SpecError):
        sn.System(hostile, c, sn.rotations(c, ["x"]))
    with pytest.raises(sn.SpecError):
        sn.from_generators(c, [{"x": "-y", "y": "x"}], name=hostile)
    with pytest.raises(sn.SpecError):
        sn.rotations(c, ["x"], label=hostile)
    x, y = c.q
    system = sn.System("osc", c, sn.rotations(c, ["x"]))
    with pytest.raises((sn.SpecError, ValueError, TypeError)):
        derive_invariants(system, candidates={hostile: x**2 + y**2})


def test_long_sums_print_as_shallow_groups_that_python_compiles():
    from symnoether.codegen.printer import print_jax

    xs = sympy.symbols("x0:1200", real=True)
    code = print_jax(sympy.Add(*(x**2 for x in xs)) - xs[3], output="energy")
    compile(f"value = {code}", "<long sum>", "exec")  # a flat chain hit the recursion limit
    assert code.count("(") >= 6 and print_jax(xs[0] - xs[1], output="short") == "x0 - x1"


def _probe(names) -> sn.System:
    # Every kind of generated function: with n > 4 and a mass matrix that depends on q the
    # acceleration is solved by LU (locals _mass, _rhs), with n <= 4 in closed form (_qddot);
    # a known Lagrangian adds known_lagrangian (_K).
    c = sn.coordinates(list(names))
    q, v = c.q, c.qdot
    L = (1 + q[1] ** 2) * sum(x**2 for x in v) / 2 - sum(x**2 for x in q[1:]) / 2
    return sn.System("probe", c, sn.translations(c, coordinates=[names[0]]), lagrangian=L,
                     known_lagrangian=sum(x**2 for x in v) / 2)


def _stored_locals(source: str) -> set[str]:
    import ast

    return {node.id for f in ast.parse(source).body if isinstance(f, ast.FunctionDef)
            for node in ast.walk(f) if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Store)}


def test_generated_locals_never_collide_with_user_names():
    # The template's own locals start with "_", which user names cannot; a system whose
    # coordinates (and so velocities, "<name>dot") are named like every one of those locals
    # generates a module that computes exactly what a twin with plain names computes.
    local = set()
    for names in ([f"a{i}" for i in range(n)] for n in (3, 6)):
        user = set(names) | {f"{name}dot" for name in names}
        found = _stored_locals(render(_probe(names))) - {"_"}
        assert all(name in user or name.startswith("_") for name in found), found - user
        local |= {name[1:] for name in found - user}
    # Boundary terms (the magnetic example's quasi-symmetry) follow the same rule.
    magnetic = sn.load_spec(ROOT / "examples/magnetic/spec.py")
    user = {*magnetic.coordinates.names, *(s.name for s in magnetic.coordinates.qdot)}
    found = _stored_locals(render(magnetic)) - {"_"} - user
    assert "_F" in found and all(name.startswith("_") for name in found), found
    assert {"S", "dtype", "xi", "mass", "rhs", "qddot", "K", "momentum"} <= local
    # A local ending in "dot" is met by the velocity of the coordinate without it.
    clashing = sorted({name[:-3] if name.endswith("dot") else name for name in local})
    key = jax.random.key(3)
    for names in (["qd", "S", "dtype"], clashing):
        assert all(sn.coordinates(names).names)  # every name is a legal coordinate name
        module = sn.generate(_probe(names))
        twin = sn.generate(_probe([f"a{i}" for i in range(len(names))]))
        key, k1, k2 = jax.random.split(key, 3)
        q, qdot = (jax.random.normal(k, (len(names),), jnp.float64) for k in (k1, k2))
        for name in ("invariants", "invariant_derivatives", "generators", "lagrangian",
                     "acceleration", "true_charges", "true_energy", "known_lagrangian"):
            args = (q,) if name == "generators" else (q, qdot)
            got, want = getattr(module, name)(*args), getattr(twin, name)(*args)
            for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12,
                                           err_msg=f"{name} with coordinates {names}")
