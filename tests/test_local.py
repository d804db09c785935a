"""Local Lagrangians of identical particles (issue 25), at small sizes."""

import os
from dataclasses import replace
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import symnoether as sn
from symnoether.files import import_file
from symnoether.local_run import LocalConfig
from symnoether.numeric.dynamics import autodiff_terms, solve_mass_matrix
from symnoether.numeric.neighbours import (
    NeighbourSizes,
    all_pairs,
    neighbour_list,
    neighbour_sizes,
)
from symnoether.symbolic.local import LocalSpecError

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "lennard_jones_local" / "spec.py"


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    path = tmp_path_factory.mktemp("local") / "lj_model.py"
    sn.generate_local(sn.load_local_spec(SPEC), path)
    return import_file(path)


def _state(n, seed=0):
    os.environ["SYMNOETHER_PARTICLES"] = str(n)
    from examples.lennard_jones_local.spec import initial_state  # noqa: PLC0415

    q, v = initial_state(n, seed)
    return jnp.asarray(q, jnp.float64), jnp.asarray(v, jnp.float64)


def test_verify_and_module_independent_of_n(tmp_path):
    system = sn.load_local_spec(SPEC)
    report = sn.verify_local(system)
    assert report.ok, report.checks
    texts = []
    for n in (4, 64):
        import dataclasses

        s = dataclasses.replace(system, count=n, initial_state=None)
        texts.append(sn.generate_local(s, tmp_path / f"m{n}.py").read_text())
    assert len(texts[0].replace("COUNT = 4", "COUNT = 64")) == len(texts[1])


def test_bad_declaration_collects_problems():
    with pytest.raises(LocalSpecError, match="count must be.*\n.*symmetry must be"):
        sn.ParticleSystem(name="x", dim=3, count=1, symmetry=("boosts",))


def test_neighbour_list_matches_dense():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.uniform(0, 6, size=(60, 3)))
    sizes = neighbour_sizes(x, 1.5, margin=1.0)
    j, mask = neighbour_list(x, 1.5, sizes)
    assert j.shape == (60, sizes.max_neighbours)
    r2 = np.sum((np.asarray(x)[:, None] - np.asarray(x)[None]) ** 2, -1)
    dense = (r2 < 1.5**2) & ~np.eye(60, dtype=bool)
    got = np.zeros_like(dense)
    for i in range(60):
        got[i, np.asarray(j[i])[np.asarray(mask[i])]] = True
    assert (got == dense).all()
    assert int(mask.sum()) == int(dense.sum())  # no pair twice
    jd, md = all_pairs(5)
    assert int(md.sum()) == 20


@pytest.mark.parametrize(
    "sizes, match",
    [(NeighbourSizes(1, 64), "cell_capacity = 1"), (NeighbourSizes(32, 2), "max_neighbours = 2")],
)
def test_neighbour_list_overflow_says_which_size(sizes, match):
    x = jnp.asarray(np.random.default_rng(2).uniform(0, 3, size=(40, 3)))
    with pytest.raises(eqx.EquinoxRuntimeError, match=match):
        jax.block_until_ready(neighbour_list(x, 1.5, sizes))


@pytest.mark.slow  # about a minute: XLA compiles dense autodiff at N = 27
def test_model_closed_form_charges_and_any_n(module):
    model = sn.LocalParticleNetwork(module, width=16, key=jax.random.key(0))
    for n in (8, 27):
        q, v = _state(n)
        if n == 8:  # dense autodiff compiles slowly: the small size only
            mass, rhs = autodiff_terms(model, q, v)
            np.testing.assert_allclose(
                model.acceleration(q, v), solve_mass_matrix(mass, rhs), rtol=1e-9, atol=1e-9
            )
        # Invariance: the charges' rates X_a L vanish, i.e. the force sums to zero and
        # so does the torque.
        a = model.acceleration(q, v).reshape(-1, 3)
        x = q.reshape(-1, 3)
        np.testing.assert_allclose(a.sum(0), 0, atol=1e-12)
        np.testing.assert_allclose(np.cross(x, a).sum(0), 0, atol=1e-11)
        # Permutation of identical particles leaves L unchanged.
        perm = np.random.default_rng(n).permutation(n)
        qp, vp = q.reshape(-1, 3)[perm].ravel(), v.reshape(-1, 3)[perm].ravel()
        np.testing.assert_allclose(model(qp, vp), model(q, v), rtol=1e-12)


def test_true_module_matches_charges(module):
    q, v = _state(8)
    charges = module.true_charges(q, v)
    np.testing.assert_allclose(charges[:3], v.reshape(-1, 3).sum(0), atol=1e-12)


