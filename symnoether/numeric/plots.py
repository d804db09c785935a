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
from matplotlib.ticker import MaxNLocator

from ..files import atomic_write
from .contract import blocks as module_blocks, periodic
from .curves import REFERENCE_METHOD, TRUE as _TRUE
from .integrate import INTEGRATORS
from .periodic import wrapped

__all__ = ["figures", "write_figures"]

#: Curves longer than this are reduced (running maxima for drifts, strides for orbits).
MAX_POINTS = 2000
#: Line styles of the integrators, in the order of `INTEGRATORS` (dotted is the true
#: system's).
_LINE_STYLES = ("-", "--", "-.", (0, (5, 1, 1, 1)))
_DPI = 120
#: At most this many blocks are drawn in the trajectory plot (the title says how many
#: there are): 36 orbits on top of one another, with 37 legend entries, are unreadable.
MAX_BLOCKS = 4
#: The trajectory plot shows the true orbit's range (without a true system: the range of
#: the data compared with, `evaluate --data`) widened by this fraction on each side; a
#: curve that leaves it is marked (x) where it does, and its label says so.
MARGIN = 0.25
#: Relative drifts are drawn up to this value (100%: beyond it the quantity is not
#: conserved at all); larger ones are marked as off the scale, not scaled to.
MAX_RELATIVE_DRIFT = 1.0


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
    more = f", ... ({len(hidden)} in all)" if len(hidden) > 4 else ""
    return f"2-D projection, not shown: {', '.join(hidden[:4])}{more}"


def _drawn(blocks) -> list[tuple[str, list[int]]]:
    # The blocks with two components or more, at most MAX_BLOCKS of them.
    return [(label, idx) for label, idx in blocks if len(idx) >= 2][:MAX_BLOCKS]


def _bounds(true_qs, blocks):
    # ((xmin, xmax), (ymin, ymax)) of the true orbit's (or the data's) drawn components,
    # widened by MARGIN; None without either (then the axes fit the finite points).
    if true_qs is None:
        return None
    x = true_qs[:, [idx[0] for _, idx in blocks]]
    y = true_qs[:, [idx[1] for _, idx in blocks]]
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return None
    bounds = []
    for values in (x, y):
        lo, hi = float(np.min(values)), float(np.max(values))
        pad = MARGIN * max(hi - lo, 1e-12 + 1e-3 * max(abs(lo), abs(hi)))
        bounds.append((lo - pad, hi + pad))
    return tuple(bounds)


def _exit(points: np.ndarray, bounds) -> int | None:
    # The index of the first point outside the bounds (or not finite), None if none.
    inside = np.all(np.isfinite(points), axis=1)
    if bounds is not None:
        (x0, x1), (y0, y1) = bounds
        inside &= (points[:, 0] >= x0) & (points[:, 0] <= x1)
        inside &= (points[:, 1] >= y0) & (points[:, 1] <= y1)
    return None if np.all(inside) else int(np.argmin(inside))


def _broken(points: np.ndarray, columns) -> np.ndarray:
    # A NaN row where a wrapped angle jumps by more than pi, so that the line is not drawn
    # across the plot from pi to -pi.
    if not columns or len(points) < 2:
        return points
    jumps = np.flatnonzero(np.any(np.abs(np.diff(points[:, columns], axis=0)) > np.pi, axis=1))
    return np.insert(points, jumps + 1, np.nan, axis=0)


