"""Train the complex field's local model on 8 x 8, run it on 32 x 32: the U(1) charge.

Run: `XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
.venv/bin/python examples/complex_field_local/run.py [--steps 2000] [--side 32]
[--out runs/complex_field_local]`

Trains `sn.LatticeNetwork` (natural per-site 2 x 2 mass blocks, learned) on accelerations of
8 x 8 rollouts (`make_data.py`, float64), then rolls the same weights on the side x side
torus from the spec's initial state for `--t-final` (default 2, 200 steps of dt = 0.01)
with the matrix-free variational integrator (`sn.MatrixFreeVariational(block=2)`: no dense
Jacobian) and with RK4. Prints and writes (`metrics.json`) the model's U(1) charge drift
(absolute and relative), the true charge along the learned flow and the trajectory error
against the true system; `field.png` shows |phi| at four times, model above truth.
"""

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

from make_data import make_data, module_for  # noqa: E402

import symnoether as sn  # noqa: E402
from symnoether.numeric.lattice_data import (  # noqa: E402
    lattice_error,
    lattice_truth,
    plot_lattice_field,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--t-final", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=Path("runs/complex_field_local"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    module = module_for(args.out, 8)
    data = make_data(module)
    start = time.process_time()
    model = sn.LatticeNetwork(module, width=32, key=jax.random.key(0))
    result = sn.train(
        model,
        data,
        steps=args.steps,
        steps_per_epoch=100,
        batch_size=32,
        progress=False,
        key=jax.random.key(1),
    )
    metrics = {
        "train_steps": args.steps,
        "final_loss": float(result.losses[-1]),
        "train_cpu_s": time.process_time() - start,
        "side": args.side,
        "t_final": args.t_final,
    }
    shape = (args.side, args.side)
    big = result.model.resized(shape)
    from spec import initial_state  # noqa: PLC0415

    q0, v0 = (jnp.asarray(x) for x in initial_state(args.side))
    steps = int(round(args.t_final / 0.01))
    truth = lattice_truth(module, shape)
    qt, _ = sn.integrate(truth, q0, v0, dt=0.01, steps=steps, save_every=10)
    for name, method in (("variational", sn.MatrixFreeVariational(block=2)), ("rk4", sn.RK4())):
        start = time.process_time()
        result_run = sn.integrate(
            big, q0, v0, dt=0.01, steps=steps, save_every=10, method=method, full_output=True
        )
        qs, vs = result_run.qs, result_run.qdots
        own = jax.vmap(big.charges)(qs, vs)[:, 0]
        true = jax.vmap(truth.charges)(qs, vs)[:, 0]
        metrics[name] = {
            "rollout_cpu_s": time.process_time() - start,
            "charge_drift": float(jnp.max(jnp.abs(own - own[0]))),
            "charge_relative_drift": float(jnp.max(jnp.abs(own - own[0])) / abs(own[0])),
            "true_charge_relative_drift": float(jnp.max(jnp.abs(true - true[0])) / abs(true[0])),
            "trajectory_error": float(jnp.max(lattice_error(module, qs, qt))),
        }
        if name == "variational":
            metrics[name]["newton_failures"] = int(jnp.sum(result_run.failures))
            plot_lattice_field(
                module,
                qs,
                shape,
                args.out / "field.png",
                dt=0.1,
                reference=qt,
                title=f"|phi| on {args.side} x {args.side}, model trained on 8 x 8",
            )
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
