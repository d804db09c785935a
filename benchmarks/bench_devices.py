"""Training throughput on this machine's devices: one device, all local devices (the batch
split across them, `train(devices=...)`), and a seed ensemble on one device
(`train_ensemble`, K seeds vmapped). Kepler, the reference's network (2 x 128 softplus),
the Kepler orbit stream, Adam. Wall time of the epochs after the first (which compiles);
samples per second counts every seed's samples.

    .venv/bin/python benchmarks/bench_devices.py --json runs/device/throughput.json

On a CPU-only machine, simulate devices to exercise the multi-device path (the figures
are then not a speed-up: the simulated devices share the same cores):

    XLA_FLAGS=--xla_force_host_platform_device_count=2 .venv/bin/python \\
        benchmarks/bench_devices.py --epochs 2 --steps 10
"""

import argparse
import json
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


def _per_epoch(run, epochs: int) -> float:
    # Seconds per epoch after the first, from the times at the end of each epoch.
    marks = []
    run(lambda *_: marks.append(time.perf_counter()))
    return (marks[-1] - marks[0]) / (epochs - 1)


def _single(model, stream, key, devices, settings) -> float:
    return _per_epoch(lambda cb: train(model, stream, key=key, devices=devices, callback=cb,
                                       **settings), settings["epochs"])  # fmt: skip


def _ensemble(models, stream, keys, device, settings) -> float:
    # train_ensemble has no callback: a first call compiles, a second one is timed whole.
    run = lambda: train_ensemble(models, stream, keys=keys, devices=[device], **settings)  # noqa: E731
    run()
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / settings["epochs"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (>= 2)")
    parser.add_argument("--steps", type=int, default=100, help="steps per epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=8, help="members of the ensemble")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2: the first epoch compiles")
    devices = jax.local_devices()
    config = TrainConfig()
    stream = state_stream(
        kepler_contract,
        kepler_orbit_sampler(np.array([1 / 1.8, 0, 0]), np.array([0, 1.8, 0])),
        noise=1e-3,
    )
    keys = [jax.random.split(jax.random.key(s)) for s in range(args.seeds)]
    models = [config.make_network(kepler_contract, key=k[0]) for k in keys]
    settings = dict(epochs=args.epochs, steps_per_epoch=args.steps,
                    batch_size=args.batch_size, progress=False)  # fmt: skip
    samples = args.steps * args.batch_size  # per epoch and seed
    rows = {"single": (_single(models[0], stream, keys[0][1], devices[:1], settings), 1)}
    if len(devices) > 1 and args.batch_size % len(devices) == 0:
        rows[f"all {len(devices)} devices"] = (
            _single(models[0], stream, keys[0][1], devices, settings),
            1,
        )
    rows[f"ensemble of {args.seeds}, one device"] = (
        _ensemble(models, stream, [k[1] for k in keys], devices[0], settings),
        args.seeds,
    )
    result = {
        "platform": devices[0].platform, "device_kind": devices[0].device_kind,
        "local_devices": len(devices), "batch_size": args.batch_size,
        "steps_per_epoch": args.steps, "network": "2 x 128 softplus", "system": "kepler",
        "clock": "wall, epochs after the first",
        "rows": {name: {"seconds_per_epoch": seconds, "seeds": seeds,
                        "samples_per_second": seeds * samples / seconds,
                        "seed_steps_per_second": seeds * args.steps / seconds}
                 for name, (seconds, seeds) in rows.items()},
    }  # fmt: skip
    single = result["rows"]["single"]["samples_per_second"]
    for name, row in result["rows"].items():
        print(
            f"{name:<28} {row['samples_per_second']:>12,.0f} samples/s "
            f"(x{row['samples_per_second'] / single:.2f} of one device, one seed)"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