def _plot_orbit(ax, module, blocks, qs, true_qs, ts=None, data_qs=None):
    # Angles (PERIODIC_COORDINATES) are drawn in (-pi, pi].
    names = module.COORDINATE_NAMES
    angles = set(periodic(module))
    qs = wrapped(module, qs)
    true_qs = None if true_qs is None else wrapped(module, true_qs)
    data_qs = None if data_qs is None else wrapped(module, data_qs)
    drawn = _drawn(blocks)
    if true_qs is None and data_qs is not None:  # no true system: the data's range
        for b, (_, idx) in enumerate(drawn):
            ax.plot(*_stride(data_qs[:, [idx[0], idx[1]]]).T, ".", color="0.6", ms=1.5,
                    label="data" if b == 0 else None)  # fmt: skip
    bounds = _bounds(true_qs if true_qs is not None else data_qs, drawn)
    for b, (label, idx) in enumerate(drawn):
        i, j = idx[0], idx[1]
        name = "network" if len(blocks) == 1 else label
        points = qs[:, [i, j]]
        columns = [k for k, a in enumerate((i, j)) if a in angles]
        leaves = _exit(points, bounds)
        if leaves is not None:
            when = "" if ts is None else f" at t = {ts[leaves]:.3g}"
            name += f" (leaves the plot{when})" if np.isfinite(points[leaves]).all() else (
                f" (diverges{when})")
            last = points[max(leaves - 1, 0)]
            ax.plot(*last, "x", color=f"C{b}", ms=8, mew=2)
        ax.plot(*_broken(_stride(points), columns).T, "-", color=f"C{b}", lw=0.8, label=name)
        ax.plot(*qs[0, [i, j]], "o", color=f"C{b}", ms=4)
    if true_qs is not None:
        for b, (_, idx) in enumerate(drawn):
            columns = [k for k, a in enumerate(idx[:2]) if a in angles]
            ax.plot(*_broken(_stride(true_qs[:, [idx[0], idx[1]]]), columns).T, ":",
                    color="black", lw=1.0,
                    label="true system" if b == 0 else None)  # fmt: skip
    if len(blocks) == 1:
        idx = blocks[0][1]
        ax.set_xlabel(names[idx[0]])
        ax.set_ylabel(names[idx[1]])
    else:
        ax.set_xlabel("first component of each block")
        ax.set_ylabel("second component of each block")
    if bounds is not None:  # the true orbit's (data's) range: a diverged model does not set it
        ax.set_xlim(*bounds[0])
        ax.set_ylim(*bounds[1])
        ax.set_aspect("equal", adjustable="box")
    else:
        ax.set_aspect("equal", adjustable="datalim")


def _reference_orbit(curves) -> np.ndarray | None:
    if _TRUE not in curves:
        return None
    by_method = curves[_TRUE]
    if REFERENCE_METHOD in by_method:
        return by_method[REFERENCE_METHOD].qs
    return next(iter(by_method.values())).qs


def _trajectories(module, curves, data_qs=None) -> Figure | None:
    blocks = _blocks(module)
    if all(len(idx) < 2 for _, idx in blocks):
        return None  # One-dimensional configuration: the error plot says it all.
    systems = [name for name in curves if name != _TRUE]
    methods = list(curves[systems[0]])
    fig, axes = _grid(len(methods), len(systems))
    true_qs = _reference_orbit(curves)
    for r, method in enumerate(methods):
        for c, name in enumerate(systems):
            ax = axes[r, c]
            cv = curves[name][method]
            _plot_orbit(ax, module, blocks, cv.qs, true_qs, cv.ts, data_qs)
            ax.set_title(f"{_label(name)}, {method}")
            ax.legend(fontsize="small", loc="upper right")
    several = [label for label, idx in blocks if len(idx) >= 2]
    shown = "" if len(several) <= MAX_BLOCKS else (
        f"; {MAX_BLOCKS} of its {len(several)} blocks drawn")
    note = "dotted: the true system from the same state; " if true_qs is not None else (
        "grey: the data's trajectories, whose range the axes show; " if data_qs is not None
        else "")
    fig.suptitle(
        f"{module.SYSTEM_NAME}: trajectories ({_projection_title(module, blocks)}{shown})\n"
        f"{note}dot: start; x: where a curve leaves the plot"
    )
    return fig


def _drift_label(name: str, relative: bool) -> str:
    return name if relative else f"{name} (absolute)"


def _cap(ax, top: float) -> None:
    # Bound a log axis at `top`: a diverged curve is marked, not scaled to. Labels of the
    # curves that pass it say so.
    over = False
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), np.float64)
        if y.size and not np.all(np.isfinite(y) & (y <= top)):
            over = True
            label = line.get_label()
            if not label.startswith("_"):
                line.set_label(f"{label} (off the scale)")
    if over:
        bottom = ax.get_ylim()[0]
        ax.set_ylim(min(bottom, top / 10), top)


