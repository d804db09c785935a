"""Quasi-symmetries (X_a L = dF_a/dt), time-dependent generators (Galilean boosts) and the
charges I_a = dL/dqdot . xi_a - F_a, from the symbolic proofs to the generated module."""

import inspect
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import symnoether as sn
from symnoether.cli import main
from symnoether.errors import SpecError
from symnoether.numeric.contract import GeneratedModuleWithBoundary, members

ROOT = Path(__file__).resolve().parent.parent


def _magnetic(known: bool = True, extra=0, **group_kwargs):
    c = sn.coordinates("x y z", blocks={"xy": ["x", "y"]})
    x, y, z = c.q
    xd, yd, zd = c.qdot
    B = sympy.Symbol("B", real=True)
    K = (xd**2 + yd**2 + zd**2) / 2 + B / 2 * (x * yd - y * xd)
    G = sn.translations(c, ["xy"]) * sn.rotations(c, ["xy"])
    return sn.System("magnetic", c, G, lagrangian=K - z**2 / 2 + extra,
                     known_lagrangian=K if known else None, parameters={B: 2})


def test_translations_in_a_magnetic_field_are_quasi_symmetries_with_derived_F():
    system = _magnetic()
    x, y, _ = system.coordinates.q
    xd, yd, _ = system.coordinates.qdot
    F = [b.value for b in system.boundary]
    assert F == [y, -x, 0]  # B = 2: F_x = B y / 2, F_y = -B x / 2
    assert [b.origin for b in system.boundary] == ["derived", "derived", "symmetry"]
    charges = sn.noether_charges(system)
    assert sympy.expand(charges["momentum_x0"] - (xd - 2 * y)) == 0
    assert sympy.expand(charges["momentum_x1"] - (yd + 2 * x)) == 0
    report = sn.verify(system)
    assert report.ok, str(report)
    assert "quasi-symmetry" in report.check("symmetry[translation_x0]").detail
    assert "F = y" in report.check("known_lagrangian").detail


def test_the_network_family_without_the_known_part_cannot_carry_the_boundary_terms():
    report = sn.verify(_magnetic(known=False))
    family = report.check("network_family")
    assert not family.passed and "known_lagrangian" in family.detail
    assert report.check("symmetry[translation_x0]").passed  # the truth is quasi-symmetric


@pytest.mark.parametrize("extra, why", [
    # rotation about z: X L = -y zdot, affine but its coefficients are not a gradient
    ("x*zdot", "not a gradient"),
    # translation in x: X L = ydot**2, not affine in the velocities
    ("x*ydot**2", "not affine in the velocities"),
    # translation in x: X L = 1, a velocity-free part no dF(q)/dt has
    ("x", "velocity-free part"),
])
def test_a_residual_that_is_not_a_total_derivative_fails_and_says_why(extra, why):
    system = _magnetic(known=False, extra=sympy.sympify(extra, locals={
        s.name: s for s in _magnetic().coordinates.state}))
    report = sn.verify(system)
    failed = [c for c in report.failures() if c.name.startswith("symmetry[")]
    assert failed, str(report)
    assert why in failed[0].detail and "not a total time derivative" in failed[0].detail
    assert "do not conserve" in failed[0].detail
    assert failed[0].residual is not None


def test_declared_boundary_terms_are_tested_not_trusted():
    c = sn.coordinates("x y")
    x, y = c.q
    xd, yd = c.qdot
    L = (xd**2 + yd**2) / 2 + x * yd  # A = (0, x): translation in y changes nothing,
    # translation in x changes L by ydot = d/dt y
    right = sn.from_generators(c, [{x: 1}], name="shift_x", boundary=["y"])
    system = sn.System("gauge", c, right, lagrangian=L)
    assert system.boundary[0].origin == "given" and system.boundary[0].value == y
    assert sn.verify(system).check("symmetry[shift_x]").passed
    wrong = sn.from_generators(c, [{x: 1}], name="shift_x", boundary=[2 * y])
    check = sn.verify(sn.System("gauge", c, wrong, lagrangian=L)).check("symmetry[shift_x]")
    assert not check.passed and "declared boundary term" in check.detail
    with pytest.raises(SpecError, match="boundary has 2 entries for 1 generators"):
        sn.from_generators(c, [{x: 1}], name="shift_x", boundary=[y, x])
    with pytest.raises(SpecError, match="mentions the velocities"):
        sn.from_generators(c, [{x: 1}], name="shift_x", boundary=[yd])


