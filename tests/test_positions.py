"""Learning from positions: data, validation, the discrete Euler-Lagrange rollout, the
implicit-function gradient and the scale of the loss."""

import functools
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract

from symnoether.numeric.data import Dataset, load_data
from symnoether.numeric.integrate import integrate
from symnoether.numeric.natural import NaturalLagrangianNetwork
from symnoether.numeric.network import LagrangianNetwork
from symnoether.numeric.position_loss import (
    PositionLoss,
    discrete_rollout,
    implicit_newton,
    indefinite_fraction,
    mean_mass_trace,
    normalize_scale,
)
from symnoether.numeric.positions import (
    PositionData,
    load_positions,
    position_data,
    position_trajectories,
    save_positions,
    smoothed_positions,
)
from symnoether.numeric.train import train

Q0, QDOT0 = [1.0, 0.0, 0.0], [0.0, 1.2, 0.1]


@pytest.fixture(scope="module")
def clean():
    return position_trajectories(
        kepler_contract, Q0, QDOT0, n_trajectories=3, spread=0.05, t_final=3.0, noise=0.0,
        dtype=jnp.float64, key=jax.random.key(0),
    )  # fmt: skip


def _net(width=8, key=1):
    return LagrangianNetwork(kepler_contract, width=width, dtype=jnp.float64,
                             key=jax.random.key(key))  # fmt: skip


# -- data --------------------------------------------------------------------------------


def test_a_list_of_trajectories_is_padded_with_lengths_and_windows():
    a, b = np.arange(15.0).reshape(5, 3), np.arange(9.0).reshape(3, 3) + 100
    data = position_data([a, b], dt=0.1)
    assert data.q.shape == (2, 5, 3) and data.lengths.tolist() == [5, 3] and data.dt == 0.1
    np.testing.assert_array_equal(data.q[1, 3:], np.repeat(b[-1:], 2, 0))  # last sample
    assert data.mask.tolist() == [[True] * 5, [True] * 3 + [False] * 2]
    windows = data.windows(3)
    assert windows.shape == (3 + 1, 3, 3)  # 3 windows in a, 1 in b: never into padding
    np.testing.assert_array_equal(windows[-1], b)
    with pytest.raises(ValueError, match="no trajectory has the 6 consecutive samples"):
        data.windows(6)
    assert position_data(a, dt=0.1).q.shape == (1, 5, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(q=jnp.zeros((5, 3)), dt=0.1, lengths=jnp.array([5])), r"shape \(B, T, n\)"),
        (dict(q=jnp.zeros((1, 5, 3)), dt=0.0, lengths=jnp.array([5])), "dt must be a positive"),
        (dict(q=jnp.zeros((1, 5, 3)), dt=0.1, lengths=jnp.array([2])), "3 to T = 5 samples"),
        (dict(q=jnp.zeros((1, 5, 3)), dt=0.1, lengths=jnp.array([5, 5])), "lengths must be"),
    ],
)
def test_position_data_checks_its_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PositionData(**kwargs)


def test_generated_trajectories_are_the_true_ones_plus_position_noise(clean):
    assert clean.q.shape == (3, 31, 3) and clean.dt == pytest.approx(0.1)
    initial = np.asarray(clean.q[:, 0])  # drawn around Q0: all different
    assert np.all(np.abs(initial - Q0) < 0.3) and np.ptp(initial, axis=0).max() > 0
    # Given initial states (B, n); the noise is on the positions only.
    noisy, exact = (
        position_trajectories(kepler_contract, initial, _initial_velocities(), t_final=3.0,
                              noise=noise, dtype=jnp.float64, key=jax.random.key(5))
        for noise in (1e-3, 0.0)
    )  # fmt: skip
    assert np.std(np.asarray(noisy.q - exact.q)) == pytest.approx(1e-3, rel=0.2)
    with pytest.raises(ValueError, match="whole multiple of dt"):
        position_trajectories(kepler_contract, Q0, QDOT0, sample_every=0.015, key=jax.random.key(0))
    with pytest.raises(ValueError, match="fewer than 3 samples"):
        position_trajectories(kepler_contract, Q0, QDOT0, t_final=0.1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="not finite"):
        position_trajectories(kepler_contract, [0.0, 0, 0], QDOT0, t_final=1.0,
                              key=jax.random.key(0))  # fmt: skip


