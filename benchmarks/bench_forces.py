"""The exact discrete balance law of the forced variational integrator (issue 26).

Run: `.venv/bin/python benchmarks/bench_forces.py [--steps 10000]`

Two particles in 3D with a central force and friction (examples/damped_two_particles), the
true system (`sn.true_model`: its Lagrangian and `KnownForce`), float64, dt = 0.01, from the
spec's initial state, with `MidpointVariational` and, as the control, RK4. For each charge:
the largest |I_a(t_k) - I_a(0) - accumulated discrete impulse| (`discrete_balance`),
relative to |I_a(0)| for the angular momenta (the momenta start near 0 and are shown
absolutely), and for the friction along z the drift of the charges it keeps. Target:
<= 1e-12 relative over 1e4 steps.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import symnoether as sn  # noqa: E402
from symnoether.numeric.balance import discrete_balance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _module(friction: str):
    os.environ["SYMNOETHER_FRICTION"] = friction
    system = sn.load_spec(ROOT / "examples" / "damped_two_particles" / "spec.py")
    return system, sn.generate(system)


def _case(friction: str, method: str, steps: int) -> dict:
    system, module = _module(friction)
    model = sn.true_model(module)
    q0, qdot0 = (np.asarray(x) for x in system.initial_state)
    start = time.perf_counter()
    qs, qdots = sn.integrate(model, q0, qdot0, dt=0.01, steps=steps, method=method)
    seconds = time.perf_counter() - start
    residual = np.abs(np.asarray(discrete_balance(model, qs, qdots, dt=0.01))).max(0)
    charges = np.asarray(jax.vmap(model.charges)(qs, qdots))
    names = module.CHARGE_NAMES
    row = {"friction": friction, "method": method, "steps": steps, "seconds": seconds}
    for i, name in enumerate(names):
        relative = name.startswith("angular")
        value = residual[i] / abs(charges[0, i]) if relative else residual[i]
        row[f"balance_{name}"] = (f"{value:.1e} rel" if relative else f"{value:.1e} abs")
        if module.CONSERVED_CHARGES[i]:
            drift = np.abs(charges[:, i] - charges[0, i]).max()
            row[f"conserved_{name}"] = (f"{drift / abs(charges[0, i]):.1e} rel" if relative
                                        else f"{drift:.1e} abs")  # fmt: skip
        row[f"change_{name}"] = f"{charges[-1, i] - charges[0, i]:+.3e}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    for friction in ("isotropic", "z"):
        for method in ("variational", "rk4"):
            print(json.dumps(_case(friction, method, args.steps)), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
