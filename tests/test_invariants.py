"""derive_invariants and certify: exact sets, certificates, routes, errors, determinism."""

import dataclasses
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from systems import expm as _expm

import symnoether as sn
from symnoether.errors import SpecError, SymmetryError
from symnoether.symbolic.invariants import Certificate, InvariantSet, certify, derive_invariants
from symnoether.symbolic.names import name_problems

ROOT = Path(__file__).resolve().parent.parent


# --- systems ----------------------------------------------------------------------------


def kepler(reflections=False):
    c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
    return sn.System(
        name="kepler", coordinates=c, symmetry=sn.rotations(c, ["x"], reflections=reflections)
    )


def schwarzschild():
    c = sn.coordinates("t x y z", blocks={"x": ["x", "y", "z"]})
    group = sn.translations(c, coordinates=["t"]) * sn.rotations(c, blocks=["x"])
    return sn.System(name="schwarzschild", coordinates=c, symmetry=group)


def particles(n, dim, *, translate=True, reflections=False):
    c = sn.particles(n, dim=dim)
    blocks = list(c.blocks)
    group = sn.rotations(c, blocks, reflections=reflections)
    if translate:
        group = sn.translations(c, blocks=blocks) * group
    return sn.System(name=f"particles_{n}_{dim}d", coordinates=c, symmetry=group)


def screw():
    c = sn.coordinates("x y z")
    x, y, _ = c.q
    group = sn.from_generators(c, [{x: -y, y: x, "z": 1}], name="screw")
    return sn.System(name="screw", coordinates=c, symmetry=group)


def custom(components, name="g"):
    c = sn.coordinates("x y z")
    x, y, z = c.q
    local = {"x": x, "y": y, "z": z}
    gens = [{k: v(**local) for k, v in components.items()}]
    return sn.System(name="custom", coordinates=c,
                     symmetry=sn.from_generators(c, gens, name=name))


def spec(example, dim=None, monkeypatch=None):
    if dim is not None:
        monkeypatch.setenv("SYMNOETHER_DIM", str(dim))
    return sn.load_spec(ROOT / "examples" / example / "spec.py")


def equal(a, b):
    return sympy.expand(a - b) == 0


# --- the reference problems -------------------------------------------------------------

DOTS = ("x12_x12", "x12_x1dot", "x12_x2dot", "x1dot_x1dot", "x1dot_x2dot", "x2dot_x2dot")
REFERENCE = [
    ("kepler", None, ("x_x", "x_xdot", "xdot_xdot"), 3),
    ("schwarzschild", None, ("tdot", "x_x", "x_xdot", "xdot_xdot"), 4),
    ("two_particles", 2, DOTS + ("eps_x12_x1dot", "eps_x12_x2dot"), 5),
    ("two_particles", 3, DOTS + ("eps_x12_x1dot_x2dot",), 6),
    ("two_particles", 4, DOTS, 6),
]


@pytest.mark.parametrize("example, dim, names, rank", REFERENCE)
def test_reference_sets_are_exact_and_complete(example, dim, names, rank, monkeypatch):
    inv = derive_invariants(spec(example, dim, monkeypatch))
    assert inv.route == "classical"
    assert inv.names == names
    cert = inv.certificate
    assert cert.invariant and cert.complete and cert.residuals == ()
    assert cert.rank == cert.expected_rank == rank


@pytest.mark.parametrize("example, dim, names, rank", REFERENCE)
def test_general_route_agrees_on_rank(example, dim, names, rank, monkeypatch):
    inv = derive_invariants(spec(example, dim, monkeypatch), route="general")
    assert inv.route == "general"
    assert inv.certificate.complete
    assert inv.certificate.rank == rank == len(inv.exprs)  # general keeps no redundancy


def test_kepler_expressions():
    system = kepler()
    x, v = sympy.Matrix(system.coordinates.q), sympy.Matrix(system.coordinates.qdot)
    inv = derive_invariants(system)
    for got, want in zip(inv.exprs, (x.dot(x), x.dot(v), v.dot(v))):
        assert equal(got, want)


def test_difference_is_first_block_minus_second():
    system = particles(2, 3)
    c = system.coordinates
    d = sympy.Matrix(c.block("x1")) - sympy.Matrix(c.block("x2"))
    v1, v2 = sympy.Matrix(c.block_velocity("x1")), sympy.Matrix(c.block_velocity("x2"))
    inv = dict(zip(*[derive_invariants(system).names, derive_invariants(system).exprs]))
    assert equal(inv["x12_x12"], d.dot(d))
    assert equal(inv["x12_x2dot"], d.dot(v2))
    assert equal(inv["eps_x12_x1dot_x2dot"], sympy.Matrix.hstack(d, v1, v2).det())


