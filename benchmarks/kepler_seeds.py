"""The table of `benchmarks/kepler_seeds.sh`: one row per evaluated run folder (the invariant
network; RK4, dt = 0.01, from the reference's initial state; `symnoether evaluate` rolls
out in float64, so the figures are the model's, not float32 rounding), the median over
them, and the reference's own figures for comparison.

    .venv/bin/python benchmarks/kepler_seeds.py [runs/kepler-seeds] [more run folders]
        [--json docs/results/kepler_seeds.json] [--previous docs/results/kepler_seeds.json]

A folder given after the first is read as one more run (e.g. the main reference run,
evaluated by `benchmarks/results.py`); it is listed, not counted in the median. `--json`
also writes the rows and medians to a file (the run folders themselves are not committed);
`--previous` reads such a file back and counts its rows as runs too, where this machine has
no folder of that name (a study finished over several sessions: the folders of its first
runs may be gone, their figures are in the file).
"""

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

# The reference's published Kepler run (docs/RESULTS.md): final loss, true angular
# momentum drift, error at t = 64 and its largest value up to t = 64.
REFERENCE = {"final_loss": "8.2e-6 .. 8.5e-6", "true_angular_momentum": 6e-4,
             "error_t64": 9e-3, "max_to_t64": 3.7e-2}  # fmt: skip
MEASURES = ("true_angular_momentum", "error_t64", "max_to_t64", "max_to_t128")


def _figures(run: Path, metrics: dict) -> dict:
    model = metrics["models"]["invariant"]
    error = model["rk4"]["trajectory_error"]
    losses = run / "models" / "invariant" / "losses.csv"
    seconds = None
    if losses.exists():
        with losses.open() as file:
            seconds = sum(float(row["seconds"]) for row in csv.DictReader(file))
    config = json.loads((run / "run.json").read_text())["config"]
    return {
        **{name: config.get(name) for name in ("init", "seed", "adam_eps")},
        "final_loss": model.get("final_training_loss"),
        "true_angular_momentum": model["rk4"]["true_charge_vector"]["max_relative_drift"],
        "error_t64": error["t=64"],
        "max_to_t64": error.get("max_to_t=64"),
        "max_to_t128": error["max"],
        "training_seconds": seconds,
    }


def _fmt(x) -> str:
    if x is None:
        return "-"
    return x if isinstance(x, str) else f"{x:.2g}"


def _row(name: str, figures: dict) -> str:
    cells = [figures.get("final_loss"), *(figures.get(m) for m in MEASURES)]
    return f"| {name} | " + " | ".join(_fmt(x) for x in cells) + " |"


def _value(x) -> float:
    # A diverged rollout has no figure (None): it counts as infinitely far.
    return float("inf") if x is None else x


def _medians(rows: dict[str, dict]) -> dict:
    return {m: statistics.median(_value(r[m]) for r in rows.values()) for m in MEASURES
            if rows}  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--json", type=Path, help="also write the rows and medians here")
    parser.add_argument("--previous", type=Path, action="append", default=[],
                        help="a file written by --json: its rows count as runs too")
    args = parser.parse_args(argv)
    first, *more = args.folders or [Path("runs/kepler-seeds")]
    runs = sorted(p.parent.parent for p in first.glob("*/evaluation/metrics.json"))
    rows = {}
    for path in args.previous:
        try:
            rows.update(json.loads(path.read_text())["runs"])
        except (OSError, ValueError, KeyError) as error:
            parser.error(f"--previous {path}: not a file written by --json ({error})")
    rows.update({run.name: _figures(run, json.loads((run / "evaluation" / "metrics.json")
                                                     .read_text())) for run in runs})  # fmt: skip
    rows = dict(sorted(rows.items()))
    extra = {}
    for run in more:
        # The same evaluation as the seed runs': RK4 in float64 to t = 128.
        metrics = run / "evaluation-float64" / "metrics.json"
        if not metrics.exists():
            metrics = run / "evaluation" / "metrics.json"
        extra[str(run)] = _figures(run, json.loads(metrics.read_text()))
    medians = _medians(rows)
    print("| run | final loss | true angular momentum | \\|q - q_true\\| at t = 64 | "
          "max to t = 64 | max to t = 128 |")
    print("|---|---|---|---|---|---|")
    for name, figures in {**rows, **extra}.items():
        print(_row(name, figures))
    if medians:
        print(_row(f"**median of {len(rows)}**", medians))
    print(_row("reference (its published run)", REFERENCE))
    better = {m: sum(_value(r[m]) < REFERENCE[m] for r in rows.values())
              for m in ("true_angular_momentum", "error_t64", "max_to_t64")}  # fmt: skip
    print(f"\n{len(rows)} run(s); below the reference's figure: " +
          ", ".join(f"{m} {n} of {len(rows)}" for m, n in better.items()))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {"runs": rows, "count": len(rows), "median": medians,
                  "below_reference": better, "reference": REFERENCE}  # fmt: skip
        args.json.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
