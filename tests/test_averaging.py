"""Tail averaging of the parameters (`numeric/averaging.py`, `TrainConfig.average_epochs`)."""

import dataclasses
import shutil
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from handwritten import kepler_contract

from symnoether.errors import ConfigError
from symnoether.numeric.averaging import averaged_parameters, tail_average
from symnoether.numeric.checkpoint import load_checkpoint
from symnoether.numeric.data import trajectory_data
from symnoether.numeric.run import TrainConfig, config_optimizer, load_run, train_run
from symnoether.numeric.train import train

HANDWRITTEN = Path(__file__).parent / "handwritten"
# test_extend.py's settings (one compiled epoch), averaged over the last two epochs.
CONFIG = TrainConfig(width=8, epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2,
                     average_epochs=2)  # fmt: skip


@pytest.fixture(scope="module")
def data():
    return trajectory_data(
        kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.1, 0.1], t_final=30.0, key=jax.random.key(0)
    )


def test_the_state_holds_the_mean_of_the_iterates_from_the_start_step():
    optimizer = tail_average(optax.sgd(0.1), start=2)
    params = {"w": jnp.array([1.0, -2.0])}
    state = optimizer.init(params)
    assert averaged_parameters(state) is None  # nothing averaged yet
    iterates = []
    for k in range(5):
        grads = {"w": params["w"] * (k + 1)}  # a different gradient every step
        updates, state = optimizer.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        iterates.append(np.asarray(params["w"]))
    assert int(state.count) == 3
    np.testing.assert_allclose(averaged_parameters(state)["w"], np.mean(iterates[2:], axis=0),
                               rtol=1e-12)  # fmt: skip
    with pytest.raises(ValueError, match="needs the parameters"):
        optimizer.update(grads, state)
    with pytest.raises(ValueError, match="start must be a step number"):
        tail_average(optax.sgd(0.1), start=-1)


def test_train_returns_the_mean_of_every_step_it_averaged(data):
    from symnoether.numeric.network import LagrangianNetwork

    model = LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(1))
    seen = []

    def keep(epoch, loss, m):  # one step per epoch: every iterate
        seen.append(eqx.filter(m, eqx.is_inexact_array))

    optimizer = tail_average(optax.adam(1e-2), start=3)
    result = train(model, data, steps=6, steps_per_epoch=1, batch_size=16, optimizer=optimizer,
                   callback=keep, progress=False, key=jax.random.key(2))  # fmt: skip
    expected = jax.tree.map(lambda *xs: np.mean(np.stack(xs), axis=0), *seen[3:])
    got = eqx.filter(result.model, eqx.is_inexact_array)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    last = jax.tree.leaves(seen[-1])
    assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(got), last))


def test_a_run_folder_loads_the_mean_and_its_checkpoint_keeps_the_last_iterate(data, tmp_path):
    shutil.copy(HANDWRITTEN / "kepler_contract.py", tmp_path / "module.py")
    run = train_run(tmp_path, kepler_contract, data, CONFIG, variants=("invariant",),
                    progress=False)  # fmt: skip
    trained = jax.tree.leaves(eqx.filter(run.models["invariant"], eqx.is_inexact_array))
    loaded = jax.tree.leaves(eqx.filter(load_run(tmp_path).models["invariant"],
                                        eqx.is_inexact_array))  # fmt: skip
    skeleton = CONFIG.make_network(kepler_contract, invariant=True, key=jax.random.key(0))
    state = config_optimizer(CONFIG).init(eqx.filter(skeleton, eqx.is_inexact_array))
    saved = load_checkpoint(tmp_path / "models" / "invariant", skeleton, state)
    assert int(saved.opt_state.count) == 20  # the last two epochs of ten steps
    last = jax.tree.leaves(eqx.filter(saved.model, eqx.is_inexact_array))
    for a, b in zip(trained, loaded, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(trained, last))


class _Stop(Exception):
    pass


def test_a_resumed_run_reaches_the_same_mean_bit_for_bit(data, tmp_path):
    from symnoether.numeric.network import LagrangianNetwork

    def fresh():
        return LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(1))

    def stop(epoch, loss, model):
        if epoch == 2:
            raise _Stop

    optimizer = tail_average(optax.adam(1e-2), start=15)  # from the middle of epoch 2
    settings = dict(epochs=3, steps_per_epoch=10, batch_size=16, optimizer=optimizer,
                    progress=False, key=jax.random.key(2))  # fmt: skip
    whole = train(fresh(), data, checkpoint_dir=tmp_path / "a", **settings)
    with pytest.raises(_Stop):
        train(fresh(), data, checkpoint_dir=tmp_path / "b", callback=stop, **settings)
    resumed = train(fresh(), data, checkpoint_dir=tmp_path / "b", resume=True, **settings)
    for a, b in zip(
        jax.tree.leaves(eqx.filter(whole.model, eqx.is_inexact_array)),
        jax.tree.leaves(eqx.filter(resumed.model, eqx.is_inexact_array)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_bad_averaging_settings_say_what_to_change():
    with pytest.raises(ConfigError, match="average_epochs must be a whole number of epochs"):
        TrainConfig(epochs=3, average_epochs=4)
    with pytest.raises(ConfigError, match="set one of them"):
        TrainConfig(epochs=3, average_epochs=1, validation_fraction=0.1)
    assert dataclasses.replace(CONFIG, average_epochs=0).average_start is None
    assert CONFIG.average_start == 10 and CONFIG.extended(5).average_start == 10
