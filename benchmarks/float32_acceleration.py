"""Where float32 loses digits in the invariant network's acceleration (issue 28, item 5).

RK4 rollouts (dt = 0.01) whose state stays in float64 while the acceleration is computed in
float32, as the "mixed" evaluation does, by each route the package has; then the per-state
chain rule with one stage at a time in float32 (its inputs rounded to float32, its outputs
back to float64), the rest in float64. The figure is the drift of the float64 network's own
charges, max_t |I(t) - I(0)| / |I(0)| for the vector of them, the median over the initial
state and three perturbed ones (positions + 0.05 N(0, 1)). The float64 row is RK4's own
error, the floor.

    .venv/bin/python benchmarks/float32_acceleration.py RUN_DIR [--steps 6400]
        [--weights W.npz]

RUN_DIR: a run folder with an invariant model (e.g. runs/reference/two_particles_4d_both);
`--weights` replaces its weights by those of an .npz holding W0, b0, W1, b1, ..., W_last
as arr_0, arr_1, ... (shapes as `LagrangianNetwork.from_weights` takes them).
"""

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from symnoether.numeric import dynamics  # noqa: E402
from symnoether.numeric._batched import activation_derivatives, mlp_gradient_hessian  # noqa: E402
from symnoether.numeric.integrate import integrate  # noqa: E402
from symnoether.numeric.network import LagrangianNetwork  # noqa: E402
from symnoether.numeric.run import load_run  # noqa: E402


def _to32(x):
    return jax.tree.map(lambda a: a.astype(jnp.float32), x)


def _to64(x):
    return jax.tree.map(lambda a: a.astype(jnp.float64), x)


def _network(run, weights_file) -> LagrangianNetwork:
    model = run.models["invariant"]
    if weights_file is None:
        return model
    with np.load(weights_file) as file:
        arrays = [file[f"arr_{i}"] for i in range(len(file.files))]
    pairs = [(arrays[i], arrays[i + 1]) for i in range(0, len(arrays) - 1, 2)]
    return LagrangianNetwork.from_weights(run.module, [*pairs, (arrays[-1], None)],
                                          dtype=jnp.float32)  # fmt: skip


def _softplus_report() -> None:
    # softplus'' in float32: autodiff of jax.nn.softplus against the closed form.
    z = jnp.linspace(-20, 20, 4001, dtype=jnp.float32)
    second = jax.vmap(jax.grad(jax.grad(jax.nn.softplus)))
    exact = second(z.astype(jnp.float64))
    routes = {"autodiff": second(z), "closed form": activation_derivatives(jax.nn.softplus, z)[2]}
    for name, value in routes.items():
        error = np.abs(np.asarray(value, np.float64) - exact) / exact
        cells = [f"|z| < {hi}: {np.max(error[(abs(z) >= lo) & (abs(z) < hi)]):.1e}"
                 for lo, hi in ((0, 2), (2, 5), (5, 10), (10, 20.1))]  # fmt: skip
        print(f"softplus'' in float32, {name:11s} largest relative error " + ", ".join(cells))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--steps", type=int, default=6400)
    parser.add_argument("--weights")
    args = parser.parse_args(argv)
    run = load_run(args.run_dir)
    module = run.module
    m32 = _network(run, args.weights)
    m64 = LagrangianNetwork.from_weights(module, m32.weights(), dtype=jnp.float64)
    q0, v0 = (jnp.asarray(x, jnp.float64) for x in run.initial_state)
    starts = [(q0, v0)] + [
        (q0 + 0.05 * jax.random.normal(jax.random.key(k), q0.shape), v0) for k in (1, 2, 3)
    ]

    def drift(name, acceleration):
        start, drifts = time.perf_counter(), []
        for q, v in starts:
            qs, vs = integrate(m64, q, v, dt=0.01, steps=args.steps, save_every=10,
                               acceleration=acceleration)  # fmt: skip
            charges = np.asarray(jax.vmap(m64.charges)(qs, vs))
            drifts.append(np.max(np.linalg.norm(charges - charges[0], axis=-1))
                          / np.linalg.norm(charges[0]))  # fmt: skip
        print(f"{name:52s} {np.median(drifts):.2e}   ({time.perf_counter() - start:.0f} s)",
              flush=True)  # fmt: skip

    def chain(q, v, stage=None, mlp="autodiff"):
        # LagrangianNetwork.acceleration's chain rule, `stage` alone in float32 (every stage
        # with stage="all"); the MLP's derivatives by autodiff (as there) or closed form.
        cast = {True: _to32, False: lambda x: x}
        s, *d = _to64(module.invariant_derivatives(*cast[stage in ("features", "all")]((q, v))))
        net = m32 if stage in ("mlp", "all") else m64
        x = cast[stage in ("mlp", "all")](s)
        if mlp == "autodiff":
            g, h = net._mlp_derivatives(x)
        else:
            g, h = (y[0] for y in mlp_gradient_hessian(net.mlp, x[None]))
        terms = cast[stage in ("el", "all")]((*d, *_to64((g, h)), v))
        mass, rhs = cast[stage in ("solve", "all")](dynamics.euler_lagrange_terms(*terms))
        return _to64(jnp.linalg.solve(mass, rhs))

    def mixed(f):
        return lambda q, v: _to64(f(*_to32((q, v))))

    _softplus_report()
    print(f"\nown-charge drift, RK4 dt = 0.01 to t = {args.steps / 100:g}, float64 state:")
    drift("float64 network (RK4's own error)", m64.acceleration)
    drift("f32: LagrangianNetwork.acceleration (mixed's route)", mixed(m32.acceleration))
    drift("f32: autodiff of L (dynamics.acceleration)",
          mixed(lambda q, v: dynamics.acceleration(m32, q, v)))  # fmt: skip
    drift("f32: batched closed form (batch of one)",
          mixed(lambda q, v: m32.batched_acceleration(q[None], v[None])[0]))  # fmt: skip
    drift("f32: chain rule with the closed-form MLP derivatives",
          lambda q, v: chain(q, v, "all", mlp="closed"))  # fmt: skip
    for stage in ("features", "mlp", "el", "solve"):
        drift(f"  only {stage} in f32 (MLP by autodiff)", lambda q, v, s=stage: chain(q, v, s))
    drift("  only mlp in f32 (closed form)", lambda q, v: chain(q, v, "mlp", mlp="closed"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