def _galilean(masses=None, known=True):
    c = sn.particles(2, dim=2)
    v1, v2 = sympy.Matrix(c.block_velocity("x1")), sympy.Matrix(c.block_velocity("x2"))
    d = sympy.Matrix(c.block("x1")) - sympy.Matrix(c.block("x2"))
    T = v1.dot(v1) / 2 + sympy.Rational(4, 5) * v2.dot(v2) / 2
    blocks = ["x1", "x2"]
    G = (sn.translations(c, blocks) * sn.rotations(c, blocks)
         * sn.galilean_boosts(c, blocks, masses=masses))
    return sn.System("galilean", c, G, lagrangian=T - d.dot(d) ** 2 / 4,
                     known_lagrangian=T if known else None)


def test_galilean_boosts_close_into_the_galilei_algebra_and_conserve_t_P_minus_M_xcm():
    system = _galilean()
    G = system.symmetry
    assert G.time_dependent and G.names[3:] == ("galilean_boost_x0", "galilean_boost_x1")
    assert G.structure_constants[(2, 3)] == (0, 0, 0, 0, -1)  # [rotation, boost_0] = -boost_1
    assert (0, 3) not in G.structure_constants  # boosts commute with translations
    t = sn.TIME
    x1_0, _, x2_0, _ = system.coordinates.q
    v1_0, _, v2_0, _ = system.coordinates.qdot
    charge = sn.noether_charges(system)["boost_charge_x0"]
    expected = t * (v1_0 + sympy.Rational(4, 5) * v2_0) - (x1_0 + sympy.Rational(4, 5) * x2_0)
    assert sympy.expand(charge - expected) == 0
    invariants = sn.derive_invariants(system)
    assert invariants.names == ("x12_x12", "x12_x12dot", "x12dot_x12dot", "eps_x12_x12dot")
    assert invariants.certificate.complete and invariants.certificate.orbit_dimension == 5
    report = sn.verify(system, invariants=invariants)
    assert report.ok, str(report)
    # Declared masses give the same boundary terms, taken as given (and tested).
    declared = _galilean(masses=[1, sympy.Rational(4, 5)])
    assert [b.origin for b in declared.boundary][3:] == ["given", "given"]
    assert sn.verify(declared).ok
    assert not sn.verify(_galilean(known=False)).check("network_family").passed


def test_time_needs_a_coordinate_not_named_t_and_boosts_need_translations():
    with pytest.raises(SpecError, match="named 't'"):
        sn.galilean_boosts(sn.coordinates("t x", blocks={"x": ["x"]}), ["x"])
    c = sn.particles(2, dim=1)
    system = sn.System("boosts_only", c, sn.galilean_boosts(c, ["x1", "x2"]))
    invariants = sn.derive_invariants(system)
    assert not invariants.certificate.complete
    assert any("depend on the time" in note for note in invariants.certificate.notes)


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    out = tmp_path_factory.mktemp("quasi")
    return {"magnetic": sn.generate(_magnetic(), out / "magnetic.py"),
            "galilean": sn.generate(_galilean(), out / "galilean.py")}