def _initial_velocities():
    return jnp.array([[0.0, 1.2, 0.1], [0.0, 1.1, 0.0], [0.1, 1.3, 0.0]])


# -- files -------------------------------------------------------------------------------


def test_save_load_round_trip_and_load_data_recognises_positions(tmp_path):
    data = position_data([np.ones((6, 3)), np.zeros((4, 3))], dt=0.25)
    path = save_positions(tmp_path / "pos.npz", data)
    for loaded in (load_positions(path, kepler_contract), load_data(path, kepler_contract)):
        assert isinstance(loaded, PositionData) and loaded.dt == 0.25
        np.testing.assert_array_equal(loaded.q, data.q)
        np.testing.assert_array_equal(loaded.lengths, data.lengths)


def test_times_padding_and_one_trajectory(tmp_path):
    q = np.random.default_rng(0).normal(size=(2, 6, 3))
    q[1, 4:] = np.nan  # padding may hold anything
    path = tmp_path / "t.npz"
    np.savez(path, q=q, t=0.5 + 0.2 * np.arange(6), lengths=np.array([6, 4]))
    data = load_positions(path, kepler_contract)
    assert data.dt == pytest.approx(0.2) and np.all(np.isfinite(data.q))
    np.testing.assert_array_equal(data.q[1, 4:], np.repeat(q[1, 3:4], 2, 0))
    np.savez(path, q=q[0], dt=0.1)
    assert load_positions(path, kepler_contract).q.shape == (1, 6, 3)


