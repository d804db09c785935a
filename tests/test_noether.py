"""Noether charges, the energy and broken symmetries."""

import pytest
import sympy
from systems import kepler as _kepler

import symnoether as sn
from symnoether.symbolic.identity import decide_zero
from symnoether.symbolic.noether import (
    broken_symmetries,
    energy,
    family_lagrangian,
    noether_charges,
    symmetry_residuals,
    tidy,
)

EXAMPLES = "examples"


def _same(a, b) -> bool:
    return sympy.simplify(a - b) == 0


def test_kepler_angular_momentum_sign_convention():
    # groups.py: rotation i < j has xi_i = -x_j, xi_j = x_i, so I = x_i p_j - x_j p_i.
    system = _kepler()
    x, y, z = system.coordinates.q
    xdot, ydot, zdot = system.coordinates.qdot
    charges = noether_charges(system)
    assert list(charges) == list(system.symmetry.charge_names)
    assert _same(charges["angular_momentum_x0x1"], x * ydot - y * xdot)
    assert _same(charges["angular_momentum_x0x2"], x * zdot - z * xdot)
    assert _same(charges["angular_momentum_x1x2"], y * zdot - z * ydot)


def test_kepler_energy():
    system = _kepler()
    x, y, z = system.coordinates.q
    v = sympy.Matrix(system.coordinates.qdot)
    assert _same(energy(system), v.dot(v) / 2 - 1 / sympy.sqrt(x**2 + y**2 + z**2))


def test_schwarzschild_charges():
    system = sn.load_spec(f"{EXAMPLES}/schwarzschild/spec.py")
    t, x, y, z = system.coordinates.q
    tdot, xdot, ydot, zdot = system.coordinates.qdot
    r = sympy.sqrt(x**2 + y**2 + z**2)
    charges = noether_charges(system)
    assert list(charges) == ["p_t", "angular_momentum_x0x1", "angular_momentum_x0x2",
                             "angular_momentum_x1x2"]
    assert _same(charges["p_t"], -2 * (1 - sympy.Rational(1, 10) / r) * tdot)
    assert _same(charges["angular_momentum_x0x1"], 2 * (x * ydot - y * xdot))
    assert _same(charges["angular_momentum_x1x2"], 2 * (y * zdot - z * ydot))
    # L is homogeneous of degree 2 in the velocities, so E = L.
    assert _same(energy(system), system.true_lagrangian)
    assert broken_symmetries(system) == {}


@pytest.mark.parametrize("dim", [2, 3, 4])
def test_two_particle_momenta(dim):
    c = sn.particles(2, dim=dim)
    x1, x2 = c.block("x1"), c.block("x2")
    v1, v2 = c.block_velocity("x1"), c.block_velocity("x2")
    m1, m2 = 1, sympy.Rational(4, 5)
    d = sympy.Matrix(x1) - sympy.Matrix(x2)
    kinetic = m1 * sympy.Matrix(v1).dot(sympy.Matrix(v1)) / 2
    kinetic += m2 * sympy.Matrix(v2).dot(sympy.Matrix(v2)) / 2
    G = sn.translations(c, blocks=["x1", "x2"]) * sn.rotations(c, blocks=["x1", "x2"])
    system = sn.System("pair", c, G, lagrangian=kinetic - d.dot(d) ** 2 / 4)
    charges = noether_charges(system)
    for k in range(dim):
        assert _same(charges[f"momentum_x{k}"], m1 * v1[k] + m2 * v2[k])
    for i in range(dim):
        for j in range(i + 1, dim):
            want = sum(m * (x[i] * v[j] - x[j] * v[i]) for m, x, v in ((m1, x1, v1), (m2, x2, v2)))
            assert _same(charges[f"angular_momentum_x{i}x{j}"], want)
    assert broken_symmetries(system) == {}