def test_generated_boundary_and_charges_match_sympy(modules):
    for name, system in (("magnetic", _magnetic()), ("galilean", _galilean())):
        module = modules[name]
        c, timed = system.coordinates, system.symmetry.time_dependent
        assert module.HAS_BOUNDARY and getattr(module, "TIME_DEPENDENT", False) == timed
        charges = list(sn.noether_charges(system).values())
        F = [b.value for b in system.boundary]
        args = (c.q, c.qdot, sn.TIME)
        reference = sympy.lambdify(args, charges, "jax")
        boundary = sympy.lambdify(args, F, "jax")
        rng = np.random.default_rng(0)
        q, v = jnp.asarray(rng.normal(size=c.n)), jnp.asarray(rng.normal(size=c.n))
        at = {"t": 1.7} if timed else {}
        np.testing.assert_allclose(module.true_charges(q, v, **at),
                                   jnp.stack(reference(q, v, 1.7)), rtol=1e-12)
        np.testing.assert_allclose(module.boundary(q, **at),
                                   jnp.stack([jnp.asarray(f, dtype=q.dtype) for f in
                                              boundary(q, v, 1.7)]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(module.noether_charges(module.lagrangian, q, v, **at),
                                   module.true_charges(q, v, **at), rtol=1e-12)


def test_the_module_follows_the_boundary_protocol(modules):
    for module in modules.values():
        for name in members(GeneratedModuleWithBoundary):
            assert hasattr(module, name), name
    timed = modules["galilean"]
    for name in ("generators", "boundary", "noether_charges", "true_charges"):
        parameter = inspect.signature(getattr(timed, name)).parameters["t"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default == 0.0
    assert "t" not in inspect.signature(modules["magnetic"].noether_charges).parameters


@pytest.mark.parametrize("name, q0, v0", [
    # The magnetic case is also covered by the (slow) end-to-end CLI test.
    pytest.param("magnetic", [1.0, 0.0, 0.5], [0.0, 0.8, 0.3], marks=pytest.mark.slow),
    ("galilean", [0.6, 0.0, -0.5, 0.2], [0.1, 0.4, -0.2, -0.3]),
])
def test_variational_integrator_keeps_the_networks_charges_boundary_terms_included(
        modules, name, q0, v0):
    module = modules[name]
    net = sn.LagrangianNetwork(module, width=8, dtype=jnp.float64, key=jax.random.key(3))
    result = sn.integrate(net, jnp.array(q0), jnp.array(v0), dt=0.02, steps=100,
                          method="variational", full_output=True)
    charges = jax.vmap(lambda q, v, t: net.charges(q, v, t=t))(result.qs, result.qdots,
                                                               result.ts)
    drift = jnp.max(jnp.abs(charges - charges[0]), axis=0)
    assert float(jnp.max(drift)) < 1e-12 * float(jnp.max(jnp.abs(charges[0])))
    if name == "galilean":  # the boost charge's t P term moves: a negative control
        without_t = jax.vmap(lambda q, v: net.charges(q, v, t=0.0))(result.qs, result.qdots)
        assert float(jnp.max(jnp.abs(without_t[:, 3:] - without_t[0, 3:]))) > 1e-3


def _tiny_config(tmp_path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"width": 8, "epochs": 1, "steps_per_epoch": 2,
                                "t_final": 5.0}))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("example", ["magnetic", "galilean"])
def test_examples_run_end_to_end_from_the_cli(example, tmp_path, capsys):
    spec = str(ROOT / "examples" / example / "spec.py")
    assert main(["derive", spec]) == 0
    assert "boundary terms F_a of quasi-symmetries" in capsys.readouterr().out
    assert main(["verify", spec]) == 0
    out = tmp_path / "run"
    assert main(["train", spec, "--out", str(out), "--config", str(_tiny_config(tmp_path)),
                 "--models", "invariant"]) == 0
    assert "HAS_BOUNDARY = True" in (out / "module.py").read_text()
    assert main(["evaluate", str(out), "--t-final", "1"]) == 0
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    own = metrics["models"]["invariant"]["variational"]["charge_vector"]["max_relative_drift"]
    assert own is not None and own < 1e-12
    true = metrics["true_system"]["variational"]["true_charge_vector"]["max_relative_drift"]
    assert true is not None and true < 1e-12
