"""The XY (rotor) chain as a local lattice field: one stencil (a site and its right
neighbour) summed over a periodic chain.

L = sum_j thetadot_j^2 / 2 - J sum_j (1 - cos(theta_{j+1} - theta_j)),  J = 1.

The global shift theta_j -> theta_j + c of every site is the symmetry; its charge is the
total momentum P = sum_j dL/dthetadot_j. The fields are angles (`periodic=True`), so the
coupling's inputs are cos and sin of the difference. Only one site and one stencil are
derived and verified, so the symbolic stages do not depend on the chain's length: choose it
with SYMNOETHER_SITES (default 16).
"""

import math
import os

import sympy

import symnoether as sn

SITES = int(os.environ.get("SYMNOETHER_SITES", "16"))
J = sympy.Symbol("J", positive=True)


def coupling(fs):
    return -J * (1 - sympy.cos(fs[1][0] - fs[0][0]))


def initial_state(sites: int, seed: int = 0):
    """A long-wavelength twist plus a travelling pulse, with total momentum 0.3."""
    q0 = tuple(0.5 * math.sin(2 * math.pi * j / sites) for j in range(sites))
    width = max(sites / 16, 1.0)
    qdot0 = tuple(
        0.3 / sites + 0.4 * math.exp(-(((j - sites / 4) / width) ** 2)) for j in range(sites)
    )
    return q0, qdot0


system = sn.LatticeSystem(
    name="xy_chain_local",
    shape=(SITES,),
    fields=("theta",),
    symmetry="shift",
    periodic=True,
    coupling=coupling,
    parameters={J: 1},
    initial_state=initial_state(SITES),
)
