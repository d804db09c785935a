"""Local Lagrangians of lattice fields (issue 25), at small sizes."""

import dataclasses
import os
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import symnoether as sn
from symnoether.files import import_file
from symnoether.numeric.dynamics import autodiff_terms, solve_mass_matrix
from symnoether.numeric.lattice_data import lattice_error, lattice_truth
from symnoether.numeric.matrix_free import block_diagonal_hessian, block_inverse, newton_matrix_free
from symnoether.symbolic.lattice import LatticeSpecError

ROOT = Path(__file__).resolve().parent.parent
XY = ROOT / "examples" / "xy_chain_local" / "spec.py"
FIELD = ROOT / "examples" / "complex_field_local" / "spec.py"


def _load(path, **env):
    os.environ.update(env)
    return sn.load_lattice_spec(path)


@pytest.fixture(scope="module")
def xy(tmp_path_factory):
    path = tmp_path_factory.mktemp("lattice") / "xy.py"
    sn.generate_lattice(_load(XY, SYMNOETHER_SITES="5"), path)
    return import_file(path)


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    path = tmp_path_factory.mktemp("lattice") / "field.py"
    sn.generate_lattice(_load(FIELD, SYMNOETHER_SIDE="3"), path)
    return import_file(path)


@eqx.filter_jit
def _dense(model, q, v):
    # Jitted: the dense autodiff reference, and the closed form it checks, in one program.
    mass, rhs = autodiff_terms(model, q, v)
    return solve_mass_matrix(mass, rhs), mass, model.acceleration(q, v), model.mass_matrix(q, v)


def _state(n, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(scale * rng.normal(size=n)), jnp.asarray(scale * rng.normal(size=n)))


def _model(module, seed=0):
    model = sn.LatticeNetwork(module, width=8, key=jax.random.key(seed))
    # Random weights everywhere, the kinetic coefficients too (they start at zero).
    leaves, tree = jax.tree.flatten(model)
    keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
    leaves = [
        x + 0.5 * jax.random.normal(k, x.shape, x.dtype)
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating)
        else x
        for x, k in zip(leaves, keys)
    ]
    return jax.tree.unflatten(tree, leaves)


def test_module_text_independent_of_lattice_size(tmp_path, xy):
    system = _load(XY, SYMNOETHER_SITES="5")
    big = dataclasses.replace(system, shape=(300,), initial_state=None)
    text = sn.generate_lattice(big, tmp_path / "big.py").read_text()
    small = Path(xy.__file__).read_text()
    strip = [line for line in text.splitlines() if not line.startswith(("SHAPE", "MODULE_HASH"))]
    assert strip == [
        line for line in small.splitlines() if not line.startswith(("SHAPE", "MODULE_HASH"))
    ]


def test_verify_proves_each_check():
    report = sn.verify_lattice(_load(XY, SYMNOETHER_SITES="5"))
    names = {c.name for c in report.checks}
    assert report.ok, report.checks
    assert {
        "stencil_invariants",
        "kinetic_definite",
        "sum_group_invariant",
        "sum_translation_invariant",
        "charges",
    } <= names


def test_broken_symmetry_fails_verification():
    # A pinning potential cos(theta) breaks the shift: the negative control.
    system = _load(XY, SYMNOETHER_SITES="5")
    broken = dataclasses.replace(system, site=lambda f, v: v.dot(v) / 2 + sympy.cos(f[0]))
    report = sn.verify_lattice(broken)
    failed = {c.name for c in report.checks if not c.passed}
    assert {"true_site_invariant", "sum_group_invariant"} <= failed


def test_bad_declaration_collects_problems():
    with pytest.raises(LatticeSpecError, match="shape must be.*\n.*exactly 2 fields"):
        sn.LatticeSystem(name="x", shape=(2,), fields=("a", "b", "c"), symmetry="u1")
    with pytest.raises(LatticeSpecError, match="periodic=True"):
        sn.LatticeSystem(name="x", shape=(4,), fields=("a", "b"), symmetry="u1", periodic=True)
    with pytest.raises(LatticeSpecError, match="does not exist"):
        sn.load_lattice_spec("no/such/spec.py")