@pytest.mark.parametrize(
    "arrays, error, match",
    [
        (dict(q=np.zeros((5, 3))), ValueError, "exactly one of 'dt'"),
        (dict(q=np.zeros((5, 3)), dt=0.1, t=np.arange(5.0)), ValueError, "exactly one of 'dt'"),
        (dict(q=np.zeros((5, 2)), dt=0.1), ValueError, r"expected \(T, 3\)"),
        (dict(q=np.zeros((5, 3)), dt=-1.0), ValueError, "positive finite scalar"),
        (dict(q=np.zeros((5, 3)), t=np.array([0, 0.1, 0.2, 0.4, 0.5])), ValueError,
         "not uniformly spaced"),
        (dict(q=np.zeros((5, 3)), t=np.arange(4.0)), ValueError, r"'t' has shape \(4,\)"),
        (dict(q=np.full((5, 3), np.nan), dt=0.1), ValueError, "15 non-finite values"),
        (dict(q=np.zeros((2, 5, 3)), dt=0.1, lengths=np.array([5, 2])), ValueError,
         "'lengths' must lie in 3..T = 5"),
        (dict(q=np.zeros((5, 3), int), dt=0.1), TypeError, "'q' has dtype int64"),
        (dict(x=np.zeros(3)), ValueError, "no array 'q'"),
    ],
)  # fmt: skip
def test_invalid_positions_files_say_what_is_wrong(tmp_path, arrays, error, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(error, match=match):
        load_positions(path, kepler_contract)


def test_a_file_with_some_but_not_all_of_the_state_arrays_is_not_positions(tmp_path):
    path = tmp_path / "half.npz"
    np.savez(path, q=np.zeros((5, 3)), qdot=np.zeros((5, 3)), dt=0.1)
    with pytest.raises(ValueError, match=r"missing arrays \['qddot'\]"):
        load_data(path, kepler_contract)


# -- the discrete Euler-Lagrange rollout -------------------------------------------------


def test_smoothing_keeps_polynomials_lowers_noise_and_refuses_short_data():
    # Savitzky-Golay of degree 4 reproduces a quartic exactly (ends included), padding
    # included; on noise it lowers the second differences' spread, which the loss sees.
    t = np.arange(40) * 0.1
    quartic = np.stack([1 + t - 0.3 * t**2 + 0.05 * t**4, 0.2 * t**3], -1)
    data = position_data([quartic, quartic[:25]], dt=0.1)
    smooth = smoothed_positions(data, 11, 4)
    np.testing.assert_allclose(smooth.q, data.q, atol=1e-10)
    noise = np.random.default_rng(0).normal(size=(1, 200, 2))
    rough = position_data(list(noise), dt=0.1)
    second = [np.diff(np.asarray(d.q)[0], 2, axis=0).std()
              for d in (rough, smoothed_positions(rough, 21, 6))]  # fmt: skip
    assert second[1] < 0.2 * second[0]  # (about 0.1)
    assert smoothed_positions(rough, 1) is rough
    with pytest.raises(ValueError, match="shorter than the smoothing window"):
        smoothed_positions(data, 31, 4)
    with pytest.raises(ValueError, match="odd int"):
        PositionLoss(smooth_window=4)
    # The loss smooths what it draws, and a resumed run must match its smoothing.
    loss = PositionLoss(smooth_window=11, smooth_degree=4)
    np.testing.assert_allclose(loss.batches(data).arrays[0], smooth.windows(3), atol=1e-12)
    assert loss.settings(data)["smooth"] == [11, 4]
    assert "smooth" not in PositionLoss().settings(data)


def test_rollout_from_two_positions_is_the_variational_integrator():
    # From (q0, qdot0) the integrator gives q1, q2, ...; from (q0, q1) the rollout must
    # give the same q2, q3, ...: one residual, two uses.
    qs, _ = integrate(kepler_contract.lagrangian, jnp.array(Q0), jnp.array(QDOT0), dt=0.1,
                      steps=20, method="variational")  # fmt: skip
    rollout = jax.jit(functools.partial(discrete_rollout, kepler_contract.lagrangian, dt=0.1,
                                        steps=19))  # fmt: skip
    predicted, residuals = rollout(qs[0], qs[1])
    np.testing.assert_allclose(predicted, qs[2:], atol=1e-12)
    assert np.all(residuals < 1e-13)


def test_implicit_gradient_matches_finite_differences():
    def fn(x, a):
        return x**3 + a[0] * x - a[1], jnp.asarray(1.0), None

    @jax.jit
    def solution(a):
        return implicit_newton(fn, jnp.ones(2), a, tol=1e-14, max_iter=50)[0] @ jnp.array([1.0, 2])

    a = jnp.array([[1.0, 2.0], [3.0, 5.0]])
    _check_directional(solution, a, jax.grad(solution)(a), rtol=1e-7)


@pytest.mark.slow
def test_rollout_gradient_in_the_network_weights_matches_finite_differences(clean):
    windows = jnp.asarray(clean.windows(5)[::7])
    model = normalize_scale(_net(), windows, clean.dt)
    loss = PositionLoss(steps=3)
    params, static = eqx.partition(model, eqx.is_inexact_array)

    @jax.jit
    def f(p):
        return loss(eqx.combine(p, static), windows, clean.dt)

    _check_directional(f, params, jax.grad(f)(params), rtol=1e-6)


def _check_directional(f, x, gradient, rtol, eps=1e-6):
    leaves, tree = jax.tree.flatten(x)
    keys = jax.random.split(jax.random.key(3), len(leaves))
    d = jax.tree.unflatten(tree, [jax.random.normal(k, y.shape, y.dtype)
                                  for k, y in zip(keys, leaves)])  # fmt: skip
    ad = sum(jnp.vdot(g, e) for g, e in zip(jax.tree.leaves(gradient), jax.tree.leaves(d)))
    fd = (f(jax.tree.map(lambda a, b: a + eps * b, x, d))
          - f(jax.tree.map(lambda a, b: a - eps * b, x, d))) / (2 * eps)  # fmt: skip
    np.testing.assert_allclose(ad, fd, rtol=rtol)


# -- the degeneracy: L -> cL ---------------------------------------------------------------


def test_fit_is_scale_invariant_and_the_scale_term_fixes_the_scale(clean):
    windows = jnp.asarray(clean.windows(4))
    true = kepler_contract.lagrangian

    @functools.partial(jax.jit, static_argnums=1)
    def loss(c, weight):
        return PositionLoss(steps=2, scale_weight=weight)(lambda q, v: c * true(q, v), windows,
                                                          clean.dt)  # fmt: skip

    base = loss(1.0, 0.0)
    for c in (3.0, -0.5):
        np.testing.assert_allclose(loss(c, 0.0), base, rtol=1e-8)
    # The true Lagrangian has mass 1, so the scale term adds nothing to it, and (c - 1)^2
    # to c L.
    np.testing.assert_allclose(loss(1.0, 1.0), base, rtol=1e-12)
    np.testing.assert_allclose(loss(3.0, 1.0) - base, 4.0, rtol=1e-8)


def test_projection_holds_the_scale_and_leaves_the_fit(clean):
    # A model that can rescale itself has its scale reset after every step (`project`):
    # mean mass 1 on the batch, the same fit; it has no scale term, which would pull on the
    # shape of M(q).
    windows = jnp.asarray(clean.windows(3))[::4]
    full, fit = PositionLoss(steps=1), PositionLoss(steps=1, scale_weight=0.0)

    @eqx.filter_jit
    def figures(model):
        projected = full.project(model, windows, clean.dt)
        return (mean_mass_trace(projected, windows, clean.dt), fit(projected, windows, clean.dt),
                fit(model, windows, clean.dt), full(model, windows, clean.dt))  # fmt: skip

    for model in (NaturalLagrangianNetwork(kepler_contract, width=8, key=jax.random.key(2)),
                  _net(key=2)):  # fmt: skip
        model = model.rescaled(1.7 / float(eqx.filter_jit(mean_mass_trace)(model, windows,
                                                                          clean.dt)))
        trace, fit_projected, fit_model, full_model = figures(model)
        np.testing.assert_allclose(trace, 1.0, rtol=1e-6)
        np.testing.assert_allclose(fit_projected, fit_model, rtol=1e-5)
        # No scale term: the same loss as without one.
        np.testing.assert_array_equal(full_model, fit_model)
    # A plain function cannot rescale: the term is differentiated, `project` is the identity.
    true = kepler_contract.lagrangian
    assert PositionLoss().project(true, windows, clean.dt) is true


def test_normalize_scale_sets_mean_mass_one_and_a_positive_sign(clean):
    windows = jnp.asarray(clean.windows(3))
    model = _net(key=1)
    flipped = eqx.tree_at(lambda m: m.mlp.layers[-1].weight, model, -model.mlp.layers[-1].weight)
    for m in (model, flipped):
        normalized = normalize_scale(m, windows, clean.dt)
        trace = eqx.filter_jit(mean_mass_trace)(normalized, windows, clean.dt)
        np.testing.assert_allclose(trace, 1.0, rtol=1e-12)
        # A constant factor times the original: the same dynamics (L -> cL, tested above).
        ratio = normalized.mlp.layers[-1].weight / model.mlp.layers[-1].weight
        np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-12)
        assert ratio[0, 0] != 0


