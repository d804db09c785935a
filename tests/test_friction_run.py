"""Forces in run folders: `TrainConfig.friction`, the models it builds, their checkpoints,
and the balance laws and friction coefficients that evaluation reports (issue 26)."""

import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import symnoether as sn
from symnoether.cli import main
from symnoether.errors import ConfigError
from symnoether.numeric.evaluate import evaluate_models
from symnoether.numeric.export import export_model
from symnoether.numeric.force_metrics import balance_entry
from symnoether.numeric.forces import DrivingForce, KnownForce, RayleighDissipation
from symnoether.numeric.lagrangian import MixedPrecision
from symnoether.numeric.position_loss import PositionLoss
from symnoether.numeric.positions import position_trajectories
from symnoether.numeric.run import TrainConfig, load_run, train_run

ROOT = Path(__file__).resolve().parent.parent
PENDULUM = ROOT / "examples" / "damped_pendulum" / "spec.py"
_MODULES: dict = {}


def _module(name: str):
    if name not in _MODULES:
        _MODULES[name] = sn.generate(sn.load_spec(ROOT / "examples" / name / "spec.py"))
    return _MODULES[name]


def _tiny(**settings) -> TrainConfig:
    return TrainConfig(width=8, epochs=2, steps_per_epoch=3, batch_size=16, t_final=5.0,
                       dtype="float64", **settings)  # fmt: skip


def test_friction_setting_builds_the_forced_model():
    module = _module("damped_pendulum")
    key = jax.random.key(0)
    assert isinstance(_tiny().make_network(module, key=key), sn.LagrangianNetwork)
    learned = _tiny(friction="learned").make_network(module, key=key)
    assert isinstance(learned, sn.ForcedLagrangian)
    assert isinstance(learned.force, RayleighDissipation)
    known = _tiny(friction="known").make_network(module, key=key)
    assert isinstance(known.force, KnownForce)
    # A drive is part of every model of a driven system; a learned friction is added to it.
    duffing = _module("duffing")
    driven = _tiny().make_network(duffing, key=key)
    assert isinstance(driven.force, DrivingForce) and driven.explicit_time
    # The line that says what trains names the force, and a missing friction.
    assert _tiny().describe_force(duffing).startswith(", with the known drive Q, without")
    assert _tiny(friction="learned").describe_force(module) == ", with a learned friction R >= 0"


def test_friction_problems_say_what_the_system_lacks():
    with pytest.raises(ConfigError, match="friction must be one of"):
        TrainConfig(friction="viscous")
    duffing = _module("duffing")  # a true friction, but no dissipation basis to learn with
    with pytest.raises(ConfigError, match="learn_dissipation=True"):
        _tiny(friction="learned").make_network(duffing, key=jax.random.key(0))
    free = sn.generate(sn.System(name="free", coordinates=sn.coordinates("x"),
                                 lagrangian=sn.coordinates("x").qdot[0] ** 2 / 2))  # fmt: skip
    with pytest.raises(ConfigError, match="add dissipation=R"):
        _tiny(friction="known").make_network(free, key=jax.random.key(0))


@pytest.mark.slow  # a training and a reload: their compilations dominate
def test_a_learned_friction_trains_saves_and_loads(tmp_path):
    (tmp_path / "run").mkdir()
    module = sn.generate(sn.load_spec(PENDULUM), tmp_path / "run" / "module.py")
    config = _tiny(friction="learned")
    data = sn.forced_trajectory_data(module, jnp.array([2.0]), jnp.array([0.0]), t_final=5.0,
                                     key=jax.random.key(1))  # fmt: skip
    run = train_run(tmp_path / "run", module, data, config, variants=("invariant",),
                    progress=False)  # fmt: skip
    trained = run.models["invariant"]
    # Started at mean mass +1 (normalized), trained: the loss fell.
    assert run.losses["invariant"][-1] < run.losses["invariant"][0]
    loaded = load_run(tmp_path / "run").models["invariant"]
    q, qdot = data.q[:20], data.qdot[:20]
    np.testing.assert_allclose(loaded.friction_coefficient(q, qdot),
                               trained.friction_coefficient(q, qdot), rtol=1e-12)  # fmt: skip
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["config"]["friction"] == "learned"


