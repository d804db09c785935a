"""Issue 24's hard lattice problem: the 6 x 6 U(1) field, local natural model against an
unconstrained network.

Run: `XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
.venv/bin/python examples/complex_field_local/compare_6x6.py [--steps 1500]
[--out runs/complex_field_6x6]`

Both models are trained for `--steps` Adam steps (batch 32, float64) on the same
accelerations of 6 x 6 rollouts (`make_data.py`, 16 trajectories): `sn.LatticeNetwork`
(shared stencil potential, learned definite per-site mass blocks, no known part) and the
unconstrained baseline, an MLP L(q, qdot) of all 144 state components (2 x 64, softplus;
the `invariant=False` network of the reference, here as a `FunctionLagrangian` with
autodiff dynamics). Both are rolled with RK4 (dt = 0.01) to t = 20 from the spec's initial
state; printed and written to `metrics.json`: the largest trajectory error, whether the
rollout stayed finite and bounded (|q| < 10), and the drift of the true U(1) charge along
each learned flow.
"""

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

from make_data import make_data, module_for  # noqa: E402

import symnoether as sn  # noqa: E402
from symnoether.numeric.lattice_data import lattice_error, lattice_truth  # noqa: E402


class Unconstrained(eqx.Module):
    """An MLP of the whole state: no symmetry, no locality, no structure."""

    mlp: eqx.nn.MLP

    def __call__(self, q, qdot):
        return self.mlp(jnp.concatenate([q, qdot]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--t-final", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("runs/complex_field_6x6"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    module = module_for(args.out, 6)
    data = make_data(module, side=6)
    n = 72
    models = {
        "local_natural": sn.LatticeNetwork(module, width=32, key=jax.random.key(0)),
        "unconstrained": sn.FunctionLagrangian(
            Unconstrained(
                eqx.nn.MLP(2 * n, "scalar", 64, 2, jax.nn.softplus, key=jax.random.key(0))
            ),
            module=module,
        ),
    }
    from spec import initial_state  # noqa: PLC0415

    q0, v0 = (jnp.asarray(x) for x in initial_state(6))
    steps = int(round(args.t_final / 0.01))
    truth = lattice_truth(module, (6, 6))
    qt, _ = sn.integrate(truth, q0, v0, dt=0.01, steps=steps, save_every=10)
    metrics = {"train_steps": args.steps, "t_final": args.t_final, "samples": len(data)}
    for name, model in models.items():
        start = time.process_time()
        result = sn.train(
            model,
            data,
            steps=args.steps,
            steps_per_epoch=100,
            batch_size=32,
            progress=False,
            key=jax.random.key(1),
        )
        train_cpu = time.process_time() - start
        qs, vs = sn.integrate(result.model, q0, v0, dt=0.01, steps=steps, save_every=10)
        error = lattice_error(module, qs, qt)
        charge = jax.vmap(truth.charges)(qs, vs)[:, 0]
        metrics[name] = {
            "final_loss": float(result.losses[-1]),
            "train_cpu_s": train_cpu,
            "trajectory_error_max": float(jnp.nanmax(error)),
            "trajectory_error_t5": float(error[min(50, len(error) - 1)]),
            "bounded": bool(jnp.all(jnp.isfinite(qs)) and jnp.max(jnp.abs(qs)) < 10),
            "true_charge_relative_drift": float(
                jnp.nanmax(jnp.abs(charge - charge[0])) / abs(charge[0])
            ),
        }
        print(name, json.dumps(metrics[name]), flush=True)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
