"""Explicitly time-dependent Lagrangians L(q, qdot, t) in the numeric half (issue 26):
the network's Euler-Lagrange equations with the d2L/dqdot dt term, both integrators on the
true Caldirola-Kanai Lagrangian against its exact damped solution, the CLI's train and
evaluate, and the refusals of what is not supported."""

import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import symnoether as sn
from symnoether.cli import main
from symnoether.errors import ConfigError, DataError
from symnoether.numeric.balance import balance_residuals
from symnoether.numeric.forced import true_model
from symnoether.numeric.run import TrainConfig
from symnoether.numeric.timed import TimeFunctionLagrangian, TimeLagrangianNetwork
from symnoether.pipeline import prepare_run

ROOT = Path(__file__).resolve().parent.parent
CK = ROOT / "examples" / "caldirola_kanai"
_MODULES: dict = {}


def _module(name: str = "spec.py", example: str = "caldirola_kanai"):
    if (example, name) not in _MODULES:
        spec = ROOT / "examples" / example / name
        _MODULES[example, name] = sn.generate(sn.load_spec(spec))
    return _MODULES[example, name]


def _exact(t):
    # x'' + 6/5 x' + x = 0 from x = 1, x' = 0: exp(-3t/5) (cos(4t/5) + 3/4 sin(4t/5)).
    return np.exp(-0.6 * t) * (np.cos(0.8 * t) + 0.75 * np.sin(0.8 * t))


def _network(**settings):
    model = TimeLagrangianNetwork(_module(), width=8, dtype=jnp.float64, key=jax.random.key(3),
                                  **settings)  # fmt: skip
    return eqx.tree_at(lambda m: m.rate, model, jnp.asarray(0.4))  # a non-zero rate


@pytest.mark.parametrize("time_input", [True, False])
def test_acceleration_is_autodiff_of_the_euler_lagrange_equations_with_the_time(time_input):
    model = _network(time_input=time_input)
    q, qdot = jnp.array([[0.4], [-1.1]]), jnp.array([[-0.7], [0.3]])
    t = jnp.array([2.5, -0.5])

    def reference(q, qdot, t):
        # d/dt dL/dqdot = dL/dq with d/dt = qdot d/dq + qddot d/dqdot + d/dt (explicit).
        momentum = jax.grad(lambda q, v, t: model(q, v, t=t), argnums=1)
        mass = jax.jacfwd(momentum, argnums=1)(q, qdot, t)
        rhs = (jax.grad(lambda q: model(q, qdot, t=t))(q)
               - jax.jacfwd(momentum, argnums=0)(q, qdot, t) @ qdot
               - jax.jacfwd(momentum, argnums=2)(q, qdot, t))  # fmt: skip
        return jnp.linalg.solve(mass, rhs)

    # Jitted: the eager Hessians would cost seconds each.
    expected = jax.jit(jax.vmap(reference))(q, qdot, t)
    accelerate = eqx.filter_jit(lambda m, q, qdot, t: m.batched_acceleration(q, qdot, t=t))
    np.testing.assert_allclose(accelerate(model, q, qdot, t), expected, rtol=1e-10)
    # The explicit time matters: through the time input at another time; through the rate
    # (e^{a t} f gives f's equations plus a friction a df/dqdot) against a = 0.
    if time_input:
        assert not np.allclose(accelerate(model, q, qdot, t + 1.0), expected)
    autonomous = eqx.tree_at(lambda m: m.rate, model, jnp.asarray(0.0))
    assert not np.allclose(accelerate(autonomous, q, qdot, t), expected)


@pytest.mark.parametrize("method, bound", [(sn.RK4(), 1e-9), (sn.MidpointVariational(), 2e-5)])
def test_the_true_caldirola_kanai_lagrangian_tracks_the_exact_damped_solution(method, bound):
    module = _module()
    ts = np.arange(1001) * 0.01
    q0, qdot0 = jnp.array([1.0]), jnp.array([0.0])
    trues = [true_model(module)]  # (the variational method reads L only: one is enough)
    if isinstance(method, sn.RK4):  # the closed form and autodiff with the d2L/dqdot dt term
        trues.append(TimeFunctionLagrangian(module.lagrangian, module=module))
    for true in trues:
        qs, _ = sn.integrate(true, q0, qdot0, dt=0.01, steps=1000, method=method)
        assert np.max(np.abs(np.asarray(qs[:, 0]) - _exact(ts))) < bound
    # Negative control: the same Lagrangian with its time frozen at 0 (undamped) does not.
    frozen = sn.FunctionLagrangian(lambda q, qdot: module.lagrangian(q, qdot, t=0.0))
    qs, _ = sn.integrate(frozen, q0, qdot0, dt=0.01, steps=1000, method=method)
    assert np.max(np.abs(np.asarray(qs[:, 0]) - _exact(ts))) > 0.1