def test_failed_solves_score_the_constant_velocity_guess_without_gradient(clean):
    # L = a xdot y has a singular Jacobian and no solution: every solve fails.
    windows = jnp.asarray(clean.windows(3))
    loss = PositionLoss(steps=1, scale_weight=0.0)

    def degenerate(q, qdot, a=1.0):
        return a * qdot[0] * q[1]

    _, residuals = discrete_rollout(degenerate, windows[0, 0], windows[0, 1], dt=0.1, steps=1)
    assert not residuals[0] <= 1e-3  # the solve fails (its best iterate is the guess)

    value, grad = jax.jit(jax.value_and_grad(
        lambda a: loss(functools.partial(degenerate, a=a), windows, clean.dt)))(1.0)  # fmt: skip
    guess = 2 * windows[:, 1] - windows[:, 0]
    expected = jnp.mean((guess - windows[:, 2]) ** 2) / clean.dt**4
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    assert grad == 0
    with pytest.raises(ValueError, match="steps"):
        PositionLoss(steps=0)
    with pytest.raises(ValueError, match="scale_weight"):
        PositionLoss(scale_weight=-1.0)


# -- training ------------------------------------------------------------------------------

# Small float32 settings shared by the training tests, so that they share one compiled epoch.
SETTINGS = dict(epochs=3, steps_per_epoch=10, batch_size=16, learning_rate=1e-2, progress=False)


