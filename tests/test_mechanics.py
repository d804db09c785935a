"""Euler-Lagrange equations, closed-form accelerations, degeneracy, exact evaluation."""

import pytest
import sympy
from systems import kepler as _kepler

import symnoether as sn
from symnoether.symbolic.identity import (
    ExactEvaluator,
    decide_zero,
    radicands,
    rational_points,
    state_symbols,
)
from symnoether.symbolic.mechanics import (
    euler_lagrange,
    is_degenerate,
    lagrangian_of,
    mass_blocks,
    mass_rank,
    solve_acceleration,
)

EXAMPLES = "examples"


def _plane(lagrangian_of_coords):
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    return sn.System("plane", c, sn.rotations(c, blocks=["x"]),
                     lagrangian=lagrangian_of_coords(c))


def _residual_at_points(system, qddot, count=4):
    """M qddot - rhs evaluated exactly at random points (all zero for a solution)."""
    mass, rhs = euler_lagrange(system)
    residual = mass * sympy.Matrix(qddot) - rhs
    c = system.coordinates
    values = []
    for point in rational_points(list(residual), state_symbols(c, residual), count, seed=5):
        values += ExactEvaluator(point).values(list(residual)) or [None]
    return values


def test_euler_lagrange_oscillator():
    c = sn.coordinates("x")
    (x,), (xdot,) = c.q, c.qdot
    mass, rhs = euler_lagrange(c, xdot**2 / 2 - x**2 / 2)
    assert mass == sympy.Matrix([[1]])
    assert sympy.simplify(rhs[0] + x) == 0


def test_euler_lagrange_defaults_to_true_lagrangian_with_parameters():
    c = sn.coordinates("x")
    k = sympy.Symbol("k", positive=True)
    system = sn.System("osc", c, sn.translations(c, coordinates=["x"]),
                       lagrangian=c.qdot[0] ** 2 / 2 - k * c.q[0] ** 2 / 2,
                       parameters={k: 3})
    _, rhs = euler_lagrange(system)
    assert sympy.simplify(rhs[0] + 3 * c.q[0]) == 0


def test_velocity_dependent_force_term():
    # L = |v|^2/2 + B (x ydot - y xdot)/2: a magnetic field; rhs has a velocity term.
    system = _plane(lambda c: (c.qdot[0] ** 2 + c.qdot[1] ** 2) / 2
                    + (c.q[0] * c.qdot[1] - c.q[1] * c.qdot[0]) / 2)
    (xdot, ydot) = system.coordinates.qdot
    assert solve_acceleration(system) == (ydot, -xdot)


def test_kepler_acceleration_closed_form():
    system = _kepler()
    x, y, z = system.coordinates.q
    r3 = (x**2 + y**2 + z**2) ** sympy.Rational(3, 2)
    expected = (-x / r3, -y / r3, -z / r3)
    for got, want in zip(solve_acceleration(system), expected):
        assert sympy.simplify(got - want) == 0


def test_position_dependent_mass_with_square_root_is_solved_exactly():
    def lagrangian(c):
        r = sympy.sqrt(c.q[0] ** 2 + c.q[1] ** 2)
        return (1 + 1 / r) * (c.qdot[0] ** 2 + c.qdot[1] ** 2) / 2 - r

    system = _plane(lagrangian)
    qddot = solve_acceleration(system)
    assert all(v == 0 for v in _residual_at_points(system, qddot))
    raw = solve_acceleration(system, simplify=False)
    assert all(v == 0 for v in _residual_at_points(system, raw))


def test_mass_blocks_split_schwarzschild():
    system = sn.load_spec(f"{EXAMPLES}/schwarzschild/spec.py")
    mass, _ = euler_lagrange(system)
    assert mass_blocks(mass) == [(0,), (1, 2, 3)]


@pytest.mark.slow
def test_schwarzschild_acceleration_solves_euler_lagrange():
    system = sn.load_spec(f"{EXAMPLES}/schwarzschild/spec.py")
    qddot = solve_acceleration(system)
    assert all(v == 0 for v in _residual_at_points(system, qddot))
    assert not any(e.has(sympy.Symbol("r_s")) for e in qddot)


@pytest.mark.parametrize("dim", [2, 3])
def test_two_particle_acceleration(dim):
    c = sn.particles(2, dim=dim)
    x1, x2 = sympy.Matrix(c.block("x1")), sympy.Matrix(c.block("x2"))
    v1, v2 = sympy.Matrix(c.block_velocity("x1")), sympy.Matrix(c.block_velocity("x2"))
    d = x1 - x2
    r2 = d.dot(d)
    m2 = sympy.Rational(4, 5)
    L = v1.dot(v1) / 2 + m2 / 2 * v2.dot(v2) - (-r2 / 2 + r2**2 / 4)
    system = sn.System("pair", c, sn.translations(c, blocks=["x1", "x2"]), lagrangian=L)
    force = (1 - r2) * d  # -dV/dx1 with V'(r)/r = -1 + r^2
    qddot = solve_acceleration(system)
    for k in range(dim):
        assert sympy.expand(qddot[k] - force[k]) == 0
        assert sympy.expand(qddot[dim + k] + force[k] / m2) == 0


