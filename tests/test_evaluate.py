"""Evaluation: metrics.json holds every number, drifts are guarded, figures are written."""

import json
import shutil
import types
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract as kepler

import symnoether as sn
from symnoether.numeric.evaluate import drift, evaluate_models, evaluate_run
from symnoether.numeric.network import LagrangianNetwork

# A planar orbit: the charges of the x-z and y-z rotations start at exactly zero, so their
# drift must be reported as absolute.
Q0 = [1.0, 0.0, 0.0]
QDOT0 = [0.0, 1.1, 0.0]
FIGURES = ("trajectories.png", "charge_drift.png", "energy_drift.png", "trajectory_error.png",
           "loss.png")  # fmt: skip


class KeplerPlusMLP(eqx.Module):
    mlp: eqx.nn.MLP
    invariant: bool = eqx.field(static=True)

    def __init__(self, *, invariant: bool, key):
        self.mlp = eqx.nn.MLP(3 if invariant else 6, "scalar", 8, 2, jax.nn.softplus, key=key)
        self.invariant = invariant

    def __call__(self, q, qdot):
        x = kepler.invariants(q, qdot) if self.invariant else jnp.concatenate([q, qdot])
        return kepler.lagrangian(q, qdot) + 0.1 * self.mlp(x)


def _models():
    key = jax.random.key(0)
    return {
        "invariant": KeplerPlusMLP(invariant=True, key=key),
        "unconstrained": KeplerPlusMLP(invariant=False, key=key),
    }


LOSSES = {"invariant": np.geomspace(1.0, 1e-4, 50), "unconstrained": np.geomspace(1.0, 1e-3, 50)}


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("evaluation")
    metrics = evaluate_models(
        kepler, _models(), Q0, QDOT0, dt=0.01, steps=400, losses=LOSSES, out_dir=out_dir
    )
    return metrics, out_dir


