"""Every data source, through the methods `AbstractSource` declares: batching inside the
jitted step (shapes, dtypes), resume equality, hashing, saving and loading, coordinates.

A new kind of data is tested by adding its factory to `SOURCES`."""

import hashlib
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract, two_particle_2d_contract

from symnoether.errors import DataError
from symnoether.numeric.data import Dataset, load_data, trajectory_data
from symnoether.numeric.losses import AbstractLoss, AccelerationLoss
from symnoether.numeric.network import LagrangianNetwork
from symnoether.numeric.position_loss import PositionLoss
from symnoether.numeric.positions import PositionData, position_trajectories
from symnoether.numeric.source import AbstractBatches, AbstractSource
from symnoether.numeric.stream import (
    AbstractStream,
    kepler_orbit_sampler,
    state_stream,
    trajectory_stream,
)
from symnoether.numeric.train import train

KEPLER = ([1 / 1.8, 0.0, 0.0], [0.0, 1.8, 0.0])
SETTINGS = dict(epochs=2, steps_per_epoch=4, batch_size=8, learning_rate=1e-2, progress=False)


def _gaussian(key):
    kq, kv = jax.random.split(key)
    return 1.0 + 0.1 * jax.random.normal(kq, (3,)), 0.5 + 0.1 * jax.random.normal(kv, (3,))


# Each factory builds its source afresh (a `seed` changes fixed data), in float32.
SOURCES = {
    "dataset": lambda seed=0: trajectory_data(
        kepler_contract, *KEPLER, t_final=5.0, key=jax.random.key(seed)),
    "trajectory_stream": lambda seed=0: trajectory_stream(
        kepler_contract, *KEPLER, window=32, noise=1e-3),
    "kepler_orbit_stream": lambda seed=0: state_stream(
        kepler_contract, kepler_orbit_sampler(*KEPLER), noise=1e-3),
    "function_stream": lambda seed=0: state_stream(kepler_contract, _gaussian, noise=1e-3),
    "positions": lambda seed=0: position_trajectories(
        kepler_contract, *KEPLER, n_trajectories=2, spread=0.01, t_final=2.0, noise=1e-4,
        key=jax.random.key(seed)),
}
FIXED = {"dataset": Dataset, "positions": PositionData}  # what load_data gives back


@pytest.fixture(params=sorted(SOURCES), scope="module")
def kind(request):
    return request.param


@pytest.fixture(scope="module")
def source(kind):
    return SOURCES[kind]()


@eqx.filter_jit
def _draw(batches, state, key, batch_size):
    return batches.sample_clean(state, key, batch_size)


@eqx.filter_jit
def _draw_noisy(batches, state, key, batch_size):
    return batches.sample(state, key, batch_size)


def test_every_source_declares_the_abstract_methods(source):
    assert isinstance(source, AbstractSource)
    loss = source.default_loss()
    assert isinstance(loss, AbstractLoss)
    assert isinstance(loss, PositionLoss if isinstance(source, PositionData) else AccelerationLoss)
    assert source.coordinate_count() == 3
    settings = source.settings()
    assert settings is None or json.loads(json.dumps(settings)) == settings
    q, qdot = source.preview(8)
    assert q.shape == qdot.shape and q.shape[1] == 3 and q.shape[0] >= 1


def test_batches_have_the_shapes_and_dtypes_training_uses(source):
    loss = source.default_loss()
    for dtype in (jnp.float32, jnp.float64):
        batches = loss.batches(source.astype(dtype))
        assert isinstance(batches, AbstractBatches) and batches.dtype == np.dtype(dtype)
        state = batches.init(8)
        state, batch = _draw(batches, state, jax.random.key(1), 8)
        _, again = _draw(batches, state, jax.random.key(2), 8)
        shape = (8, loss.window, 3) if isinstance(loss, PositionLoss) else (8, 3)
        assert [x.shape for x in batch] == [shape] * len(batch)
        assert all(x.dtype == np.dtype(dtype) for x in batch)
        assert all(np.all(np.isfinite(x)) for x in batch)
        # Another key (and state) gives another batch.
        assert not np.array_equal(batch[0], again[0])
        _, noisy = _draw_noisy(batches, batches.init(8), jax.random.key(1), 8)
        assert [x.shape for x in noisy] == [shape] * len(batch)


def test_a_loss_refuses_the_other_kind_of_data(source):
    other = AccelerationLoss() if isinstance(source, PositionData) else PositionLoss()
    with pytest.raises((TypeError, ValueError), match="PositionData|PositionLoss"):
        other.batches(source)


def test_the_coordinate_count_is_checked(source):
    source.check_coordinates(kepler_contract)
    with pytest.raises(DataError, match="the data has 3 coordinates .* has 4"):
        source.check_coordinates(two_particle_2d_contract)


def _old_hash(data) -> str | None:
    # The hash run folders have recorded since data_hash was introduced (run.py, before
    # issue 23): a new source keeps old run folders resumable.
    names = {Dataset: ("q", "qdot", "qddot"), PositionData: ("q", "lengths", "dt")}.get(type(data))
    if names is None:
        return None
    digest = hashlib.sha256()
    for name in names:
        x = np.ascontiguousarray(np.asarray(getattr(data, name)))
        digest.update(f"{name}{x.shape}{x.dtype.str}".encode())
        digest.update(x.tobytes())
    return digest.hexdigest()[:16]


def test_hashing_is_stable_and_tells_data_apart(kind, source):
    assert source.data_hash() == SOURCES[kind]().data_hash() == _old_hash(source)
    if kind in FIXED:
        assert len(source.data_hash()) == 16
        assert SOURCES[kind](seed=1).data_hash() != source.data_hash()
    else:
        assert isinstance(source, AbstractStream) and source.data_hash() is None


def test_saving_into_a_run_folder_and_loading_back(kind, source, tmp_path):
    path = tmp_path / "data.npz"
    written = source.save(path)
    if kind not in FIXED:  # a stream is defined by the configuration, not saved
        assert written is None and not path.exists()
        return
    assert written == path
    loaded = load_data(path, kepler_contract)
    assert type(loaded) is FIXED[kind]
    assert loaded.data_hash() == source.data_hash()
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(source), strict=True):
        np.testing.assert_array_equal(a, b)


class _Stop(Exception):
    pass


def _stop_after_1(epoch, loss, model):
    if epoch == 1:
        raise _Stop


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


def test_a_resumed_run_equals_an_uninterrupted_one(source, tmp_path):
    model = LagrangianNetwork(kepler_contract, width=4, depth=1, key=jax.random.key(1))
    whole = train(model, source, **SETTINGS, checkpoint_dir=tmp_path / "a",
                  key=jax.random.key(2))  # fmt: skip
    with pytest.raises(_Stop):
        train(model, source, **SETTINGS, checkpoint_dir=tmp_path / "b",
              callback=_stop_after_1, key=jax.random.key(2))  # fmt: skip
    resumed = train(model, source, **SETTINGS, checkpoint_dir=tmp_path / "b", resume=True,
                    key=jax.random.key(2))  # fmt: skip
    for a, b in zip(_leaves(whole.model), _leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.losses, resumed.losses)
    assert np.all(np.isfinite(whole.losses))
