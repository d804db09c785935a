import pytest
import sympy

import symnoether as sn


def _closed(G):
    """Every bracket equals the combination given by the structure constants."""
    for (a, b), coeffs in G.structure_constants.items():
        combo = [sum(c * G.generators[k][i] for k, c in enumerate(coeffs))
                 for i in range(G.coordinates.n)]
        assert all(sympy.expand(x - y) == 0 for x, y in zip(G.bracket(a, b), combo))


def test_so3_brackets_and_names():
    c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
    G = sn.rotations(c, ["x"])
    x, y, z = c.q
    assert G.name == "SO(3)"
    assert G.names == ("rotation_x0x1", "rotation_x0x2", "rotation_x1x2")
    assert G.charge_names[0] == "angular_momentum_x0x1"
    assert G.generators[0] == (-y, x, 0)
    # [L_xy, L_xz] = -L_yz with this sign convention.
    assert G.structure_constants[(0, 1)] == (0, 0, -1)
    assert len(G.structure_constants) == 3
    _closed(G)
    assert all(G.is_affine(a) for a in range(G.K))


def test_se2_is_closed_and_translations_do_not_commute_with_rotations():
    c = sn.particles(1, 2)
    G = sn.translations(c, ["x1"]) * sn.rotations(c, ["x1"])
    assert G.K == 3 and G.name == "T(2) x SO(2)"
    # [T_0, R_01] = T_1 and [T_1, R_01] = -T_0: not zero, but in the span.
    assert G.structure_constants[(0, 2)] == (0, 1, 0)
    assert G.structure_constants[(1, 2)] == (-1, 0, 0)
    _closed(G)


def test_so12_boosts():
    c = sn.coordinates("t x y", blocks={"x": ["t", "x", "y"]})
    G = sn.lorentz(c, ["x"], signature=(1, 2))
    t, x, y = c.q
    assert G.name == "SO(1,2)"
    assert G.names == ("lorentz_boost_x0x1", "lorentz_boost_x0x2", "rotation_x1x2")
    assert G.charge_names[:2] == ("boost_x0x1", "boost_x0x2")
    interval = -t**2 + x**2 + y**2
    for a in range(G.K):
        assert sympy.expand(G.apply(a, interval)) == 0
    _closed(G)
    assert G.structure_constants[(0, 1)] == (0, 0, 1)


def test_lift_and_apply():
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    G = sn.rotations(c, ["x"])
    x, y = c.q
    xd, yd = c.qdot
    assert G.lift(0) == (-y, x, -yd, xd)
    assert sympy.expand(G.apply(0, x * yd - y * xd)) == 0
    assert sympy.expand(G.apply(0, x**2)) == -2 * x * y


def test_rotations_on_several_blocks_and_reflections_flag():
    c = sn.particles(2, 3)
    G = sn.rotations(c, ["x1", "x2"], reflections=True)
    assert G.name == "O(3)" and G.actions[0].reflections
    assert G.generators[0][0] == -c.block("x1")[1]
    assert G.generators[0][3] == -c.block("x2")[1]


def test_coordinate_translation():
    c = sn.coordinates("t x")
    G = sn.translations(c, coordinates=["t"])
    assert G.generators == ((1, 0),) and G.names == ("translation_t",)
    assert G.charge_names == ("p_t",)


def test_from_generators_custom_and_strings():
    c = sn.coordinates("x y z")
    x, y, z = c.q
    G = sn.from_generators(c, [{x: -y, "y": "x", z: 1}], name="screw")
    assert G.generators == ((-y, x, 1),) and G.names == ("screw",)
    assert G.charge_names == ("I_screw",)
    two = sn.from_generators(c, [{x: 1}, {y: 1}], name="shift")
    assert two.names == ("shift_0", "shift_1")


def test_not_closed_names_pair_and_bracket():
    c = sn.coordinates("x y z")
    x, y, z = c.q
    with pytest.raises(sn.SymmetryError, match=r"\[bad_0, bad_1\].*not a constant"):
        sn.from_generators(c, [{x: -y, y: x}, {x: y * z}], name="bad")


def test_non_polynomial_closure_by_evaluation():
    c = sn.coordinates("x y z")
    x, y, z = c.q
    G = sn.from_generators(c, [{x: -y, y: x}, {z: sympy.sqrt(x**2 + y**2)}], name="sq")
    assert G.structure_constants == {}
    with pytest.raises(sn.SymmetryError, match="not closed"):
        sn.from_generators(c, [{x: -y, y: x}, {z: sympy.exp(x)}], name="ex")


def test_product_of_rotations_and_translations_two_particles_4d():
    c = sn.particles(2, 4)
    G = sn.translations(c, ["x1", "x2"]) * sn.rotations(c, ["x1", "x2"])
    assert G.K == 10
    _closed(G)


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda c, x: sn.rotations(c, ["nope"]), sn.SpecError, "unknown block 'nope'"),
        (lambda c, x: sn.rotations(c, "x1"), TypeError, "list of block names"),
        (lambda c, x: sn.rotations(c, ["x1", "short"]), sn.SpecError, "same length"),
        (lambda c, x: sn.translations(c), TypeError, "exactly one"),
        (lambda c, x: sn.translations(c, coordinates=["w"]), sn.SpecError, "unknown coord"),
        (lambda c, x: sn.lorentz(c, ["x1"], signature=(1, 1)), sn.SpecError, "p \\+ q"),
        (lambda c, x: sn.lorentz(c, ["x1"], signature="1,2"), TypeError, "signature"),
        (lambda c, x: sn.from_generators(c, [{"w": 1}], name="g"), sn.SpecError,
         "not a coordinate"),
        (lambda c, x: sn.from_generators(c, [{x: sympy.Symbol("adot")}], name="g"),
         sn.SpecError, "mentions the velocities"),
        (lambda c, x: sn.from_generators(c, [], name="g"), sn.SpecError, "no generators"),
        (lambda c, x: sn.from_generators(c, [{x: 1}], name="import"), sn.SpecError, "keyword"),
        (lambda c, x: sn.translations(c, ["x1"]) * sn.translations(c, ["x1"]),
         sn.SpecError, "appears twice.*label="),
        (lambda c, x: sn.rotations(c, ["one"]), sn.SpecError, "length >= 2"),
    ],
)
def test_group_validation(build, error, match):
    c = sn.coordinates("a b c w0", blocks={"x1": ["a", "b", "c"], "short": ["a", "b"],
                                           "one": ["w0"]})
    with pytest.raises(error, match=match):
        build(c, c.q[0])


def test_label_disambiguates_products():
    c = sn.particles(2, 2)
    G = sn.translations(c, ["x1"], label="p1") * sn.translations(c, ["x2"], label="p2")
    assert G.names == ("translation_x0_p1", "translation_x1_p1",
                       "translation_x0_p2", "translation_x1_p2")


def test_product_needs_same_coordinates():
    a, b = sn.coordinates("x y", blocks={"x": ["x", "y"]}), sn.coordinates("u v")
    with pytest.raises(sn.SpecError, match="different coordinates"):
        sn.rotations(a, ["x"]) * sn.translations(b, coordinates=["u"])