def _numbers(tree, path=""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _numbers(value, f"{path}/{key}")
    elif isinstance(tree, float | int) and not isinstance(tree, bool):
        yield path, tree


def test_metrics_json_holds_every_number(evaluation):
    metrics, out_dir = evaluation
    on_disk = json.loads((out_dir / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    settings = on_disk["settings"]
    assert (settings["dt"], settings["steps"], settings["t_final"]) == (0.01, 400, 4.0)
    assert settings["methods"] == ["rk4", "variational"]
    for name in ("invariant", "unconstrained"):
        entry = on_disk["models"][name]
        assert entry["final_training_loss"] == pytest.approx(LOSSES[name][-1])
        for method in ("rk4", "variational"):
            rollout = entry[method]
            assert set(rollout["charges"]) == set(kepler.CHARGE_NAMES)
            assert set(rollout["true_charges"]) == set(kepler.CHARGE_NAMES)
            assert "max_relative_drift" in rollout["energy"]
            assert "max_relative_drift" in rollout["true_energy"]
            for vector in ("charge_vector", "true_charge_vector"):
                assert "max_relative_drift" in rollout[vector]
            error = rollout["trajectory_error"]
            assert {"t=0.04", "t=0.4", "t=2", "final", "max"} <= set(error)
            # The largest error up to a time: between the error then and the overall max.
            assert error["t=2"] <= error["max_to_t=2"] <= error["max"]
            assert error["max_to_t=0.04"] <= error["max_to_t=0.4"] <= error["max_to_t=2"]
            assert rollout["trajectory_error"]["diverged_at"] is None
            assert ("newton" in rollout) == (method == "variational")
    assert set(on_disk["true_system"]) == {"rk4", "variational"}
    assert on_disk["warnings"] == []
    values = dict(_numbers(on_disk))
    assert all(np.isfinite(v) for v in values.values())


def test_zero_initial_charges_get_absolute_drift(evaluation):
    charges = evaluation[0]["models"]["invariant"]["variational"]["charges"]
    assert "max_relative_drift" in charges["angular_momentum_x0x1"]
    for name in ("angular_momentum_x0x2", "angular_momentum_x1x2"):
        assert "max_absolute_drift" in charges[name]
        assert charges[name]["initial_value"] == 0.0


def test_invariant_network_conserves_its_charges_and_control_does_not(evaluation):
    models = evaluation[0]["models"]
    exact = models["invariant"]["variational"]["charges"]
    assert exact["angular_momentum_x0x1"]["max_relative_drift"] < 1e-13
    assert exact["angular_momentum_x0x2"]["max_absolute_drift"] < 1e-14
    control = models["unconstrained"]["variational"]["charges"]
    assert control["angular_momentum_x0x1"]["max_relative_drift"] > 1e-8
    assert models["invariant"]["variational"]["charge_vector"]["max_relative_drift"] < 1e-13
    assert models["unconstrained"]["variational"]["charge_vector"]["max_relative_drift"] > 1e-8


def test_figures_written_and_non_empty(evaluation):
    metrics, out_dir = evaluation
    assert set(metrics["files"]) == {*FIGURES, "metrics.json"}
    for name in FIGURES:
        data = (out_dir / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000, name
    assert not list(out_dir.glob("*.tmp")), "temporary files left behind"


def test_drift_is_relative_unless_the_initial_value_vanishes():
    values = np.array([[0.0, 2.0, -4.0], [1e-3, 2.2, -4.0], [-2e-3, 1.0, -5.0]])
    delta, relative = drift(values)
    np.testing.assert_array_equal(relative, [False, True, True])
    np.testing.assert_allclose(delta[:, 0], [0.0, 1e-3, 2e-3])
    np.testing.assert_allclose(delta[:, 1], [0.0, 0.1, 0.5])
    np.testing.assert_allclose(delta[:, 2], [0.0, 0.0, 0.25])
    _, (scalar_relative,) = drift(np.array([[1e-12], [2e-12]]), scale=1.0)
    assert not scalar_relative


def _without_true_lagrangian():
    module = types.ModuleType("kepler_no_lagrangian")
    for name in dir(kepler):
        if not name.startswith("_") and name not in ("lagrangian", "acceleration",
                                                      "true_charges", "true_energy"):  # fmt: skip
            setattr(module, name, getattr(kepler, name))
    module.HAS_LAGRANGIAN = False
    return module


def test_without_true_lagrangian_reports_own_charges_only(tmp_path):
    models = {"invariant": _models()["invariant"]}
    metrics = evaluate_models(
        _without_true_lagrangian(), models, Q0, QDOT0, dt=0.01, steps=50,
        methods=("variational",), out_dir=tmp_path,
    )  # fmt: skip
    rollout = metrics["models"]["invariant"]["variational"]
    assert "charges" in rollout and "true_charges" not in rollout
    assert "trajectory_error" not in rollout and "true_system" not in metrics
    assert "trajectory_error.png" not in metrics["files"]
    assert (tmp_path / "charge_drift.png").stat().st_size > 0


def test_no_out_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metrics = evaluate_models(
        kepler, {"invariant": kepler.lagrangian}, Q0, QDOT0, dt=0.01, steps=20, methods=("rk4",)
    )
    assert "files" not in metrics and not list(tmp_path.iterdir())


def test_methods_as_objects_are_named_by_the_registry():
    metrics = evaluate_models(
        kepler, {"invariant": kepler.lagrangian}, Q0, QDOT0, dt=0.01, steps=20,
        methods=(sn.MidpointVariational(tol=1e-12),),
    )  # fmt: skip
    assert metrics["settings"]["methods"] == ["variational"]
    assert set(metrics["true_system"]) == {"variational"}
    assert metrics["models"]["invariant"]["variational"]["newton"]["max_residual"] <= 1e-12


def test_mixed_precision_evaluates_a_float32_network_from_float64_states():
    # The reference's set-up: the state lives in float64, each network call in float32.
    model = LagrangianNetwork(kepler, width=8, key=jax.random.key(0))
    q, qdot = np.array([1.0, 0.1, 0.0]), np.array([0.0, 1.1, 0.2])
    with jax.enable_x64(True):
        wrapped = sn.MixedPrecision(model)
        q64, qdot64 = jnp.asarray(q), jnp.asarray(qdot)
        value, accel = wrapped(q64, qdot64), wrapped.acceleration(q64, qdot64)
        assert value.dtype == accel.dtype == jnp.float64
    q32, qdot32 = jnp.asarray(q, jnp.float32), jnp.asarray(qdot, jnp.float32)
    assert float(value) == float(model(q32, qdot32))
    np.testing.assert_array_equal(np.asarray(accel), np.asarray(model.acceleration(q32, qdot32)))
    # The batched path is the model's own closed form too, as in float64 evaluation.
    with jax.enable_x64(True):
        batch = wrapped.batched_acceleration(q64[None], qdot64[None])
    np.testing.assert_array_equal(
        np.asarray(batch[0]), np.asarray(model.batched_acceleration(q32[None], qdot32[None])[0])
    )
    # RK4 steps through that closed form, never the per-state chain rule, whose autodiff
    # MLP Hessian loses digits in float32 (issue 28, item 5; docs/RESULTS.md).
    def per_state(*args, **kwargs):
        raise AssertionError("the mixed RK4 evaluation called the per-state acceleration")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LagrangianNetwork, "acceleration", per_state)
        metrics = evaluate_models(kepler, {"invariant": model}, Q0, QDOT0, dt=0.01, steps=50,
                                  methods=("rk4",), dtype="mixed")  # fmt: skip
    assert metrics["settings"]["dtype"] == "mixed"
    drift = metrics["models"]["invariant"]["rk4"]["charge_vector"]["max_relative_drift"]
    assert 0 <= drift < 1e-5  # float32 network rounding, never float64 exactness claims


def test_diverging_rollout_is_reported_not_hidden():
    def escaping(q, qdot):
        return 0.5 * qdot @ qdot + jnp.exp(10.0 * q @ q)

    metrics = evaluate_models(
        kepler, {"escaping": escaping}, Q0, QDOT0, dt=0.01, steps=200, methods=("rk4",)
    )
    assert any("escaping/rk4: the rollout is not finite" in w for w in metrics["warnings"])
    error = metrics["models"]["escaping"]["rk4"]["trajectory_error"]
    assert error["final"] is None and error["max"] is None
    # It leaves the true trajectory before it stops being finite, and both are reported.
    assert 0 < error["first_t_above_0.1"] <= error["first_t_above_1"] <= error["diverged_at"]
    assert error["diverged_at"] < 2.0


@pytest.mark.parametrize(
    "models, kwargs, match",
    [
        ({}, {}, "models is empty"),
        ({"true": kepler.lagrangian}, {}, "'true' is reserved"),
        ({"a": kepler.lagrangian}, {"methods": ("euler",)}, "methods must be a non-empty"),
        ({"a": kepler.lagrangian}, {"methods": ("rk4", sn.RK4())}, "two methods are named 'rk4'"),
        ({"a": kepler.lagrangian}, {"steps": 1}, "steps must be an int >= 2"),
        ({"a": kepler.lagrangian}, {"dt": -0.1}, "dt must be a positive number"),
    ],
)
def test_invalid_inputs_raise(models, kwargs, match):
    settings = {"dt": 0.01, "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        evaluate_models(kepler, models, Q0, QDOT0, **settings)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:integrate.*Newton:RuntimeWarning")  # barely trained nets
def test_evaluate_run_on_a_tiny_trained_run(tmp_path):
    from symnoether.numeric.data import trajectory_data
    from symnoether.numeric.run import TrainConfig, train_run

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(Path(kepler.__file__), run_dir / "module.py")
    config = TrainConfig(width=8, epochs=2, steps_per_epoch=5, batch_size=16, t_final=5.0)
    data = trajectory_data(kepler, Q0, QDOT0, t_final=5.0, key=jax.random.key(0))
    train_run(run_dir, kepler, data, config, progress=False)
    metrics = evaluate_run(run_dir, t_final=1.0, dt=0.01)
    assert set(metrics["models"]) == {"invariant", "unconstrained"}
    assert (run_dir / "evaluation" / "metrics.json").is_file()
    assert metrics["settings"]["q0"] == pytest.approx(np.asarray(data.q[0], np.float64))


def test_mass_matrix_metrics_flag_signature_changes_and_singular_states():
    from symnoether.numeric.evaluate import _mass_matrix_metrics

    eigenvalues = np.array([[1.0, 2.0], [0.5, 2.0], [0.0, 2.0], [-0.5, 2.0]])
    metrics = _mass_matrix_metrics(eigenvalues)
    assert metrics["signature_changes"] == 1
    assert metrics["ill_conditioned_states"] == 1
    assert metrics["max_condition"] is None  # a singular state: infinite condition number
    healthy = _mass_matrix_metrics(np.array([[1.0, 2.0], [1.5, 2.0]]))
    assert healthy == {"signature_changes": 0, "ill_conditioned_states": 0, "max_condition": 2.0}


def test_rollouts_report_the_mass_matrix(evaluation):
    for by_method in evaluation[0]["models"].values():
        for method in ("rk4", "variational"):
            assert set(by_method[method]["mass_matrix"]) == {
                "signature_changes", "ill_conditioned_states", "max_condition"}


def test_a_positions_run_without_initial_state_starts_from_its_first_positions(tmp_path):
    # Regression: evaluate read data["qdot"][0] from data.npz, which positions-only data
    # do not have. The velocity is now the second-order one-sided difference.
    import types

    from symnoether.numeric.evaluate import _initial_state
    from symnoether.numeric.positions import position_data, save_positions

    t = np.arange(5) * 0.1
    q = np.stack([np.cos(t), np.sin(t), 0 * t], axis=-1)  # a unit circle at speed 1
    save_positions(tmp_path / "data.npz", position_data([q, q + 1], dt=0.1))
    run = types.SimpleNamespace(initial_state=None, run_dir=tmp_path)
    q0, qdot0 = _initial_state(run)
    np.testing.assert_allclose(q0, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(qdot0, [0.0, 1.0, 0.0], atol=5e-3)  # error dt^2 / 3


def test_curves_are_built_by_keyword():
    # Regression: a 19-field record built positionally with splats would silently mislabel
    # metrics when a field moved. Every Curves(...) in the package names its fields.
    import ast
    from pathlib import Path

    import symnoether

    calls = []
    for path in Path(symnoether.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Curves":
                calls.append((path.name, node))
    assert calls
    for name, call in calls:
        assert not call.args, f"{name}: Curves(...) with positional arguments"
        assert {k.arg for k in call.keywords} == set(symnoether.numeric.curves.Curves._fields)