@pytest.mark.slow  # about 1.5 minutes: training and a variational rollout at N = 27
def test_train_small_variational_exact(module):
    q, v = _state(8)
    truth = sn.FunctionLagrangian(module.lagrangian, module.acceleration, module)
    qs, vs = sn.integrate(truth, q, v, dt=0.01, steps=40, save_every=4)
    data = sn.Dataset(qs, vs, jax.vmap(module.acceleration)(qs, vs))
    model = sn.LocalParticleNetwork(module, width=16, key=jax.random.key(0))
    result = sn.train(
        model, data, steps=20, steps_per_epoch=10, batch_size=16, key=jax.random.key(1)
    )
    trained = result.model
    assert np.isfinite(result.losses).all()
    # run larger: 27 particles, the same weights
    q, v = _state(27)
    qs, vs = sn.integrate(trained, q, v, dt=0.005, steps=20, method="variational")
    charges = jax.vmap(trained.charges)(qs, vs)
    drift = jnp.max(jnp.abs(charges - charges[0]))
    assert drift < 1e-12
    qs, vs = sn.integrate(trained, q, v, dt=0.005, steps=20, method="rk4")
    assert jnp.isfinite(qs).all()


def test_resized_refuses_other_structure(module):
    model = sn.LocalParticleNetwork(module, width=8, key=jax.random.key(0))
    assert model.resized(module).module is module
    with pytest.raises(TypeError, match="local module"):
        sn.LocalParticleNetwork(eqx, key=jax.random.key(0))


def test_matrix_free_newton_matches_dense():
    # The matrix-free Newton step (GMRES on Jacobian-vector products) reaches the same
    # root as the dense Jacobian, to rounding.
    import lineax as lx

    from symnoether.numeric.newton import newton

    a = jnp.asarray(np.random.default_rng(3).normal(size=(6, 6)))

    def fn(x):
        r = 4.0 * x + 0.1 * a @ jnp.tanh(x) - 1.0
        return r, jnp.asarray(4.0), None

    x0 = jnp.zeros(6)
    dense = newton(fn, x0, tol=1e-14, max_iter=20)
    free = newton(fn, x0, tol=1e-14, max_iter=20, linear_solver=lx.GMRES(rtol=1e-9, atol=0.0))
    assert bool(dense.converged) and bool(free.converged)
    np.testing.assert_allclose(free.x, dense.x, rtol=0, atol=1e-14)


@pytest.mark.slow  # about 30 s CPU: compiles the variational rollout twice (dense, GMRES)
def test_matrix_free_variational_matches_dense_and_conserves(module):
    # The local model's Newton step is matrix-free (GMRES); at N = 8 the same rollout
    # with the dense Jacobian (the default of every other Lagrangian) must agree.
    model = sn.LocalParticleNetwork(module, width=8, key=jax.random.key(0))
    model = model.with_neighbour_sizes(_state(8)[0])
    assert model.linear_solver() is not None
    dense = sn.FunctionLagrangian(model, module=module)
    assert dense.linear_solver() is None
    q, v = _state(8)
    qs, vs = sn.integrate(model, q, v, dt=0.005, steps=10, method="variational")
    qd, vd = sn.integrate(dense, q, v, dt=0.005, steps=10, method="variational")
    np.testing.assert_allclose(qs, qd, rtol=0, atol=1e-12)
    np.testing.assert_allclose(vs, vd, rtol=0, atol=1e-10)
    charges = jax.vmap(model.charges)(qs, vs)
    assert float(jnp.max(jnp.abs(charges - charges[0]))) < 1e-13


def test_cli_derive_verify_generate_local_spec(tmp_path, capsys):
    from symnoether.cli import main

    assert main(["derive", str(SPEC)]) == 0
    assert "invariants of one pair: 7" in capsys.readouterr().out
    assert main(["verify", str(SPEC)]) == 0
    assert "PASS  exchange" in capsys.readouterr().out
    assert main(["generate", str(SPEC), "-o", str(tmp_path / "m.py")]) == 0
    assert 'MODULE_KIND = "local_particles"' in (tmp_path / "m.py").read_text()


def test_local_config_errors(tmp_path):
    from symnoether.errors import ConfigError
    from symnoether.local_run import LocalConfig

    with pytest.raises(ConfigError, match="steps must be a positive int"):
        LocalConfig(steps=0)
    path = tmp_path / "c.json"
    path.write_text('{"stepz": 3}')
    with pytest.raises(ConfigError, match=r"unknown local run setting\(s\) \['stepz'\]"):
        LocalConfig.load(path)
    with pytest.raises(ConfigError, match="expansion must be >= 1"):
        LocalConfig(expansion=0.9)


