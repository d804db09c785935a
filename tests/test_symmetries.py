"""The symmetry finder (`sn.find_symmetries`) and the closure of Lie algebras with identities."""

import pytest
import sympy

import symnoether as sn


def _euler_rotations(c, sign: int = 1):
    phi, theta, psi = c.q
    s, co = sympy.sin, sympy.cos
    return [
        {phi: -s(phi) * co(theta) / s(theta), theta: co(phi), psi: s(phi) / s(theta)},
        {phi: co(phi) * co(theta) / s(theta), theta: s(phi), psi: -sign * co(phi) / s(theta)},
        {phi: 1},
    ]


def test_so3_in_euler_angles_closes():
    c = sn.coordinates("phi theta psi")
    G = sn.from_generators(c, _euler_rotations(c), name="space_rotation")
    assert G.structure_constants == {(0, 1): (0, 0, -1), (0, 2): (0, 1, 0), (1, 2): (-1, 0, 0)}


def test_euler_angles_not_closed_is_refused():
    c = sn.coordinates("phi theta psi")
    with pytest.raises(sn.SymmetryError, match="is not closed"):
        sn.from_generators(c, _euler_rotations(c, sign=-1), name="space_rotation")


# --- canonical systems ------------------------------------------------------------------


def _names(n: int) -> str:
    return " ".join(f"x{i}" for i in range(n))


def free_particle(n: int) -> sn.System:
    c = sn.coordinates(_names(n))
    return sn.System("free", c, lagrangian=sum(v**2 for v in c.qdot) / 2)


def oscillator() -> sn.System:
    c = sn.coordinates("x")
    w = sympy.Symbol("w", positive=True)
    return sn.System("oscillator", c, lagrangian=(c.qdot[0] ** 2 - w**2 * c.q[0] ** 2) / 2,
                     parameters={w: 2})


def pendulum() -> sn.System:
    c = sn.coordinates("theta")
    return sn.System("pendulum", c, lagrangian=c.qdot[0] ** 2 / 2 + sympy.cos(c.q[0]))


def kepler(n: int, extra=0) -> sn.System:
    c = sn.coordinates(_names(n))
    x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    return sn.System("kepler", c, lagrangian=v.dot(v) / 2 + 1 / sympy.sqrt(x.dot(x))
                     + extra * c.q[0])


def particles(count: int, dim: int, masses) -> sn.System:
    """Particles with the pair potential V(r) = -r^2/2 + r^4/4 of the reference."""
    c = sn.particles(count, dim=dim)
    x = [sympy.Matrix(c.block(f"x{k + 1}")) for k in range(count)]
    v = [sympy.Matrix(c.block_velocity(f"x{k + 1}")) for k in range(count)]
    T = sum(m * u.dot(u) / 2 for m, u in zip(masses, v))
    V = 0
    for i in range(count):
        for j in range(i + 1, count):
            r2 = (x[i] - x[j]).dot(x[i] - x[j])
            V += -r2 / 2 + r2**2 / 4
    return sn.System(f"particles_{count}x{dim}", c, lagrangian=T - V)


def _conserved(system, result) -> list[bool]:
    """dI/dt = 0 along the Euler-Lagrange equations, for every charge: a check that does
    not use the finder's own proof."""
    from symnoether.symbolic.identity import decide_zero
    from symnoether.symbolic.mechanics import euler_lagrange

    c, t = system.coordinates, result.time
    mass, rhs = euler_lagrange(system)
    qddot = mass.LUsolve(rhs)
    out = []
    for g in result.generators:
        I = g.charge
        dI = sympy.diff(I, t) + sum(sympy.diff(I, q) * v for q, v in zip(c.q, c.qdot)) + sum(
            sympy.diff(I, v) * a for v, a in zip(c.qdot, qddot))
        out.append(decide_zero(dI, c).zero)
    return out


KNOWN = [
    ("free particle 1D", lambda: free_particle(1), 5),
    ("free particle 2D", lambda: free_particle(2), 8),
    ("free particle 3D", lambda: free_particle(3), 12),
    ("harmonic oscillator 1D", oscillator, 5),
    ("pendulum", pendulum, 1),
    ("Kepler 2D", lambda: kepler(2), 2),
    ("Kepler 3D", lambda: kepler(3), 4),
]


