"""Throughput of a seed ensemble (train_ensemble, K seeds vmapped) against K separate
`train` runs: Kepler, the reference's network (2 x 128 softplus) and batch 128, on the
Kepler orbit stream. CPU time (time.process_time) of the epochs after the first (which
compiles); run single-threaded for stable figures:

    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \\
        .venv/bin/python benchmarks/bench_ensemble.py --seeds 4
"""

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from handwritten import kepler_contract  # noqa: E402

from symnoether.numeric.ensemble import train_ensemble  # noqa: E402
from symnoether.numeric.run import TrainConfig  # noqa: E402
from symnoether.numeric.stream import kepler_orbit_sampler, state_stream  # noqa: E402
from symnoether.numeric.train import train  # noqa: E402


def _timed(run, epochs):
    marks = []

    def callback(*_):
        marks.append(time.process_time())

    run(callback)
    return (marks[-1] - marks[0]) / (epochs - 1)  # CPU seconds per epoch, compiled


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    config = TrainConfig()
    stream = state_stream(kepler_contract, kepler_orbit_sampler(
        np.array([1 / 1.8, 0, 0]), np.array([0, 1.8, 0])), noise=1e-3)
    keys = [jax.random.split(jax.random.key(s)) for s in range(args.seeds)]
    models = [config.make_network(kepler_contract, key=k[0]) for k in keys]
    settings = dict(epochs=args.epochs, steps_per_epoch=args.steps, progress=False)
    alone = sum(_timed(lambda cb, m=m, k=k: train(m, stream, key=k[1], callback=cb,
                                                  **settings), args.epochs)
                for m, k in zip(models, keys))
    train_ensemble(models, stream, keys=[k[1] for k in keys], **settings)  # compiles
    # train_ensemble has no callback: time a second, compiled call of the whole run.
    t0 = time.process_time()
    train_ensemble(models, stream, keys=[k[1] for k in keys], **settings)
    together = (time.process_time() - t0) / args.epochs
    steps = args.steps * args.seeds
    print(f"{args.seeds} seeds, batch 128, 2 x 128: separate runs {steps / alone:,.0f} "
          f"seed-steps/s, ensemble {steps / together:,.0f} seed-steps/s "
          f"(x{alone / together:.2f}) in CPU time")


if __name__ == "__main__":
    main()