def test_lorentz_boost_charges():
    c = sn.coordinates("t x y", blocks={"x": ["t", "x", "y"]})
    t, x, y = c.q
    tdot, xdot, ydot = c.qdot
    G = sn.lorentz(c, blocks=["x"], signature=(1, 2))
    system = sn.System("free", c, G, lagrangian=(-(tdot**2) + xdot**2 + ydot**2) / 2)
    charges = noether_charges(system)
    # boost 0-1: xi_t = -x, xi_x = -t with eta = diag(-1, 1, 1).
    assert _same(charges["boost_x0x1"], x * tdot - t * xdot)
    assert _same(charges["boost_x0x2"], y * tdot - t * ydot)
    assert _same(charges["angular_momentum_x1x2"], x * ydot - y * xdot)
    assert broken_symmetries(system) == {}


def test_network_family_charges_match_any_concrete_f():
    system = _kepler()
    x, y, z = system.coordinates.q
    xdot, ydot, zdot = system.coordinates.qdot
    S = (x**2 + y**2 + z**2, x * xdot + y * ydot + z * zdot, xdot**2 + ydot**2 + zdot**2)
    f = sympy.Function("f")
    family = noether_charges(system, family_lagrangian(S))
    a, b, c = sympy.symbols("a b c")
    concrete = sympy.Lambda((a, b, c), a * c + b**3 + sympy.exp(c))
    L = concrete(*S)
    for name, charge in noether_charges(system, L).items():
        assert _same(family[name].subs(f, concrete).doit(), charge)
    assert broken_symmetries(system, family_lagrangian(S)) == {}


def test_charges_of_broken_generators_are_still_computed():
    system = _kepler(extra=sympy.Rational(1, 10))
    x, y, z = system.coordinates.q
    assert len(noether_charges(system)) == 3
    broken = broken_symmetries(system)
    assert list(broken) == ["rotation_x0x1", "rotation_x0x2"]
    assert _same(broken["rotation_x0x1"], -y / 10)
    assert _same(broken["rotation_x0x2"], -z / 10)


def test_broken_network_family_names_its_residual():
    system = _kepler()
    x, y, z = system.coordinates.q
    f = sympy.Function("f")
    broken = broken_symmetries(system, family_lagrangian((x**2 + y**2 + z**2, x)))
    assert set(broken) == {"rotation_x0x1", "rotation_x0x2"}
    assert broken["rotation_x0x1"].has(f)
    residual = symmetry_residuals(system, f(x))[0]
    assert not decide_zero(residual, system.coordinates, family=True).zero


def test_custom_generator_names_its_charge():
    c = sn.coordinates("x y")
    x, y = c.q
    xdot, ydot = c.qdot
    G = sn.from_generators(c, [{x: -y, y: x}], name="rot_z")
    system = sn.System("plane", c, G, lagrangian=(xdot**2 + ydot**2) / 2 - (x**2 + y**2))
    charges = noether_charges(system)
    assert list(charges) == ["I_rot_z"]
    assert _same(charges["I_rot_z"], x * ydot - y * xdot)


def test_explicit_lagrangian_and_missing_one():
    c = sn.coordinates("x")
    system = sn.System("bare", c, sn.translations(c, coordinates=["x"]))
    assert noether_charges(system, 3 * c.qdot[0] ** 2) == {"p_x": 6 * c.qdot[0]}
    with pytest.raises(ValueError, match="declares none"):
        noether_charges(system)
    with pytest.raises(ValueError, match="declares none"):
        energy(system)


def test_tidy_keeps_big_expressions_and_groups_derivatives():
    x, y = sympy.symbols("x y")
    assert tidy((x + 1) ** 2 - 1) == x**2 + 2 * x
    f = sympy.Function("f")
    grouped = tidy(sympy.diff(f(x**2, y), x) * (x + 1) - sympy.diff(f(x**2, y), x))
    assert _same(grouped, x * sympy.diff(f(x**2, y), x))


def test_floats_are_read_as_decimals():
    c = sn.coordinates("x")
    system = sn.System("bare", c, sn.translations(c, coordinates=["x"]))
    (xdot,) = c.qdot
    charge = noether_charges(system, 0.3 * xdot**2)["p_x"]
    assert charge == sympy.Rational(3, 5) * xdot