@pytest.fixture(scope="module")
def measured():
    return position_trajectories(kepler_contract, Q0, QDOT0, n_trajectories=2, spread=0.05,
                                 t_final=10.0, key=jax.random.key(0))  # fmt: skip


def _small(scale=1.0):
    model = LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(1))
    weight = model.mlp.layers[-1].weight
    return eqx.tree_at(lambda m: m.mlp.layers[-1].weight, model, scale * weight)


class _Stop(Exception):
    pass


def test_training_on_positions_fits_without_collapse_and_resumes_bit_identically(
    measured, tmp_path
):
    windows = jnp.asarray(measured.windows(3))
    # Started far too small (L ~ 1e-4 L0) and of either sign: training runs at mean mass 1.
    whole = train(_small(-1e-4), measured, checkpoint_dir=tmp_path / "a", key=jax.random.key(2),
                  **SETTINGS)  # fmt: skip
    assert whole.losses[-1] < 0.5 * whole.losses[0]
    assert 0.8 < float(mean_mass_trace(whole.model, windows, measured.dt)) < 1.25
    assert json.loads((tmp_path / "a/checkpoint.json").read_text())["settings"]["loss"][
        "kind"] == "positions"  # fmt: skip

    def stop(epoch, loss, model):
        if epoch == 2:
            raise _Stop

    with pytest.raises(_Stop):
        train(_small(-1e-4), measured, checkpoint_dir=tmp_path / "b", callback=stop,
              key=jax.random.key(2), **SETTINGS)  # fmt: skip
    resumed = train(_small(-1e-4), measured, checkpoint_dir=tmp_path / "b", resume=True,
                    key=jax.random.key(2), **SETTINGS)  # fmt: skip
    for a, b in zip(jax.tree.leaves(eqx.filter(whole.model, eqx.is_array)),
                    jax.tree.leaves(eqx.filter(resumed.model, eqx.is_array))):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.losses, resumed.losses)
    with pytest.raises(ValueError, match="loss was"):
        train(_small(), measured, checkpoint_dir=tmp_path / "b", resume=True,
              loss=PositionLoss(steps=2), key=jax.random.key(2), **SETTINGS)  # fmt: skip
    with pytest.raises(ValueError, match="loss= is the loss on positions"):
        train(_small(), _states(measured), loss=PositionLoss(), key=jax.random.key(2), **SETTINGS)


def _states(data):
    q, qdot = data.states()
    return Dataset(jnp.asarray(q), jnp.asarray(qdot), jnp.zeros_like(jnp.asarray(q)))


def test_indefinite_fraction_counts_states_without_a_positive_definite_mass(clean):
    windows = jnp.asarray(clean.windows(3)[::5])
    assert indefinite_fraction(kepler_contract.lagrangian, windows, clean.dt) == 0

    def saddle(q, qdot):
        return 0.5 * (qdot[0] ** 2 + qdot[1] ** 2 - qdot[2] ** 2) + 1 / jnp.sqrt(q @ q)

    assert indefinite_fraction(saddle, windows, clean.dt) == 1
