"""The generated module of a system with forces, friction or an explicit time.

Its rates are checked against the balance laws they state: d/dt of the closed-form charges
and energy along the closed-form acceleration (forward-mode JAX) equals the exported rates.
"""

import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import symnoether as sn
from symnoether.symbolic.mechanics import solve_acceleration

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("damped_pendulum", "spec.py", {}),
    ("duffing", "spec.py", {}),
    ("caldirola_kanai", "spec.py", {}),
    ("caldirola_kanai", "symmetric.py", {}),
    ("damped_two_particles", "spec.py", {"SYMNOETHER_FRICTION": "z"}),
    ("switched_field", "spec.py", {}),
]
_MODULES: dict = {}


def _module(name, spec, env):
    key = (name, spec, tuple(env.items()))
    if key not in _MODULES:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            system = sn.load_spec(ROOT / "examples" / name / spec)
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        _MODULES[key] = (system, sn.generate(system))
    return _MODULES[key]


def _timed(module, t):
    return {"t": t} if getattr(module, "EXPLICIT_TIME", False) else {}


def _charge_time(module, t):
    return {"t": t} if getattr(module, "TIME_DEPENDENT", False) else {}


def _states(n, seed=0):
    rng = np.random.default_rng(seed)
    return [(jnp.asarray(rng.normal(size=n) + 0.5), jnp.asarray(rng.normal(size=n)),
             float(rng.uniform(0, 2))) for _ in range(3)]


def _force(module, q, qdot, t):
    force = jnp.zeros_like(q)
    if getattr(module, "HAS_FORCES", False):
        force = force + module.forces(q, qdot, t=t)
    if getattr(module, "HAS_DISSIPATION", False):
        force = force + module.dissipation_force(q, qdot)
    return force


@pytest.mark.parametrize(("name", "spec", "env"), CASES)
def test_charges_and_energy_change_at_the_exported_rates(name, spec, env):
    system, module = _module(name, spec, env)
    for q, qdot, t in _states(system.coordinates.n):
        qddot = module.acceleration(q, qdot, **_timed(module, t))

        def charges(q, v, t):
            return module.true_charges(q, v, **_charge_time(module, t))

        def energy(q, v, t):
            return module.true_energy(q, v, **_timed(module, t))

        tangent = (qdot, qddot, jnp.asarray(1.0))
        _, dI = jax.jvp(charges, (q, qdot, jnp.asarray(t)), tangent)
        _, dE = jax.jvp(energy, (q, qdot, jnp.asarray(t)), tangent)
        force = _force(module, q, qdot, t)
        rates = module.charge_rates(force, q, qdot, t=t)
        if hasattr(module, "true_charge_rates"):
            np.testing.assert_allclose(module.true_charge_rates(q, qdot, t=t), rates,
                                       rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dI, rates, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(dE, module.true_energy_rate(q, qdot, t=t), rtol=1e-9,
                                   atol=1e-9)
        own = module.energy_rate(module.lagrangian, force, q, qdot, t=t)
        np.testing.assert_allclose(own, module.true_energy_rate(q, qdot, t=t), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize(("name", "spec", "env"), CASES)
def test_acceleration_matches_lambdify_of_the_equations_of_motion(name, spec, env):
    system, module = _module(name, spec, env)
    c = system.coordinates
    qddot = solve_acceleration(system, simplify=False)
    f = sympy.lambdify([c.q, c.qdot, sn.TIME], list(qddot), "jax")
    for q, qdot, t in _states(c.n, seed=1):
        expected = jnp.stack([jnp.asarray(v, dtype=q.dtype) for v in f(q, qdot, t)])
        np.testing.assert_allclose(module.acceleration(q, qdot, **_timed(module, t)),
                                   expected, rtol=1e-12, atol=1e-12)


def test_flags_and_names_say_what_the_module_has():
    _, pendulum = _module(*CASES[0])
    assert pendulum.HAS_DISSIPATION and pendulum.LEARNED_DISSIPATION
    assert pendulum.DISSIPATION_BASIS_NAMES == ("thetadot_sq",)
    assert not hasattr(pendulum, "HAS_FORCES") and not hasattr(pendulum, "EXPLICIT_TIME")
    q, qdot = jnp.array([0.3]), jnp.array([-2.0])
    assert float(pendulum.dissipation(q, qdot)) == pytest.approx(0.05 / 2 * 4.0)
    assert float(pendulum.dissipation_basis(q, qdot)[0]) == pytest.approx(4.0)
    assert pendulum.ENERGY_CONSERVED is False and pendulum.CONSERVED_CHARGES == ()
    _, duffing = _module(*CASES[1])
    assert duffing.HAS_FORCES and duffing.EXPLICIT_TIME and duffing.TIME_DEPENDENT
    forced = duffing.forces(q, qdot, t=1.0)
    assert float(forced[0]) == pytest.approx(0.3 * np.cos(1.2))
    _, pair = _module(*CASES[4])
    assert pair.CONSERVED_CHARGES == (True, True, False, True, False, False)
    assert not hasattr(pair, "EXPLICIT_TIME") and not hasattr(pair, "TIME_DEPENDENT")


def test_a_conservative_module_has_none_of_the_new_names():
    c = sn.coordinates("x")
    module = sn.generate(sn.System("osc", c, lagrangian=(c.qdot[0]**2 - c.q[0]**2) / 2))
    for name in ("charge_rates", "energy_rate", "forces", "dissipation", "HAS_FORCES",
                 "EXPLICIT_TIME", "CONSERVED_CHARGES", "true_energy_rate"):
        assert not hasattr(module, name), name


def test_float32_stays_float32():
    _, duffing = _module(*CASES[1])
    q, qdot = jnp.array([0.3], jnp.float32), jnp.array([-2.0], jnp.float32)
    for value in (duffing.acceleration(q, qdot, t=0.5), duffing.forces(q, qdot, t=0.5),
                  duffing.true_energy_rate(q, qdot, t=0.5), duffing.lagrangian(q, qdot, t=1.0)):
        assert value.dtype == jnp.float32


def test_rendering_with_forces_is_identical_across_hash_seeds():
    script = (
        "import sys, os, dataclasses; os.environ['SYMNOETHER_FRICTION'] = 'z'\n"
        "import symnoether as sn\n"
        "from symnoether.codegen.generate import render\n"
        f"s = sn.load_spec({str(ROOT / 'examples/damped_two_particles/spec.py')!r})\n"
        "s = dataclasses.replace(s, learn_dissipation=True, conserved=())\n"
        "sys.stdout.write(render(s))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONHASHSEED": seed, "JAX_PLATFORMS": "cpu"})
        for seed in ("1", "12345")
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert outputs[0] == outputs[1] and "def dissipation_basis" in outputs[0]