@pytest.mark.parametrize(("case", "build", "dimension"), KNOWN, ids=[k[0] for k in KNOWN])
def test_known_dimensions_each_generator_proved_and_conserved(case, build, dimension):
    system = build()
    result = sn.find_symmetries(system, cases=False)  # cases: their own test below
    assert result.dimension == dimension, result.table()
    assert result.complete and not result.undecided
    assert all(g.proved for g in result.generators)
    assert all(_conserved(system, result))


def _jacobi_holds(result) -> bool:
    k = result.dimension
    C = [[[sympy.Integer(0)] * k for _ in range(k)] for _ in range(k)]
    for (a, b), coeffs in result.structure_constants.items():
        for e, x in enumerate(coeffs):
            C[a][b][e], C[b][a][e] = x, -x

    def bracket(u, v):
        return [sum(u[a] * v[b] * C[a][b][e] for a in range(k) for b in range(k))
                for e in range(k)]

    basis = [[int(i == j) for i in range(k)] for j in range(k)]
    for x in basis:
        for y in basis:
            for z in basis:
                total = [p + q + r for p, q, r in zip(bracket(x, bracket(y, z)),
                                                       bracket(y, bracket(z, x)),
                                                       bracket(z, bracket(x, y)))]
                if any(total):
                    return False
    return True


def test_structure_constants_free_particle_and_kepler():
    free = sn.find_symmetries(free_particle(1))
    assert _jacobi_holds(free)
    # sl(2) (time translation, dilation, projective map) acts on the Heisenberg algebra:
    # time translations and dilations do not commute.
    names = {g.name: g for g in free.generators}
    time = next(n for n, g in names.items() if g.tau == 1)
    assert any(time in (free.names[a], free.names[b]) for a, b in free.structure_constants)
    kep = sn.find_symmetries(kepler(3))
    rotations = [k for k, g in enumerate(kep.generators) if g.tau == 0]
    assert len(rotations) == 3 and _jacobi_holds(kep)
    assert len(kep.structure_constants) == 3  # so(3): every pair of rotations brackets
    assert all(sorted(map(abs, cs)) == [0, 0, 0, 1] for cs in kep.structure_constants.values())


def test_kepler_scaling_is_not_noether_and_broken_rotations_drop():
    result = sn.find_symmetries(kepler(3))
    assert all(g.tau in (0, 1) for g in result.generators)  # no 3t d/dt + 2r d/dr
    broken = sn.find_symmetries(kepler(3, extra=sympy.Rational(1, 10)))
    assert broken.complete and broken.dimension == 2  # rotation about x0 and time


def test_time_free_generators_form_a_group_the_system_takes():
    system = oscillator()
    result = sn.find_symmetries(system)
    group = result.group
    assert group.K == 2 and group.time_dependent  # x -> x + eps cos(2t), eps sin(2t)
    declared = sn.System("oscillator", system.coordinates, group,
                         lagrangian=system.lagrangian, parameters=system.parameters)
    charges = sn.noether_charges(declared)
    found = {g.name: g.charge for g in result.generators}
    for name, charge in charges.items():
        assert sympy.expand(charge - found[name.removeprefix("I_")]) == 0
    system = kepler(3)
    kep = sn.find_symmetries(system)
    assert kep.group.K == 3 and kep.group.structure_constants
    declared = sn.System("kepler", system.coordinates, kep.group, lagrangian=system.lagrangian)
    assert sn.verify(declared).ok  # invariants, charges and conservation proved for it


def test_charges_include_energy():
    result = sn.find_symmetries(kepler(2))
    time = next(g for g in result.generators if g.tau != 0)
    system = kepler(2)
    assert sympy.simplify(time.charge + sn.energy(system)) == 0  # I = -E for tau = 1


def test_non_polynomial_velocities_are_undecided():
    c = sn.coordinates("x")
    relativistic = sn.System("relativistic", c, lagrangian=-sympy.sqrt(1 - c.qdot[0] ** 2))
    result = sn.find_symmetries(relativistic)
    assert not result.complete and result.dimension == 0
    assert "not a polynomial in the velocities" in result.undecided[0]
    quartic = sn.System("quartic", c, lagrangian=c.qdot[0] ** 4 / 4 - c.q[0] ** 2)
    result = sn.find_symmetries(quartic)
    assert not result.complete and "degree above 2" in result.undecided[0]