# The field's cases compile larger programs (10-25 s CPU each): slow.
SLOW_FIELD = pytest.param("field", marks=pytest.mark.slow)


@pytest.mark.parametrize("name", ["xy", SLOW_FIELD])
def test_true_module_acceleration_and_charge(name, request):
    module = request.getfixturevalue(name)
    n = int(np.prod(module.SHAPE)) * module.FIELDS
    q, v = _state(n)
    truth = lattice_truth(module, module.SHAPE)
    reference, _, closed, _ = _dense(truth, q, v)
    np.testing.assert_allclose(closed, reference, rtol=1e-10, atol=1e-12)
    f, p = q.reshape(-1, module.FIELDS), v.reshape(-1, module.FIELDS)  # unit masses
    expected = p.sum() if name == "xy" else jnp.sum(f[:, 0] * p[:, 1] - f[:, 1] * p[:, 0])
    np.testing.assert_allclose(module.true_charges(q, v)[0], expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["xy", SLOW_FIELD])
def test_model_closed_form_definite_invariant_and_any_shape(name, request):
    module = request.getfixturevalue(name)
    model = _model(module)
    n = model.sites * module.FIELDS
    q, v = _state(n)
    reference, mass, closed, blocks = _dense(model, q, v)
    np.testing.assert_allclose(closed, reference, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(blocks, mass, atol=1e-12)
    masses_of = eqx.filter_jit(lambda m, q: m.site_masses(q))
    for seed in range(5):  # definite for random weights and random states
        masses = masses_of(_model(module, seed), _state(n, seed, scale=2.0)[0])
        assert float(jnp.min(jnp.linalg.eigvalsh(masses))) > 0
    # The group and the lattice translations leave L unchanged.
    f = q.reshape(-1, module.FIELDS)
    if name == "xy":
        moved = q + 0.7
    else:
        c, s = np.cos(0.7), np.sin(0.7)
        moved = (f @ jnp.asarray([[c, s], [-s, c]])).ravel()
    vmoved = v if name == "xy" else (v.reshape(-1, 2) @ jnp.asarray([[c, s], [-s, c]])).ravel()
    lagrangian = eqx.filter_jit(lambda m, q, v: m(q, v))
    np.testing.assert_allclose(
        lagrangian(model, moved, vmoved), lagrangian(model, q, v), rtol=1e-11
    )
    shape = module.SHAPE
    rolled = jnp.roll(q.reshape(*shape, -1), 1, axis=0).ravel()
    vrolled = jnp.roll(v.reshape(*shape, -1), 1, axis=0).ravel()
    np.testing.assert_allclose(
        lagrangian(model, rolled, vrolled), lagrangian(model, q, v), rtol=1e-11
    )
    bigger = model.resized(tuple(2 * s for s in shape))
    qb, vb = _state(bigger.sites * module.FIELDS, 3)
    assert bigger.sites == 2 ** len(shape) * model.sites
    assert np.isfinite(lagrangian(bigger, qb, vb))
    with pytest.raises(ValueError, match="sizes >= 3"):
        model.resized((2,) * len(shape))


@pytest.mark.slow  # its own compile (about 4 s CPU); the XY rollout below covers the solver
def test_newton_matrix_free_and_block_hessian():
    blocks = jnp.asarray(np.random.default_rng(0).normal(size=(4, 2, 2)))
    blocks = blocks @ jnp.swapaxes(blocks, 1, 2) + 2 * jnp.eye(2)

    def grad(v):  # gradient of sum_x v_x^T B_x v_x / 2 + a weak cubic coupling
        w = v.reshape(4, 2)
        return (jnp.einsum("xab,xb->xa", blocks, w) + 0.1 * jnp.roll(w, 1, 0) ** 2).ravel()

    x = jnp.linspace(-1, 1, 8)
    np.testing.assert_allclose(
        block_diagonal_hessian(
            lambda v: jnp.einsum("xab,xb->xa", blocks, v.reshape(4, 2)).ravel(), x, 2
        ),
        blocks,
        atol=1e-14,
    )
    target = jnp.arange(8.0)
    solve = jax.jit(
        lambda x: newton_matrix_free(
            lambda v: (grad(v) - target, jnp.asarray(1.0), None),
            x,
            precondition=block_inverse(blocks),
            tol=1e-13,
            max_iter=20,
        )
    )
    sol = solve(x)
    assert bool(sol.converged)
    np.testing.assert_allclose(grad(sol.x), target, atol=1e-12)


def test_matrix_free_variational_keeps_momentum(xy):
    truth = lattice_truth(xy, xy.SHAPE)
    q, v = _state(5, scale=0.8)
    out = sn.integrate(
        truth,
        q,
        v,
        dt=0.02,
        steps=30,
        save_every=10,
        method=sn.MatrixFreeVariational(block=1),
        full_output=True,
    )
    assert int(out.failures.sum()) == 0
    charges = jax.vmap(truth.charges)(out.qs, out.qdots)[:, 0]
    assert float(jnp.max(jnp.abs(charges - charges[0]))) < 1e-13
    energy = jax.vmap(truth.energy)(out.qs, out.qdots)
    assert float(jnp.max(jnp.abs(energy - energy[0]))) < 1e-3


@pytest.mark.slow  # three integrators compiled (about 25 s CPU)
def test_matrix_free_variational_matches_dense_and_keeps_charge(field):
    truth = lattice_truth(field, field.SHAPE)
    q, v = _state(int(np.prod(field.SHAPE)) * 2, scale=0.4)
    qs, vs = sn.integrate(truth, q, v, dt=0.02, steps=30, method=sn.MatrixFreeVariational(block=2))
    qd, _ = sn.integrate(truth, q, v, dt=0.02, steps=30, method="variational")
    np.testing.assert_allclose(qs, qd, atol=1e-12)
    charges = jax.vmap(truth.charges)(qs, vs)[:, 0]
    assert float(jnp.max(jnp.abs(charges - charges[0]))) < 1e-13
    qr, vr = sn.integrate(truth, q, v, dt=0.02, steps=30, method="rk4")
    rk4 = jax.vmap(truth.charges)(qr, vr)[:, 0]
    assert float(jnp.max(jnp.abs(rk4 - rk4[0]))) > 1e-11  # negative control: RK4 drifts
    assert float(jnp.max(lattice_error(field, qr, qs))) < 1e-3


def test_wrong_module_refused(xy):
    with pytest.raises(TypeError, match="lattice module"):
        sn.LatticeNetwork(jnp, key=jax.random.key(0))
    with pytest.raises(ValueError, match="block must be a positive int"):
        sn.MatrixFreeVariational(block=0)
    with pytest.raises(ValueError, match="floor must be positive"):
        sn.LatticeNetwork(xy, floor=0.0, key=jax.random.key(0))


@pytest.mark.slow  # two subprocesses, each importing the package and generating
def test_generation_is_deterministic_across_hash_seeds(tmp_path):
    import subprocess
    import sys

    texts = []
    for seed in ("1", "2"):
        out = tmp_path / f"m{seed}.py"
        code = (
            f"import symnoether as sn; sn.generate_lattice(sn.load_lattice_spec({str(FIELD)!r}),"
            f" {str(out)!r})"
        )
        env = dict(os.environ, PYTHONHASHSEED=seed, SYMNOETHER_SIDE="4")
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        texts.append(out.read_text())
    assert texts[0] == texts[1]


def test_field_image_plot(tmp_path, xy):
    from symnoether.numeric.lattice_data import plot_lattice_field

    qs = np.random.default_rng(0).normal(size=(6, 5))
    path = plot_lattice_field(xy, qs, (5,), tmp_path / "field.png", dt=0.1, reference=qs + 0.1)
    assert path.read_bytes()[:4] == b"\x89PNG"