@pytest.mark.parametrize(
    "lagrangian",
    [
        lambda c: (c.qdot[0] + c.qdot[1]) ** 2 / 2,
        lambda c: c.q[0] * c.qdot[1] - c.q[1] * c.qdot[0],
    ],
    ids=["rank_one", "linear_in_velocities"],
)
def test_degenerate_lagrangian(lagrangian):
    system = _plane(lagrangian)
    assert is_degenerate(system)
    with pytest.raises(ValueError, match="degenerate"):
        solve_acceleration(system)


def test_relativistic_free_particle_is_degenerate_but_quadratic_one_is_not():
    c = sn.coordinates("t x y", blocks={"x": ["t", "x", "y"]})
    tdot, xdot, ydot = c.qdot
    G = sn.lorentz(c, blocks=["x"], signature=(1, 2))
    proper_time = sn.System("rel", c, G, lagrangian=-sympy.sqrt(tdot**2 - xdot**2 - ydot**2))
    quadratic = sn.System("free", c, G, lagrangian=(-(tdot**2) + xdot**2 + ydot**2) / 2)
    assert is_degenerate(proper_time)
    for simplify in (True, False):
        with pytest.raises(ValueError, match="degenerate"):
            solve_acceleration(proper_time, simplify=simplify)
    assert not is_degenerate(quadratic)
    assert solve_acceleration(quadratic) == (0, 0, 0)


def test_non_degenerate_references():
    assert not is_degenerate(_kepler())


def test_missing_lagrangian_is_a_value_error():
    c = sn.coordinates("x")
    system = sn.System("bare", c, sn.translations(c, coordinates=["x"]))
    with pytest.raises(ValueError, match="pass lagrangian="):
        lagrangian_of(system)
    with pytest.raises(TypeError, match="System or Coordinates"):
        euler_lagrange(42, c.qdot[0] ** 2)


def test_rational_points_make_radicands_squares():
    x, y, z = sympy.symbols("x y z", real=True)
    B, C = x**2 + y**2, z**2 + 1  # radicands on disjoint symbols can all be squares
    expr = 1 / sympy.sqrt(B) + C ** sympy.Rational(3, 2) + sympy.sqrt(2)
    assert radicands([expr]) == sorted([B, C], key=sympy.default_sort_key)
    points = rational_points([expr], [x, y, z], 5, seed=2)
    assert len(points) == 5
    for point in points:
        assert ExactEvaluator(point).value(expr - sympy.sqrt(2)) is not None


def test_exact_evaluator_reports_unavailable_values():
    x, y = sympy.symbols("x y", real=True)
    ev = ExactEvaluator({x: sympy.Rational(2), y: sympy.Rational(0)})
    assert ev.value(x**2 / 3 + sympy.sqrt(x**2 * 4)) == sympy.Rational(16, 3)
    assert ev.value(sympy.sqrt(x)) is None  # sqrt(2) is not rational
    assert ev.value(1 / y) is None  # a pole
    assert ev.value(sympy.sin(x)) is None
    assert ev.values([x, sympy.sqrt(x)]) is None


def test_decide_zero():
    c = sn.coordinates("x y")
    x, y = c.q
    r = sympy.sqrt(x**2 + y**2)
    assert decide_zero((x + y) ** 2 - x**2 - 2 * x * y - y**2, c).zero
    assert decide_zero(r**3 - r * (x**2 + y**2), c).zero
    test = decide_zero(x * (x + 1) - x**2, c)
    assert not test.zero
    assert test.residual == x
    # Too big for expand: decided at random rational points, and says so.
    big = sympy.Add(*((x + k * y) ** 3 * r - sympy.expand((x + k * y) ** 3) * r
                      for k in range(1, 300)))
    result = decide_zero(big, c)
    assert result.zero and "random rational points" in result.method


def test_mass_rank_of_entries_not_rational_at_rational_points():
    # exp(x) is never rational at a rational x != 0: the rank comes from 50-digit values
    # (exact.high_precision_rank), not from the determinant, which would say 0 here.
    c = sn.coordinates("x y")
    x = c.q[0]
    e = sympy.exp(x)
    assert mass_rank(sympy.Matrix([[e, e], [e, e]]), c) == 1
    assert mass_rank(sympy.Matrix([[e, 0], [0, sympy.exp(-x)]]), c) == 2
    assert mass_rank(sympy.Matrix([[x, 1], [1, 1 / x]]), c) == 1  # exact at rational points
