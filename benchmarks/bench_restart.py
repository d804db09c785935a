"""Restart time: from process start to the first training step of `symnoether train`.

Run: `.venv/bin/python benchmarks/bench_restart.py [--spec examples/kepler/spec.py]
[--repeats 3] [--no-cache] [--profile]`

Each run is a fresh `symnoether train SPEC --out TMP --models invariant` process with the
default training settings except a first epoch of one step (`epochs: 1,
steps_per_epoch: 1`); its clock starts just before the process is spawned and stops when the
process prints the line of its first epoch (`epoch 1/1 ...`, written once the step has run
and its loss is back on the host). Run 1 starts from an empty JAX compilation cache (a
temporary folder: `SYMNOETHER_CACHE_DIR`), so it compiles everything; later runs are the
"second `symnoether train` of the same spec" that a user makes, and read the compiled
programs back. `--no-cache` turns the cache off, to see what it saves. `--profile` prints the
progress lines of the last run with their time stamps (where the seconds go).

Target (issue 29): the second run <= 2.7 s on the 2-core development machine, a third of
the reference's TensorFlow code (8.2 s, measured side by side).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.7
FIRST_STEP = "epoch 1/1"


def _cpu_seconds(pid: int) -> float:
    # The process's user + system CPU time so far (Linux; nan elsewhere): on a shared
    # machine it varies less with the load than the wall time does.
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def one_run(spec: Path, work: Path, cache: Path | None, index: int) -> tuple[float, float, list]:
    """Seconds from spawning `symnoether train` to its first epoch's line (wall and the
    process's CPU time), and the stderr lines with their time stamps."""
    config = work / "config.json"
    config.write_text(json.dumps({"epochs": 1, "steps_per_epoch": 1}))
    env = dict(os.environ)
    if cache is None:
        env["SYMNOETHER_CACHE_DIR"] = ""  # off
    else:
        env["SYMNOETHER_CACHE_DIR"] = str(cache)
    command = [str(Path(sys.executable).parent / "symnoether"), "train", str(spec), "--out",
               str(work / f"run{index}"), "--config", str(config), "--models", "invariant"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, env=env, cwd=ROOT)
    lines, first, cpu = [], None, float("nan")
    for line in process.stderr:
        now = time.perf_counter() - start
        lines.append((now, line.rstrip()))
        if first is None and line.startswith(FIRST_STEP):
            first, cpu = now, _cpu_seconds(process.pid)
    if process.wait() != 0 or first is None:
        sys.exit(f"symnoether train failed (exit {process.returncode}):\n"
                 + "\n".join(text for _, text in lines))
    return first, cpu, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "examples/kepler/spec.py"))
    parser.add_argument("--repeats", type=int, default=3, help="runs after the first")
    parser.add_argument("--no-cache", action="store_true", help="turn the cache off")
    parser.add_argument("--profile", action="store_true",
                        help="print the last run's progress lines with their times")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = None if args.no_cache else work / "jax-cache"
        times, cpus = [], []
        for index in range(1 + args.repeats):
            seconds, cpu, lines = one_run(Path(args.spec), work, cache, index)
            times.append(seconds)
            cpus.append(cpu)
            label = "first (cold cache)" if index == 0 else "restart"
            print(f"run {index + 1}: {seconds:.2f} s (CPU {cpu:.2f} s)  {label}", flush=True)
        if args.profile:
            for now, text in lines:
                print(f"  {now:6.2f} s  {text}")
    restarts, restart_cpus = sorted(times[1:]), sorted(cpus[1:])
    if restarts:
        best, median = restarts[0], restarts[len(restarts) // 2]
        verdict = "met" if median <= TARGET_S else "NOT met"
        print(f"restart to first step: best {best:.2f} s, median {median:.2f} s, median CPU "
              f"{restart_cpus[len(restart_cpus) // 2]:.2f} s (target <= {TARGET_S} s: "
              f"{verdict}; cache {'off' if cache is None else 'on'})")


if __name__ == "__main__":
    main()
