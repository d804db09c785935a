"""Friction, generalised forces, explicit time: declaration, balance laws and their proofs."""

import dataclasses
import os
from pathlib import Path

import pytest
import sympy

import symnoether as sn
from symnoether.errors import SpecError
from symnoether.symbolic.balance import balances, charge_rates, energy_rate
from symnoether.symbolic.forces import dissipation_basis, nonconservative_force
from symnoether.symbolic.mechanics import solve_acceleration

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _pendulum(**kwargs) -> sn.System:
    c = sn.coordinates("theta")
    (theta,), (v,) = c.q, c.qdot
    fields = {"lagrangian": v**2 / 2 + sympy.cos(theta), "dissipation": v**2 / 40} | kwargs
    return sn.System("pendulum", c, **fields)


def _two_particles(R, **kwargs) -> sn.System:
    """Two particles in 3D, central potential, translations x SO(3); R(v1, v2)."""
    c = sn.particles(2, dim=3)
    x1, x2 = sympy.Matrix(c.block("x1")), sympy.Matrix(c.block("x2"))
    v1, v2 = sympy.Matrix(c.block_velocity("x1")), sympy.Matrix(c.block_velocity("x2"))
    d = x1 - x2
    L = v1.dot(v1) / 2 + v2.dot(v2) / 2 - d.dot(d) ** 2 / 4
    G = sn.translations(c, blocks=["x1", "x2"]) * sn.rotations(c, blocks=["x1", "x2"])
    return sn.System("pair", c, G, lagrangian=L, dissipation=R(v1, v2), **kwargs)


def _isotropic(v1, v2):
    return (v1.dot(v1) + v2.dot(v2)) / 10


def _along_z(v1, v2):
    return (v1[2] ** 2 + v2[2] ** 2) / 10


def _load(name: str, spec: str = "spec.py", **env) -> sn.System:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return sn.load_spec(EXAMPLES / name / spec)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


# --- declaration ----------------------------------------------------------------------


def test_the_time_is_accepted_in_lagrangians_and_forces():
    c = sn.coordinates("x")
    (x,), (v,) = c.q, c.qdot
    t = c.time
    system = sn.System("ck", c, lagrangian=sympy.exp(t) * (v**2 - x**2) / 2,
                       known_lagrangian=sympy.exp(t) * v**2 / 2, forces=[sympy.cos(t)])
    assert system.explicit_time and system.time_dependent and system.balanced
    assert not _pendulum().explicit_time and _pendulum().has_forces


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"forces": [0, 0]}, r"forces has 2 components; expected 1"),
        ({"forces": sympy.Symbol("x")}, r"forces is a Symbol; expected a sequence of 1"),
        ({"forces": [sympy.Symbol("w")]}, r"the forces mention \['w'\].*c\.time"),
        ({"dissipation": sympy.Symbol("t", real=True) * sympy.Symbol("thetadot", real=True)**2},
         r"dissipation function mentions the time t.*forces=\[\.\.\.\]"),
        ({"dissipation": -sympy.Symbol("thetadot", real=True) ** 2},
         r"is not a friction: R = -\d+/\d+ < 0"),
        ({"dissipation": sympy.Symbol("thetadot", real=True) ** 3},
         r"is not a friction: (R|qdot \. dR/dqdot) = -"),
        ({"dissipation": sympy.Symbol("theta", real=True) ** 2},
         r"does not depend on the velocities"),
        ({"dissipation": sympy.Symbol("mu") * sympy.Symbol("thetadot", real=True) ** 2},
         r"the dissipation function mention \['mu'\]"),
        ({"dissipation": "not an expression ("}, r"dissipation could not be read"),
        ({"learn_dissipation": "yes"}, r"learn_dissipation must be True or False"),
        ({"conserved": "energy"}, r"conserved must be a list of charge names"),
        ({"conserved": ["momentum"]}, r"conserved names 'momentum', which is not a charge"),
        ({"rates": ["energy"]}, r"rates is a list; expected a dict"),
        ({"rates": {"spin": 0}}, r"rates names 'spin', which is not a charge"),
        ({"rates": {"energy": sympy.Symbol("w")}}, r"declared rate of energy mentions \['w'\]"),
    ],
)
def test_bad_declarations_are_refused_with_a_fix(kwargs, match):
    with pytest.raises(SpecError, match=match):
        _pendulum(**kwargs)


