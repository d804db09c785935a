"""The evaluation figures stay readable: bounded axes, few legend entries, integer epoch
ticks, honest titles (checked on the Matplotlib objects, nothing is rendered)."""

from types import ModuleType

import numpy as np

from symnoether.numeric.curves import TRUE, Curves
from symnoether.numeric.plots import MAX_BLOCKS, MAX_RELATIVE_DRIFT, figures

T = 200


def _module(blocks: int = 1, lagrangian: bool = True, charges=("angular_momentum",)):
    module = ModuleType("fake_model")
    names = [f"{axis}{b}" for b in range(1, blocks + 1) for axis in "xy"]
    module.SYSTEM_NAME = "fake"
    module.COORDINATE_NAMES = tuple(names)
    module.CHARGE_NAMES = tuple(charges)
    module.HAS_LAGRANGIAN = lagrangian
    if blocks > 1:
        module.BLOCKS = {f"x{b}": (f"x{b}", f"y{b}") for b in range(1, blocks + 1)}
    return module


def _curves(qs, drift=1e-6, error=None):
    ts = np.linspace(0.0, 10.0, len(qs))
    k = 1
    return Curves(
        ts=ts, qs=qs, qdots=np.zeros_like(qs), charge_drift=np.full((len(ts), k), drift),
        charge_relative=np.ones(k, bool), true_charge_drift=None, true_charge_relative=None,
        energy_drift=np.full(len(ts), drift), energy_relative=True, true_energy_drift=None,
        true_energy_relative=None, error=error, charges0=np.ones(k), energy0=1.0, newton=None,
        seconds=0.0, vector_drift=np.full(len(ts), drift), true_vector_drift=None,
        mass_matrix={},
    )


def _circle(blocks=1):
    angle = np.linspace(0, 2 * np.pi, T)
    return np.concatenate([np.stack([np.cos(angle), np.sin(angle)], 1) * (b + 1)
                           for b in range(blocks)], axis=1)


def _diverged(blocks=1):
    qs = _circle(blocks)
    qs[T // 2:] *= np.geomspace(1, 1e17, T - T // 2)[:, None]
    return qs


def _all(module, blocks=1, lagrangian=True):
    true = _circle(blocks)
    error = np.linalg.norm(_diverged(blocks) - true, axis=-1)
    curves = {"invariant": {"rk4": _curves(_circle(blocks), error=np.zeros(T))},
              "unconstrained": {"rk4": _curves(_diverged(blocks), drift=1e17, error=error)}}
    if lagrangian:
        curves[TRUE] = {"rk4": _curves(true, error=np.zeros(T))}
    losses = {"invariant": np.geomspace(1, 1e-3, 3), "unconstrained": np.geomspace(1, 1e-2, 3)}
    return figures(module, curves, losses)


def test_a_diverged_model_does_not_set_the_axes_and_is_marked():
    figs = _all(_module())
    ax = figs["trajectories.png"].axes[1]  # the unconstrained network's panel
    assert ax.get_xlim()[1] < 2 and ax.get_ylim()[1] < 2  # the true orbit's range: +-1.5
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0].startswith("network (leaves the plot at t = ")
    assert labels[-1] == "true system"  # last, after the network's blocks
    error_ax = figs["trajectory_error.png"].axes[0]
    assert error_ax.get_ylim()[1] <= 10.0 + 1e-9  # 10 x the true orbit's radius, not 1e17
    assert any("off the scale" in t.get_text() for t in error_ax.get_legend().get_texts())
    drift_ax = figs["energy_drift.png"].axes[1]
    assert drift_ax.get_ylim()[1] == MAX_RELATIVE_DRIFT


def test_many_blocks_are_summarised():
    figs = _all(_module(blocks=36), blocks=36)
    ax = figs["trajectories.png"].axes[0]
    assert len(ax.get_legend().get_texts()) == MAX_BLOCKS + 1  # the blocks drawn + true
    assert f"{MAX_BLOCKS} of its 36 blocks drawn" in figs["trajectories.png"].get_suptitle()


def test_loss_plot_has_integer_epoch_ticks():
    ax = _all(_module())["loss.png"].axes[0]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_titles_mention_no_true_system_when_there_is_none():
    figs = _all(_module(lagrangian=False), lagrangian=False)
    assert "true" not in figs["energy_drift.png"].get_suptitle()
    assert "true" not in figs["charge_drift.png"].get_suptitle()
    assert "true system" not in figs["trajectories.png"].get_suptitle()
    with_true = _all(_module())
    assert "true energy" in with_true["energy_drift.png"].get_suptitle()


def test_without_a_true_system_the_datas_range_bounds_the_axes():
    # A run trained on a data file, evaluated with `evaluate --data`: no true orbit, so the
    # data's trajectories bound the axes and a diverged model is marked, not scaled to.
    module = _module(lagrangian=False)
    curves = {"invariant": {"rk4": _curves(_circle(), error=None)},
              "unconstrained": {"rk4": _curves(_diverged(), drift=1e17, error=None)}}
    figs = figures(module, curves, {"invariant": np.ones(3)}, data_qs=0.9 * _circle())
    ax = figs["trajectories.png"].axes[1]  # the unconstrained network's panel
    assert 1.1 < ax.get_xlim()[1] < 2 and 1.1 < ax.get_ylim()[1] < 2  # data: +-0.9, widened
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0] == "data" and labels[1].startswith("network (leaves the plot at t = ")
    assert "grey: the data's trajectories" in figs["trajectories.png"].get_suptitle()
    # Without the data the axes fit the points: the diverged orbit sets them (1e17).
    unbounded = figures(module, curves, {"invariant": np.ones(3)})["trajectories.png"]
    assert unbounded.axes[1].get_xlim()[1] > 1e10