def _charge_drift(module, curves) -> Figure | None:
    if not module.CHARGE_NAMES:  # no symmetry declared: nothing to plot
        return None
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
            _cap(ax, MAX_RELATIVE_DRIFT)
        axes[r, 0].set_ylabel("drift |I(t) - I(0)| / |I(0)|")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4),
               fontsize="small", title="charge")  # fmt: skip
    dotted = ("; dotted: the true charges along the same trajectory"
              if module.HAS_LAGRANGIAN else "")
    fig.suptitle(
        f"{module.SYSTEM_NAME}: drift of the Noether charges, largest value over [0, t]\n"
        f"solid: the model's own charges{dotted}"
    )
    return fig


def _energy_drift(module, curves) -> Figure:
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
        _cap(ax, MAX_RELATIVE_DRIFT)
        ax.legend(fontsize="small")
    axes[0, 0].set_ylabel("drift |E(t) - E(0)| / |E(0)|")
    true = ", and the true energy along its trajectory" if module.HAS_LAGRANGIAN else ""
    fig.suptitle(
        f"{module.SYSTEM_NAME}: energy drift, largest value over [0, t]\n"
        f"the model's own energy E = qdot . dL/dqdot - L{true}"
    )
    return fig


def _trajectory_error(module, curves) -> Figure | None:
    if not any(cv.error is not None for by in curves.values() for cv in by.values()):
        return None
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
    true_qs = _reference_orbit(curves)
    if true_qs is not None and np.all(np.isfinite(true_qs)):
        # An error of several times the orbit's size says all there is to say.
        _cap(ax, 10 * max(float(np.max(np.linalg.norm(true_qs, axis=-1))), 1e-12))
    ax.legend(fontsize="small")
    ax.set_title(
        f"{module.SYSTEM_NAME}: position error against the true system\n"
        f"(true system integrated with {REFERENCE_METHOD} at the same dt; largest value over "
        "[0, t])",
        fontsize="medium",
    )
    return fig


def _losses(module, losses: Mapping[str, np.ndarray]) -> Figure | None:
    losses = {name: values for name, values in losses.items() if np.size(values)}
    if not losses:
        return None
    fig, axes = _grid(1, 1)
    ax = axes[0, 0]
    for s, (name, values) in enumerate(losses.items()):
        ax.semilogy(np.arange(1, len(values) + 1), values, color=f"C{s}", label=_label(name))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
    ax.set_ylabel("training loss (mean squared acceleration error)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(f"{module.SYSTEM_NAME}: training loss per epoch", fontsize="medium")
    return fig


def figures(module: ModuleType, curves, losses, data_qs=None) -> dict[str, Figure]:
    """The evaluation figures, file name -> `Figure`, each when it has data (no
    `charge_drift.png` for a system without charges, no `trajectories.png` for one
    coordinate).

    **Arguments:**

    - `module`: the generated module (names of coordinates and charges).
    - `curves`: system name -> method -> `curves.Curves` (the true system as `"true"`).
    - `losses`: model name -> loss history.
    - `data_qs`: positions `(N, n)` of the trajectories of the data compared with
        (`evaluate --data`); without a true system they are drawn and bound the trajectory
        plot's axes, so that a diverged model does not set them.
    """
    made = {
        "trajectories.png": _trajectories(module, curves, data_qs),
        "charge_drift.png": _charge_drift(module, curves),
        "energy_drift.png": _energy_drift(module, curves),
        "trajectory_error.png": _trajectory_error(module, curves),
        "loss.png": _losses(module, losses),
    }
    return {name: fig for name, fig in made.items() if fig is not None}


def write_figures(out_dir: Path, module: ModuleType, curves, losses,
                  data_qs=None) -> list[str]:  # fmt: skip
    """Write the evaluation figures (`figures`, with `data_qs`) into the existing folder
    `out_dir`.

    **Returns:**

    The names of the files written: `trajectories.png`, `charge_drift.png`,
    `energy_drift.png`, `trajectory_error.png` and `loss.png`, each when it has data.
    """
    out_dir = Path(out_dir)
    made = figures(module, curves, losses, data_qs)
    return [_save(fig, out_dir / name) for name, fig in made.items()]
