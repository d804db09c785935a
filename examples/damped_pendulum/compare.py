"""Learn the damped pendulum from noisy data, with and without a learned friction.

    python examples/damped_pendulum/make_data.py runs/damped_pendulum.npz
    python examples/damped_pendulum/compare.py runs/damped_pendulum.npz [--steps 20000]

Trains, on the same data and with the same settings, (a) a conservative invariant network
L = f(S) and (b) the same network with a learned Rayleigh friction,
`sn.ForcedLagrangian(network, sn.RayleighDissipation(module))` (R = c thetadot^2, c >= 0).
Both are rolled out with RK4 (dt = 0.01) from the true initial state over the data's span
and compared with the true trajectory; the learned friction coefficient
b = -qdot M^-1 Phi / qdot^2 (independent of the scale of L) is compared with the true 0.05.
Prints one JSON object.
"""

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import symnoether as sn

SPEC = Path(__file__).resolve().parent / "spec.py"
TRUE_FRICTION = 0.05


def _error(model, truth, q0, qdot0, steps):
    qs, _ = sn.integrate(model, q0, qdot0, dt=0.01, steps=steps, save_every=10)
    error = np.abs(np.asarray(qs - truth))[:, 0]
    return {"max": float(error.max()), "rms": float(np.sqrt(np.mean(error**2)))}


def main() -> None:
    jax.config.update("jax_enable_x64", True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    system = sn.load_spec(SPEC)
    with tempfile.TemporaryDirectory() as folder:
        module = sn.generate(system, Path(folder) / "model.py")
    data = sn.load_data(args.data, module).astype(jnp.float64)
    key_net, key_r, key_train = jax.random.split(jax.random.key(args.seed), 3)
    network = sn.LagrangianNetwork(module, key=key_net, dtype=jnp.float64)
    models = {
        "conservative": network,
        "learned_friction": sn.ForcedLagrangian(
            network, sn.RayleighDissipation(module, dtype=jnp.float64, key=key_r)
        ).normalized(data.q, data.qdot),
    }
    q0, qdot0 = (jnp.asarray(x, jnp.float64) for x in system.initial_state)
    span = float(data.t[-1] - data.t[0])
    steps = round(span / 0.01)
    truth, _ = sn.integrate(sn.true_model(module), q0, qdot0, dt=0.01, steps=steps,
                            save_every=10)  # fmt: skip
    report = {"samples": len(data), "span": span, "train_steps": args.steps}
    for name, model in models.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = sn.train(model, data, steps=args.steps, progress=False, key=key_train)
        entry = {"final_loss": float(result.losses[-1]),
                 "warnings": [str(w.message)[:80] for w in caught],
                 "trajectory_error": _error(result.model, truth, q0, qdot0, steps)}  # fmt: skip
        if name == "learned_friction":
            b = result.model.friction_coefficient(data.q, data.qdot)
            entry["friction_coefficient"] = float(jnp.median(b))
            entry["friction_relative_error"] = abs(float(jnp.median(b)) / TRUE_FRICTION - 1)
        report[name] = entry
    ratio = (report["conservative"]["trajectory_error"]["rms"]
             / report["learned_friction"]["trajectory_error"]["rms"])  # fmt: skip
    report["rms_error_ratio"] = ratio
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
