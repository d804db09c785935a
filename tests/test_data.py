"""Training data: trajectories, random states, and validated .npz files."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract, two_particle_2d_contract

from symnoether.errors import DataError
from symnoether.numeric.data import (
    Dataset,
    load_data,
    random_data,
    save_data,
    trajectory_data,
)

Q0, QDOT0 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.1, 0.1])


@pytest.fixture(scope="module")
def exact():
    # float64, no noise: t = 0, 0.1, ..., 20.
    return trajectory_data(
        kepler_contract, Q0, QDOT0, t_final=20.0, noise=0.0, dtype=jnp.float64,
        key=jax.random.key(0),
    )  # fmt: skip


def test_trajectory_follows_the_true_dynamics(exact):
    assert len(exact) == 201 and exact.q.shape == (201, 3)
    np.testing.assert_allclose(exact.t, 0.1 * np.arange(201), rtol=1e-12)
    np.testing.assert_array_equal(exact.q[0], Q0)
    want = jax.jit(jax.vmap(kepler_contract.acceleration))(exact.q, exact.qdot)
    np.testing.assert_allclose(exact.qddot, want, rtol=1e-12)
    # RK4 at dt 0.01 keeps energy and angular momentum to about 1e-8 over 20 time units.
    energy, charges = jax.jit(
        jax.vmap(
            lambda q, v: (kepler_contract.true_energy(q, v), kepler_contract.true_charges(q, v))
        )
    )(exact.q, exact.qdot)
    assert np.max(np.abs(energy - energy[0])) < 1e-7
    assert np.max(np.abs(charges - charges[0])) < 1e-7


def test_trajectory_noise_is_seeded_and_has_the_right_size(exact):
    def noisy(seed):
        return trajectory_data(
            kepler_contract, Q0, QDOT0, t_final=20.0, noise=1e-3, dtype=jnp.float64,
            key=jax.random.key(seed),
        )  # fmt: skip

    a, b, c = noisy(1), noisy(1), noisy(2)
    np.testing.assert_array_equal(a.q, b.q)
    assert not np.array_equal(a.q, c.q)
    for name in ("q", "qdot", "qddot"):
        residual = getattr(a, name) - getattr(exact, name)
        assert 0.8e-3 < np.std(residual) < 1.2e-3
    np.testing.assert_array_equal(a.t, exact.t)


def test_float32_by_default():
    data = trajectory_data(kepler_contract, Q0, QDOT0, t_final=1.0, key=jax.random.key(0))
    assert {x.dtype for x in (data.q, data.qdot, data.qddot, data.t)} == {np.dtype("float32")}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dt": 0.03}, "whole multiple of dt"),
        ({"t_final": 0.05}, "fewer than 2 samples"),
        ({"noise": -1.0}, "noise must be >= 0"),
    ],
)
def test_trajectory_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trajectory_data(
            kepler_contract, Q0, QDOT0, **{"t_final": 1.0, **kwargs}, key=jax.random.key(0)
        )


def test_initial_state_shape_is_checked():
    with pytest.raises(ValueError, match=r"q0 must have shape \(3,\)"):
        trajectory_data(kepler_contract, [1.0, 0.0], QDOT0, key=jax.random.key(0))


def test_random_data():
    data = random_data(two_particle_2d_contract, 50, noise=0.0, key=jax.random.key(0))
    assert data.q.shape == (50, 4) and data.t is None and data.q.dtype == jnp.float32
    want = jax.jit(jax.vmap(two_particle_2d_contract.acceleration))(data.q, data.qdot)
    np.testing.assert_allclose(data.qddot, want, rtol=1e-5, atol=1e-6)

    def sampler(key):
        return jnp.ones(4) + jax.random.uniform(key, (4,)), jnp.zeros(4)

    data = random_data(two_particle_2d_contract, 8, sampler=sampler, key=jax.random.key(0))
    assert np.all(np.abs(data.qdot) < 0.01) and np.all(data.q > 0.99)


def test_random_data_rejects_singular_states():
    def origin(key):
        return jnp.zeros(3), jnp.ones(3)

    with pytest.raises(ValueError, match="8 of 8 samples of 'kepler' have non-finite"):
        random_data(kepler_contract, 8, sampler=origin, key=jax.random.key(0))


@pytest.mark.parametrize("with_t", [True, False])
def test_save_load_round_trip(tmp_path, exact, with_t):
    data = exact if with_t else Dataset(exact.q, exact.qdot, exact.qddot)
    path = save_data(tmp_path / "data.npz", data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.npz"]  # no temporary left
    back = load_data(path, kepler_contract)
    for name in ("q", "qdot", "qddot", "t"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    assert back.q.dtype == jnp.float64


def _write(tmp_path, **arrays):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


GOOD = np.zeros((5, 3))


@pytest.mark.parametrize(
    "arrays, error, match",
    [
        ({"q": GOOD, "qdot": GOOD}, ValueError, r"missing arrays \['qddot'\]"),
        ({"q": GOOD, "qdot": GOOD, "qddot": np.zeros((5, 2))}, ValueError, r"expected \(N, 3\)"),
        ({"q": GOOD[0], "qdot": GOOD, "qddot": GOOD}, ValueError, r"'q' has shape \(3,\)"),
        ({"q": GOOD, "qdot": GOOD, "qddot": np.zeros((4, 3))}, ValueError, "different numbers"),
        ({"q": GOOD, "qdot": GOOD, "qddot": GOOD, "t": GOOD}, ValueError, r"'t' has shape"),
        ({"q": GOOD, "qdot": GOOD + np.nan, "qddot": GOOD}, ValueError, "15 non-finite"),
        ({"q": GOOD.astype(int), "qdot": GOOD, "qddot": GOOD}, TypeError, "floating dtype"),
    ],
    ids=["missing", "columns", "1-d", "lengths", "t-shape", "nan", "int"],
)
def test_bad_files_are_rejected(tmp_path, arrays, error, match):
    with pytest.raises(error, match=match):
        load_data(_write(tmp_path, **arrays), kepler_contract)


def test_unreadable_file(tmp_path):
    path = tmp_path / "data.npz"
    path.write_text("not an archive")
    with pytest.raises(ValueError, match="cannot read .* as a .npz archive"):
        load_data(path, kepler_contract)
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "missing.npz", kepler_contract)


def test_dataset_shapes_are_checked():
    with pytest.raises(ValueError, match="must share one shape"):
        Dataset(GOOD, GOOD, np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"t must have shape \(5,\)"):
        Dataset(GOOD, GOOD, GOOD, t=np.zeros(4))