def test_schwarzschild_keeps_tdot_and_drops_t():
    inv = derive_invariants(schwarzschild())
    t, tdot = schwarzschild().coordinates.q[0], schwarzschild().coordinates.qdot[0]
    assert inv.exprs[0] == tdot
    assert all(t not in e.free_symbols for e in inv.exprs)


def test_three_particles_2d_general_route():
    inv = derive_invariants(particles(3, 2), route="general")
    cert = inv.certificate
    assert cert.complete and cert.rank == 9 and cert.orbit_dimension == 3
    assert len(inv.exprs) == 9


# --- numeric invariance under finite group elements -------------------------------------


def _random_element(group, rng):
    """A random element exp(sum t_a xi_a) of an affine group, as an augmented matrix."""
    q = group.coordinates.q
    n = len(q)
    total = np.zeros((n + 1, n + 1))
    for xi in group.generators:
        linear = np.array(sympy.Matrix(xi).jacobian(q), dtype=float)
        shift = np.array([float(e.subs({s: 0 for s in q})) for e in xi])
        total[:n, :n] += rng.normal() * linear
        total[:n, n] += rng.normal() * shift
    return _expm(total)


@pytest.mark.parametrize("make", [kepler, schwarzschild, lambda: particles(2, 2),
                                  lambda: particles(2, 3), lambda: particles(2, 4),
                                  lambda: particles(3, 2)])
def test_numeric_invariance_under_group_elements(make):
    system = make()
    c = system.coordinates
    inv = derive_invariants(system)
    f = sympy.lambdify(c.state, list(inv.exprs), "numpy")
    rng = np.random.default_rng(0)
    n = c.n
    for _ in range(5):
        g = _random_element(system.symmetry, rng)
        q, qdot = rng.normal(size=n), rng.normal(size=n)
        q2, qdot2 = g[:n, :n] @ q + g[:n, n], g[:n, :n] @ qdot
        np.testing.assert_allclose(f(*q2, *qdot2), f(*q, *qdot), rtol=1e-10, atol=1e-10)


def test_levi_civita_changes_sign_under_a_reflection():
    system = particles(2, 3)
    c = system.coordinates
    inv = derive_invariants(system)
    f = sympy.lambdify(c.state, list(inv.exprs), "numpy")
    rng = np.random.default_rng(1)
    q, qdot = rng.normal(size=c.n), rng.normal(size=c.n)
    flip = np.array([1, 1, -1] * 2, dtype=float)
    before, after = np.array(f(*q, *qdot)), np.array(f(*(flip * q), *(flip * qdot)))
    np.testing.assert_allclose(after[:-1], before[:-1], rtol=1e-12)
    np.testing.assert_allclose(after[-1], -before[-1], rtol=1e-12)


# --- O(d) versus SO(d) ------------------------------------------------------------------


@pytest.mark.parametrize("dim", [2, 3])
def test_reflections_exclude_levi_civita(dim):
    so = derive_invariants(particles(2, dim))
    o = derive_invariants(particles(2, dim, reflections=True))
    assert any(n.startswith("eps_") for n in so.names)
    assert o.names == DOTS
    assert o.certificate.complete
    assert any("reflection" in note for note in o.certificate.notes)


def test_general_route_respects_reflections():
    inv = derive_invariants(particles(2, 2, reflections=True), route="general")
    assert inv.certificate.complete and inv.certificate.invariant
    c = particles(2, 2).coordinates
    flip = {c.q[1]: -c.q[1], c.q[3]: -c.q[3], c.qdot[1]: -c.qdot[1], c.qdot[3]: -c.qdot[3]}
    assert all(equal(e.xreplace(flip), e) for e in inv.exprs)


def test_levi_civita_candidate_fails_for_o3():
    system = kepler(reflections=True)
    x, v = sympy.Matrix(system.coordinates.q), sympy.Matrix(system.coordinates.qdot)
    cert = certify(system, {"x_x": x.dot(x), "eps": x.cross(v)[0]})
    assert not cert.invariant
    assert ("reflection_x", "eps") in {r[:2] for r in cert.residuals}


# --- incomplete sets, errors ------------------------------------------------------------


def test_screw_motion_is_reported_incomplete():
    inv = derive_invariants(screw())
    cert = inv.certificate
    assert inv.route == "general"
    assert cert.invariant and not cert.complete
    assert (cert.rank, cert.expected_rank, cert.orbit_dimension) == (4, 5, 1)
    assert any("screw" in note and "not rational" in note for note in cert.notes)
    assert any("incomplete" in note for note in cert.notes)


