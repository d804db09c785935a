"""The table of `benchmarks/kepler_seeds.sh`: one row per run folder (the invariant
network; RK4, dt = 0.01, from the reference's initial state; `symnoether evaluate` rolls
out in float64, so the figures are the model's, not float32 rounding), plus the
reference's own figures for comparison.

    .venv/bin/python benchmarks/kepler_seeds.py [runs/kepler-seeds] [runs/reference/kepler]

A folder given after the first is read as one more run (e.g. the main reference run,
default init, seed 0, evaluated by `benchmarks/results.py`).
"""

import json
import sys
from pathlib import Path


def _row(name: str, metrics: dict) -> str:
    model = metrics["models"]["invariant"]
    m = model["rk4"]
    error = m["trajectory_error"]
    return (f"| {name} | {model.get('final_training_loss', float('nan')):.2g} | "
            f"{m['true_charge_vector']['max_relative_drift']:.2g} | "
            f"{error['t=64']:.2g} | {_fmt(error.get('max_to_t=64'))} | {_fmt(error['max'])} |")


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.2g}"


def main(argv: list[str]) -> int:
    folders = [Path(a) for a in argv] or [Path("runs/kepler-seeds")]
    print("| run | final loss | true angular momentum | \\|q - q_true\\| at t = 64 | "
          "max to t = 64 | max to t = 128 |")
    print("|---|---|---|---|---|---|")
    first, *more = folders
    runs = sorted(p.parent.parent for p in first.glob("*/evaluation/metrics.json"))
    for run in runs:
        print(_row(run.name, json.loads((run / "evaluation" / "metrics.json").read_text())))
    for run in more:
        # The same evaluation as the seed runs': RK4 in float64 to t = 128.
        metrics = run / "evaluation-float64" / "metrics.json"
        if not metrics.exists():
            metrics = run / "evaluation" / "metrics.json"
        print(_row(str(run), json.loads(metrics.read_text())))
    print("| reference (its published run) | 8.2e-6 .. 8.5e-6 | <= 6e-4 | 9e-3 | 3.7e-2 | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
