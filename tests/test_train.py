"""Training: loss decrease, dtypes, checkpoints, resume, divergence, devices, run folders."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from handwritten import kepler_contract, two_particle_2d_contract

from symnoether.errors import RunFolderError
from symnoether.numeric import train as train_module
from symnoether.numeric.data import Dataset, trajectory_data
from symnoether.numeric.run import TrainConfig, load_module, load_run, train_run
from symnoether.numeric.train import TrainingDivergedError, make_optimizer, train

HANDWRITTEN = Path(__file__).parent / "handwritten"
# Small float32 settings shared by the tests (train_run's invariant variant included), so
# that they share one compiled epoch: compilation is what costs here.
SETTINGS = dict(epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2, progress=False)
CONFIG = TrainConfig(width=8, epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2)
# The same object in every test, so that its compiled epoch is reused.
SGD = optax.sgd(1e-2)
SGD_SETTINGS = {k: v for k, v in SETTINGS.items() if k != "learning_rate"}


class _Stop(Exception):
    pass


def _stop_after(epoch):
    def callback(done, loss, model):
        if done == epoch:
            raise _Stop

    return callback


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


@pytest.fixture(scope="module")
def data():
    return trajectory_data(
        kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.1, 0.1], t_final=30.0, key=jax.random.key(0)
    )


def _model(module=kepler_contract):
    return CONFIG.make_network(module, key=jax.random.key(1))


def test_tiny_training_lowers_the_loss(data, capsys):
    result = train(_model(), data, **{**SETTINGS, "progress": True}, key=jax.random.key(2))
    assert result.losses.shape == (3,) and result.losses.dtype == np.float32
    assert {x.dtype for x in _leaves(result.model)} == {np.dtype("float32")}
    assert result.losses[-1] < 0.5 * result.losses[0]
    progress = capsys.readouterr().err
    assert "epoch 1/3  loss" in progress and "epoch 3/3" in progress and "steps/s" in progress


def test_resume_equals_uninterrupted(data, tmp_path):
    whole = train(_model(), data, **SETTINGS, checkpoint_dir=tmp_path / "a", key=jax.random.key(2))
    with pytest.raises(_Stop):
        train(
            _model(), data, **SETTINGS, checkpoint_dir=tmp_path / "b", callback=_stop_after(2),
            key=jax.random.key(2),
        )  # fmt: skip
    info = json.loads((tmp_path / "b" / "checkpoint.json").read_text())
    assert (info["epoch"], info["step"]) == (2, 20)
    resumed = train(
        _model(), data, **SETTINGS, checkpoint_dir=tmp_path / "b", resume=True,
        key=jax.random.key(2),
    )  # fmt: skip
    for a, b in zip(_leaves(whole.model), _leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.losses, resumed.losses)
    rows = [(tmp_path / d / "losses.csv").read_text().splitlines() for d in "ab"]
    assert rows[0][0] == "epoch,step,loss,seconds" and len(rows[0]) == len(rows[1]) == 4
    assert [r.split(",")[:3] for r in rows[0]] == [r.split(",")[:3] for r in rows[1]]


def test_checkpoint_folder_rules(data, tmp_path):
    with pytest.raises(_Stop):
        train(_model(), data, **SETTINGS, checkpoint_dir=tmp_path, callback=_stop_after(1),
              key=jax.random.key(2))  # fmt: skip
    with pytest.raises(FileExistsError, match="pass resume=True"):
        train(_model(), data, **SETTINGS, checkpoint_dir=tmp_path, key=jax.random.key(2))
    changed = {**SETTINGS, "learning_rate": 0.5}
    with pytest.raises(ValueError, match="learning_rate was 0.01, now 0.5"):
        train(
            _model(), data, **changed, checkpoint_dir=tmp_path, resume=True, key=jax.random.key(2)
        )
    with pytest.raises(ValueError, match="random key differs"):
        train(
            _model(), data, **SETTINGS, checkpoint_dir=tmp_path, resume=True, key=jax.random.key(3)
        )


def test_an_optax_optimizer_trains_checkpoints_and_resumes(data, tmp_path):
    start = _model()
    whole = train(start, data, **SGD_SETTINGS, optimizer=SGD, checkpoint_dir=tmp_path / "a",
                  key=jax.random.key(2))  # fmt: skip
    assert all(not np.array_equal(a, b) for a, b in zip(_leaves(start), _leaves(whole.model)))
    adam = train(start, data, **SETTINGS, key=jax.random.key(2))
    assert not np.array_equal(_leaves(adam.model)[0], _leaves(whole.model)[0])
    settings = json.loads((tmp_path / "a" / "checkpoint.json").read_text())["settings"]
    assert settings["optimizer"] == "custom" and "learning_rate" not in settings
    with pytest.raises(_Stop):
        train(start, data, **SGD_SETTINGS, optimizer=SGD, checkpoint_dir=tmp_path / "b",
              callback=_stop_after(2), key=jax.random.key(2))  # fmt: skip
    resumed = train(start, data, **SGD_SETTINGS, optimizer=SGD, checkpoint_dir=tmp_path / "b",
                    resume=True, key=jax.random.key(2))  # fmt: skip
    for a, b in zip(_leaves(whole.model), _leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="optimizer was 'custom', now None"):
        train(start, data, **SETTINGS, checkpoint_dir=tmp_path / "b", resume=True,
              key=jax.random.key(2))  # fmt: skip


def test_optimizer_argument_errors(data):
    with pytest.raises(ValueError, match="learning_rate cannot be combined with optimizer="):
        train(_model(), data, epochs=1, learning_rate=1e-2, optimizer=SGD, key=jax.random.key(0))
    with pytest.raises(TypeError, match="optax.GradientTransformation such as"):
        train(_model(), data, epochs=1, optimizer="adam", key=jax.random.key(0))


def test_divergence_keeps_the_last_checkpoint(data, tmp_path):
    with pytest.raises(_Stop):
        train(_model(), data, **SETTINGS, checkpoint_dir=tmp_path, callback=_stop_after(1),
              key=jax.random.key(2))  # fmt: skip
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    poisoned = Dataset(data.q, data.qdot, jnp.full_like(data.qddot, jnp.nan))
    with pytest.raises(TrainingDivergedError, match=r"loss is nan at step 11 \(epoch 2\)") as info:
        train(_model(), poisoned, **SETTINGS, checkpoint_dir=tmp_path, resume=True,
              key=jax.random.key(2))  # fmt: skip
    assert "last good checkpoint is kept" in str(info.value)
    assert (info.value.epoch, info.value.step, info.value.checkpoint) == (2, 11, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_epoch_lengths_and_arguments(data):
    assert train_module._epoch_lengths(None, 25, 10) == [10, 10, 5]
    assert train_module._epoch_lengths(2, None, 10) == [10, 10]
    with pytest.raises(ValueError, match="exactly one of `epochs` and `steps`"):
        train(_model(), data, epochs=1, steps=10, key=jax.random.key(0))
    with pytest.raises(TypeError, match="expected a Dataset"):
        train(_model(), (data.q, data.qdot, data.qddot), epochs=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="the data has 3 coordinates .* has 4"):
        train(_model(module=two_particle_2d_contract), data, epochs=1, key=jax.random.key(0))


_TWO_DEVICES = """
import json, sys
import jax, jax.numpy as jnp, numpy as np, equinox as eqx
jax.config.update("jax_enable_x64", True)
sys.path.insert(0, {tests!r})
from handwritten import kepler_contract
from symnoether.numeric.data import Dataset
from symnoether.numeric.network import LagrangianNetwork
from symnoether.numeric.train import train

