"""Evaluate the results runs behind docs/RESULTS.md: float32 and float64 rollouts.

Train first, with `benchmarks/reference_runs.sh` (the reference's experiment at its full
budget), then

    .venv/bin/python benchmarks/results.py runs/reference/*/ [--markdown] [--no-eval]

Each run folder gets `evaluation-float32/` and `evaluation-float64/` with metrics.json and
the figures (RK4 and the variational integrator, from the run's initial state to t = 128).
`--markdown` prints the table rows of docs/RESULTS.md from those files, `--summary` one
compact table of all the runs given (a row per model); `--no-eval` only reads them.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symnoether.cli import print_table  # noqa: E402
from symnoether.numeric.evaluate import evaluate_run  # noqa: E402

DTYPES = ("float32", "float64")


def _fmt(x) -> str:
    # None: not finite (JSON null); "-": not measured.
    return x if isinstance(x, str) else "diverged" if x is None else f"{x:.2g}"


def _when(x) -> str:
    return "-" if x is None else f"{x:g}"


def markdown(run: Path) -> str:
    """The rows `model | integrator | dtype | own charges | true charges | own energy |
    |q - q_true| at t = 64 / 128 | error > 1 at | diverged at` of one run folder."""
    rows = []
    for dtype in DTYPES:
        metrics = json.loads((run / f"evaluation-{dtype}" / "metrics.json").read_text())
        for model, methods in metrics["models"].items():
            for method, m in methods.items():
                if not isinstance(m, dict) or "charge_vector" not in m:
                    continue
                error = m.get("trajectory_error", {})
                own = m["charge_vector"]["max_relative_drift"] if m["charges"] else None
                true = m.get("true_charge_vector", {}).get("max_relative_drift")
                rows.append(
                    f"| {model} | {method} | {dtype} | "
                    f"{_fmt(own) if m['charges'] else '-'} | "
                    f"{_fmt(true) if m['charges'] else '-'} | "
                    f"{_fmt(m['energy'].get('max_relative_drift'))} | "
                    f"{_fmt(error.get('t=64', '-'))} / {_fmt(error.get('final', '-'))} | "
                    f"{_when(error.get('first_t_above_1'))} | {_when(error.get('diverged_at'))} |"
                )
    header = ("| model | integrator | dtype | own charges | true charges | own energy | "
              "\\|q - q_true\\| at t = 64 / 128 | error > 1 from t = | diverged at t = |\n"
              "|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    return header + "\n" + "\n".join(rows)


def summary(runs: list[Path]) -> str:
    """One row per run and model: the figures the reference publishes, side by side.

    Own charges with RK4 in float32, in "mixed" precision (a float32 network called from
    float64 states: the reference code's set-up; `--mixed`), and with the variational
    integrator in float64; true charges and the trajectory error with RK4 in float32."""
    def own(m):
        return _fmt(m["charge_vector"]["max_relative_drift"]) if m["charges"] else "-"

    rows = []
    for run in runs:
        by_dtype = {d: json.loads((run / f"evaluation-{d}" / "metrics.json").read_text())
                    for d in DTYPES}  # fmt: skip
        mixed_file = run / "evaluation-mixed" / "metrics.json"
        mixed_models = json.loads(mixed_file.read_text())["models"] if mixed_file.exists() else {}
        for model, methods in by_dtype["float32"]["models"].items():
            rk4 = methods["rk4"]
            exact = by_dtype["float64"]["models"][model]["variational"]
            error = rk4.get("trajectory_error", {})
            true = rk4.get("true_charge_vector", {}).get("max_relative_drift", "-")
            mixed = own(mixed_models[model]["rk4"]) if model in mixed_models else "-"
            rows.append(
                f"| {run.name} | {model} | {methods['final_training_loss']:.2g} | {own(rk4)} | "
                f"{mixed} | "
                f"{own(exact)} | {_fmt(true) if rk4['charges'] else '-'} | "
                f"{_fmt(error.get('t=64', '-'))} | {_fmt(error.get('max_to_t=64', '-'))} | "
                f"{_when(error.get('first_t_above_1'))} | {_when(error.get('diverged_at'))} |"
            )
    header = ("| run | model | final loss | own charges (RK4, f32) | own charges (RK4, mixed) | "
              "own charges (variational, f64) | true charges | \\|q - q_true\\| at t = 64 | "
              "max to t = 64 | error > 1 from t = | diverged at t = |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|")
    return header + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders")
    parser.add_argument("--t-final", type=float, default=128.0)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--markdown", action="store_true", help="print docs/RESULTS.md rows")
    parser.add_argument("--no-eval", action="store_true", help="only read existing metrics")
    parser.add_argument("--mixed", action="store_true",
                        help="also evaluate RK4 with a float32 network from float64 states "
                             "(the reference code's precision) into evaluation-mixed/")
    parser.add_argument("--summary", action="store_true",
                        help="print one compact table, a row per run and model")
    args = parser.parse_args()
    if args.summary and args.no_eval:
        print(summary([Path(run) for run in args.runs]))
        return
    for run in map(Path, args.runs):
        for dtype in DTYPES if not args.no_eval else ():
            start = time.perf_counter()
            metrics = evaluate_run(run, t_final=args.t_final, dt=args.dt, dtype=dtype,
                                   out_dir=run / f"evaluation-{dtype}")  # fmt: skip
            print(f"\n### {run} ({dtype}, {time.perf_counter() - start:.0f} s)")
            print_table(metrics)
        if args.mixed and not args.no_eval:
            evaluate_run(run, t_final=args.t_final, dt=args.dt, dtype="mixed", method="rk4",
                         out_dir=run / "evaluation-mixed")  # fmt: skip
        if args.markdown:
            print(f"\n### {run}\n\n{markdown(run)}")
    if args.summary:
        print(summary([Path(run) for run in args.runs]))


if __name__ == "__main__":
    main()
