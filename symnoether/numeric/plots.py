"""The evaluation figures, drawn with Matplotlib's object API (no pyplot, no global state).

Figures are `matplotlib.figure.Figure`s rendered by the Agg canvas that `savefig` picks for
PNG, so neither the backend nor `rcParams` is touched. Each file is written to a temporary
file and moved into place (`checkpoint.atomic_write`).
"""

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import numpy as np
from matplotlib.figure import Figure

from ..files import atomic_write
from .contract import blocks as module_blocks
from .curves import REFERENCE_METHOD, TRUE as _TRUE
from .integrate import INTEGRATORS

__all__ = ["write_figures"]

#: Curves longer than this are reduced (running maxima for drifts, strides for orbits).
MAX_POINTS = 2000
#: Line styles of the integrators, in the order of `INTEGRATORS` (dotted is the true
#: system's).
_LINE_STYLES = ("-", "--", "-.", (0, (5, 1, 1, 1)))
_DPI = 120


def _style(method: str):
    names = list(INTEGRATORS)
    index = names.index(method) if method in names else len(names)
    return _LINE_STYLES[index % len(_LINE_STYLES)]


def _label(name: str) -> str:
    return "true system" if name == _TRUE else f"{name} network"


def _max_so_far(ts: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The largest value over [0, t]: what the metrics report, and monotone, so thinning to
    # MAX_POINTS (keeping the last point) never hides a peak. t = 0 is dropped (log axes).
    ts, y = ts[1:], np.maximum.accumulate(y[1:], axis=0)
    keep = np.unique(np.append(np.arange(len(ts) - 1, -1, -max(1, -(-len(ts) // MAX_POINTS))), 0))
    return ts[keep], y[keep]


def _stride(x: np.ndarray) -> np.ndarray:
    return x[:: max(1, -(-len(x) // MAX_POINTS))]


def _save(fig: Figure, path: Path) -> str:
    atomic_write(path, lambda file: fig.savefig(file, format="png", dpi=_DPI))
    return path.name


def _grid(rows: int, cols: int, **kwargs):
    fig = Figure(figsize=(max(7.0, 4.6 * cols), 3.6 * rows + 0.6), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def _blocks(module: ModuleType) -> list[tuple[str, list[int]]]:
    # The generated-module contract has no vector blocks; a module may name them in an
    # optional BLOCKS = {"x1": ("x1", "y1"), ...} (coordinate names). Otherwise the whole
    # of q is one block.
    names = list(module.COORDINATE_NAMES)
    blocks = module_blocks(module)
    if not blocks:
        return [("q", list(range(len(names))))]
    return [(label, [names.index(c) for c in coords]) for label, coords in blocks.items()]


def _projection_title(module: ModuleType, blocks) -> str:
    names = module.COORDINATE_NAMES
    shown = {i for _, idx in blocks if len(idx) >= 2 for i in idx[:2]}
    hidden = [name for i, name in enumerate(names) if i not in shown]
    if not hidden:
        return "positions"
    return f"2-D projection, not shown: {', '.join(hidden)}"


def _plot_orbit(ax, module, blocks, qs, true_qs):
    names = module.COORDINATE_NAMES
    for b, (label, idx) in enumerate(blocks):
        if len(idx) < 2:
            continue
        i, j = idx[0], idx[1]
        name = "network" if len(blocks) == 1 else label
        ax.plot(*_stride(qs[:, [i, j]]).T, "-", color=f"C{b}", lw=0.8, label=name)
        ax.plot(*qs[0, [i, j]], "o", color=f"C{b}", ms=4)
        if true_qs is not None:
            ax.plot(*_stride(true_qs[:, [i, j]]).T, ":", color="black", lw=1.0,
                    label="true system" if b == 0 else None)  # fmt: skip
    if len(blocks) == 1:
        idx = blocks[0][1]
        ax.set_xlabel(names[idx[0]])
        ax.set_ylabel(names[idx[1]])
    else:
        ax.set_xlabel("first component of each block")
        ax.set_ylabel("second component of each block")
    ax.set_aspect("equal", adjustable="datalim")


def _reference_orbit(curves) -> np.ndarray | None:
    if _TRUE not in curves:
        return None
    by_method = curves[_TRUE]
    if REFERENCE_METHOD in by_method:
        return by_method[REFERENCE_METHOD].qs
    return next(iter(by_method.values())).qs


def _trajectories(out_dir, module, curves) -> list[str]:
    blocks = _blocks(module)
    if all(len(idx) < 2 for _, idx in blocks):
        return []  # One-dimensional configuration: the error plot says it all.
    systems = [name for name in curves if name != _TRUE]
    methods = list(curves[systems[0]])
    fig, axes = _grid(len(methods), len(systems))
    true_qs = _reference_orbit(curves)
    for r, method in enumerate(methods):
        for c, name in enumerate(systems):
            ax = axes[r, c]
            _plot_orbit(ax, module, blocks, curves[name][method].qs, true_qs)
            ax.set_title(f"{_label(name)}, {method}")
            ax.legend(fontsize="small", loc="upper right")
    fig.suptitle(
        f"{module.SYSTEM_NAME}: trajectories ({_projection_title(module, blocks)})\n"
        "dotted: the true system from the same state; dot: start"
    )
    return [_save(fig, out_dir / "trajectories.png")]


def _drift_label(name: str, relative: bool) -> str:
    return name if relative else f"{name} (absolute)"


def _charge_drift(out_dir, module, curves) -> list[str]:
    if not module.CHARGE_NAMES:  # no symmetry declared: nothing to plot
        return []
    systems, methods = list(curves), list(next(iter(curves.values())))
    fig, axes = _grid(len(methods), len(systems), sharey=True)
    for r, method in enumerate(methods):
        for c, name in enumerate(systems):
            ax, cv = axes[r, c], curves[name][method]
            for a, charge in enumerate(module.CHARGE_NAMES):
                ax.loglog(*_max_so_far(cv.ts, cv.charge_drift[:, a]), "-", color=f"C{a}", lw=1.0,
                          label=_drift_label(charge, cv.charge_relative[a]))  # fmt: skip
                if cv.true_charge_drift is not None and name != _TRUE:
                    ax.loglog(*_max_so_far(cv.ts, cv.true_charge_drift[:, a]), ":",
                              color=f"C{a}", lw=1.0)  # fmt: skip
            zero = [
                c for a, c in enumerate(module.CHARGE_NAMES) if not np.any(cv.charge_drift[:, a])
            ]
            if zero:  # nothing to draw on log axes: say so
                ax.text(0.02, 0.98, "identically 0: " + ", ".join(zero), transform=ax.transAxes,
                        fontsize="x-small", va="top")  # fmt: skip
            ax.set_title(f"{_label(name)}, {method}")
            ax.set_xlabel("time t")
            ax.grid(True, which="major", alpha=0.3)
        axes[r, 0].set_ylabel("drift |I(t) - I(0)| / |I(0)|")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4),
               fontsize="small", title="charge")  # fmt: skip
    fig.suptitle(
        f"{module.SYSTEM_NAME}: drift of the Noether charges, largest value over [0, t]\n"
        "solid: the model's own charges; dotted: the true charges along the same trajectory"
    )
    return [_save(fig, out_dir / "charge_drift.png")]


def _energy_drift(out_dir, module, curves) -> list[str]:
    systems = list(curves)
    fig, axes = _grid(1, len(systems), sharey=True)
    for c, name in enumerate(systems):
        ax = axes[0, c]
        for m, (method, cv) in enumerate(curves[name].items()):
            style = _style(method)
            kind = "" if cv.energy_relative else " (absolute)"
            ax.loglog(*_max_so_far(cv.ts, cv.energy_drift), style, color=f"C{m}", lw=1.0,
                      label=f"own energy, {method}{kind}")  # fmt: skip
            if cv.true_energy_drift is not None and name != _TRUE:
                ax.loglog(*_max_so_far(cv.ts, cv.true_energy_drift), style, color=f"C{m + 2}",
                          lw=1.0, label=f"true energy, {method}")  # fmt: skip
        ax.set_title(_label(name))
        ax.set_xlabel("time t")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    axes[0, 0].set_ylabel("drift |E(t) - E(0)| / |E(0)|")
    fig.suptitle(
        f"{module.SYSTEM_NAME}: energy drift, largest value over [0, t]\n"
        "the model's own energy E = qdot . dL/dqdot - L, and the true energy along its trajectory"
    )
    return [_save(fig, out_dir / "energy_drift.png")]


def _trajectory_error(out_dir, module, curves) -> list[str]:
    if not any(cv.error is not None for by in curves.values() for cv in by.values()):
        return []
    fig, axes = _grid(1, 1)
    ax = axes[0, 0]
    for s, (name, by_method) in enumerate(curves.items()):
        for method, cv in by_method.items():
            if cv.error is None or (name == _TRUE and method == REFERENCE_METHOD):
                continue  # The reference against itself is zero.
            ax.loglog(*_max_so_far(cv.ts, cv.error), _style(method),
                      color="black" if name == _TRUE else f"C{s}", lw=1.0,
                      label=f"{_label(name)}, {method}")  # fmt: skip
    ax.set_xlabel("time t")
    ax.set_ylabel("|q(t) - q_true(t)|")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(
        f"{module.SYSTEM_NAME}: position error against the true system\n"
        f"(true system integrated with {REFERENCE_METHOD} at the same dt; largest value over "
        "[0, t])",
        fontsize="medium",
    )
    return [_save(fig, out_dir / "trajectory_error.png")]


def _losses(out_dir, module, losses: Mapping[str, np.ndarray]) -> list[str]:
    losses = {name: values for name, values in losses.items() if np.size(values)}
    if not losses:
        return []
    fig, axes = _grid(1, 1)
    ax = axes[0, 0]
    for s, (name, values) in enumerate(losses.items()):
        ax.semilogy(np.arange(1, len(values) + 1), values, color=f"C{s}", label=_label(name))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean squared acceleration error)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(f"{module.SYSTEM_NAME}: training loss per epoch", fontsize="medium")
    return [_save(fig, out_dir / "loss.png")]


def write_figures(out_dir: Path, module: ModuleType, curves, losses) -> list[str]:
    """Write the evaluation figures into `out_dir`.

    **Arguments:**

    - `out_dir`: an existing folder.
    - `module`: the generated module (names of coordinates and charges).
    - `curves`: system name -> method -> `curves.Curves` (the true system as `"true"`).
    - `losses`: model name -> loss history.

    **Returns:**

    The names of the files written: `trajectories.png`, `charge_drift.png`,
    `energy_drift.png`, `trajectory_error.png` and `loss.png`, each when it has data (no
    `charge_drift.png` for a system without charges).
    """
    out_dir = Path(out_dir)
    return (
        _trajectories(out_dir, module, curves)
        + _charge_drift(out_dir, module, curves)
        + _energy_drift(out_dir, module, curves)
        + _trajectory_error(out_dir, module, curves)
        + _losses(out_dir, module, losses)
    )
