"""A lattice field: the XY (rotor) chain of M sites with periodic ends, a global shift symmetry.

L = sum_j qdot_j^2 / 2 - sum_j (1 - cos(q_{j+1} - q_j)),  q_M = q_0 (a ring).

Every site is a block of one coordinate, and `sn.translations(c, blocks=...)` shifts all of
them at once: q_j -> q_j + epsilon. Its Noether charge is the total momentum
P = sum_j qdot_j. The invariants are the differences q_0 - q_j (angles: each enters as its
cosine and sine) and the velocities (rank 2M - 1). The kinetic term is declared known, so
the network learns only the coupling. Choose M with SYMNOETHER_SITES (default 64); see
README.md for the continuum limit.
"""

import math
import os

import sympy

import symnoether as sn

M = int(os.environ.get("SYMNOETHER_SITES", "64"))
# SYMNOETHER_KNOWN_KINETIC=0 leaves the kinetic term to the model too (use it with the
# natural family, "model": "natural", whose mass matrix is definite by construction).
KNOWN_KINETIC = os.environ.get("SYMNOETHER_KNOWN_KINETIC", "1") == "1"
if M < 3:
    raise ValueError(f"SYMNOETHER_SITES must be >= 3 (a ring), got {M}")

names = [f"q{j}" for j in range(M)]
c = sn.coordinates(" ".join(names), blocks={f"site{j}": [name] for j, name in enumerate(names)})
q, qdot = c.q, c.qdot
coupling = sympy.Symbol("J", positive=True)

kinetic = sum((v**2 for v in qdot), sympy.Integer(0)) / 2
potential = coupling * sum((1 - sympy.cos(q[(j + 1) % M] - q[j]) for j in range(M)),
                           sympy.Integer(0))

# A long-wavelength twist plus a travelling pulse: total momentum 0.3, bounded energy.
q0 = tuple(0.5 * math.sin(2 * math.pi * j / M) for j in range(M))
qdot0 = tuple(0.3 / M + 0.4 * math.exp(-(((j - M / 4) / (M / 16)) ** 2)) for j in range(M))

system = sn.System(
    name=f"xy_chain_{M}",
    coordinates=c,
    symmetry=sn.translations(c, blocks=[f"site{j}" for j in range(M)]),
    lagrangian=kinetic - potential,
    # The kinetic term is known; the network learns the coupling: L_model = K + f(S). K is
    # invariant (verify proves it), and its unit mass matrix keeps the learned dynamics
    # well posed from the first step.
    known_lagrangian=kinetic if KNOWN_KINETIC else None,
    parameters={coupling: 1},
    initial_state=(q0, qdot0),
)