def test_evaluation_reports_balance_laws_and_friction_coefficients():
    module = _module("damped_pendulum")
    conservative = sn.FunctionLagrangian(module.lagrangian, module=module)
    models = {"conservative": conservative, "known": sn.true_model(module)}
    metrics = evaluate_models(module, models, [2.0], [0.0], dt=0.01, steps=200, plots=False)
    friction = metrics["friction"]
    assert friction["true"] == pytest.approx(0.05, rel=1e-9)
    assert friction["models"]["known"]["relative_error"] < 1e-9
    assert friction["models"]["conservative"]["coefficient"] == 0
    for entry in (*metrics["models"].values(), metrics["true_system"]):
        for method in ("rk4", "variational"):
            balance = entry[method]["balance"]
            assert balance["states"] > 50 and balance["energy"] < 1e-12
    # The known friction moves the true system's energy: the balance law accounts for it.
    assert metrics["true_system"]["rk4"]["energy"]["max_relative_drift"] > 0.01


def test_balance_entry_of_every_charge_with_a_negative_control():
    # Isotropic friction on two particles, along a true trajectory: a model with the true
    # (invariant) Lagrangian keeps the balance law of every charge; one whose Lagrangian
    # breaks the symmetry (a potential in q[0], the negative control) does not.
    module = _module("damped_two_particles")
    truth = sn.true_model(module)
    q0 = jnp.array([-0.7, -0.1, -0.2, -0.7, 0.5, 1.5])
    qdot0 = jnp.array([-1.09, -0.124, -0.709, 1.363, 0.155, 0.886])
    qs, qdots = (np.asarray(x) for x in sn.integrate(truth, q0, qdot0, dt=0.01, steps=30))
    ts = 0.01 * np.arange(31)
    entry = balance_entry(module, truth, qs, qdots, ts)
    assert set(entry["charges"]) == set(module.CHARGE_NAMES) and entry["states"] == 31
    assert entry["max"] < 1e-12
    assert balance_entry(module, None, qs, qdots, ts)["max"] < 1e-12  # closed forms
    broken = sn.FunctionLagrangian(lambda q, v: module.lagrangian(q, v) - q[0] ** 3,
                                   module=module)  # fmt: skip
    entry = balance_entry(module, sn.ForcedLagrangian(broken, truth.force), qs, qdots, ts)
    assert entry["charges"]["momentum_x0"] > 1e-3
    assert entry["charges"]["momentum_x1"] < 1e-12  # the potential in q[0] keeps p_y


@pytest.mark.slow  # a generation, a training and an evaluation
def test_cli_trains_and_evaluates_a_learned_friction(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"width": 8, "epochs": 1, "steps_per_epoch": 3,
                                  "batch_size": 16, "t_final": 5.0, "dtype": "float64",
                                  "friction": "learned"}))  # fmt: skip
    out = tmp_path / "run"
    assert main(["train", str(PENDULUM), "--out", str(out), "--config", str(config),
                 "--quiet"]) == 0  # fmt: skip
    assert main(["evaluate", str(out), "--t-final", "1"]) == 0
    printed = capsys.readouterr().out
    assert "balance" in printed and "friction coefficient" in printed
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["friction"]["true"] == pytest.approx(0.05, rel=1e-9)
    assert set(metrics["models"]["invariant"]["rk4"]["balance"]) >= {"charges", "energy"}