def _dilations(rotations: bool):
    c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
    x, y, z = c.q
    group = sn.from_generators(c, [{x: x, y: y, z: z}], name="dilation")
    if rotations:
        group = sn.rotations(c, ["x"]) * group
    return sn.System(name="dilations", coordinates=c, symmetry=group)


def test_dilations_find_rational_invariants_of_weight_zero():
    system = _dilations(rotations=True)
    x, y, z = system.coordinates.q
    xdot, ydot, zdot = system.coordinates.qdot
    inv = derive_invariants(system, require_complete=True)
    r2 = x**2 + y**2 + z**2
    assert inv.route == "general"
    assert [sympy.cancel(e - w) for e, w in zip(inv.exprs, [
        (x * xdot + y * ydot + z * zdot) / r2, (xdot**2 + ydot**2 + zdot**2) / r2])] == [0, 0]
    assert any("rational invariant" in note for note in inv.certificate.notes)
    alone = derive_invariants(_dilations(rotations=False), require_complete=True)
    assert len(alone.exprs) == 5 and alone.exprs[0] == y / x


def test_missing_invariants_hint_names_this_case_not_screw_motions():
    cert = derive_invariants(_dilations(rotations=True), max_degree=1).certificate
    assert not cert.complete
    hint = next(note for note in cert.notes if "missing" in note and "general route" in note)
    assert "screw" not in hint and "higher degree" in hint and "2 missing" in hint


def test_screw_motion_completed_by_a_user_candidate():
    c = screw().coordinates
    x, y, z = c.q
    xdot, ydot, zdot = c.qdot
    candidates = {"zdot": zdot, "rho2": x**2 + y**2, "ell": x * ydot - y * xdot,
                  "xv": x * xdot + y * ydot, "phase": z - sympy.atan2(y, x)}
    inv = derive_invariants(screw(), candidates=candidates, require_complete=True)
    assert inv.route == "user" and inv.names == tuple(candidates)


def test_require_complete_raises():
    with pytest.raises(SymmetryError, match=r"rank 4 found, expected 2n - r = 6 - 1 = 5"):
        derive_invariants(screw(), require_complete=True)


@pytest.mark.parametrize("route", ["auto", "general"])
def test_non_polynomial_generator_is_a_clear_error(route):
    system = custom({"x": lambda x, y, z: sympy.exp(z)}, name="boost_exp")
    with pytest.raises(SymmetryError, match=r"'boost_exp'.*exp\(z\).*neither polynomial"):
        derive_invariants(system, route=route)


def test_irrational_coefficients_are_a_clear_error():
    system = custom({"x": lambda x, y, z: -sympy.sqrt(2) * y,
                     "y": lambda x, y, z: sympy.sqrt(2) * x})
    with pytest.raises(SymmetryError, match="irrational or symbolic coefficients"):
        derive_invariants(system)


def test_rational_generator_clears_denominators():
    system = custom({"x": lambda x, y, z: -y / (1 + x**2 + y**2),
                     "y": lambda x, y, z: x / (1 + x**2 + y**2)})
    inv = derive_invariants(system)
    assert inv.certificate.invariant
    assert any("multiplied by" in note for note in inv.certificate.notes)
    c = system.coordinates
    assert {"z", "zdot"} <= set(inv.names)
    assert any(equal(e, c.q[0] ** 2 + c.q[1] ** 2) for e in inv.exprs)


def test_classical_route_refuses_custom_groups():
    with pytest.raises(SymmetryError, match="classical invariant route does not apply"):
        derive_invariants(screw(), route="classical")


def test_auto_falls_back_to_general_with_a_note():
    c = sn.particles(1, dim=3)
    group = sn.rotations(c, ["x1"], label="a") * sn.rotations(c, ["x1"], label="b")
    inv = derive_invariants(sn.System(name="twice", coordinates=c, symmetry=group))
    assert inv.route == "general" and inv.certificate.complete
    assert "classical route does not apply" in inv.certificate.notes[0]


