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