def test_expansion_spreads_the_training_states(module):
    # expansion scales the initial positions about their centre: the 8-atom cube's pairs
    # then reach towards the cutoff 2.5 (about 2 unexpanded), the momentum stays 0.
    from symnoether.local_run import _states

    system = sn.load_local_spec(SPEC)
    config = LocalConfig(trajectories=6, t_data=0.05, sample_every=10, position_noise=0.0)
    spread = {}
    for expansion in (1.0, 1.35):
        q, v, _ = _states(module, system, replace(config, expansion=expansion), seed=0)
        x = np.asarray(q).reshape(len(q), -1, 3)
        r = np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)
        spread[expansion] = r.max()
        np.testing.assert_allclose(np.asarray(v).reshape(len(v), -1, 3).sum(1), 0, atol=1e-12)
    assert spread[1.0] < 2.1 and spread[1.35] > 2.4


def test_evaluate_system_needs_local_run(tmp_path, capsys):
    from symnoether.cli import main

    assert main(["evaluate", str(tmp_path), "--system", str(SPEC)]) == 2
    assert "--system needs the run folder of a local model" in capsys.readouterr().err


@pytest.mark.slow  # about a minute: trains and evaluates (RK4 and variational) through the CLI
def test_cli_train_small_evaluate_large(tmp_path, monkeypatch, capsys):
    import json

    from symnoether.cli import main

    config = tmp_path / "c.json"
    config.write_text(
        json.dumps({"steps": 50, "trajectories": 2, "t_data": 0.2, "width": 8, "t_final": 0.05})
    )
    monkeypatch.setenv("SYMNOETHER_PARTICLES", "8")
    run = tmp_path / "run"
    assert main(["train", str(SPEC), "--out", str(run), "--config", str(config), "--quiet"]) == 0
    monkeypatch.setenv("SYMNOETHER_PARTICLES", "27")
    assert main(["evaluate", str(run), "--system", str(SPEC)]) == 0
    out = capsys.readouterr().out
    assert "N = 27 (trained on 8)" in out
    metrics = json.loads((run / "evaluate_lennard_jones_local_27" / "metrics.json").read_text())
    assert max(metrics["rollouts"]["variational"]["charge_drift"]) < 1e-12
    assert (run / "evaluate_lennard_jones_local_27" / "charges.png").is_file()


def test_rollout_refits_neighbour_sizes(module):
    # Sizes far too small for the state: integrate stops on the overflow check (a clear
    # error naming the size); rollout grows them between and within chunks and gives the
    # rollout of a model whose sizes hold every particle.
    q, v = _state(8)
    v = 3.0 * v  # atoms move: the later states need other sizes than the first
    small = sn.LocalParticleNetwork(
        module, width=8, cell_capacity=2, max_neighbours=2, key=jax.random.key(0)
    )
    with pytest.raises(eqx.EquinoxRuntimeError, match="raise it"):
        jax.block_until_ready(sn.integrate(small, q, v, dt=0.01, steps=8))
    full = sn.LocalParticleNetwork(
        module, width=8, cell_capacity=8, max_neighbours=7, key=jax.random.key(0)
    )
    qf, vf = sn.integrate(full, q, v, dt=0.01, steps=24, save_every=4)
    (result, last) = small.rollout(
        q, v, dt=0.01, steps=24, save_every=4, chunk=8, margin=1.0, full_output=True,
        return_model=True,
    )  # fmt: skip
    assert result.qs.shape == qf.shape and result.ts.shape == (7,)
    np.testing.assert_allclose(result.ts, 0.04 * np.arange(7), atol=1e-12)
    np.testing.assert_allclose(result.qs, qf, rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.qdots, vf, rtol=0, atol=1e-9)
    assert last.sizes.cell_capacity > 2 and last.sizes.max_neighbours > 2
    with pytest.raises(ValueError, match="multiple of save_every"):
        small.rollout(q, v, dt=0.01, steps=10, save_every=4)


def test_blocked_pair_sum_matches_one_block(module, monkeypatch):
    # Above _BLOCK particles the pair sum runs in rematerialised blocks (a padded last
    # one): the same energy, forces and parameter gradient of the forces as in one block.
    import symnoether.numeric.local as local  # noqa: PLC0415

    model = sn.LocalParticleNetwork(module, width=8, key=jax.random.key(1))
    q, v = _state(100)
    model = model.with_neighbour_sizes(q)

    def figures():  # a new function each time: traced (and _BLOCK read) afresh
        def run(m):
            grad = eqx.filter_grad(lambda m: jnp.sum(jax.grad(m.potential_energy)(q) ** 2))(m)
            force = jax.grad(m.potential_energy)(q)
            return m.potential_energy(q), force, grad.potential.layers[0].weight

        return eqx.filter_jit(run)(model)

    blocked = figures()
    monkeypatch.setattr(local, "_BLOCK", 128)
    for a, b in zip(blocked, figures()):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