def test_no_polynomial_invariant_exists_but_rational_ones_complete_the_set():
    c = sn.coordinates("x y")
    group = sn.from_generators(c, [{"x": c.q[0], "y": c.q[1]}], name="dilation")
    inv = derive_invariants(sn.System(name="dil", coordinates=c, symmetry=group))
    assert all(sympy.denom(e) != 1 for e in inv.exprs) and inv.certificate.complete
    assert inv.certificate.expected_rank == 3 == len(inv.exprs)
    empty = derive_invariants(sn.System(name="dil", coordinates=c, symmetry=group),
                              max_degree=1, route="general")
    assert len(empty.exprs) == 3  # degree-1 ratios y/x, xdot/x, ydot/x


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"route": "bogus"}, ValueError, "route must be one of"),
        ({"route": "user"}, ValueError, "needs candidates"),
        ({"route": "classical", "candidates": ["x"]}, ValueError, "conflicts"),
        ({"max_degree": 0}, ValueError, "max_degree"),
        ({"candidates": "x**2"}, TypeError, "list of expressions"),
        ({"candidates": []}, SpecError, "no candidates"),
        ({"candidates": ["x*w"]}, SpecError, "neither coordinates"),
        ({"candidates": {"q": "x"}}, SpecError, "reserved"),
    ],
)
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        derive_invariants(kepler(), **kwargs)


def test_not_a_system():
    with pytest.raises(TypeError, match="System"):
        derive_invariants("kepler")


# --- user candidates and certify --------------------------------------------------------


def test_user_candidates_are_certified():
    system = kepler()
    inv = derive_invariants(system, candidates=["x**2 + y**2 + z**2", "x*xdot + y*ydot + z*zdot",
                                                "xdot**2 + ydot**2 + zdot**2"])
    assert inv.route == "user" and inv.names == ("s1", "s2", "s3")
    assert inv.certificate.complete


def test_wrong_candidate_reports_its_residual():
    system = kepler()
    x, y, _ = system.coordinates.q
    xdot, ydot, _ = system.coordinates.qdot
    cert = certify(system, {"wrong": x * xdot})
    assert not cert.invariant and not cert.complete
    gen, name, residual = cert.residuals[0]
    assert (gen, name) == ("rotation_x0x1", "wrong")
    assert equal(residual, -(y * xdot + x * ydot))
    assert any("not invariant" in note for note in cert.notes)


def test_certify_non_polynomial_candidates_with_numeric_rank():
    system = kepler()
    x, v = sympy.Matrix(system.coordinates.q), sympy.Matrix(system.coordinates.qdot)
    r = sympy.sqrt(x.dot(x))
    cert = certify(system, [r, x.dot(v) / r, v.dot(v)])
    assert cert.complete
    assert any("numerically" in note for note in cert.notes)
    assert certify(system, [r, x.dot(x)]).rank == 1


def test_certify_names_and_plain_symbols():
    system = kepler()
    cert = certify(system, [sympy.Symbol("x")], names=["first"])  # plain x means the coordinate
    assert cert.residuals[0][1] == "first"


def test_certificate_validates_consistency():
    with pytest.raises(ValueError, match="complete must equal"):
        Certificate(invariant=True, residuals=(), rank=2, expected_rank=3, orbit_dimension=3,
                    complete=True)
    with pytest.raises(ValueError, match="no residuals"):
        Certificate(invariant=True, residuals=(("g", "s", 1),), rank=3, expected_rank=3,
                    orbit_dimension=3, complete=True)


def test_invariant_set_validates_names():
    cert = derive_invariants(kepler()).certificate
    with pytest.raises(SpecError, match="not unique"):
        InvariantSet((sympy.Integer(1),) * 2, ("a", "a"), "user", cert)


# --- classical structure ----------------------------------------------------------------


def test_translations_only_give_components():
    c = sn.particles(2, dim=2)
    system = sn.System(name="t", coordinates=c, symmetry=sn.translations(c, ["x1", "x2"]))
    inv = derive_invariants(system)
    assert inv.names == ("x12_0", "x12_1", "x1_0dot", "x1_1dot", "x2_0dot", "x2_1dot")
    assert inv.certificate.complete


def test_free_and_shifted_coordinates():
    c = sn.coordinates("t w x y", blocks={"x": ["x", "y"]})
    group = sn.translations(c, coordinates=["t"]) * sn.rotations(c, ["x"])
    inv = derive_invariants(sn.System(name="s", coordinates=c, symmetry=group))
    assert inv.names == ("w", "tdot", "wdot", "x_x", "x_xdot", "xdot_xdot", "eps_x_xdot")
    assert inv.certificate.complete


@pytest.mark.parametrize("signature", [(1, 1), (1, 3), (2, 2)])
def test_lorentz_and_poincare(signature):
    d = sum(signature)
    names = [f"x{k}" for k in range(d)]
    c = sn.coordinates(names, blocks={"X": names})
    lorentz = sn.lorentz(c, ["X"], signature=signature)
    for group in (lorentz, sn.translations(c, ["X"]) * lorentz):
        system = sn.System(name="m", coordinates=c, symmetry=group)
        classical, general = derive_invariants(system), derive_invariants(system, route="general")
        assert classical.route == "classical" and classical.certificate.complete
        assert general.certificate.complete
        assert classical.certificate.rank == general.certificate.rank


