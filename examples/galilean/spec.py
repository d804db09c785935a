"""Three particles in the plane with pair potentials: translations, rotations and boosts.

L = sum_i m_i |v_i|^2 / 2 - sum_{i<j} V(|x_i - x_j|),   V(r) = -r^2 / 2 + r^4 / 4,
m = (1, 4/5, 6/5).

A Galilean boost x_i -> x_i + epsilon t e_k depends on the time; it shifts every velocity by
e_k and changes the kinetic energy by the total derivative d/dt (sum_i m_i x_i,k): a
quasi-symmetry whose boundary term F_k = M x_cm,k `verify` derives. Its conserved charge is
I_k = t P_k - M x_cm,k (the centre of mass moves uniformly). With translations and rotations
the boosts close into the Galilei algebra.

The network sees only boost-invariant scalars: the contractions of the relative positions
x1 - x2, x1 - x3 and the relative velocities (`galilean_boosts` makes the classical route
difference the velocities too), and the kinetic energy is the known part:
L_model = T + f(S). T changes under a boost by exactly dF_k/dt and f(S) not at all, so the
model conserves t P - M x_cm, P and the angular momentum for every weight. A network on
absolute velocities would not (see README.md).
"""

import sympy

import symnoether as sn

c = sn.particles(3, dim=2)
blocks = ["x1", "x2", "x3"]
masses = (1, sympy.Rational(4, 5), sympy.Rational(6, 5))
x = [sympy.Matrix(c.block(b)) for b in blocks]
v = [sympy.Matrix(c.block_velocity(b)) for b in blocks]

kinetic = sum((m / 2 * vi.dot(vi) for m, vi in zip(masses, v)), sympy.Integer(0))


def pair(i: int, j: int) -> sympy.Expr:
    r2 = (x[i] - x[j]).dot(x[i] - x[j])
    return -r2 / 2 + r2**2 / 4


potential = pair(0, 1) + pair(0, 2) + pair(1, 2)

system = sn.System(
    name="galilean",
    coordinates=c,
    symmetry=(sn.translations(c, blocks=blocks) * sn.rotations(c, blocks=blocks)
              * sn.galilean_boosts(c, blocks=blocks)),
    lagrangian=kinetic - potential,
    known_lagrangian=kinetic,
    # A bound triangle near the potential minima, spinning, its centre of mass drifting
    # (total momentum P = (0.28, 0.12), M x_cm = (0.6, -0.2) at t = 0).
    initial_state=(
        (0.8, 0.0, -0.1, 0.5, -0.1, -0.5),
        (0.1, 0.4, -0.3, -0.2, 0.35, -0.1),
    ),
)
