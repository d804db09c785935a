"""A validation split and early stopping: the best model is kept, the run records it."""

import json

import equinox as eqx
import jax
import numpy as np
import pytest
from handwritten import kepler_contract

from symnoether.errors import ConfigError, DataError
from symnoether.numeric import train as train_module
from symnoether.numeric.data import Dataset, trajectory_data
from symnoether.numeric.positions import position_data
from symnoether.numeric.run import TrainConfig
from symnoether.numeric.stream import trajectory_stream
from symnoether.numeric.train import train

# The settings of test_train.py, so that the compiled epoch is shared.
CONFIG = TrainConfig(width=8, epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2)
SETTINGS = dict(epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2, progress=False)


@pytest.fixture(scope="module")
def data():
    return trajectory_data(
        kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.1, 0.1], t_final=30.0, key=jax.random.key(0)
    )


def test_splits(data):
    train_rows, held = data.split(0.1, seed=0)
    assert len(held) == round(0.1 * len(data)) and len(train_rows) + len(held) == len(data)
    assert not set(np.asarray(held.t).tolist()) & set(np.asarray(train_rows.t).tolist())
    q = np.zeros((4, 20, 3))
    a, b = position_data(q, dt=0.1).split(0.25)
    assert (len(a), len(b)) == (3, 1)  # whole trajectories
    a, b = position_data(q[0], dt=0.1).split(0.25)
    assert (a.size(), b.size()) == (15, 5)  # one trajectory: its tail
    stream = trajectory_stream(kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.1, 0.1])
    with pytest.raises(DataError, match="cannot be split for validation"):
        stream.split(0.1)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_the_best_model_is_kept(data, tmp_path):
    held = Dataset(data.q[:64], data.qdot[:64], -data.qddot[:64])
    model = CONFIG.make_network(kepler_contract, key=jax.random.key(1))
    result = train(model, data, **SETTINGS, validation=held, checkpoint_dir=tmp_path,
                   key=jax.random.key(2))
    record = json.loads((tmp_path / "checkpoint.json").read_text())["validation"]
    assert len(record["losses"]) == 3 and not record["stopped"]
    assert record["best_epoch"] == 1 + int(np.argmin(record["losses"]))
    assert _same(eqx.tree_deserialise_leaves(tmp_path / "best.eqx", result.model), result.model)


def test_early_stopping_after_patience_epochs(data, tmp_path, monkeypatch):
    # Validation losses 1.0, 0.5, 0.7, ...: the second epoch is the best, and patience 1
    # stops after the third; a resume of the stopped run trains nothing more.
    values = iter([1.0, 0.5, 0.7, 0.9, 1.1])
    monkeypatch.setattr(train_module, "_validator",
                        lambda *args: (lambda model, batch: next(values), None))
    model = CONFIG.make_network(kepler_contract, key=jax.random.key(1))
    kwargs = {**SETTINGS, "epochs": 6}
    result = train(model, data, **kwargs, validation=data, patience=1, checkpoint_dir=tmp_path,
                   key=jax.random.key(2))
    assert result.losses.shape == (3,)
    info = json.loads((tmp_path / "checkpoint.json").read_text())
    assert info["epoch"] == 3  # the checkpoint of the stop
    assert info["validation"]["best_epoch"] == 2 and info["validation"]["stopped"]
    again = train(model, data, **kwargs, validation=data, patience=1, checkpoint_dir=tmp_path,
                  resume=True, key=jax.random.key(2))
    assert again.losses.shape == (3,) and _same(again.model, result.model)


def test_validation_settings_are_checked():
    with pytest.raises(ConfigError, match="patience .* needs a validation split"):
        TrainConfig(patience=3)
    with pytest.raises(ConfigError, match="validation_fraction must be a number from 0"):
        TrainConfig(validation_fraction=0.7)
    assert TrainConfig(validation_fraction=0.1, patience=5).to_dict()["patience"] == 5


def test_a_run_with_a_validation_split_loads_its_best_model(data, tmp_path):
    import dataclasses
    import shutil
    from pathlib import Path

    from symnoether.numeric.run import load_run, train_run

    shutil.copy(Path(__file__).parent / "handwritten" / "kepler_contract.py",
                tmp_path / "module.py")
    config = dataclasses.replace(CONFIG, validation_fraction=0.2)
    run = train_run(tmp_path, kepler_contract, data, config, variants=("invariant",),
                    progress=False)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["config"]["validation_fraction"] == 0.2
    best = eqx.tree_deserialise_leaves(tmp_path / "models/invariant/best.eqx",
                                       run.models["invariant"])
    assert _same(load_run(tmp_path).models["invariant"], best)
