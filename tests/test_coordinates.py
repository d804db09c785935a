import pytest
import sympy

import symnoether as sn


def test_coordinates_from_string_and_blocks():
    c = sn.coordinates("t x y z", blocks={"x": ["x", "y", "z"]})
    assert c.names == ("t", "x", "y", "z")
    assert [s.name for s in c.qdot] == ["tdot", "xdot", "ydot", "zdot"]
    assert all(s.is_real for s in c.q + c.qdot)
    assert c.block("x") == c.q[1:]
    assert c.block_velocity("x") == c.qdot[1:]
    assert c.block_indices("x") == (1, 2, 3)
    assert c.n == 4 and c.state == c.q + c.qdot


def test_coordinates_accepts_commas_and_sequences():
    assert sn.coordinates("a, b").names == ("a", "b")
    assert sn.coordinates(["a", "b"]).names == ("a", "b")


def test_particles_blocks():
    c = sn.particles(2, dim=3)
    assert tuple(c.blocks) == ("x1", "x2")
    assert [s.name for s in c.block("x2")] == ["x2_0", "x2_1", "x2_2"]
    assert c.n == 6


@pytest.mark.parametrize(
    "names, match",
    [
        ("", "no coordinates"),
        ("x x", "declared twice"),
        ("x xdot", "clashes with the velocity"),
        ("_x", "underscore"),
        ("lambda", "keyword"),
        ("len", "builtin"),
        ("q", "reserved"),
        (["__import__('os').system('x')"], "not a Python identifier"),
        (["x y"], "not a Python identifier"),
    ],
)
def test_bad_coordinate_names(names, match):
    with pytest.raises(sn.SpecError, match=match):
        sn.coordinates(names)


def test_every_problem_is_collected():
    with pytest.raises(sn.SpecError) as info:
        sn.coordinates("x x _y", blocks={"v": ["x", "w"], "for": []})
    problems = info.value.problems
    assert len(problems) >= 4
    text = str(info.value)
    assert "declared twice" in text and "not a coordinate" in text and "keyword" in text


def test_unknown_block_message():
    c = sn.coordinates("x y")
    with pytest.raises(ValueError, match="unknown block 'x'"):
        c.block("x")


@pytest.mark.parametrize("n, dim, error", [(0, 3, ValueError), (2, 0, ValueError),
                                           (1.5, 3, TypeError), (True, 2, TypeError)])
def test_particles_validation(n, dim, error):
    with pytest.raises(error):
        sn.particles(n, dim)


def test_coordinates_type_error():
    with pytest.raises(TypeError, match="names must be"):
        sn.coordinates(3)


def test_symbols_are_shared_between_equal_declarations():
    a, b = sn.coordinates("x y"), sn.coordinates("x y")
    assert a == b and a.q == b.q and hash(a) == hash(b)
    assert a.q[0] == sympy.Symbol("x", real=True)
