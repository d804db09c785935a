"""verify: closure, invariants, the network family, Noether's theorem, regularity."""

import dataclasses

import pytest
import sympy
from systems import kepler as _kepler

import symnoether as sn
from symnoether.symbolic import verify as verify_module
from symnoether.symbolic.invariants import Certificate, InvariantSet, derive_invariants
from symnoether.symbolic.verify import Check, VerificationReport, verify

EXAMPLES = "examples"


def _minkowski(lagrangian):
    c = sn.coordinates("t x y", blocks={"x": ["t", "x", "y"]})
    G = sn.lorentz(c, blocks=["x"], signature=(1, 2))
    return sn.System("minkowski", c, G, lagrangian=lagrangian(*c.qdot))


def _names(report):
    return [c.name for c in report.checks]


def test_kepler_passes_with_symbolic_proofs():
    report = verify(_kepler())
    assert report.ok, str(report)
    assert report.system_name == "kepler"
    assert _names(report) == [
        "closure", "invariants", "network_family",
        "symmetry[rotation_x0x1]", "symmetry[rotation_x0x2]", "symmetry[rotation_x1x2]",
        "conservation[angular_momentum_x0x1]", "conservation[angular_momentum_x0x2]",
        "conservation[angular_momentum_x1x2]", "conservation[energy]", "non_degenerate",
    ]
    for name in ("symmetry[rotation_x0x1]", "conservation[angular_momentum_x0x1]"):
        assert report.check(name).method.startswith("symbolic identity")
    assert report.check("symmetry[rotation_x1x2]").generator == "rotation_x1x2"
    assert "[rotation_x0x1, rotation_x0x2] = -rotation_x1x2" in report.check("closure").detail
    assert "dI_a/dt = X_a L along solutions" in report.check("network_family").detail
    assert report.failures() == ()


def test_schwarzschild_passes_by_exact_evaluation():
    report = verify(sn.load_spec(f"{EXAMPLES}/schwarzschild/spec.py"))
    assert report.ok, str(report)
    for name in ("p_t", "angular_momentum_x0x1", "energy"):
        check = report.check(f"conservation[{name}]")
        assert "random rational points" in check.method
        assert "solved over QQ" in check.method
    assert report.check("conservation[p_t]").generator == "translation_t"