def test_problems_are_collected_and_raised_once():
    with pytest.raises(SpecError, match=r"(?s)forces has 3 components.*conserved names 'p'"):
        _pendulum(forces=[0, 0, 1], conserved=["p"])


def test_an_unknown_symbol_in_the_lagrangian_still_names_the_time_as_allowed():
    c = sn.coordinates("x")
    with pytest.raises(SpecError, match=r"mentions \['s'\].*c\.time for the time"):
        sn.System("bad", c, lagrangian=c.qdot[0] ** 2 * sympy.Symbol("s"))


def test_zero_forces_are_no_forces_and_the_hash_of_a_conservative_system_is_unchanged():
    plain = _pendulum(dissipation=None)
    assert _pendulum(dissipation=None, forces=[0]).forces is None
    assert plain.spec_hash() == _pendulum(dissipation=None, forces=[0]).spec_hash()
    assert plain.spec_hash() != _pendulum().spec_hash() != _pendulum(learn_dissipation=True
                                                                       ).spec_hash()


# --- mechanics and rates --------------------------------------------------------------


def test_accelerations_include_friction_forcing_and_the_explicit_time():
    duffing = _load("duffing")
    (x,), (v,), t = duffing.coordinates.q, duffing.coordinates.qdot, sn.TIME
    (a,) = solve_acceleration(duffing)
    expected = -v / 5 - x - x**3 + sympy.Rational(3, 10) * sympy.cos(sympy.Rational(6, 5) * t)
    assert sympy.simplify(a - expected) == 0
    ck = _load("caldirola_kanai")
    (x,), (v,) = ck.coordinates.q, ck.coordinates.qdot
    (a,) = solve_acceleration(ck)
    assert sympy.simplify(a - (-sympy.Rational(6, 5) * v - x)) == 0


def test_charge_rates_say_which_charges_friction_along_z_keeps():
    isotropic, along_z = _two_particles(_isotropic), _two_particles(_along_z)
    c = along_z.coordinates
    rates = charge_rates(along_z)
    kept = {name for name, rate in rates.items() if rate == 0}
    assert kept == {"momentum_x0", "momentum_x1", "angular_momentum_x0x1"}
    # L_x = sum (y zdot - z ydot): -xi . dR/dqdot = -(1/5) sum y zdot
    y1, y2, z1dot, z2dot = c.q[1], c.q[4], c.qdot[2], c.qdot[5]
    assert sympy.expand(rates["angular_momentum_x1x2"] + (y1 * z1dot + y2 * z2dot) / 5) == 0
    assert all(rate != 0 for rate in charge_rates(isotropic).values())
    assert sympy.expand(energy_rate(along_z) + (z1dot**2 + z2dot**2) / 5) == 0


def test_the_energy_rate_of_an_explicit_time_is_minus_dL_dt():
    ck = _load("caldirola_kanai")
    expected = -sympy.diff(ck.true_lagrangian, sn.TIME)
    assert sympy.simplify(energy_rate(ck) - expected) == 0
    assert nonconservative_force(ck) == (0,)


def test_the_dissipation_basis_is_nonnegative_quadratic_invariants():
    kepler = sn.System("k", sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]}),
                       sn.rotations(sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]}),
                                    blocks=["x"]), learn_dissipation=True)
    names, exprs = dissipation_basis(kepler, sn.derive_invariants(kepler))
    assert names == ("x_xdot_sq", "xdot_xdot")
    pair = _two_particles(_isotropic, learn_dissipation=True)
    names, _ = dissipation_basis(pair, sn.derive_invariants(pair))
    # x1dot.x2dot and the Levi-Civita invariant are indefinite: left out
    assert names == ("x12_x1dot_sq", "x12_x2dot_sq", "x1dot_x1dot", "x2dot_x2dot")


# --- verify ---------------------------------------------------------------------------


