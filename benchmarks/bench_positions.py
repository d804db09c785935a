"""Learning from positions only, against a model trained on exact accelerations.

Run: `.venv/bin/python benchmarks/bench_positions.py [--steps 20000] [--width 32]
[--model mlp|natural] [--seeds 0:10]`

For Kepler (3D, SO(3)) and two particles in 2D (translations x SO(2)): B true
trajectories from random initial states (drawn around a base state), sampled every 0.1 up
to `--t-final`. The positions model sees only their positions, with Gaussian noise
sigma = 1e-3, through `PositionLoss` (K = `--rollout-steps`); the acceleration model sees
the exact states and accelerations at the same samples. Both are invariant networks of the
same size, trained with the same optimiser, batch and number of steps in float32.

Each trained model is cast to float64 and rolled out with the midpoint variational
integrator (dt = 0.01) from the base state, which no training trajectory starts from; the
truth is RK4 at dt = 0.001 on the closed-form acceleration. Reported: trajectory error
|q - q_true| at t = 10 and t = 64, the relative drift of the model's own Noether charges
(max_t |I(t) - I(0)| / max |I(0)|) and the training cost per step (after the compiling
epoch). Targets: positions error within 3x of the acceleration model's, charges <= 1e-12.
The machine may be shared: timings vary with its load, the rest is deterministic.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from handwritten import kepler_contract, two_particle_2d_contract  # noqa: E402

from symnoether.numeric.data import Dataset  # noqa: E402
from symnoether.numeric.integrate import MidpointVariational, integrate  # noqa: E402
from symnoether.numeric.natural import NaturalLagrangianNetwork  # noqa: E402
from symnoether.numeric.network import LagrangianNetwork  # noqa: E402
from symnoether.numeric.position_loss import PositionLoss  # noqa: E402
from symnoether.numeric.positions import position_data  # noqa: E402
from symnoether.numeric.train import train  # noqa: E402

# Base states: the example specs' initial states (Kepler: a bound orbit of period ~16).
PROBLEMS = {
    "kepler": (kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.2, 0.1]),
    "two_particles_2d": (two_particle_2d_contract, [0.6, 0.1, -0.5, 0.0],
                         [0.0, 0.5, 0.1, -0.6]),
}  # fmt: skip
SAMPLE_EVERY, EVAL_DT, TIMES = 0.1, 0.01, (10.0, 64.0)


def smoothed(q: np.ndarray, window: int, degree: int) -> np.ndarray:
    """Local least-squares polynomials (Savitzky-Golay) of `degree` over `window` samples
    along axis -2 of `q` (trajectories `(B, T, n)`): each sample is replaced by the value
    at its time of the polynomial fitted to the `window` samples around it (the first and
    last `window // 2` samples by the polynomial of the first or last window)."""
    if window <= 1:
        return q
    half = window // 2
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    fit = np.linalg.pinv(np.vander(offsets, degree + 1, increasing=True))  # (deg+1, window)
    out = np.empty_like(q)
    T = q.shape[-2]
    for k in range(T):
        start = min(max(k - half, 0), T - window)
        x = k - (start + half)  # where k sits in its window, relative to the centre
        weights = np.vander([float(x)], degree + 1, increasing=True)[0] @ fit
        out[..., k, :] = np.einsum("w,...wn->...n", weights, q[..., start:start + window, :])
    return out


def _training_states(q0, qdot0, n_trajectories: int, spread: float, seed: int):
    rng = np.random.default_rng(seed)
    q0, qdot0 = np.asarray(q0), np.asarray(qdot0)
    shape = (n_trajectories, len(q0))
    return q0 + spread * rng.normal(size=shape), qdot0 + spread * rng.normal(size=shape)


def _true_samples(module, q0s, qdot0s, t_final: float):
    # Exact states at every sample (RK4, dt = 0.001, closed-form acceleration).
    steps = round(t_final / SAMPLE_EVERY) * 100
    qs, qdots = integrate(
        module.lagrangian, jnp.asarray(q0s), jnp.asarray(qdot0s), dt=0.001, steps=steps,
        save_every=100, acceleration=module.acceleration,
    )  # fmt: skip
    return np.asarray(qs), np.asarray(qdots)


def _datasets(module, qs, qdots, seed: int, args):
    noisy = qs + args.noise * np.random.default_rng(seed + 1).normal(size=qs.shape)
    noisy = smoothed(noisy, args.smooth, args.smooth_degree)
    positions = position_data(noisy.astype(np.float32), dt=SAMPLE_EVERY)
    q, qdot = qs.reshape(-1, qs.shape[-1]), qdots.reshape(-1, qs.shape[-1])
    qddot = np.asarray(jax.vmap(module.acceleration)(q, qdot))
    accelerations = Dataset(*(jnp.asarray(x, jnp.float32) for x in (q, qdot, qddot)))
    return positions, accelerations


def _train(module, data, args, loss=None):
    stamps = []
    family = NaturalLagrangianNetwork if args.model == "natural" else LagrangianNetwork
    model = family(module, width=args.width, dtype=jnp.float32, key=jax.random.key(args.seed))
    result = train(
        model, data, steps=args.steps, steps_per_epoch=args.steps_per_epoch, batch_size=128,
        loss=loss, progress=False, callback=lambda *_: stamps.append(time.perf_counter()),
        key=jax.random.key(args.seed + 1),
    )  # fmt: skip
    seconds = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    return result, 1e3 * seconds / (args.steps - args.steps_per_epoch)


def _evaluate(module, model, q0, qdot0, truth) -> dict:
    model = jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x,
                         model)  # fmt: skip
    steps = round(TIMES[-1] / EVAL_DT)
    result = integrate(model, jnp.asarray(q0), jnp.asarray(qdot0), dt=EVAL_DT, steps=steps,
                       method=MidpointVariational(), full_output=True)  # fmt: skip
    qs, qdots = result.qs, result.qdots
    error = np.linalg.norm(np.asarray(qs) - truth, axis=-1)
    charges = np.asarray(jax.vmap(model.charges)(qs, qdots))
    drift = np.max(np.abs(charges - charges[0])) / np.max(np.abs(charges[0]))
    out = {f"error_t{t:g}": float(error[round(t / EVAL_DT)]) for t in TIMES}
    out["max_error_to_t10"] = float(np.max(error[: round(10 / EVAL_DT) + 1]))
    return {**out, "charge_drift": float(drift), "finite": bool(np.all(np.isfinite(error))),
            "failed_solves": int(np.sum(result.failures))}


def _problem(name: str, args) -> dict:
    module, q0, qdot0 = PROBLEMS[name]
    q0s, qdot0s = _training_states(q0, qdot0, args.trajectories, args.spread, args.seed)
    qs, qdots = _true_samples(module, q0s, qdot0s, args.t_final)
    positions, accelerations = _datasets(module, qs, qdots, args.seed, args)
    truth = _fine_truth(module, q0, qdot0)
    rows = {}
    for label, data, loss in (
        ("accelerations", accelerations, None),
        ("positions", positions, PositionLoss(steps=args.rollout_steps)),
    ):
        result, ms = _train(module, data, args, loss)
        rows[label] = {"final_loss": float(result.losses[-1]), "ms_per_step": ms,
                       **_evaluate(module, result.model, q0, qdot0, truth)}  # fmt: skip
    return rows


def _fine_truth(module, q0, qdot0) -> np.ndarray:
    # The true trajectory at every evaluation step: RK4 at dt / 10.
    steps = round(TIMES[-1] / EVAL_DT) * 10
    qs, _ = integrate(module.lagrangian, jnp.asarray(q0), jnp.asarray(qdot0), dt=EVAL_DT / 10,
                      steps=steps, save_every=10, acceleration=module.acceleration)  # fmt: skip
    return np.asarray(qs)


def _report(name: str, rows: dict) -> bool:
    acc, pos = rows["accelerations"], rows["positions"]
    print(f"\n{name}")
    print(f"  {'trained on':<15}{'final loss':>11}{'err t=10':>11}{'err t=64':>11}"
          f"{'charges':>10}{'ms/step':>9}")  # fmt: skip
    for label, row in rows.items():
        print(f"  {label:<15}{row['final_loss']:>11.3e}{row['error_t10']:>11.3e}"
              f"{row['error_t64']:>11.3e}{row['charge_drift']:>10.1e}{row['ms_per_step']:>9.2f}")
    ratios = [pos[f"error_t{t:g}"] / acc[f"error_t{t:g}"] for t in TIMES]
    exact = pos["charge_drift"] <= 1e-12
    met = all(r <= 3 for r in ratios) and exact
    print(f"  positions / accelerations error: {ratios[0]:.2f}x (t=10), {ratios[1]:.2f}x (t=64); "
          f"cost {pos['ms_per_step'] / acc['ms_per_step']:.1f}x per step; charges "
          f"{'exact' if exact else 'NOT exact'}; target (<= 3x, <= 1e-12): "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--steps", type=int, default=20000, help="optimiser steps per model")
    parser.add_argument("--steps-per-epoch", type=int, default=500)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--rollout-steps", type=int, default=1, help="K of PositionLoss")
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--spread", type=float, default=0.05)
    parser.add_argument("--t-final", type=float, default=64.0, help="length of each trajectory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="a range START:STOP of seeds (overrides --seed)")
    parser.add_argument("--noise", type=float, default=1e-3, help="sigma on the positions")
    parser.add_argument("--smooth", type=int, default=1,
                        help="Savitzky-Golay window (samples, odd) on the noisy positions; "
                        "1: none")  # fmt: skip
    parser.add_argument("--smooth-degree", type=int, default=4)
    parser.add_argument("--model", choices=("mlp", "natural"), default="mlp",
                        help="the invariant model family of both models")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{args.trajectories} trajectories of t = {args.t_final:g} every {SAMPLE_EVERY}, "
          f"noise {args.noise} on positions, smoothing window {args.smooth}; "
          f"width {args.width}, {args.steps} steps of batch 128, "
          f"float32; positions loss K = {args.rollout_steps}")  # fmt: skip
    seeds = [args.seed] if args.seeds is None else range(*map(int, args.seeds.split(":")))
    results, ok = {}, True
    for seed in seeds:
        args.seed = seed
        for name in args.problems.split(","):
            print(f"\nseed {seed}, model {args.model}", end="")
            results[f"{name}/seed{seed}"] = rows = _problem(name, args)
            ok &= _report(name, rows)
            if args.json:  # after every problem: a long run keeps what it finished
                args.json.write_text(json.dumps({"settings": vars(args) | {
                    "json": str(args.json)}, "results": results}, indent=2))  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
