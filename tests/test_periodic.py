"""Periodic coordinates: angles enter the network as cos and sin, errors and plots wrap them.

The case of issue 24: a free asymmetric top in Euler angles (phi, theta, psi) with the
rotations about the space z axis. The shift of phi leaves theta and psi free, so a naive
invariant set has a raw psi, which winds without bound along a trajectory.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import symnoether as sn
from symnoether.errors import SpecError
from symnoether.numeric.periodic import position_error, wrapped
from symnoether.numeric.plots import _broken
from symnoether.symbolic.angles import periodic_symbols

# A state of the top whose psi winds: from 0.3 to about 44 by t = 20.
Q0, QDOT0 = (0.1, 1.0, 0.3), (0.4, 0.3, 2.0)


def free_top(**kwargs) -> sn.System:
    c = sn.coordinates("phi theta psi")
    phi, theta, psi = c.q
    dphi, dtheta, dpsi = c.qdot
    s, co = sympy.sin, sympy.cos
    w1 = dphi * s(theta) * s(psi) + dtheta * co(psi)  # body angular velocities
    w2 = dphi * s(theta) * co(psi) - dtheta * s(psi)
    w3 = dphi * co(theta) + dpsi
    L = (w1**2 + sympy.Rational(3, 2) * w2**2 + 2 * w3**2) / 2
    G = sn.from_generators(c, [{phi: 1}], name="rotation_z")
    return sn.System("free_top", c, symmetry=G, lagrangian=L, **kwargs)


@pytest.fixture(scope="module")
def top_module(tmp_path_factory):
    return sn.generate(free_top(), tmp_path_factory.mktemp("top") / "top_model.py")


def test_free_top_angles_enter_as_cosine_and_sine():
    system = free_top()
    assert [a.name for a in system.angles] == ["theta", "psi"]  # phi does not appear in L
    inv = sn.derive_invariants(system)
    assert inv.names == ("cos_theta", "sin_theta", "cos_psi", "sin_psi", "phidot",
                         "thetadot", "psidot")  # fmt: skip
    psi = system.coordinates.q[2]
    assert psi not in inv.exprs and sympy.sin(psi) in inv.exprs
    assert inv.certificate.invariant and inv.certificate.complete
    assert any("cosine and sine" in note for note in inv.certificate.notes)


def test_generated_module_names_its_angles_and_its_inputs_stay_bounded(top_module):
    assert top_module.PERIODIC_COORDINATES == ("theta", "psi")
    qs, qdots = sn.integrate(top_module.lagrangian, jnp.asarray(Q0), jnp.asarray(QDOT0),
                             dt=0.01, steps=2000, acceleration=top_module.acceleration)  # fmt: skip
    assert float(qs[-1, 2]) > 30  # psi winds
    s = np.asarray(jax.vmap(top_module.invariants)(qs, qdots))
    angle_inputs = [top_module.INVARIANT_NAMES.index(n) for n in ("cos_psi", "sin_psi")]
    assert np.max(np.abs(s[:, angle_inputs])) <= 1.0


@pytest.mark.parametrize("family", ["mlp", "natural"])
def test_models_are_periodic_in_the_angles(top_module, family):
    # The network sees cos psi and sin psi only: L(psi + 2 pi k) = L(psi) for every weight.
    key = jax.random.key(0)
    if family == "mlp":
        model = sn.LagrangianNetwork(top_module, width=16, dtype=jnp.float64, key=key)
    else:
        model = sn.NaturalLagrangianNetwork(top_module, width=16, dtype=jnp.float64, key=key)
    q = jnp.asarray([Q0, np.add(Q0, [0.0, 0.0, 14 * np.pi])])
    qdot = jnp.asarray([QDOT0, QDOT0])
    both = eqx.filter_jit(jax.vmap(lambda x, v: (model(x, v), jax.grad(model, 1)(x, v))))
    (L, L_turned), (p, p_turned) = both(q, qdot)
    assert np.isclose(L_turned, L, rtol=1e-12)
    np.testing.assert_allclose(p_turned, p, rtol=1e-12)  # the momenta


def test_errors_and_plots_wrap_the_angles(top_module):
    qs = np.array([[0.1, 1.0, 0.3], [0.1, 1.0, 0.3 + 12 * np.pi + 0.01]])
    reference = np.array([[0.1, 1.0, 0.3 + 2 * np.pi], [0.1, 1.0, 0.3]])
    np.testing.assert_allclose(position_error(top_module, qs, reference), [0.0, 0.01],
                               atol=1e-12)  # fmt: skip
    # phi is not periodic here (it does not appear in L): its differences are not wrapped
    shifted = qs + np.array([2 * np.pi, 0.0, 0.0])
    np.testing.assert_allclose(position_error(top_module, shifted, qs), 2 * np.pi)
    w = wrapped(top_module, qs)
    assert np.all(np.abs(w[:, 1:]) <= np.pi) and w[1, 2] == pytest.approx(0.31)
    line = _broken(np.array([[0.0, 3.1], [0.0, -3.1], [0.0, -3.0]]), [1])
    assert np.isnan(line[1]).all() and len(line) == 4  # no line drawn across the plot


def test_detection_needs_an_integer_combination_inside_sin_or_cos():
    x, y, z = sympy.symbols("x y z", real=True)
    exprs = [sympy.cos(x - 2 * y) + x * sympy.sin(z / 2) + z**2 / 2]
    assert periodic_symbols(exprs, (x, y, z)) == (y,)  # x raw, z inside sin(z/2)
    assert periodic_symbols([sympy.cos(x)], (x, y)) == (x,)  # y appears nowhere


def test_declared_periodic_coordinates():
    system = free_top(periodic=["phi"])
    assert [a.name for a in system.angles] == ["phi", "theta", "psi"]
    assert system.spec_hash() != free_top().spec_hash()
    # phi is no invariant of the rotation about z: nothing more to replace
    assert "phidot" in sn.derive_invariants(system).names


def test_a_raw_angle_outside_sin_is_noted():
    c = sn.coordinates("theta")
    (theta,), (v,) = c.q, c.qdot
    system = sn.System("p", c, lagrangian=v**2 / 2 + sympy.cos(theta), periodic=["theta"],
                       candidates={"odd": theta * v})  # fmt: skip
    inv = sn.derive_invariants(system)
    assert "odd" in inv.names and "cos_theta" in inv.names
    assert any("odd use an angle outside sin/cos" in note for note in inv.certificate.notes)


@pytest.mark.parametrize(
    ("periodic", "match"),
    [(["chi"], r"periodic names 'chi', which is not a coordinate"),
     ("psi", r"periodic must be a list of coordinate names")],
)  # fmt: skip
def test_bad_periodic_declarations_are_refused(periodic, match):
    with pytest.raises(SpecError, match=match):
        free_top(periodic=periodic)
