"""Time `verify` (invariant derivation included) on every reference problem.

Run from the repository root:

    .venv/bin/python benchmarks/bench_verify.py [--repeat N] [--budget SECONDS] [--accel]

Each problem is loaded from its spec in examples/ (two particles for D = 2, 3, 4 through
SYMNOETHER_DIM); SymPy's cache is cleared before every run so each time is a cold one.
`--accel` also times the closed-form accelerations (`solve_acceleration`), which verify
does not need. Exits 1 when a verify time exceeds the budget or a report is not ok.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import sympy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from symnoether.symbolic.mechanics import solve_acceleration  # noqa: E402
from symnoether.symbolic.system import load_spec  # noqa: E402
from symnoether.symbolic.verify import verify  # noqa: E402

PROBLEMS = (
    ("kepler", None),
    ("schwarzschild", None),
    ("two_particles", 2),
    ("two_particles", 3),
    ("two_particles", 4),
)


def _load(example: str, dim: int | None):
    if dim is not None:
        os.environ["SYMNOETHER_DIM"] = str(dim)
    return load_spec(ROOT / "examples" / example / "spec.py")


def _cold(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        sympy.core.cache.clear_cache()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per problem (min shown)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds allowed each")
    parser.add_argument("--accel", action="store_true", help="also time solve_acceleration")
    args = parser.parse_args()
    print(f"{'problem':<20} {'checks':>6} {'ok':>4} {'verify [s]':>11}"
          + (f" {'accel [s]':>10}" if args.accel else ""))
    status = 0
    for example, dim in PROBLEMS:
        system = _load(example, dim)
        seconds, report = _cold(lambda s=system: verify(s), args.repeat)
        line = f"{system.name:<20} {len(report.checks):>6} {str(report.ok):>4} {seconds:>11.2f}"
        if args.accel:
            accel, _ = _cold(lambda s=system: solve_acceleration(s), args.repeat)
            line += f" {accel:>10.2f}"
        print(line, flush=True)
        if seconds > args.budget or not report.ok:
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