def _switched_x(t, t0, x0, v0):
    # x'' = E0 t^2/(1 + t^2), E0 = 1/2: x = x0 + v0 (t - t0) + E0 (G(t) - G(t0) - G'(t0) (t - t0))
    # with G = t^2/2 - t atan t + ln(1 + t^2)/2, G' = t - atan t, G'' = t^2/(1 + t^2).
    def g(t):
        return t**2 / 2 - t * np.arctan(t) + np.log1p(t**2) / 2

    slope = t0 - np.arctan(t0)
    return x0 + v0 * (t - t0) + 0.5 * (g(t) - g(t0) - slope * (t - t0))


def test_rollouts_start_at_the_initial_time():
    # The switched field's motion depends on the absolute time (Caldirola-Kanai's does not:
    # x'' + gamma x' + x = 0): from t0 = 1 both integrators follow the exact solution, and
    # the same state started at t0 = 0 does not.
    module = _module(example="switched_field")
    q0, qdot0 = jnp.array([0.0, 1.0, 0.0]), jnp.array([0.2, 0.0, 0.5])
    for method in (sn.RK4(), sn.MidpointVariational()):
        for t0, bound in ((1.0, 1e-5), (0.0, None)):
            result = sn.integrate(true_model(module), q0, qdot0, dt=0.01, steps=300,
                                  method=method, t0=t0, full_output=True)  # fmt: skip
            assert float(result.ts[0]) == t0
            # The exact motion from this state at t = 1, step by step (the times t0 + k dt
            # are the rollout's only where t0 = 1).
            ts = 1.0 + np.arange(301) * 0.01
            exact = _switched_x(ts, 1.0, 0.0, 0.2)
            error = np.max(np.abs(np.asarray(result.qs[:, 0]) - exact))
            assert error < bound if bound else error > 1e-2


def test_energy_balance_and_time_dependent_charges_of_the_network():
    # dE/dt = -dL/dt along the model's flow, whatever the weights; with the declared
    # time-dependent symmetry (solution shifts) the model's charges are exact at every time.
    model = _network()
    q, qdot, t = jnp.array([[0.4], [-1.1]]), jnp.array([[-0.7], [0.3]]), jnp.array([2.5, 0.3])
    _, energy = eqx.filter_jit(balance_residuals)(model, q, qdot, t=t)
    assert np.max(np.abs(energy)) < 1e-10
    symmetric = _module("symmetric.py")
    shifts = TimeLagrangianNetwork(symmetric, width=8, dtype=jnp.float64, key=jax.random.key(0))
    qs, qdots = sn.integrate(shifts, jnp.array([1.0]), jnp.array([0.0]), dt=0.01, steps=200,
                             method=sn.RK4())  # fmt: skip
    ts = jnp.arange(201) * 0.01
    charges = eqx.filter_jit(jax.vmap(lambda q, v, t: shifts.charges(q, v, t=t)))(qs, qdots, ts)
    assert charges.shape == (201, 2)
    assert np.max(np.abs(charges - charges[0])) < 1e-9


@pytest.mark.slow  # about 25 s of compilation (55 s at a load of 10)
def test_cli_trains_and_evaluates_caldirola_kanai(tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"width": 8, "epochs": 2, "steps_per_epoch": 5,
                                  "batch_size": 16, "t_final": 2.0, "time_scale": 2.0}))
    out = tmp_path / "run"
    spec = str(CK / "spec.py")
    assert main(["train", spec, "--out", str(out), "--config", str(config), "--quiet"]) == 0
    assert main(["evaluate", str(out), "--t-final", "0.5", "--dt", "0.05"]) == 0
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["settings"]["t0"] == 0.0
    assert np.isfinite(metrics["models"]["invariant"]["final_training_loss"])
    for method in ("rk4", "variational"):
        entry = metrics["models"]["invariant"][method]
        # The energy's balance law dE/dt = -dL/dt is measured (the tiny model's rollout may
        # leave the data's range, so only the true system's value is bounded here).
        assert "energy" in entry["balance"] and entry["balance"]["states"] > 0
        assert "max" in entry["trajectory_error"]
        assert metrics["true_system"][method]["balance"]["energy"] < 1e-8


