"""Streaming training data: fresh samples and noise per batch, determinism, the trajectory
lanes, the Kepler orbit sampler, checkpoints and resume, configuration."""

import json
import types

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract, two_particle_2d_contract

from symnoether.numeric.integrate import RK4, LagrangianTerm, integrate
from symnoether.numeric.run import TrainConfig, train_run
from symnoether.numeric.stream import (
    StateStream,
    TrajectoryStream,
    kepler_orbit_sampler,
    state_stream,
    trajectory_stream,
)
from symnoether.numeric.train import train

Q0, QDOT0 = [0.6, 0.1, -0.5, 0.0], [0.0, 0.5, 0.1, -0.6]
KEPLER = ([1 / 1.8, 0.0, 0.0], [0.0, 1.8, 0.0])  # the reference's: e = 0.8, l = 1
SETTINGS = dict(epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2, progress=False)
CONFIG = TrainConfig(width=8, epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2)


def _stream(noise=1e-3, window=64):
    return trajectory_stream(two_particle_2d_contract, Q0, QDOT0, window=window, noise=noise)


@eqx.filter_jit
def _scan(stream, state, keys, batch_size):
    return jax.lax.scan(lambda st, k: stream.sample(st, k, batch_size), state, keys)


def _batches(stream, n, seed=0, batch_size=16):
    # The batches of n steps, as a list of (q, qdot, qddot); one jitted scan, as in training.
    key = jax.random.key(seed)
    state, stacked = _scan(stream, stream.init(batch_size), jax.random.split(key, n), batch_size)
    return state, [tuple(x[i] for x in stacked) for i in range(n)]


