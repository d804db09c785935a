"""Timings and dimensions of the symmetry finder (`sn.find_symmetries`) on known cases.

Run: `.venv/bin/python benchmarks/bench_symmetries.py [--only TEXT] [--large]`.

Prints one row per case: the number of coordinates n, the dimension of the Noether point
symmetry algebra found, the known dimension, whether the basis was proved complete, the
CPU seconds (time.process_time: the finder is single-threaded Python) of one cold run
(SymPy's cache and symnoether's derivative cache cleared) and the
target. `--large` adds the free particle in 12 dimensions (93 generators).

Known dimensions (gauge terms allowed): the free particle in n dimensions
(n^2 + 3n + 6)/2 (5, 8, 12, ...), the isotropic oscillator the same, the pendulum 1, Kepler
2 in the plane and 4 in 3D. Particles with a pair potential V(|x_i - x_j|): translations,
rotations, boosts and time translation (10 in 3D) and, since the centre of mass then moves
freely and decouples from the relative motion, the rotations of the centre of mass alone
(3 more, charge M X x Xdot): 13.
"""

import argparse
import sys
import time
from pathlib import Path

import sympy
from sympy.core.cache import clear_cache

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symnoether as sn  # noqa: E402
from symnoether.symbolic.calculus import clear_caches  # noqa: E402


def _names(n: int) -> str:
    return " ".join(f"x{i}" for i in range(n))


def free_particle(n: int) -> sn.System:
    c = sn.coordinates(_names(n))
    return sn.System("free", c, lagrangian=sum(v**2 for v in c.qdot) / 2)


def oscillator(n: int) -> sn.System:
    c = sn.coordinates(_names(n))
    w = sympy.Symbol("w", positive=True)
    L = sum(v**2 for v in c.qdot) / 2 - w**2 * sum(x**2 for x in c.q) / 2
    return sn.System("oscillator", c, lagrangian=L, parameters={w: 1})


def pendulum() -> sn.System:
    c = sn.coordinates("theta")
    return sn.System("pendulum", c, lagrangian=c.qdot[0] ** 2 / 2 + sympy.cos(c.q[0]))


def spherical_pendulum() -> sn.System:
    c = sn.coordinates("theta phi")
    theta, _ = c.q
    thetadot, phidot = c.qdot
    L = (thetadot**2 + sympy.sin(theta) ** 2 * phidot**2) / 2 + sympy.cos(theta)
    return sn.System("spherical_pendulum", c, lagrangian=L)


def kepler(n: int) -> sn.System:
    c = sn.coordinates(_names(n))
    x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    return sn.System("kepler", c, lagrangian=v.dot(v) / 2 + 1 / sympy.sqrt(x.dot(x)))


def particles(count: int, dim: int, masses) -> sn.System:
    """The reference's pair potential V(r) = -r^2/2 + r^4/4 between every pair."""
    c = sn.particles(count, dim=dim)
    x = [sympy.Matrix(c.block(f"x{k + 1}")) for k in range(count)]
    v = [sympy.Matrix(c.block_velocity(f"x{k + 1}")) for k in range(count)]
    T = sum(m * u.dot(u) / 2 for m, u in zip(masses, v))
    V = 0
    for i in range(count):
        for j in range(i + 1, count):
            r2 = (x[i] - x[j]).dot(x[i] - x[j])
            V += -r2 / 2 + r2**2 / 4
    return sn.System(f"particles_{count}x{dim}", c, lagrangian=T - V)


# (case, build, expected dimension, expected complete, target seconds)
CASES = [
    ("free particle 1D", lambda: free_particle(1), 5, True, 10),
    ("free particle 2D", lambda: free_particle(2), 8, True, 10),
    ("free particle 3D", lambda: free_particle(3), 12, True, 10),
    ("free particle 6D", lambda: free_particle(6), 30, True, 10),
    ("harmonic oscillator 1D", lambda: oscillator(1), 5, True, 10),
    ("isotropic oscillator 3D", lambda: oscillator(3), 12, True, 10),
    ("pendulum", pendulum, 1, True, 10),
    ("Kepler 2D", lambda: kepler(2), 2, True, 10),
    ("Kepler 3D", lambda: kepler(3), 4, True, 10),
    ("spherical pendulum (round metric)", spherical_pendulum, 2, True, 10),
    ("two particles 3D, pair potential", lambda: particles(2, 3, [1, sympy.Rational(4, 5)]),
     13, True, 10),
    ("four particles 3D, pair potentials", lambda: particles(4, 3, [1] * 4), 13, True, 60),
]
LARGE = [("free particle 12D", lambda: free_particle(12), 93, True, 60)]


