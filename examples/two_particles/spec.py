"""Two particles in D dimensions joined by the anharmonic potential V(r) = -mu/2 r^2 + kappa/4 r^4.

Choose D with the variable DIM (or the environment variable SYMNOETHER_DIM); D = 2, 3, 4 are
the reference's cases. Choose the declared symmetry with SYMMETRY (or SYMNOETHER_SYMMETRY):

- "none": no symmetry (the network sees q and qdot, like the unconstrained baseline);
- "translations": common translations (total momentum);
- "rotations": common rotations SO(D) about the origin (angular momentum);
- "reflections": O(D), rotations and reflections (no Levi-Civita invariants);
- "both" (default): translations x SO(D).

The unconstrained network, which sees raw (q, qdot), is trained beside the invariant one by
`symnoether train`, whatever the declared symmetry.
"""

import os

import sympy

import symnoether as sn

DIM = int(os.environ.get("SYMNOETHER_DIM", "4"))
SYMMETRY = os.environ.get("SYMNOETHER_SYMMETRY", "both")

c = sn.particles(2, dim=DIM)
x1, x2 = sympy.Matrix(c.block("x1")), sympy.Matrix(c.block("x2"))
v1, v2 = sympy.Matrix(c.block_velocity("x1")), sympy.Matrix(c.block_velocity("x2"))
m1, m2, mu, kappa = sympy.symbols("m1 m2 mu kappa", positive=True)
d = x1 - x2
r2 = d.dot(d)

# The first 12 entries of the reference's fixed table of standard normal numbers
# (random_normal_table.json of eikehmueller/mlconservation_code).
_TABLE = [
    -1.090280532669044, -0.12405160788279569, -0.708526303286469, -0.10214503943229584,
    -0.2114044542410527, -0.7171691675399203, 0.47501927040275477, 1.521431229450284,
    0.1477332763413889, -0.0314497186733632, 1.0839803718191097, -1.3460098868518833,
]  # fmt: skip

blocks = ["x1", "x2"]
SYMMETRIES = {
    "none": lambda: None,
    "translations": lambda: sn.translations(c, blocks=blocks),
    "rotations": lambda: sn.rotations(c, blocks=blocks),
    "reflections": lambda: sn.rotations(c, blocks=blocks, reflections=True),
    "both": lambda: sn.translations(c, blocks=blocks) * sn.rotations(c, blocks=blocks),
}
if SYMMETRY not in SYMMETRIES:
    raise ValueError(f"SYMMETRY must be one of {sorted(SYMMETRIES)}, got {SYMMETRY!r}")

system = sn.System(
    name=f"two_particles_{DIM}d_{SYMMETRY}",
    coordinates=c,
    symmetry=SYMMETRIES[SYMMETRY](),
    lagrangian=m1 / 2 * v1.dot(v1) + m2 / 2 * v2.dot(v2) - (-mu / 2 * r2 + kappa / 4 * r2**2),
    parameters={m1: 1, m2: sympy.Rational(4, 5), mu: 1, kappa: 1},
    # The reference's initial state (Mueller 2023, its TwoParticleConstantInitializer): from
    # its table of normal numbers, velocities r / m1 and -r / m2 (zero total momentum) with r
    # the first D entries, then the positions of both particles from the next 2 D entries.
    initial_state=(
        _TABLE[DIM : 3 * DIM],
        [x / 1.0 for x in _TABLE[:DIM]] + [-x / 0.8 for x in _TABLE[:DIM]],
    ),
)