def test_trajectory_lanes_follow_the_true_flow():
    stream = _stream(noise=0.0)
    state0 = stream.init(16)
    assert isinstance(stream, TrajectoryStream) and state0.q.shape == (10, 16, 4)
    # Every lane starts at its own point: no two lanes share a state (or a time).
    flat = np.asarray(state0.q).reshape(-1, 4)
    assert len(np.unique(flat.round(12), axis=0)) == len(flat)
    # Column i starts where the one trajectory is at time i * window * sample_every / batch.
    # Lane (g, i) then takes a step of (10 i + g) / 160 of dt, so that no time repeats.
    qs, qdots = integrate(two_particle_2d_contract.lagrangian, jnp.asarray(Q0, jnp.float32),
                          jnp.asarray(QDOT0, jnp.float32),
                          dt=0.01, steps=40, method=RK4(), save_every=40,
                          acceleration=two_particle_2d_contract.acceleration)  # fmt: skip
    np.testing.assert_allclose(state0.q[0, 0], qs[0], atol=1e-6)
    term = LagrangianTerm(None, two_particle_2d_contract.acceleration)
    (q, _), _ = RK4().step(term, (qs[1], qdots[1]), 0.01 * 17 / 160)
    np.testing.assert_allclose(state0.q[1, 1], q, atol=1e-6)
    assert np.abs(state0.q[1, 1] - qs[1]).max() > 1e-5
    # Group g comes out at steps g, g + 10, ...: 10 RK4 steps (0.1 in time) apart.
    _, batches = _batches(stream, 11)
    np.testing.assert_array_equal(batches[0][0], state0.q[0])
    lane, _ = integrate(two_particle_2d_contract.lagrangian, state0.q[0, 3], state0.qdot[0, 3],
                        dt=0.01, steps=10,
                        method=RK4(), save_every=10,
                        acceleration=two_particle_2d_contract.acceleration)  # fmt: skip
    np.testing.assert_allclose(batches[10][0][3], lane[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        batches[0][2], jax.vmap(two_particle_2d_contract.acceleration)(*batches[0][:2]), rtol=1e-6
    )


def test_fresh_noise_every_batch_and_deterministic_given_the_key():
    clean = _batches(_stream(noise=0.0), 21)[1]
    noisy = _batches(_stream(), 21)[1]
    again = _batches(_stream(), 21)[1]
    other = _batches(_stream(), 21, seed=1)[1]
    for c, a, b, o in zip(clean, noisy, again, other, strict=True):
        for x in range(3):
            np.testing.assert_array_equal(a[x], b[x])
            assert not np.array_equal(a[x], o[x])
            assert 2e-4 < np.std(np.asarray(a[x]) - np.asarray(c[x])) < 5e-3
    # The same lane, seen again after sample_every, gets new noise: the samples never repeat.
    assert not np.array_equal(noisy[0][0] - clean[0][0], noisy[10][0] - clean[10][0])


def test_kepler_orbit_sampler_is_the_reference_orbit():
    sampler = kepler_orbit_sampler(*KEPLER)
    assert sampler.eccentricity == pytest.approx(0.8) and sampler.angular_momentum == 1
    q, qdot = jax.vmap(sampler)(jax.random.split(jax.random.key(0), 4096))
    q, qdot = np.asarray(q, np.float64), np.asarray(qdot, np.float64)
    r = np.linalg.norm(q, axis=1)
    energy = 0.5 * np.sum(qdot**2, axis=1) - 1 / r
    np.testing.assert_allclose(energy, -(1 - 0.8**2) / 2, rtol=1e-5)
    np.testing.assert_allclose(np.cross(q, qdot), np.tile([0, 0, 1.0], (4096, 1)), atol=1e-5)
    assert r.min() == pytest.approx(1 / 1.8, rel=1e-3) and r.max() == pytest.approx(5, rel=1e-3)
    # Uniform in the angle: as many samples with phi > 0 (y > 0) as below.
    assert abs(np.mean(q[:, 1] > 0) - 0.5) < 0.03
    stream = state_stream(kepler_contract, sampler)
    assert isinstance(stream, StateStream)
    _, batch = stream.sample(None, jax.random.key(1), 64)
    np.testing.assert_allclose(batch[2], -batch[0] / np.linalg.norm(batch[0], axis=1,
                               keepdims=True) ** 3, atol=0.05)  # fmt: skip
    with pytest.raises(ValueError, match="not bound"):
        kepler_orbit_sampler([1.0, 0, 0], [0, 2.0, 0])


def test_stream_errors():
    with pytest.raises(ValueError, match="whole multiple of dt"):
        trajectory_stream(two_particle_2d_contract, Q0, QDOT0, dt=0.03)
    with pytest.raises(ValueError, match="noise"):
        trajectory_stream(two_particle_2d_contract, Q0, QDOT0, noise=float("nan"))
    with pytest.raises(ValueError, match="window"):
        trajectory_stream(two_particle_2d_contract, Q0, QDOT0, window=0)
    with pytest.raises(ValueError, match="shape"):
        trajectory_stream(two_particle_2d_contract, Q0[:3], QDOT0)
    with pytest.raises(ValueError, match="3 coordinates per state"):
        train(CONFIG.make_network(two_particle_2d_contract, key=jax.random.key(0)),
              state_stream(kepler_contract, kepler_orbit_sampler(*KEPLER)),
              **SETTINGS, key=jax.random.key(0))  # fmt: skip


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


class _Stop(Exception):
    pass


def _stop_after_2(done, loss, model):
    if done == 2:
        raise _Stop


@pytest.mark.parametrize("kind", ["trajectory", "kepler_orbit"])
def test_stream_training_resumes_bit_identically(kind, tmp_path):
    if kind == "trajectory":
        module, stream = two_particle_2d_contract, _stream()
    else:
        module, stream = kepler_contract, state_stream(kepler_contract,
                                                       kepler_orbit_sampler(*KEPLER))  # fmt: skip

    def model():
        return CONFIG.make_network(module, key=jax.random.key(1))

    whole = train(model(), stream, **SETTINGS, checkpoint_dir=tmp_path / "a", key=jax.random.key(2))
    assert whole.losses[-1] < whole.losses[0]
    with pytest.raises(_Stop):
        train(model(), stream, **SETTINGS, checkpoint_dir=tmp_path / "b",
              callback=_stop_after_2, key=jax.random.key(2))  # fmt: skip
    resumed = train(model(), stream, **SETTINGS, checkpoint_dir=tmp_path / "b", resume=True,
                    key=jax.random.key(2))  # fmt: skip
    for a, b in zip(_leaves(whole.model), _leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.losses, resumed.losses)
    settings = json.loads((tmp_path / "a" / "checkpoint.json").read_text())["settings"]
    assert settings["data"]["kind"] == ("trajectory" if kind == "trajectory" else "states")
    # Another stream is another run: resuming with it is refused by name.
    other = _stream(noise=2e-3) if kind == "trajectory" else state_stream(
        kepler_contract, kepler_orbit_sampler(*KEPLER), noise=2e-3)  # fmt: skip
    with pytest.raises(ValueError, match="data was"):
        train(model(), other, **SETTINGS, checkpoint_dir=tmp_path / "b", resume=True,
              key=jax.random.key(2))  # fmt: skip


def test_config_makes_streams_and_train_run_keeps_no_data_file(tmp_path):
    config = TrainConfig(**{**CONFIG.to_dict(), "data": "stream", "stream_window": 64})
    stream = config.make_data(two_particle_2d_contract, Q0, QDOT0, key=jax.random.key(0))
    assert isinstance(stream, TrajectoryStream) and stream.window == 64
    run = train_run(tmp_path, two_particle_2d_contract, stream, config,
                    variants=("invariant",), progress=False,
                    initial_state=(Q0, QDOT0))  # fmt: skip
    assert not (tmp_path / "data.npz").exists() and run.losses["invariant"].shape == (3,)
    kepler = TrainConfig(data="kepler_orbit").make_data(kepler_contract, *KEPLER,
                                                        key=jax.random.key(0))  # fmt: skip
    assert isinstance(kepler, StateStream)
    # Another 3D system (twice the Kepler force): its orbit is not the analytic one.
    stronger = types.ModuleType("stronger")
    stronger.__dict__.update(vars(kepler_contract))
    stronger.acceleration = lambda q, qdot: 2 * kepler_contract.acceleration(q, qdot)
    with pytest.raises(ValueError, match="Kepler problem"):
        TrainConfig(data="kepler_orbit").make_data(stronger, *KEPLER, key=jax.random.key(0))
    with pytest.raises(ValueError, match="3D state"):
        TrainConfig(data="kepler_orbit").make_data(
            two_particle_2d_contract, Q0, QDOT0, key=jax.random.key(0)
        )
    with pytest.raises(ValueError, match="data must be one of"):
        TrainConfig(data="streaming")