# Kepler states and accelerations in NumPy: no compilation spent on data.
rng = np.random.default_rng(0)
q = rng.normal(size=(200, 3)) + [2.0, 0.0, 0.0]
qddot = -q / np.linalg.norm(q, axis=1, keepdims=True) ** 3
data = Dataset(jnp.asarray(q), jnp.asarray(rng.normal(size=(200, 3))), jnp.asarray(qddot))
model = LagrangianNetwork(kepler_contract, width=8, dtype=jnp.float64, key=jax.random.key(1))
settings = dict(epochs=2, steps_per_epoch=10, batch_size=16, progress=False,
                key=jax.random.key(2))
one = train(model, data, devices=jax.devices()[:1], **settings)
two = train(model, data, **settings)
leaves = [[np.asarray(x) for x in jax.tree.leaves(eqx.filter(r.model, eqx.is_array))]
          for r in (one, two)]
sharded_over = len(jax.tree.leaves(eqx.filter(two.model, eqx.is_array))[0].sharding.device_set)
try:
    train(model, data, epochs=1, batch_size=15, key=jax.random.key(2))
    error = None
except ValueError as e:
    error = str(e)
print(json.dumps({{
    "devices": jax.device_count(),
    "sharded_over": sharded_over,
    "diff": max(float(np.max(np.abs(a - b))) for a, b in zip(*leaves)),
    "losses": [one.losses.tolist(), two.losses.tolist()],
    "error": error,
}}))
"""


@pytest.mark.slow  # a fresh JAX process and two compilations
def test_two_devices_equal_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    env["JAX_PLATFORMS"] = "cpu"
    script = textwrap.dedent(_TWO_DEVICES.format(tests=str(Path(__file__).parent)))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2 and result["sharded_over"] == 2
    assert result["diff"] < 1e-12
    np.testing.assert_allclose(*result["losses"], rtol=1e-12)
    assert "batch_size=15 must be a multiple of the number of devices (2)" in result["error"]


def test_train_config_round_trip_and_validation(tmp_path):
    config = TrainConfig(width=16, epochs=3, activation="tanh", learning_rate=5e-3)
    assert TrainConfig.from_file(config.to_file(tmp_path / "c.json")) == config
    (tmp_path / "partial.json").write_text('{"width": 64, "dtype": "float64"}')
    partial = TrainConfig.from_file(tmp_path / "partial.json")
    assert (partial.width, partial.dtype, partial.depth) == (64, "float64", 2)
    with pytest.raises(ValueError, match="unknown training setting 'widht'; did you mean 'width'"):
        TrainConfig.from_dict({"widht": 3})
    with pytest.raises(TypeError, match="width must be an integer, got '128'"):
        TrainConfig(width="128")
    with pytest.raises(
        ValueError, match="(?s)activation must be one of .*relu.*epochs must be > 0"
    ):
        TrainConfig(activation="relu", epochs=0)
    (tmp_path / "bad.json").write_text("{width: 3}")
    with pytest.raises(ValueError, match="is not valid JSON"):
        TrainConfig.from_file(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        TrainConfig.from_file(tmp_path / "list.json")


def test_adam_eps_is_validated_and_used():
    assert TrainConfig().adam_eps == 1e-8  # optax's; the reference configurations: 1e-7
    with pytest.raises(ValueError, match=r"(?s)epochs must be > 0.*adam_eps must be > 0, got 0"):
        TrainConfig(adam_eps=0, epochs=0)
    with pytest.raises(ValueError, match="adam_eps must be a finite number, got nan"):
        TrainConfig(adam_eps=float("nan"))
    with pytest.raises(TypeError, match="adam_eps must be a number, got '1e-7'"):
        TrainConfig(adam_eps="1e-7")
    # Where sqrt(v) is far below eps, eps sets the step: larger eps, smaller step.
    params, grads = {"w": jnp.zeros(2)}, {"w": jnp.array([1e-9, 1e-3])}
    steps = []
    for eps in (1e-8, 1e-7):
        optimizer = make_optimizer(1e-3, 1e-5, 100, eps=eps)
        steps.append(optimizer.update(grads, optimizer.init(params), params)[0]["w"])
    np.testing.assert_allclose(steps[0][0] / steps[1][0], (1e-9 + 1e-7) / (1e-9 + 1e-8))
    np.testing.assert_allclose(steps[0][1], steps[1][1], rtol=1e-3)


def test_train_run_with_another_adam_eps(data, tmp_path):
    # Recorded in the run; trained with that Adam (a custom optimiser for the checkpoint).
    config = dataclasses.replace(CONFIG, adam_eps=1e-7)
    shutil.copy(HANDWRITTEN / "kepler_contract.py", tmp_path / "module.py")
    run = train_run(tmp_path, kepler_contract, data, config, variants=("invariant",),
                    progress=False)  # fmt: skip
    assert json.loads((tmp_path / "run.json").read_text())["config"]["adam_eps"] == 1e-7
    folder = tmp_path / "models" / "invariant"
    assert json.loads((folder / "config.json").read_text())["config"]["adam_eps"] == 1e-7
    assert json.loads((folder / "checkpoint.json").read_text())["settings"]["optimizer"] == (
        "custom"
    )
    direct = train(
        CONFIG.make_network(kepler_contract, key=jax.random.split(jax.random.key(0))[0]),
        data, epochs=3, steps_per_epoch=10, batch_size=16, progress=False,
        optimizer=make_optimizer(1e-2, 1e-5, 30, eps=1e-7),
        key=jax.random.split(jax.random.key(0))[1],
    )  # fmt: skip
    for a, b in zip(_leaves(run.models["invariant"]), _leaves(direct.model), strict=True):
        np.testing.assert_array_equal(a, b)
    resumed = train_run(tmp_path, kepler_contract, data, config, variants=("invariant",),
                        resume=True, progress=False)  # fmt: skip
    np.testing.assert_array_equal(resumed.losses["invariant"], run.losses["invariant"])
    assert load_run(tmp_path).config == config


def test_activation_by_name_or_function_and_deprecated_solver():
    assert TrainConfig(activation=jnp.tanh) == TrainConfig(activation="tanh")
    assert TrainConfig(activation=jax.nn.softplus).to_dict()["activation"] == "softplus"
    with pytest.raises(ValueError, match="not one of .* saved as JSON.*activation=fn"):
        TrainConfig(activation=lambda x: x**3)
    with pytest.warns(DeprecationWarning, match="mass_solve=") as record:
        config = TrainConfig(solver="cholesky")
    assert record[0].filename == __file__  # the warning points at the caller
    assert config.mass_solve == "cholesky" and "solver" not in config.to_dict()
    with pytest.warns(DeprecationWarning):
        assert TrainConfig.from_dict({"solver": "pinv"}).mass_solve == "pinv"
    assert dataclasses.replace(config, width=4).mass_solve == "cholesky"
    with pytest.raises(ValueError, match="mass_solve must be one of"):
        TrainConfig(mass_solve="qr")


def test_train_run_and_load_run(data, tmp_path):
    shutil.copy(HANDWRITTEN / "kepler_contract.py", tmp_path / "module.py")
    run = train_run(tmp_path, kepler_contract, data, CONFIG, progress=False)
    for name in ("data.npz", "run.json", "module.py"):
        assert (tmp_path / name).is_file()
    for variant in ("invariant", "unconstrained"):
        for name in ("config.json", "checkpoint.eqx", "checkpoint.json", "losses.csv"):
            assert (tmp_path / "models" / variant / name).is_file()
    loaded = load_run(tmp_path)
    assert loaded.config == CONFIG and loaded.module.SYSTEM_NAME == "kepler"
    assert run.initial_state is None and loaded.initial_state is None
    assert set(loaded.models) == {"invariant", "unconstrained"}
    assert loaded.models["invariant"].invariant and not loaded.models["unconstrained"].invariant
    for variant, model in run.models.items():
        for a, b in zip(_leaves(model), _leaves(loaded.models[variant]), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(run.losses[variant], loaded.losses[variant])
        assert loaded.losses[variant].dtype == np.float32
    # Run folders written before the rename of `solver` still load, without a warning.
    for path in (tmp_path / "run.json", *tmp_path.glob("models/*/config.json")):
        text = path.read_text()
        assert '"mass_solve"' in text
        path.write_text(text.replace('"mass_solve"', '"solver"'))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        old = load_run(tmp_path)
    assert old.config == CONFIG and set(old.models) == {"invariant", "unconstrained"}


def test_load_module_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no generated module"):
        load_module(tmp_path / "missing.py")
    (tmp_path / "broken.py").write_text("COORDINATE_NAMES = ('x',)\n")
    with pytest.raises(TypeError, match="does not follow the generated-module contract"):
        load_module(tmp_path / "broken.py")
    with pytest.raises(RunFolderError, match="not a run folder"):
        load_run(tmp_path)


def test_standardized_run_round_trip(data, tmp_path):
    config = TrainConfig(width=8, epochs=2, steps_per_epoch=5, batch_size=16, standardize=True)
    shutil.copy(HANDWRITTEN / "kepler_contract.py", tmp_path / "module.py")
    run = train_run(tmp_path, kepler_contract, data, config, variants=("unconstrained",),
                    progress=False, initial_state=((1, 0.0, 0.0), (0.0, 1.1, 0.1)))
    shift, scale = run.models["unconstrained"].input_scaling
    np.testing.assert_allclose(shift, jnp.concatenate([data.q, data.qdot], 1).mean(0),
                               rtol=1e-5, atol=1e-6)
    loaded = load_run(tmp_path)
    assert loaded.config.standardize
    for got in (run.initial_state, loaded.initial_state):
        np.testing.assert_array_equal(got[0], [1.0, 0.0, 0.0])
        np.testing.assert_array_equal(got[1], [0.0, 1.1, 0.1])
        assert got[0].dtype == np.float64
    for a, b in zip(_leaves(run.models["unconstrained"]),
                    _leaves(loaded.models["unconstrained"]), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="standardize must be true or false"):
        TrainConfig(standardize="yes")