def anisotropic(n: int) -> sn.System:
    """Oscillators of frequencies 2, 3, 4, ... in each coordinate (w1 = w2 is special)."""
    c = sn.coordinates(_names(n))
    w = sympy.symbols(f"w1:{n + 1}", positive=True)
    L = sum(v**2 - wi**2 * x**2 for v, x, wi in zip(c.qdot, c.q, w)) / 2
    return sn.System("anisotropic", c, lagrangian=L,
                     parameters={wi: k + 2 for k, wi in enumerate(w)})


def kepler_coupling() -> sn.System:
    c = sn.coordinates("x y")
    k = sympy.Symbol("k", positive=True)
    x, v = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    return sn.System("kepler_k", c, lagrangian=v.dot(v) / 2 + k / sympy.sqrt(x.dot(x)),
                     parameters={k: 3})


# Special parameter values (`cases`): (case, build, dimension, {condition: its dimension},
# target seconds for the whole search, the cases included).
SPECIAL = [
    ("anisotropic oscillator 2D (w1, w2) = (2, 3)", lambda: anisotropic(2), 5,
     {"w1 = w2": 8}, 10),
    ("anisotropic oscillator 3D (2, 3, 4)", lambda: anisotropic(3), 7,
     {"w1 = w2": 8, "w1 = w3": 8, "w2 = w3": 8}, 10),
    ("Kepler 2D with coupling k = 3", kepler_coupling, 2, {"k = 0": 8}, 10),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--large", action="store_true", help="add the free particle in 12D")
    args = parser.parse_args()
    cases = [c for c in CASES + (LARGE if args.large else []) if args.only in c[0]]
    header = (f"{'case':<52}{'n':>3}{'found':>7}{'expected':>10}{'complete':>10}"
              f"{'seconds':>9}{'target':>8}")
    print(header)
    print("-" * len(header))
    ok = True
    for name, build, expected, complete, target in cases:
        system = build()
        clear_cache()
        clear_caches()
        start = time.process_time()
        result = sn.find_symmetries(system)
        seconds = time.process_time() - start
        good = (result.dimension == expected and result.complete == complete
                and all(g.proved for g in result.generators) and seconds <= target)
        ok &= good
        print(f"{name:<52}{system.coordinates.n:>3}{result.dimension:>7}{expected:>10}"
              f"{str(result.complete):>10}{seconds:>9.2f}{target:>8}{'' if good else '  <-'}")
    special = [c for c in SPECIAL if args.only in c[0]]
    if special:
        print("\nspecial parameter values (find_symmetries(system).cases)")
        print(f"{'case':<52}{'found':>7}{'expected':>10}  cases found (expected){'':>4}"
              f"{'seconds':>9}{'target':>8}")
    for name, build, expected, cases, target in special:
        system = build()
        clear_cache()
        clear_caches()
        start = time.process_time()
        result = sn.find_symmetries(system)
        seconds = time.process_time() - start
        found = {c.condition: c.algebra.dimension for c in result.cases}
        good = (result.dimension == expected and found == cases and seconds <= target
                and all(g.proved for c in result.cases for g in c.algebra.generators))
        ok &= good
        text = ", ".join(f"{k}: {v}" for k, v in found.items()) or "none"
        print(f"{name:<52}{result.dimension:>7}{expected:>10}  {text} "
              f"({', '.join(f'{k}: {v}' for k, v in cases.items())})"
              f"{seconds:>9.2f}{target:>8}{'' if good else '  <-'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
