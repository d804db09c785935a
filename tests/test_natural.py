"""The natural family: L = qdot^T M(q) qdot / 2 - V(q) of invariants, M definite by construction.

Definiteness is a property of the construction, so it is tested where it could fail: over
random weights (scaled far from their initial size) and random states, for Kepler, two
particles, a Lennard-Jones cluster and Schwarzschild (signature (-, +, +, +)).
"""

import importlib.util
import os
import shutil
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from handwritten import kepler_contract, two_particle_2d_contract, two_particle_4d_contract

import symnoether as sn
from symnoether.numeric import dynamics
from symnoether.numeric.run import TrainConfig, train_run
from symnoether.symbolic.kinetic import velocity_structure

ROOT = Path(__file__).resolve().parents[1]


def _spec(name: str, tmp_path_factory, **env):
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / name / "spec.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for key, value in old.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return sn.generate(module.system, tmp_path_factory.mktemp(name) / f"{name}.py")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return {
        "lennard_jones": _spec("lennard_jones", tmp_path_factory, SYMNOETHER_PARTICLES="3"),
        "schwarzschild": _spec("schwarzschild", tmp_path_factory),
    }


def _scrambled(model, key, scale):
    # Random weights of `scale` times their initial size: far from any trained value.
    leaves, tree = jax.tree.flatten(model)
    keys = jax.random.split(key, len(leaves))
    leaves = [
        scale * jax.random.normal(k, x.shape, x.dtype) if isinstance(x, jax.Array) and x.ndim
        else x
        for x, k in zip(leaves, keys)
    ]
    return jax.tree.unflatten(tree, leaves)


CASES = [
    ("kepler", lambda g: kepler_contract, ()),
    ("two_particles_2d", lambda g: two_particle_2d_contract, ()),
    ("two_particles_4d", lambda g: two_particle_4d_contract, ()),
    ("lennard_jones", lambda g: g["lennard_jones"], ()),
    ("schwarzschild", lambda g: g["schwarzschild"], ("t",)),
]


@pytest.mark.parametrize("name, module_of, negative", CASES, ids=[c[0] for c in CASES])
def test_mass_matrix_is_definite_for_every_weight_and_state(generated, name, module_of,
                                                            negative):  # fmt: skip
    module = module_of(generated)
    n = len(module.COORDINATE_NAMES)
    index = tuple(module.COORDINATE_NAMES.index(c) for c in negative)
    rng = np.random.default_rng(0)
    masses = eqx.filter_jit(jax.vmap(lambda m, q, v: m.mass_matrix(q, v), (None, 0, 0)))
    signs = np.ones(n)
    signs[list(index)] = -1
    for seed, scale in [(0, 1.0), (1, 5.0), (2, 30.0)]:
        model = sn.NaturalLagrangianNetwork(module, width=16, negative=negative,
                                            dtype=jnp.float64, key=jax.random.key(seed))
        model = _scrambled(model, jax.random.key(seed + 10), scale)
        q, qdot = (jnp.asarray(3 * rng.normal(size=(64, n))) for _ in range(2))
        eigenvalues = np.linalg.eigvalsh(np.asarray(masses(model, q, qdot)) * signs[:, None])
        assert np.all(eigenvalues[:, 0] > 0), (name, seed, eigenvalues[:, 0].min())
    # The acceleration's own matrix (closed form) is the autodiff Hessian. (Jitted: op by
    # op, each of the two takes about 9 s.)
    closed = eqx.filter_jit(lambda m, q, v: m.euler_lagrange(q, v)[0])
    hessian = eqx.filter_jit(lambda m, q, v: jax.hessian(m, argnums=1)(q, v))
    np.testing.assert_allclose(closed(model, q[0], qdot[0]), hessian(model, q[0], qdot[0]),
                               rtol=1e-8, atol=1e-8 * float(np.max(np.abs(eigenvalues))))


@pytest.mark.parametrize("name, module_of, negative", CASES, ids=[c[0] for c in CASES])
def test_dynamics_are_the_euler_lagrange_equations(generated, name, module_of, negative):
    module = module_of(generated)
    n = len(module.COORDINATE_NAMES)
    model = sn.NaturalLagrangianNetwork(module, width=16, negative=negative, gauge=True,
                                        dtype=jnp.float64, key=jax.random.key(0))
    rng = np.random.default_rng(1)
    q, qdot = jnp.asarray(rng.normal(size=n) + 1.5), jnp.asarray(rng.normal(size=n))
    expected = eqx.filter_jit(dynamics.acceleration)(model, q, qdot)
    actual = eqx.filter_jit(lambda m, q, v: m.acceleration(q, v))(model, q, qdot)
    np.testing.assert_allclose(actual, expected, rtol=1e-8, atol=1e-10)


def test_charges_are_exact_along_the_variational_flow_for_random_weights():
    module = two_particle_4d_contract
    model = sn.NaturalLagrangianNetwork(module, width=16, dtype=jnp.float64,
                                        key=jax.random.key(4))  # fmt: skip
    q0 = jnp.asarray([1.0, 0.2, -0.1, 0.3, -0.4, 0.1, 0.2, 0.0])
    qdot0 = jnp.asarray([0.1, 0.5, 0.0, -0.2, -0.1, -0.4, 0.1, 0.2])
    result = sn.integrate(model, q0, qdot0, dt=0.01, steps=500,
                          method=sn.MidpointVariational(tol=1e-11), full_output=True)
    assert bool(jnp.all(result.converged))
    charges = jax.vmap(model.charges)(result.qs, result.qdots)
    assert float(jnp.max(jnp.abs(charges - charges[0]))) < 1e-12 * float(
        jnp.max(jnp.abs(charges[0]))) + 1e-14  # fmt: skip