def test_spherical_pendulum_round_metric():
    """The sphere's rotations need cot(theta) and the sines of phi (the wider ansatz);
    gravity keeps the one about the axis: phi translation and time, proved complete."""
    c = sn.coordinates("theta phi")
    theta, _ = c.q
    thetadot, phidot = c.qdot
    L = (thetadot**2 + sympy.sin(theta) ** 2 * phidot**2) / 2 + sympy.cos(theta)
    system = sn.System("spherical_pendulum", c, lagrangian=L)
    result = sn.find_symmetries(system)
    assert result.complete and result.dimension == 2 and all(_conserved(system, result))
    assert "homotheties of the metric: 3" in " ".join(result.method)


def test_homotheties_beyond_the_ansatz_are_reported_not_complete():
    c = sn.coordinates("x y")
    (x, _), (xdot, ydot) = c.q, c.qdot
    # The hyperbolic plane: exp(2x) has no exact rational points, and its Killing fields
    # (with exp(-2x)) lie outside the ansatz anyway.
    L = (xdot**2 + sympy.exp(2 * x) * ydot**2) / 2
    result = sn.find_symmetries(sn.System("hyperbolic", c, lagrangian=L))
    assert not result.complete
    assert "the homotheties of the metric: homotheties undecided" in result.undecided[0]
    assert all(g.proved for g in result.generators)  # what is found is still proved
    assert "NOT proved complete" in result.table()


def test_needs_a_lagrangian():
    c = sn.coordinates("x")
    with pytest.raises(sn.SpecError, match="needs a Lagrangian"):
        sn.find_symmetries(sn.System("none", c))


@pytest.mark.slow
def test_two_particles_3d_has_the_centre_of_mass_rotations_too():
    """Translations, rotations, boosts and time give 10; the centre of mass moves freely
    and the pair potential depends on x1 - x2 only, so rotating the centre of mass alone
    is a symmetry as well (charge M X x Xdot): 13."""
    from symnoether.symbolic.span import span_coefficients

    system = particles(2, 3, [1, sympy.Rational(4, 5)])
    result = sn.find_symmetries(system)
    assert result.complete and result.dimension == 13
    c, m1, m2 = system.coordinates, 1, sympy.Rational(4, 5)
    X = [(m1 * a + m2 * b) / (m1 + m2) for a, b in zip(c.block("x1"), c.block("x2"))]
    rotate_cm = [0, -X[2], X[1]] * 2  # d/dx of x1 and x2 both by (0, -X_z, X_y)
    fields = [(g.tau,) + g.xi for g in result.generators]
    coeffs, _ = span_coefficients([0] + rotate_cm, fields, c)
    assert coeffs is not None


@pytest.mark.slow
def test_four_particles_3d():
    result = sn.find_symmetries(particles(4, 3, [1, 1, 1, 1]))
    assert result.complete and result.dimension == 13


def test_cli_table_json_and_exit_codes(tmp_path, capsys):
    import json

    from clitools import cli

    spec = tmp_path / "kepler.py"
    spec.write_text(
        "import sympy\nimport symnoether as sn\n"
        "c = sn.coordinates('x y')\nX, V = sympy.Matrix(c.q), sympy.Matrix(c.qdot)\n"
        "system = sn.System('kepler2', c, lagrangian=V.dot(V) / 2 + 1 / sympy.sqrt(X.dot(X)))\n")
    code, err = cli(capsys, "symmetries", spec)
    assert code == 0 and not err
    for text in ("Noether point symmetries of kepler2: 2 (proved complete)", "generator",
                 "(-y, x)", "charge I = x*ydot - xdot*y", "PROVED"):
        assert text in cli.out
    code, _ = cli(capsys, "symmetries", spec, "--json")
    data = json.loads(cli.out)
    assert code == 0 and data["dimension"] == 2 and data["complete"] is True
    assert {g["tau"] for g in data["generators"]} == {"0", "1"}
    assert data["group"] == ["X1"]
    quartic = tmp_path / "quartic.py"
    quartic.write_text("import symnoether as sn\nc = sn.coordinates('x')\n"
                       "system = sn.System('quartic', c, lagrangian=c.qdot[0]**4 - c.q[0]**2)\n")
    code, _ = cli(capsys, "symmetries", quartic)
    assert code == 1 and "undecided: " in cli.out
    empty = tmp_path / "empty.py"
    empty.write_text("import symnoether as sn\nsystem = sn.System('e', sn.coordinates('x'))\n")
    code, err = cli(capsys, "symmetries", empty)
    assert code == 2 and "needs a Lagrangian" in err


