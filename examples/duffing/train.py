"""Learn the forced Duffing oscillator from noisy data with the drive known.

    python examples/duffing/make_data.py runs/duffing.npz
    python examples/duffing/train.py runs/duffing.npz [--steps 20000]

The model (learned.py: the same system with `learn_dissipation=True`) is
`sn.ForcedLagrangian(network, sn.DrivingForce(module) + sn.RayleighDissipation(module))`:
a learned L = f(x, xdot), a learned friction R = c xdot^2 and the known drive
gamma cos(omega t), trained on accelerations with the samples' times. It is rolled out with
RK4 and with the forced variational integrator (dt = 0.01) from the true initial state for
`--periods` forcing periods and over the data's span, and compared with the true rollout.
Prints one JSON object.
"""

import argparse
import json
import math
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import symnoether as sn

HERE = Path(__file__).resolve().parent


def main() -> None:
    jax.config.update("jax_enable_x64", True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--periods", type=float, default=4.0)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    system = sn.load_spec(HERE / "learned.py")
    with tempfile.TemporaryDirectory() as folder:
        module = sn.generate(system, Path(folder) / "model.py")
    data = sn.load_data(args.data, module).astype(jnp.float64)
    key_net, key_r, key_train = jax.random.split(jax.random.key(args.seed), 3)
    force = sn.DrivingForce(module) + sn.RayleighDissipation(
        module, dtype=jnp.float64, key=key_r
    )
    network = sn.LagrangianNetwork(module, key=key_net, dtype=jnp.float64)
    model = sn.ForcedLagrangian(network, force).normalized(data.q, data.qdot)
    result = sn.train(model, data, steps=args.steps, learning_rate=args.learning_rate,
                      progress=False, key=key_train)  # fmt: skip
    q0, qdot0 = (jnp.asarray(x, jnp.float64) for x in system.initial_state)
    period = 2 * math.pi / module.PARAMETERS["omega"]
    report = {"samples": len(data), "final_loss": float(result.losses[-1]),
              "period": period}  # fmt: skip
    for label, t_end in ((f"{args.periods:g}_periods", args.periods * period),
                         ("data_span", float(data.t[-1]))):  # fmt: skip
        steps = 10 * round(t_end / 0.1)
        truth, _ = sn.integrate(sn.true_model(module), q0, qdot0, dt=0.01, steps=steps,
                                save_every=10)  # fmt: skip
        scale = float(jnp.max(jnp.abs(truth)))
        for method in ("rk4", "variational"):
            qs, _ = sn.integrate(result.model, q0, qdot0, dt=0.01, steps=steps,
                                 save_every=10, method=method)  # fmt: skip
            error = np.abs(np.asarray(qs - truth))[:, 0]
            report[f"{label}_{method}"] = {
                "t_end": t_end, "max_error": float(error.max()),
                "rms_error": float(np.sqrt(np.mean(error**2))), "amplitude": scale,
                "bounded": bool(np.all(np.isfinite(error)) and np.abs(qs).max() < 10 * scale),
            }  # fmt: skip
    # The friction alone (the second term of the force), divided by the learned mass.
    friction = sn.ForcedLagrangian(result.model.lagrangian, result.model.force.forces[1])
    b = friction.friction_coefficient(data.q, data.qdot)
    report["friction_coefficient"] = float(jnp.median(b))
    report["true_friction_coefficient"] = module.PARAMETERS["delta"]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