def test_mixed_precision_forwards_the_force_and_the_time():
    module = _module("duffing")
    truth = sn.true_model(module)
    cast = jax.tree.map(lambda x: x.astype(jnp.float32) if eqx.is_inexact_array(x) else x,
                        truth)  # fmt: skip
    mixed = MixedPrecision(cast)
    assert mixed.explicit_time
    q, qdot = jnp.array([0.4]), jnp.array([-0.2])
    for t in (0.0, 1.3):
        want = truth.acceleration(q, qdot, t=t)
        got = mixed.acceleration(q, qdot, t=t)
        assert got.dtype == jnp.float64
        np.testing.assert_allclose(got, want, rtol=1e-6)
        np.testing.assert_allclose(mixed.forcing()(q, qdot, t=t), truth.force(q, qdot, t=t),
                                   rtol=1e-6)  # fmt: skip


@pytest.mark.slow  # two jax.export compilations
def test_export_includes_the_force_and_the_time(tmp_path):
    module = _module("duffing")
    model = _tiny(friction="known").make_network(module, key=jax.random.key(0))
    out = export_model(model, tmp_path / "export")
    info = json.loads((out / "export.json").read_text())
    assert info["functions"]["acceleration"]["inputs"] == ["q", "qdot", "t"]
    exported = jax.export.deserialize(bytearray((out / "acceleration.jaxexport").read_bytes()))
    q, qdot = jnp.array([[0.4], [0.1]]), jnp.array([[-0.2], [0.3]])
    t = jnp.array([0.0, 2.0])
    np.testing.assert_allclose(exported.call(q, qdot, t),
                               model.batched_acceleration(q, qdot, t=t), rtol=1e-10)  # fmt: skip


def test_positions_only_through_the_forced_discrete_euler_lagrange_equations():
    module = _module("damped_pendulum")
    data = position_trajectories(module, [2.0], [0.0], dt=0.01, sample_every=0.05,
                                 t_final=10.0, noise=0.0, dtype=jnp.float64,
                                 key=jax.random.key(0))  # fmt: skip
    q = np.asarray(data.q).reshape(-1, 1)
    windows = jnp.stack([q[i : i + 6] for i in range(0, len(q) - 6, 5)])
    loss = PositionLoss(steps=4, scale_weight=0.0)
    truth = sn.true_model(module)
    conservative = sn.FunctionLagrangian(module.lagrangian, module=module)
    # The friction is in the discrete equations: the true forced model predicts the
    # positions, the conservative one (the control) does not.
    assert float(loss(truth, windows, 0.05)) < 1e-4 * float(loss(conservative, windows, 0.05))


@pytest.mark.slow  # the compilation of the implicit gradient
def test_a_learned_friction_gets_its_gradient_from_positions():
    module = _module("damped_pendulum")
    data = position_trajectories(module, [2.0], [0.0], dt=0.01, sample_every=0.05,
                                 t_final=10.0, noise=0.0, dtype=jnp.float64,
                                 key=jax.random.key(0))  # fmt: skip
    q = np.asarray(data.q).reshape(-1, 1)
    windows = jnp.stack([q[i : i + 6] for i in range(0, len(q) - 6, 5)])
    loss = PositionLoss(steps=4, scale_weight=0.0)
    conservative = sn.FunctionLagrangian(module.lagrangian, module=module)
    # Through the implicit solves: too little friction (R = 0.01 thetadot^2, b = 0.02 <
    # 0.05) is pushed up.
    learned = sn.ForcedLagrangian(
        conservative, RayleighDissipation(module, dtype=jnp.float64, key=jax.random.key(1))
    )
    grad = eqx.filter_grad(lambda m: loss(m, windows, 0.05))(learned)
    assert float(grad.force.raw[0]) < 0


def test_a_friction_on_a_time_dependent_lagrangian_is_refused_with_what_works(tmp_path, capsys):
    # Time-dependent Lagrangians train (tests/test_timed.py); with a friction they do not yet.
    spec = ROOT / "examples" / "caldirola_kanai" / "spec.py"
    config = tmp_path / "friction.json"
    config.write_text(json.dumps({"friction": "learned"}))
    assert main(["train", str(spec), "--out", str(tmp_path / "run"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "depends on the time explicitly" in err and "friction 'learned'" in err
    assert "set friction to 'none'" in err
