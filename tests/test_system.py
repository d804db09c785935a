import textwrap

import pytest
import sympy

import symnoether as sn


def _kepler():
    c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
    X, V = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    return c, sn.rotations(c, ["x"]), V.dot(V) / 2 + 1 / sympy.sqrt(X.dot(X))


def test_system_with_parameters_substitutes_exactly():
    c, G, L = _kepler()
    k = sympy.Symbol("k", positive=True)
    system = sn.System("kepler", c, G, lagrangian=k * L, parameters={k: 0.5})
    assert system.parameters == {k: sympy.Rational(1, 2)}
    assert k not in system.true_lagrangian.free_symbols
    assert sympy.simplify(system.true_lagrangian - L / 2) == 0


def test_spec_hash_is_stable_and_sensitive():
    c, G, L = _kepler()
    a = sn.System("kepler", c, G, lagrangian=L)
    assert a.spec_hash() == sn.System("kepler", c, G, lagrangian=L).spec_hash()
    assert a.spec_hash() != sn.System("kepler", c, G, lagrangian=2 * L).spec_hash()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "bad name"}, "not a Python identifier"),
        ({"lagrangian": sympy.Symbol("w")}, "mentions \\['w'\\]"),
        ({"coordinates": "x y z"}, "expected Coordinates"),
        ({"symmetry": "SO(3)"}, "expected a SymmetryGroup"),
        ({"parameters": {"k": "fast"}}, "not a real number"),
        ({"parameters": {"for": 1}}, "keyword"),
        ({"parameters": [1]}, "expected a dict"),
    ],
)
def test_system_validation(kwargs, match):
    c, G, L = _kepler()
    args = {"name": "kepler", "coordinates": c, "symmetry": G, "lagrangian": L, **kwargs}
    with pytest.raises(sn.SpecError, match=match):
        sn.System(**args)


def test_symmetry_on_other_coordinates_is_refused():
    c, G, L = _kepler()
    other = sn.coordinates("u v w", blocks={"x": ["u", "v", "w"]})
    with pytest.raises(sn.SpecError, match="other coordinates"):
        sn.System("kepler", other, G)


def test_load_spec_round_trip(tmp_path):
    path = tmp_path / "spec.py"
    path.write_text(textwrap.dedent("""
        import sympy
        import symnoether as sn
        c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
        system = sn.System("osc", c, sn.rotations(c, ["x"]),
                           lagrangian=sum(v**2 for v in c.qdot) / 2 - sum(x**2 for x in c.q) / 2)
    """))
    system = sn.load_spec(path)
    assert system.name == "osc" and system.symmetry.name == "SO(2)"


@pytest.mark.parametrize(
    "source, match",
    [
        ("x = 1\n", "must define a module-level `system"),
        ("raise RuntimeError('boom')\n", "failed to import at .*: RuntimeError: boom"),
        ("import symnoether as sn\nsn.coordinates('x x')\n", "declared twice"),
    ],
)
def test_load_spec_errors(tmp_path, source, match):
    path = tmp_path / "spec.py"
    path.write_text(source)
    with pytest.raises(sn.SpecError, match=match):
        sn.load_spec(path)


def test_load_spec_missing_file(tmp_path):
    with pytest.raises(sn.SpecError, match="does not exist"):
        sn.load_spec(tmp_path / "nope.py")


@pytest.mark.parametrize("name", ["kepler", "schwarzschild", "two_particles"])
def test_examples_load(name):
    system = sn.load_spec(f"examples/{name}/spec.py")
    assert system.lagrangian is not None


@pytest.mark.parametrize("symmetry, count", [("translations", 3), ("rotations", 3),
                                              ("reflections", 3), ("both", 6)])
def test_two_particles_symmetry_choices(monkeypatch, symmetry, count):
    monkeypatch.setenv("SYMNOETHER_DIM", "3")
    monkeypatch.setenv("SYMNOETHER_SYMMETRY", symmetry)
    system = sn.load_spec("examples/two_particles/spec.py")
    assert system.symmetry.K == count
    assert system.symmetry.actions[-1].reflections == (symmetry == "reflections")


def test_two_particles_rejects_unknown_symmetry(monkeypatch):
    monkeypatch.setenv("SYMNOETHER_SYMMETRY", "galilean")
    with pytest.raises(sn.SpecError, match="SYMMETRY must be one of"):
        sn.load_spec("examples/two_particles/spec.py")


def _screw(pitch_in_generator):
    c = sn.coordinates("x y z")
    x, y, z = c.q
    v = sympy.Matrix(c.qdot)
    k = sympy.Symbol("k", positive=True)
    u = x * sympy.cos(2 * z / k) + y * sympy.sin(2 * z / k)
    G = sn.from_generators(c, [{x: -y, y: x, z: pitch_in_generator(k)}], name="screw")
    return c, G, v.dot(v) / 2 - u, k


def test_parameters_in_generators_are_substituted():
    c, G, L, k = _screw(lambda k: k / 2)
    assert G.parameters == (k,) and G.structure_constants is None
    system = sn.System("helix", c, G, lagrangian=L, parameters={"k": 2})
    assert system.symmetry.generators[0][2] == 1 and system.symmetry.parameters == ()
    report = sn.verify(system)  # the invariants are incomplete without candidates
    assert report.check("symmetry[screw]").passed and report.check("conservation[I_screw]").passed
    wrong = sn.System("helix", c, _screw(lambda k: k)[1], lagrangian=L, parameters={"k": 2})
    assert "symmetry[screw]" in {ch.name for ch in sn.verify(wrong).failures()}


def test_unknown_generator_symbols_are_refused_by_the_system():
    c, G, L, k = _screw(lambda k: k / 2)
    with pytest.raises(sn.SpecError, match="generator 'screw' mentions \\['k'\\]"):
        sn.System("helix", c, G)


def test_candidates_in_the_system_join_the_derived_set():
    c, G, L, k = _screw(lambda k: k / 2)
    x, y, z = c.q
    w = "y*cos(z) - x*sin(z)"  # parsed with the coordinate names, k = 2 substituted
    u = x * sympy.cos(2 * z / k) + y * sympy.sin(2 * z / k)
    system = sn.System("helix", c, G, lagrangian=L, parameters={"k": 2}, candidates=[u, w])
    assert list(system.candidates) == ["u1", "u2"]
    inv = sn.derive_invariants(system)
    assert inv.names[-2:] == ("u1", "u2") and inv.certificate.complete
    assert any("candidates u1, u2 were added" in note for note in inv.certificate.notes)
    without = sn.System("helix", c, G, lagrangian=L, parameters={"k": 2})
    assert not sn.derive_invariants(without).certificate.complete
    assert system.spec_hash() != without.spec_hash()
    with pytest.raises(sn.SpecError, match="neither coordinates"):
        sn.System("helix", c, G, lagrangian=L, parameters={"k": 2}, candidates=["x + q"])