def test_velocity_structure_is_decided_exactly():
    x, y, xdot, ydot = sympy.symbols("x y xdot ydot")
    exprs = [x**2 + y**2, x * xdot + y * ydot, xdot**2 + ydot**2, xdot * ydot,
             sympy.sqrt(xdot**2 + 1), (xdot**2 + ydot**2) * x]  # fmt: skip
    structure = velocity_structure(exprs, (xdot, ydot))
    assert structure.degrees == (0, 1, 2, 2, -1, 2)
    # xdot*ydot is indefinite, (xdot^2 + ydot^2) x depends on q: neither is a kinetic form.
    assert structure.kinetic_forms == (2,)


def test_refusals_say_what_is_missing(tmp_path):
    # A module generated before INVARIANT_DEGREES existed.
    old = type(kepler_contract)("old")
    for name in dir(kepler_contract):
        if not name.startswith("__") and name not in ("INVARIANT_DEGREES", "KINETIC_FORMS"):
            setattr(old, name, getattr(kepler_contract, name))
    with pytest.raises(ValueError, match="no INVARIANT_DEGREES or KINETIC_FORMS: regenerate"):
        sn.NaturalLagrangianNetwork(old, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"negative= names \['w'\]"):
        sn.NaturalLagrangianNetwork(kepler_contract, negative=("w",), key=jax.random.key(0))
    # Only x.x and x.xdot: no kinetic energy for the directions orthogonal to x.
    bare = type(kepler_contract)("bare")
    for name in dir(old):
        if not name.startswith("__"):
            setattr(bare, name, getattr(old, name))
    bare.INVARIANT_NAMES = ("x_x", "x_xdot")
    bare.invariants = lambda q, qdot: jnp.stack([q @ q, q @ qdot])
    bare.INVARIANT_DEGREES, bare.KINETIC_FORMS = (0, 1), ()
    with pytest.raises(ValueError, match="no definite kinetic energy"):
        sn.NaturalLagrangianNetwork(bare, key=jax.random.key(0))


def test_configuration_trains_resumes_and_reloads_the_natural_model(tmp_path):
    config = TrainConfig(model="natural", width=8, epochs=2, steps_per_epoch=5, batch_size=16,
                         t_final=5.0)  # fmt: skip
    assert TrainConfig.from_dict(config.to_dict()) == config
    (tmp_path / "run").mkdir()
    shutil.copy(ROOT / "tests" / "handwritten" / "kepler_contract.py",
                tmp_path / "run" / "module.py")
    data = config.make_data(kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.1, 0.1],
                            key=jax.random.key(0))  # fmt: skip
    run = train_run(tmp_path / "run", kepler_contract, data, config, variants=("invariant",),
                    progress=False)  # fmt: skip
    resumed = train_run(tmp_path / "run", kepler_contract, data, config,
                        variants=("invariant",), progress=False, resume=True)  # fmt: skip
    np.testing.assert_array_equal(resumed.losses["invariant"], run.losses["invariant"])
    assert isinstance(run.models["invariant"], sn.NaturalLagrangianNetwork)
    loaded = sn.load_run(tmp_path / "run")
    q, qdot = jnp.asarray([1.0, 0.2, 0.0]), jnp.asarray([0.0, 1.0, 0.1])
    np.testing.assert_array_equal(loaded.models["invariant"].acceleration(q, qdot),
                                  run.models["invariant"].acceleration(q, qdot))
    with pytest.raises(sn.ConfigError, match="negative .* is a setting of model 'natural'"):
        TrainConfig(negative=("t",))


def _boosted_pair(known: bool) -> sn.System:
    # Two particles on a line, translations x boosts: the invariants see x1 - x2 and
    # x1dot - x2dot only, so the centre of mass's velocity needs the known kinetic energy.
    c = sn.particles(2, dim=1)
    (x1,), (x2,) = c.block("x1"), c.block("x2")
    (v1,), (v2,) = c.block_velocity("x1"), c.block_velocity("x2")
    kinetic = v1**2 / 2 + 2 * v2**2 / 5
    G = sn.translations(c, blocks=["x1", "x2"]) * sn.galilean_boosts(c, blocks=["x1", "x2"])
    return sn.System("boosted_pair", c, G, lagrangian=kinetic - (x1 - x2) ** 2 / 2,
                     known_lagrangian=kinetic if known else None)  # fmt: skip


def test_a_known_kinetic_part_covers_what_the_invariants_do_not(tmp_path):
    bare = sn.generate(_boosted_pair(False), tmp_path / "bare.py", force=True)
    with pytest.raises(ValueError, match="plus the Hessian of a known part"):
        sn.NaturalLagrangianNetwork(bare, key=jax.random.key(0))
    module = sn.generate(_boosted_pair(True), tmp_path / "known.py")
    rng = np.random.default_rng(2)
    q, qdot = (jnp.asarray(3 * rng.normal(size=(32, 2))) for _ in range(2))
    masses = eqx.filter_jit(jax.vmap(lambda m, q, v: m.mass_matrix(q, v), (None, 0, 0)))
    for seed in range(2):
        model = sn.NaturalLagrangianNetwork(module, width=8, dtype=jnp.float64,
                                            key=jax.random.key(seed))  # fmt: skip
        model = _scrambled(model, jax.random.key(seed + 5), 10.0)
        assert np.all(np.linalg.eigvalsh(np.asarray(masses(model, q, qdot)))[:, 0] > 0)