def test_a_parameter_set_to_zero_is_reported_as_a_case():
    c = sn.coordinates("x y")
    k = sympy.Symbol("k", positive=True)
    x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    system = sn.System("kepler_k", c, lagrangian=v.dot(v) / 2 + k / sympy.sqrt(x.dot(x)),
                       parameters={k: 3})
    result = sn.find_symmetries(system)
    assert result.dimension == 2
    assert [str(case) for case in result.cases] == [
        "for k = 0 (the others at their values): 8 generators (proved complete)"]
    assert result.cases[0].values == {k: 0} and result.cases[0].algebra.dimension == 8
    assert "case: for k = 0" in result.table()


def test_equal_frequencies_are_a_case_with_the_rotation():
    # x and y oscillate with w1 != w2: 5 symmetries; at w1 = w2 the rotation and the
    # dilations of the isotropic oscillator join (8, as many as the free particle's).
    c = sn.coordinates("x y")
    w1, w2 = sympy.symbols("w1 w2", positive=True)
    (x, y), (xd, yd) = c.q, c.qdot
    system = sn.System("anisotropic", c, parameters={w1: 2, w2: 3},
                       lagrangian=(xd**2 + yd**2 - w1**2 * x**2 - w2**2 * y**2) / 2)
    result = sn.find_symmetries(system)
    assert result.dimension == 5 and result.complete
    (case,) = result.cases
    assert case.condition == "w1 = w2" and case.values == {w1: 3}
    assert case.algebra.dimension == 8 and case.algebra.complete
    assert ((0, -y, x) in [(g.tau,) + g.xi for g in case.algebra.generators]
            or (0, y, -x) in [(g.tau,) + g.xi for g in case.algebra.generators])
    assert all(g.proved for g in case.algebra.generators)
    assert "case: for w1 = w2 (w1 = 3): 8 generators" in result.table()
    data = result.as_json()["cases"][0]
    assert data["condition"] == "w1 = w2" and data["values"] == {"w1": "3"}


# --- the stages on their own ------------------------------------------------------------


def test_linear_relations_exact_polynomial_and_with_angles():
    from symnoether.symbolic.span import linear_relations

    c = sn.coordinates("x theta")
    x, theta = c.q
    poly = linear_relations([(x**2,), (x,), (x**2 + 2 * x,)], c)
    assert poly.basis == ((-1, -2, 1),) and poly.method.startswith("exact coefficients")
    s, co = sympy.sin(theta), sympy.cos(theta)
    # theta appears inside and outside sin: split into independent variables, still exact.
    trig = linear_relations([(s**2,), (co**2,), (1,), (theta * s,), (theta,)], c)
    assert trig.basis == ((-1, -1, 1, 0, 0),) and trig.method.startswith("exact evaluation")


def test_dae_solutions_and_free_functions():
    from symnoether.symbolic.symmetries.dae import solve_dae

    # y0' = y1, y1' = -y0, y2 = y0 (algebraic): two solutions.
    A = [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    B = [[0, -1, 0], [1, 0, 0], [-1, 0, 1]]
    dae = solve_dae(A, B, 3)
    assert dae.dimension == 2 and dae.rounds == 1
    # y0' = 0 and nothing on y1: y1 is a free function of t.
    assert solve_dae([[1, 0]], [[0, 0]], 2) is None


def test_homothety_bound_proves_the_flat_ansatz_and_bounds_the_sphere():
    from symnoether.symbolic.symmetries.homotheties import homotheties, jet_bound

    c = sn.coordinates("x y z")
    flat = homotheties(sympy.eye(3), c)
    assert (len(flat.fields), flat.bound, flat.complete) == (7, 7, True)
    assert flat.factors.count(0) == 6  # translations and rotations; one dilation
    s = sn.coordinates("theta phi")
    sphere = sympy.diag(1, sympy.sin(s.q[0]) ** 2)
    assert jet_bound(sphere, s, 0)[0] == 4 and jet_bound(sphere, s, 2)[0] == 3


def test_gyroscopic_term_magnetic_field():
    """A charge in a uniform field B e_z: translations with F (guiding centre), the
    rotation, time, and the translations rotating at the cyclotron frequency, whose
    velocity-free block needs A . dxi/dt."""
    c = sn.coordinates("x y")
    (x, y), (xdot, ydot) = c.q, c.qdot
    system = sn.System("magnetic", c, lagrangian=(xdot**2 + ydot**2) / 2
                       + (x * ydot - y * xdot) / 2)
    result = sn.find_symmetries(system)
    assert result.complete and all(g.proved for g in result.generators)
    assert all(_conserved(system, result))
    assert sum(1 for g in result.generators if g.tau == 0 and g.F.has(sympy.cos)) >= 2
