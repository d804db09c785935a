"""Evaluation against data: rollouts from each trajectory of a data file, compared with it."""

import jax
import numpy as np
import pytest
from handwritten import kepler_contract

from symnoether.cli import print_table
from symnoether.errors import DataError
from symnoether.numeric.data import Dataset, trajectory_data
from symnoether.numeric.evaluate import evaluate_models
from symnoether.numeric.positions import position_trajectories

Q0, QDOT0 = [1.0, 0.0, 0.0], [0.0, 1.1, 0.1]


def _evaluate(data):
    models = {"copy": kepler_contract.lagrangian}  # the true L as a model: errors ~ 0
    return evaluate_models(kepler_contract, models, Q0, QDOT0, dt=0.01, steps=20,
                           methods=("rk4",), plots=False, data=data)


@pytest.mark.parametrize("make", [trajectory_data, position_trajectories])
def test_rollouts_are_compared_with_the_data(make, capsys):
    data = make(kepler_contract, Q0, QDOT0, t_final=3.0, noise=0.0, dtype=np.float64,
                key=jax.random.key(0))
    metrics = _evaluate(data)
    error = metrics["models"]["copy"]["rk4"]["data_error"]
    assert error["trajectories"] == 1
    # Positions start from a finite-difference velocity (error O(dt^2), dt = 0.1 here);
    # states from the exact one.
    assert error["final"] < (5e-2 if make is position_trajectories else 1e-9)
    assert metrics["true_system"]["rk4"]["data_error"]["rms"] < 5e-2
    print_table(metrics)
    out = capsys.readouterr().out
    assert "|q - q_data|" in out and "true system" in out


def test_a_diverged_model_is_reported_as_such():
    data = trajectory_data(kepler_contract, Q0, QDOT0, t_final=3.0, noise=0.0,
                           dtype=np.float64, key=jax.random.key(0))

    def repulsive(q, qdot):  # falls through the centre: not finite at some point
        return 0.5 * qdot @ qdot - 1e3 / (q @ q) ** 8

    metrics = evaluate_models(kepler_contract, {"bad": repulsive}, Q0, QDOT0, dt=0.01,
                              steps=20, methods=("rk4",), plots=False, data=data)
    error = metrics["models"]["bad"]["rk4"]["data_error"]
    assert error["final"] is None or error["final"] > 0.1


def test_samples_without_times_are_refused():
    data = trajectory_data(kepler_contract, Q0, QDOT0, t_final=3.0, key=jax.random.key(0))
    untimed = Dataset(data.q, data.qdot, data.qddot)
    with pytest.raises(DataError, match="hold no trajectories .* times 't' or of positions"):
        _evaluate(untimed)