def test_verify_proves_the_energy_balance_of_the_damped_pendulum():
    report = sn.verify(_pendulum())
    assert report.ok, str(report)
    check = report.check("balance[energy]")
    assert check.conserved is False and "information, not a failure" in check.detail
    assert "-thetadot**2/20" in check.detail
    assert "exactly conserved: none" in str(report)
    assert report.check("network_balance").passed


def test_conservative_systems_keep_their_conservation_checks():
    from tests.systems import kepler

    names = [c.name for c in sn.verify(kepler()).checks]
    assert "conservation[energy]" in names and not any(n.startswith("balance") for n in names)


def test_friction_along_z_keeps_the_declared_charges_and_isotropic_friction_fails_them():
    conserved = ["momentum_x0", "angular_momentum_x0x1"]
    report = sn.verify(_two_particles(_along_z, conserved=conserved))
    assert report.ok, str(report)
    assert report.check("balance[angular_momentum_x0x1]").conserved
    assert report.check("balance[angular_momentum_x1x2]").conserved is False
    failed = sn.verify(_two_particles(_isotropic, conserved=conserved))
    assert {c.name for c in failed.failures()} == {f"conserved[{n}]" for n in conserved}
    check = failed.check("conserved[angular_momentum_x0x1]")
    assert "but the forces change it at the rate" in check.detail
    assert check.generator == "rotation_x0x1" and check.residual != 0
    # the balance laws themselves still hold along the true dynamics
    assert all(c.passed for c in failed.checks if c.name.startswith("balance["))


def test_a_learned_invariant_friction_breaks_what_the_true_friction_keeps():
    system = _two_particles(_along_z, conserved=["angular_momentum_x0x1"],
                            learn_dissipation=True)
    report = sn.verify(system)
    check = report.check("conserved[angular_momentum_x0x1]")
    assert not check.passed and "a learned friction" in check.detail
    found = {b.name: b for b in balances(system)}
    assert found["angular_momentum_x0x1"].test.zero
    assert not found["angular_momentum_x0x1"].conserved


def test_declared_rates_are_proved_or_refuted():
    system = _pendulum(rates={"energy": -sympy.Symbol("thetadot", real=True) ** 2 / 20})
    assert sn.verify(system).check("rate[energy]").passed
    wrong = _pendulum(rates={"energy": -sympy.Symbol("thetadot", real=True) ** 2 / 10})
    check = sn.verify(wrong).check("rate[energy]")
    assert not check.passed and "is not the derived one" in check.detail
    assert sympy.simplify(check.residual + sympy.Symbol("thetadot", real=True) ** 2 / 20) == 0


def test_a_broken_symmetry_under_friction_fails_its_balance_law():
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    (x, _), (vx, vy) = c.q, c.qdot
    system = sn.System("tilted", c, sn.rotations(c, blocks=["x"]),
                       lagrangian=(vx**2 + vy**2) / 2 - x**2, dissipation=(vx**2 + vy**2) / 2)
    report = sn.verify(system)
    assert not report.check("symmetry[rotation_x0x1]").passed
    assert not report.check("balance[angular_momentum_x0x1]").passed


def test_a_time_dependent_symmetry_of_caldirola_kanai_is_proved():
    report = sn.verify(_load("caldirola_kanai", "symmetric.py"))
    assert report.ok, str(report)
    for name in ("I_solution_shifts_0", "I_solution_shifts_1"):
        assert report.check(f"balance[{name}]").conserved
    assert report.check("balance[energy]").conserved is False


def test_a_shift_by_a_non_solution_is_no_symmetry_of_caldirola_kanai():
    system = _load("caldirola_kanai", "symmetric.py")
    c, t = system.coordinates, sn.TIME
    wrong = sn.from_generators(c, [{c.q[0]: sympy.exp(-t) * sympy.cos(t)}], name="wrong")
    report = sn.verify(dataclasses.replace(system, symmetry=wrong, known_lagrangian=None))
    assert not report.check("symmetry[wrong]").passed


def test_a_field_switched_on_in_time_has_a_time_only_boundary_term():
    system = _load("switched_field")
    F = system.boundary[0].value
    t = sn.TIME
    assert sympy.simplify(F - (t - sympy.atan(t)) / 2) == 0
    report = sn.verify(system)
    assert report.ok, str(report)
    assert report.check("balance[momentum_x0]").conserved
    assert report.check("balance[energy]").conserved is False


