"""A finished run extended with more epochs (`train --resume --epochs N`)."""

import dataclasses
import json
import shutil
from pathlib import Path

import jax
import pytest
from handwritten import kepler_contract

from symnoether import cli
from symnoether.errors import ConfigError, RunFolderError
from symnoether.numeric.data import trajectory_data
from symnoether.numeric.run import TrainConfig, load_run, train_run

HANDWRITTEN = Path(__file__).parent / "handwritten"
# The settings of test_train.py, so that the compiled epoch is shared.
CONFIG = TrainConfig(width=8, epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2)


@pytest.fixture(scope="module")
def data():
    return trajectory_data(
        kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.1, 0.1], t_final=30.0, key=jax.random.key(0)
    )


def test_a_finished_run_is_extended_with_its_schedule(data, tmp_path):
    shutil.copy(HANDWRITTEN / "kepler_contract.py", tmp_path / "module.py")
    kwargs = dict(variants=("invariant",), progress=False)
    train_run(tmp_path, kepler_contract, data, CONFIG, **kwargs)
    longer = CONFIG.extended(5)
    assert (longer.epochs, longer.schedule_epochs, longer.schedule_steps) == (5, 3, 30)
    run = train_run(tmp_path, kepler_contract, data, longer, resume=True, **kwargs)
    assert run.losses["invariant"].shape == (5,)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["config"]["epochs"] == 5 and record["config"]["schedule_epochs"] == 3
    info = json.loads((tmp_path / "models/invariant/checkpoint.json").read_text())
    assert info["epoch"] == 5 and info["settings"]["schedule_steps"] == 30
    assert load_run(tmp_path).losses["invariant"].shape == (5,)
    # A longer run with a new schedule is another run: refused, saying what differs.
    other = dataclasses.replace(CONFIG, epochs=7)
    with pytest.raises(RunFolderError, match="schedule_epochs was 3, now None"):
        train_run(tmp_path, kepler_contract, data, other, resume=True, **kwargs)


def test_an_extension_cannot_shorten_the_run():
    with pytest.raises(ConfigError, match="would shorten the run: it has 3 epochs"):
        CONFIG.extended(2)
    with pytest.raises(ConfigError, match="schedule_epochs must be null or a whole number"):
        TrainConfig(epochs=3, schedule_epochs=4)


def test_epochs_flag():
    parser = cli._parser()
    args = parser.parse_args(["train", "s.py", "--out", "r", "--resume", "--epochs", "9"])
    assert args.epochs == 9
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "s.py", "--out", "r", "--epochs", "0"])