@pytest.mark.parametrize("dim", [2, 3, pytest.param(4, marks=pytest.mark.slow)])
def test_two_particles(dim, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_DIM", str(dim))
    report = verify(sn.load_spec(f"{EXAMPLES}/two_particles/spec.py"))
    assert report.ok, str(report)
    assert report.system_name == f"two_particles_{dim}d_both"
    expected = dim + dim * (dim - 1) // 2  # translations and rotations
    assert sum(n.startswith("symmetry[") for n in _names(report)) == expected
    assert f"conservation[momentum_x{dim - 1}]" in _names(report)


def test_lorentz_free_particle():
    report = verify(_minkowski(lambda td, xd, yd: (-(td**2) + xd**2 + yd**2) / 2))
    assert report.ok, str(report)
    assert "conservation[boost_x0x1]" in _names(report)


def test_proper_time_lagrangian_is_reported_degenerate():
    report = verify(_minkowski(lambda td, xd, yd: -sympy.sqrt(td**2 - xd**2 - yd**2)))
    assert not report.ok
    assert [c.name for c in report.failures()] == ["non_degenerate"]
    assert "cannot be learned" in report.check("non_degenerate").detail
    assert not any(n.startswith("conservation[") for n in _names(report))


@pytest.mark.parametrize("strength", [sympy.Rational(1, 10), 0.1], ids=["exact", "float"])
def test_broken_symmetry_control_names_the_rotations(strength):
    report = verify(_kepler(extra=strength))
    assert not report.ok
    failed = {c.name: c for c in report.failures()}
    assert set(failed) == {
        "symmetry[rotation_x0x1]", "symmetry[rotation_x0x2]",
        "conservation[angular_momentum_x0x1]", "conservation[angular_momentum_x0x2]",
    }
    assert failed["symmetry[rotation_x0x1]"].generator == "rotation_x0x1"
    assert failed["conservation[angular_momentum_x0x2]"].generator == "rotation_x0x2"
    y, z = sympy.symbols("y z", real=True)
    assert sympy.simplify(failed["symmetry[rotation_x0x1]"].residual + y / 10) == 0
    assert sympy.simplify(failed["conservation[angular_momentum_x0x2]"].residual + z / 10) == 0
    assert report.check("symmetry[rotation_x1x2]").passed
    assert report.check("conservation[energy]").passed
    assert report.check("network_family").passed  # the network cannot break it
    text = str(report)
    assert "FAIL  symmetry[rotation_x0x1]" in text and "4 FAILED" in text


def test_broken_symmetry_with_non_constant_mass_is_caught_at_points():
    # Schwarzschild plus a potential along x: the points path must flag rotations 01, 02.
    system = sn.load_spec(f"{EXAMPLES}/schwarzschild/spec.py")
    x = system.coordinates.q[1]
    bad = sn.System("bad_schwarzschild", system.coordinates, system.symmetry,
                    lagrangian=system.lagrangian + x / 10, parameters=system.parameters)
    report = verify(bad)
    failed = {c.name for c in report.failures()}
    assert failed == {
        "symmetry[rotation_x0x1]", "symmetry[rotation_x0x2]",
        "conservation[angular_momentum_x0x1]", "conservation[angular_momentum_x0x2]",
    }
    check = report.check("conservation[angular_momentum_x0x1]")
    assert "random rational point" in check.method and check.residual is not None


@pytest.mark.parametrize(
    "lagrangian",
    [lambda c: (c.qdot[0] + c.qdot[1]) ** 2 / 2, lambda c: c.q[0] * c.qdot[1]],
    ids=["rank_one", "linear_in_velocities"],
)
def test_degenerate_lagrangian(lagrangian):
    c = sn.coordinates("x y")
    system = sn.System("deg", c, sn.translations(c, coordinates=["x"]),
                       lagrangian=lagrangian(c))
    report = verify(system)
    check = report.check("non_degenerate")
    assert not check.passed
    assert "degenerate" in check.detail and "cannot be learned" in check.detail
    assert isinstance(check.residual, sympy.ImmutableMatrix)


def test_without_lagrangian_only_structural_checks():
    report = verify(_kepler(lagrangian=False))
    assert report.ok
    assert _names(report) == ["closure", "invariants", "network_family"]


def test_reuses_given_invariants():
    system = _kepler()
    invariants = derive_invariants(system)
    report = verify(system, invariants=invariants)
    assert report.ok
    assert "x_x, x_xdot, xdot_xdot" in report.check("invariants").detail


def test_non_invariant_set_fails_invariants_and_family():
    system = _kepler(lagrangian=False)
    x, y, z = system.coordinates.q
    cert = Certificate(invariant=False, residuals=(("rotation_x0x1", "x", -y),), rank=1,
                       expected_rank=3, orbit_dimension=3, complete=False,
                       notes=("made up for the test",))
    invariants = InvariantSet((x,), ("x",), "user", cert)
    report = verify(system, invariants=invariants)
    assert [c.name for c in report.failures()] == ["invariants", "network_family"]
    assert report.check("invariants").generator == "rotation_x0x1"
    family = report.check("network_family")
    assert family.generator == "rotation_x0x1"
    assert family.residual.has(sympy.Symbol("f_x"))  # the coefficient of f_x(S)


def test_a_failing_derivation_is_reported_not_raised(monkeypatch):
    import symnoether.symbolic.invariants as invariants_module

    def broken(system):
        raise RuntimeError("no invariants today")

    monkeypatch.setattr(invariants_module, "derive_invariants", broken)
    report = verify(_kepler())
    check = report.check("invariants")
    assert not check.passed and "no invariants today" in check.detail
    assert not report.check("network_family").passed
    assert report.check("conservation[energy]").passed


def test_report_api():
    report = VerificationReport("demo", [Check("a", True, "m", "d"),
                                         Check("b", False, "m", "d", sympy.Integer(1), "g")])
    assert not report.ok
    assert [c.name for c in report.failures()] == ["b"]
    assert "residual: 1" in str(report)
    with pytest.raises(KeyError, match="the checks are"):
        report.check("c")
    with pytest.raises(TypeError, match="non-empty name"):
        Check("", True, "m", "d")


def test_module_does_not_import_jax():
    assert "jax" not in verify_module.__dict__


def _pendulum(generator_coordinate: str = "phi") -> sn.System:
    c = sn.coordinates("theta phi")
    theta, _ = c.q
    thetadot, phidot = c.qdot
    L = (thetadot**2 + sympy.sin(theta) ** 2 * phidot**2) / 2 + sympy.cos(theta)
    return sn.System("pendulum", c, sn.translations(c, coordinates=[generator_coordinate]),
                     lagrangian=L)


def test_spherical_pendulum_in_angles_is_proved_exactly():
    report = verify(_pendulum())
    assert report.ok, str(report)
    for name in ("conservation[p_phi]", "conservation[energy]"):
        assert report.check(name).method.startswith("exact evaluation at 8 random rational")


def test_wrong_symmetry_of_an_angular_system_fails_and_names_the_generator():
    report = verify(_pendulum("theta"))
    failed = {c.name: c for c in report.failures()}
    assert set(failed) == {"symmetry[translation_theta]", "conservation[p_theta]"}
    assert failed["symmetry[translation_theta]"].generator == "translation_theta"
    assert not report.undecided()
    assert "FAIL  symmetry[translation_theta]" in str(report)


def test_conservation_with_exp_in_the_mass_matrix_is_decided_numerically():
    c = sn.coordinates("x y")
    x, _ = c.q
    xdot, ydot = c.qdot
    L = sympy.exp(x) * (xdot**2 + ydot**2) / 2 - sympy.exp(-x)
    report = verify(sn.System("warped", c, sn.translations(c, coordinates=["y"]),
                              lagrangian=L))
    assert report.ok, str(report)
    assert report.check("conservation[p_y]").method.startswith("numeric (40 and 80 digits")
    broken = verify(sn.System("warped", c, sn.translations(c, coordinates=["x"]),
                              lagrangian=L))
    check = broken.check("conservation[p_x]")
    assert check.status == "failed" and check.method.startswith("numeric evaluation")


def test_no_symmetry_keeps_only_the_energy():
    c = sn.coordinates("a b")
    a, b = c.q
    adot, bdot = c.qdot
    system = sn.System("coupled", c, None,
                       lagrangian=adot**2 / 2 + bdot**2 / 2 - a**2 * b**2 - a**4)
    report = verify(system)
    assert report.ok, str(report)
    assert _names(report) == ["closure", "invariants", "network_family",
                              "conservation[energy]", "non_degenerate"]
    assert system.symmetry.K == 0 and sn.noether_charges(system) == {}


def test_undecided_is_neither_pass_nor_failure():
    report = VerificationReport("demo", [Check("a", True, "m", "d"),
                                         Check("b", False, "undecided: why", "d",
                                               undecided=True)])
    assert not report.ok and report.failures() == ()
    assert [c.name for c in report.undecided()] == ["b"]
    text = str(report)
    assert "1 UNDECIDED" in text and "UNDECIDED  b" in text and "FAILED" not in text
    with pytest.raises(ValueError, match="both passed and undecided"):
        Check("c", True, "m", "d", undecided=True)


def test_known_part_must_be_invariant():
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    x, y = c.q
    xdot, ydot = c.qdot
    kinetic = (xdot**2 + ydot**2) / 2
    system = sn.System("planar", c, sn.rotations(c, ["x"]), lagrangian=kinetic - x**2 - y**2,
                       known_lagrangian=kinetic)
    report = verify(system)
    assert report.ok and report.check("known_lagrangian").passed
    broken = sn.System("planar", c, sn.rotations(c, ["x"]), lagrangian=kinetic - x**2 - y**2,
                       known_lagrangian=kinetic + x)
    check = verify(broken).check("known_lagrangian")
    assert check.status == "failed" and check.generator == "rotation_x0x1"
    assert "breaks the symmetry" in check.detail
    assert system.spec_hash() != dataclasses.replace(system, known_lagrangian=None).spec_hash()


def test_an_undecided_family_identity_is_reported_undecided_not_failed(monkeypatch):
    # Regression: the flags of lie_residuals were always False, so an identity the tests
    # could not decide was reported as a failure of the network family.
    import sympy

    from symnoether.symbolic.identity import IdentityTest
    from symnoether.symbolic.invariants import certificate

    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    x, y = c.q
    xdot, ydot = c.qdot
    # x^2 + y^2 written so that the sparse polynomial path is not taken.
    system = sn.System("undecided", c, sn.rotations(c, blocks=["x"]),
                       candidates={"r": sympy.sqrt(x**2 + y**2),
                                   "v_v": xdot**2 + ydot**2})  # fmt: skip
    undecided = IdentityTest(False, "undecided: stand-in", sympy.Symbol("residual"), True)
    monkeypatch.setattr(certificate, "decide_zero", lambda expr, coordinates: undecided)
    check = next(ch for ch in sn.verify(system).checks if ch.name == "network_family")
    assert not check.passed and check.undecided
    assert "Undecided for" in check.detail
