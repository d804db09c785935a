"""Train the XY chain's local model on 16 sites, run it on 256: the issue-25 figures.

Run: `XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
.venv/bin/python examples/xy_chain_local/run.py [--steps 3000] [--out runs/xy_chain_local]`

Trains `sn.LatticeNetwork` (natural: the per-site mass is learned too, no known kinetic
part) on accelerations of 16-site rollouts (`make_data.py`, float64), then rolls the same
weights on a 256-site ring from the spec's initial state to t = 20 with RK4 and with the
matrix-free variational integrator (dt = 0.01), next to the true system. Prints and writes
(`metrics.json`) the trajectory error (wrapped angles, max over sites), the relative drift
of the true total momentum P = sum_j thetadot_j along the learned flow, and the model's own
charge drift; `field.png` is the time x site image of the field.
"""

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from make_data import initial_states, make_data, module_for  # noqa: E402

import symnoether as sn  # noqa: E402
from symnoether.numeric.lattice_data import (  # noqa: E402
    lattice_error,
    lattice_truth,
    plot_lattice_field,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--sites", type=int, default=256)
    parser.add_argument("--t-final", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("runs/xy_chain_local"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    module = module_for(args.out, 16)
    data = make_data(module)
    start = time.process_time()
    model = sn.LatticeNetwork(module, width=32, key=jax.random.key(0))
    result = sn.train(
        model,
        data,
        steps=args.steps,
        steps_per_epoch=100,
        batch_size=64,
        progress=False,
        key=jax.random.key(1),
    )
    train_cpu = time.process_time() - start
    big = result.model.resized((args.sites,))
    from spec import initial_state  # noqa: PLC0415

    q0, v0 = (jnp.asarray(x) for x in initial_state(args.sites))
    steps = int(round(args.t_final / 0.01))
    truth = lattice_truth(module, (args.sites,))
    qt, vt = sn.integrate(truth, q0, v0, dt=0.01, steps=steps, save_every=10)
    metrics = {
        "train_steps": args.steps,
        "final_loss": float(result.losses[-1]),
        "train_cpu_s": train_cpu,
        "sites": args.sites,
        "t_final": args.t_final,
    }
    p0 = float(jnp.sum(v0))
    for name, method in (("rk4", sn.RK4()), ("variational", sn.MatrixFreeVariational(block=1))):
        qs, vs = sn.integrate(big, q0, v0, dt=0.01, steps=steps, save_every=10, method=method)
        own = jax.vmap(big.charges)(qs, vs)[:, 0]
        metrics[name] = {
            "trajectory_error": float(jnp.max(lattice_error(module, qs, qt))),
            "true_momentum_relative_drift": float(jnp.max(jnp.abs(jnp.sum(vs, 1) - p0)) / abs(p0)),
            "own_charge_drift": float(jnp.max(jnp.abs(own - own[0]))),
        }
        if name == "variational":
            plot_lattice_field(
                module,
                qs,
                (args.sites,),
                args.out / "field.png",
                dt=0.1,
                reference=qt,
                title=f"XY chain, {args.sites} sites, model trained on 16",
            )
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    _ = initial_states, np
    main()