@pytest.mark.parametrize(
    "settings, words",
    [({"data": "stream"}, "data 'stream'"), ({"model": "natural"}, "model 'natural'"),
     ({"standardize": True}, "standardize")],
)  # fmt: skip
def test_what_stays_unsupported_is_refused_with_what_works(tmp_path, settings, words):
    config = TrainConfig(width=8, epochs=1, steps_per_epoch=1, t_final=1.0, **settings)
    with pytest.raises(ConfigError, match="depends on the time explicitly") as raised:
        prepare_run(CK / "spec.py", tmp_path / "run", config=config)
    assert words in str(raised.value) and "caldirola_kanai" in str(raised.value)


def test_data_without_times_are_refused_for_a_time_dependent_lagrangian(tmp_path):
    data = tmp_path / "states.npz"
    np.savez(data, q=np.zeros((20, 1)), qdot=np.ones((20, 1)), qddot=np.zeros((20, 1)))
    config = TrainConfig(width=8, epochs=1, steps_per_epoch=1)
    with pytest.raises(DataError, match="need each sample's time") as raised:
        prepare_run(CK / "spec.py", tmp_path / "run", config=config, data_path=data)
    assert "q, qdot, qddot and t" in str(raised.value) and "positions-only" in str(raised.value)


def test_mixed_precision_evaluation_is_refused_for_a_time_dependent_lagrangian():
    from symnoether.numeric.evaluate import evaluate_models

    with pytest.raises(ConfigError, match="dtype 'mixed' does not cover"):
        evaluate_models(_module(), {"invariant": _network()}, [1.0], [0.0], dt=0.1, steps=2,
                        dtype="mixed")  # fmt: skip


@pytest.mark.parametrize("name", ["config.json", "exp_only.json"])
def test_the_example_configurations_build_time_dependent_networks(name):
    config = TrainConfig.from_file(CK / name)
    model = config.make_network(_module(), key=jax.random.key(0))
    assert isinstance(model, TimeLagrangianNetwork) and model.explicit_time
    assert model.time_input == (name == "config.json") and model.time_scale == 8.0


def test_export_gives_the_lagrangian_and_the_acceleration_the_time(tmp_path):
    from symnoether.numeric.export import export_model

    model = _network()
    folder = export_model(model, tmp_path / "export")
    record = json.loads((folder / "export.json").read_text())["functions"]
    for name in ("lagrangian", "acceleration"):
        assert record[name]["inputs"] == ["q", "qdot", "t"]
    exported = jax.export.deserialize((folder / "lagrangian.jaxexport").read_bytes())
    q, qdot, t = jnp.array([[0.4]]), jnp.array([[-0.7]]), jnp.array([2.5])
    np.testing.assert_allclose(exported.call(q, qdot, t), [model(q[0], qdot[0], t=2.5)],
                               rtol=1e-12)  # fmt: skip


def test_data_trajectories_are_rolled_out_from_their_own_start_time():
    # `evaluate --data`: a trajectory recorded from t = 1 is compared with a rollout from
    # t = 1 (the switched field's motion depends on the absolute time).
    from symnoether.numeric.data import Dataset
    from symnoether.numeric.evaluate import _against

    module = _module(example="switched_field")
    true = true_model(module)
    result = sn.integrate(true, jnp.array([0.0, 1.0, 0.0]), jnp.array([0.2, 0.0, 0.5]),
                          dt=0.01, steps=200, save_every=10, t0=1.0, full_output=True)  # fmt: skip
    qddot = true.batched_acceleration(result.qs, result.qdots, t=result.ts)
    (observed,) = Dataset(result.qs, result.qdots, qddot, t=result.ts).trajectories()
    assert observed.t0 == 1.0
    error = _against(module, true, observed, 0.01, sn.RK4(), np.float64)
    assert np.max(error) < 1e-10
    assert np.max(_against(module, true, observed._replace(t0=0.0), 0.01, sn.RK4(),
                           np.float64)) > 1e-2  # fmt: skip