def test_minkowski_metric_in_contractions():
    c = sn.coordinates("t x", blocks={"X": ["t", "x"]})
    inv = derive_invariants(
        sn.System(name="m", coordinates=c, symmetry=sn.lorentz(c, ["X"], signature=(1, 1)))
    )
    t, x = c.q
    assert equal(inv.exprs[0], -(t**2) + x**2)


def test_names_are_valid_unique_identifiers():
    # a_b . c and a . b_c would both be called a_b_c
    c = sn.coordinates("e f g h i j k l", blocks={"a_b": ["e", "f"], "c": ["g", "h"],
                                                  "a": ["i", "j"], "b_c": ["k", "l"]})
    group = sn.rotations(c, ["a_b", "c", "a", "b_c"])
    inv = derive_invariants(sn.System(name="n", coordinates=c, symmetry=group))
    assert "a_b_c" in inv.names and "a_b_c_2" in inv.names
    assert len(set(inv.names)) == len(inv.names)
    assert all(not name_problems(n, "invariant") for n in inv.names)
    assert inv.certificate.complete


def test_difference_names_avoid_existing_blocks():
    c = sn.coordinates("a b c d u v", blocks={"x1": ["a", "b"], "x2": ["c", "d"],
                                              "x12": ["u", "v"]})
    group = sn.translations(c, ["x1", "x2"]) * sn.rotations(c, ["x1", "x2"])
    inv = derive_invariants(sn.System(name="n", coordinates=c, symmetry=group))
    assert inv.names[:3] == ("u", "v", "udot")
    assert "d_x1_x2_d_x1_x2" in inv.names


# --- determinism ------------------------------------------------------------------------


def test_deterministic_within_a_process():
    a, b = derive_invariants(particles(3, 2)), derive_invariants(particles(3, 2))
    assert a.names == b.names and a.exprs == b.exprs
    a, b = (derive_invariants(particles(2, 3), route="general") for _ in range(2))
    assert a.names == b.names and a.exprs == b.exprs


@pytest.mark.slow
def test_deterministic_across_hash_seeds():
    code = (
        "import sympy, symnoether as sn\n"
        "from symnoether.symbolic.invariants import derive_invariants\n"
        "c = sn.particles(3, dim=2)\n"
        "g = sn.translations(c, list(c.blocks)) * sn.rotations(c, list(c.blocks))\n"
        "s = sn.System(name='p', coordinates=c, symmetry=g)\n"
        "for route in ('classical', 'general'):\n"
        "    inv = derive_invariants(s, route=route)\n"
        "    print(inv.names, [sympy.srepr(e) for e in inv.exprs])\n"
    )
    outputs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True, cwd=ROOT)
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]


@pytest.mark.slow
@pytest.mark.parametrize("n, dim", list(itertools.product([3, 4], [3])))
def test_many_particles_classical_and_general_agree(n, dim):
    system = particles(n, dim)
    classical, general = derive_invariants(system), derive_invariants(system, route="general")
    assert classical.certificate.complete and general.certificate.complete
    assert classical.certificate.rank == general.certificate.rank


def _particles(n, dim=3):
    c = sn.particles(n, dim=dim)
    blocks = list(c.blocks)
    return sn.System(f"p{n}", c, sn.translations(c, blocks) * sn.rotations(c, blocks))


@pytest.mark.parametrize("n", [4, 8, 16])
def test_many_particle_sets_grow_quadratically_and_are_complete(n):
    inv = derive_invariants(_particles(n))
    m = 2 * n - 1  # difference vectors and velocities
    assert len(inv) == m * (m + 1) // 2 + (m - 2)  # dot products + eps(v1, v2, v_k)
    assert inv.certificate.complete and inv.certificate.rank == 6 * n - 6


def test_minimal_set_has_exactly_the_rank_and_is_certified():
    system = _particles(4)
    inv = derive_invariants(system, minimal=True)
    assert len(inv) == inv.certificate.rank == 18 and inv.certificate.complete
    assert any("minimal set: 18 of 33" in note for note in inv.certificate.notes)
    flagged = dataclasses.replace(system, minimal_invariants=True)
    assert derive_invariants(flagged).names == inv.names
    assert flagged.spec_hash() != system.spec_hash()
    assert len(derive_invariants(flagged, minimal=False)) == 33
