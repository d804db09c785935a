"""Evaluate the results runs behind docs/RESULTS.md: float32 and float64 rollouts.

Train first (the budgets are in examples/configs/):

    symnoether train examples/kepler/spec.py --out runs/results/kepler \\
        --config examples/configs/reference.json
    SYMNOETHER_DIM=4 symnoether train examples/two_particles/spec.py \\
        --out runs/results/two_particles_4d --config examples/configs/short.json
    symnoether train examples/schwarzschild/spec.py --out runs/results/schwarzschild \\
        --config examples/configs/short.json

then `.venv/bin/python benchmarks/results.py runs/results/*`. Each run folder gets
`evaluation-float32/` and `evaluation-float64/` with metrics.json and the figures.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symnoether.cli import print_table  # noqa: E402
from symnoether.numeric.evaluate import evaluate_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders")
    parser.add_argument("--t-final", type=float, default=128.0)
    parser.add_argument("--dt", type=float, default=0.01)
    args = parser.parse_args()
    for run in args.runs:
        for dtype in ("float32", "float64"):
            start = time.perf_counter()
            metrics = evaluate_run(run, t_final=args.t_final, dt=args.dt, dtype=dtype,
                                   out_dir=Path(run) / f"evaluation-{dtype}")
            print(f"\n### {run} ({dtype}, {time.perf_counter() - start:.0f} s)")
            print_table(metrics)


if __name__ == "__main__":
    main()
