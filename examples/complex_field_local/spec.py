"""A complex scalar field on a periodic 2D lattice with a global U(1), as a local field.

phi_x = re_x + i im_x at every site x of an n x n torus;
L = sum_x [ |phidot_x|^2 / 2 - m^2 |phi_x|^2 / 2 - lam |phi_x|^4 / 4
            - sum_mu |phi_{x+mu} - phi_x|^2 / 2 ],   m^2 = 0.5, lam = 0.5.

The phase rotation phi -> e^{i a} phi of every site is the symmetry; its charge is
Q = sum_x (re_x imdot_x - im_x redot_x). One site and one stencil (the site, its +x and +y
neighbours) are derived and verified, whatever the lattice size: choose n with
SYMNOETHER_SIDE (default 8).
"""

import math
import os

import numpy as np
import sympy

import symnoether as sn

SIDE = int(os.environ.get("SYMNOETHER_SIDE", "8"))
MASS2, LAM = sympy.Rational(1, 2), sympy.Rational(1, 2)


def site(f, v):
    r2 = f.dot(f)
    return v.dot(v) / 2 - MASS2 * r2 / 2 - LAM * r2**2 / 4


def coupling(fs):
    return -sum(((fs[k] - fs[0]).dot(fs[k] - fs[0]) for k in (1, 2)), sympy.Integer(0)) / 2


def initial_state(side: int, seed: int = 0):
    """Smooth random field and a rotating phase: a non-zero charge, bounded energy."""
    rng = np.random.default_rng(seed)
    x = np.arange(side) / side
    waves = np.zeros((side, side, 2))
    for _ in range(3):
        kx, ky = rng.integers(0, 3, size=2)
        phase = rng.uniform(0, 2 * math.pi, size=2)
        waves += (
            0.3
            * rng.normal(size=2)
            * np.cos(2 * math.pi * (kx * x[:, None] + ky * x[None, :])[..., None] + phase)
        )
    phi = waves + np.array([0.6, 0.0])
    omega = 0.8  # phidot = i omega phi: charge density omega |phi|^2
    phidot = omega * np.stack([-phi[..., 1], phi[..., 0]], -1)
    return tuple(phi.ravel().tolist()), tuple(phidot.ravel().tolist())


system = sn.LatticeSystem(
    name="complex_field_local",
    shape=(SIDE, SIDE),
    fields=("re", "im"),
    symmetry="u1",
    site=site,
    coupling=coupling,
    initial_state=initial_state(SIDE),
)