@pytest.mark.parametrize(("name", "env"), [
    ("damped_pendulum", {}), ("duffing", {}), ("caldirola_kanai", {}),
    ("damped_two_particles", {"SYMNOETHER_FRICTION": "isotropic"}),
    ("damped_two_particles", {"SYMNOETHER_FRICTION": "z"}),
])
def test_the_examples_verify(name, env):
    report = sn.verify(_load(name, **env))
    assert report.ok, str(report)


# --- the command line -----------------------------------------------------------------


@pytest.mark.parametrize("spec", ["damped_pendulum/spec.py", "duffing/spec.py",
                                  "caldirola_kanai/spec.py", "caldirola_kanai/symmetric.py",
                                  "damped_two_particles/spec.py", "switched_field/spec.py"])
def test_derive_verify_generate_from_the_command_line(spec, capsys, tmp_path):
    from tests.clitools import cli

    path = EXAMPLES / spec
    code, _ = cli(capsys, "derive", path)
    assert code == 0 and "balance laws under the known forces" in cli.out
    code, _ = cli(capsys, "verify", path)
    assert code == 0 and "balance laws along the true dynamics:" in cli.out
    assert "balance[energy]" in cli.out
    code, _ = cli(capsys, "generate", path, "-o", tmp_path / "model.py")
    assert code == 0 and "def charge_rates" in (tmp_path / "model.py").read_text()


def test_verify_exits_1_naming_a_charge_the_friction_breaks(capsys, tmp_path):
    from tests.clitools import cli

    spec = tmp_path / "spec.py"
    spec.write_text(
        "import sympy\nimport symnoether as sn\n"
        "c = sn.coordinates('x y', blocks={'x': ['x', 'y']})\n"
        "(x, y), (u, v) = c.q, c.qdot\n"
        "system = sn.System('spin', c, sn.rotations(c, ['x']),\n"
        "    lagrangian=(u**2 + v**2) / 2 - (x**2 + y**2) / 2, dissipation=u**2 / 2,\n"
        "    conserved=['angular_momentum_x0x1'])\n")
    code, _ = cli(capsys, "verify", spec)
    assert code == 1 and "FAIL  conserved[angular_momentum_x0x1]" in cli.out
    code, err = cli(capsys, "verify", tmp_path / "missing.py")
    assert code == 2
    spec.write_text(spec.read_text().replace("u**2 / 2", "-u**2 / 2"))
    code, err = cli(capsys, "verify", spec)
    assert code == 2 and "is not a friction" in err


def test_the_energy_of_an_explicit_time_cannot_be_declared_conserved():
    system = dataclasses.replace(_load("caldirola_kanai"), conserved=("energy",))
    check = sn.verify(system).check("conserved[energy]")
    assert not check.passed and "the forces or the explicit time change it" in check.detail
    assert "energy" in _pendulum(dissipation=None, conserved=["energy"]).conserved
    assert sn.verify(_pendulum(dissipation=None, conserved=["energy"])).check(
        "conserved[energy]").passed


def test_a_friction_learned_without_a_true_one():
    c = sn.coordinates("x y")
    (x, y), (u, v) = c.q, c.qdot
    system = sn.System("learned", c, lagrangian=(u**2 + v**2 - x**2 - y**2) / 2,
                       learn_dissipation=True)
    assert system.has_forces and system.true_dissipation is None
    assert nonconservative_force(system) == (0, 0)
    names, exprs = dissipation_basis(system, sn.derive_invariants(system))
    assert names == ("xdot_sq", "ydot_sq") and exprs == (u**2, v**2)
    report = sn.verify(system)
    assert report.ok, str(report)
    # the true system conserves its energy; a learned friction would not
    energy, = (b for b in balances(system) if b.name == "energy")
    assert energy.test.zero and not energy.conserved
    module = sn.generate(system)
    assert module.LEARNED_DISSIPATION and not hasattr(module, "HAS_DISSIPATION")
    assert module.ENERGY_CONSERVED is False and not hasattr(module, "true_charge_rates")
