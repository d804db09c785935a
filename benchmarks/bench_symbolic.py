"""Timings of the symbolic pipeline, one function per stage, for every example and case.

Run: `.venv/bin/python benchmarks/bench_symbolic.py [--repeat N] [--stage NAME ...]
[--only TEXT] [--large]` (stages: derive, verify, codegen, generate; `--large` adds 64
particles, several minutes per stage; `--only particles` runs the matching cases only).

`codegen` times the generation alone (from derived invariants and a report); `generate`
the whole path from spec to written module (derive, verify, generation, writing). Each
timing is the median of N runs, with SymPy's cache and symnoether's derivative cache
cleared before each run (so the numbers are what a fresh command pays, not a warm cache).
To add a stage, write `def bench_<stage>(system) -> None` doing the work and register it in
`STAGES`, with its targets in seconds (case name -> target) if any.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sympy
from sympy.core.cache import clear_cache

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symnoether as sn  # noqa: E402
from symnoether.codegen.generate import render  # noqa: E402
from symnoether.symbolic.calculus import clear_caches  # noqa: E402
from symnoether.symbolic.invariants import derive_invariants  # noqa: E402

# --- systems ----------------------------------------------------------------------------


def _example(name: str, dim: int | None = None, particles: int | None = None,
             n: int | None = None) -> Callable[[], sn.System]:
    def load() -> sn.System:
        for var, value in (("DIM", dim), ("PARTICLES", particles), ("N", n)):
            if value is not None:
                os.environ[f"SYMNOETHER_{var}"] = str(value)
        return sn.load_spec(ROOT / "examples" / name / "spec.py")

    return load


def _pair_potential(kind: str, n: int) -> Callable[[], sn.System]:
    """n particles in 3D with a pair potential of r = |x_i - x_j|, translations x SO(3)."""
    potentials = {
        "morse": lambda r: (1 - sympy.exp(-(r - 1))) ** 2,
        "yukawa": lambda r: -sympy.exp(-r) / r,
        "coulomb": lambda r: 1 / r,
    }

    def build() -> sn.System:
        c = sn.particles(n, dim=3)
        blocks = list(c.blocks)
        X = [sympy.Matrix(c.block(b)) for b in blocks]
        V = [sympy.Matrix(c.block_velocity(b)) for b in blocks]
        L = sum((v.dot(v) for v in V), sympy.Integer(0)) / 2
        for i in range(n):
            for j in range(i + 1, n):
                L -= potentials[kind](sympy.sqrt((X[i] - X[j]).dot(X[i] - X[j])))
        group = sn.translations(c, blocks=blocks) * sn.rotations(c, blocks=blocks)
        return sn.System(name=f"{kind}_{n}", coordinates=c, symmetry=group, lagrangian=L)

    return build


def _particles(n: int, dim: int, translate: bool = True) -> Callable[[], sn.System]:
    def build() -> sn.System:
        c = sn.particles(n, dim=dim)
        group = sn.rotations(c, list(c.blocks))
        if translate:
            group = sn.translations(c, list(c.blocks)) * group
        return sn.System(name=f"particles_{n}_{dim}d", coordinates=c, symmetry=group)

    return build


def _screw() -> sn.System:
    c = sn.coordinates("x y z")
    x, y, _ = c.q
    group = sn.from_generators(c, [{x: -y, y: x, "z": 1}], name="screw")
    return sn.System(name="screw", coordinates=c, symmetry=group)


# name -> (builder, derive_invariants keyword arguments)
CASES: dict[str, tuple[Callable[[], sn.System], dict]] = {
    "kepler": (_example("kepler"), {}),
    "schwarzschild": (_example("schwarzschild"), {}),
    "two_particles_2d": (_example("two_particles", 2), {}),
    "two_particles_3d": (_example("two_particles", 3), {}),
    "two_particles_4d": (_example("two_particles", 4), {}),
    "general: SO(3), one particle 3D": (_particles(1, 3, translate=False), {"route": "general"}),
    "general: T x SO(2), three particles 2D": (_particles(3, 2), {"route": "general"}),
    "general: T x SO(4), two particles 4D": (_example("two_particles", 4), {"route": "general"}),
    "general: screw motion (incomplete)": (_screw, {"route": "general"}),
    "spherical pendulum (angles)": (_example("spherical_pendulum"), {}),
    "double pendulum (no symmetry)": (_example("double_pendulum"), {}),
    "helix (screw with parameter, candidates)": (_example("helix"), {}),
    "Lennard-Jones, 3 particles 3D": (_example("lennard_jones", particles=3), {}),
    "Lennard-Jones, 4 particles 3D": (_example("lennard_jones", particles=4), {}),
    "Morse, 3 particles 3D": (_pair_potential("morse", 3), {}),
    "Morse, 4 particles 3D": (_pair_potential("morse", 4), {}),
    "Yukawa, 3 particles 3D": (_pair_potential("yukawa", 3), {}),
    "Yukawa, 4 particles 3D": (_pair_potential("yukawa", 4), {}),
    "Coulomb, 3 particles 3D": (_pair_potential("coulomb", 3), {}),
    "Coulomb, 4 particles 3D": (_pair_potential("coulomb", 4), {}),
    "lattice, XY chain of 64 sites": (_example("lattice"), {}),
} | {
    f"N = {n} particles 3D (springs)": (_example("n_particles", dim=3, n=n), {})
    for n in (4, 8, 16, 32)
}
LARGE = {"N = 64 particles 3D (springs)": (_example("n_particles", dim=3, n=64), {})}


# --- stages -----------------------------------------------------------------------------


def bench_derive(system: sn.System, **kwargs) -> None:
    """derive_invariants with its certificate."""
    derive_invariants(system, **kwargs)


def bench_verify(system: sn.System, **kwargs) -> None:
    """verify: every check, invariant derivation included."""
    report = sn.verify(system)
    if not report.ok:
        raise RuntimeError(f"{system.name}: verification failed\n{report}")


def bench_codegen(system: sn.System, **kwargs) -> None:
    """Generation alone, from derived invariants and a verification report (cold caches)."""
    invariants = derive_invariants(system)
    report = sn.verify(system, invariants=invariants)
    clear_caches()  # time the generation as if nothing had been differentiated before
    clear_cache()
    start = time.perf_counter()
    render(system, invariants=invariants, report=report)
    return time.perf_counter() - start


def bench_generate(system: sn.System, **kwargs) -> None:
    """The whole path from spec to written module: derive, verify, print, render, write."""
    with tempfile.TemporaryDirectory() as folder:
        sn.generate(system, Path(folder) / "model.py")


REFERENCE = ("kepler", "schwarzschild", "two_particles_2d", "two_particles_3d",
             "two_particles_4d")
# Issue 12: each stage <= 10 s for three particles and <= 30 s for four, and the systems in
# angles well within that.
REAL = {case: (30.0 if "4 particles" in case else 10.0) for case in CASES
        if "particles 3D" in case or "pendulum" in case or "helix" in case}
# Issue 13: each stage <= 10 s for 16 particles, <= 60 s for 32, <= 10 min for 64.
MANY = {"N = 16 particles 3D (springs)": 10.0, "N = 32 particles 3D (springs)": 60.0,
        "N = 64 particles 3D (springs)": 600.0, "lattice, XY chain of 64 sites": 10.0}
REAL = {k: v for k, v in REAL.items() if "springs" not in k} | MANY

# stage name -> (function, targets in seconds by case name); a stage with targets only for
# the reference problems runs on those alone.
STAGES: dict[str, tuple[Callable, dict[str, float]]] = {
    "verify": (bench_verify, dict.fromkeys(REFERENCE, 10.0) | REAL),
    "generate": (bench_generate, dict.fromkeys(REFERENCE, 15.0) | REAL),
    "codegen": (bench_codegen, MANY),
    "derive": (
        bench_derive,
        {
            "kepler": 1.0,
            "schwarzschild": 1.0,
            "two_particles_2d": 1.0,
            "two_particles_3d": 1.0,
            "two_particles_4d": 1.0,
            "general: T x SO(4), two particles 4D": 2.0,
            "general: SO(3), one particle 3D": 2.0,
            "general: T x SO(2), three particles 2D": 10.0,
        } | REAL,
    ),
}


# --- driver -----------------------------------------------------------------------------


def time_stage(fn: Callable, system: sn.System, kwargs: dict, repeat: int) -> float:
    """The median wall time of `fn(system, **kwargs)` over `repeat` cold-cache runs."""
    times = []
    for _ in range(repeat):
        clear_cache()
        clear_caches()
        start = time.perf_counter()
        inner = fn(system, **kwargs)  # a stage may time its own part
        times.append(time.perf_counter() - start if inner is None else inner)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stage", action="append", choices=sorted(STAGES))
    parser.add_argument("--large", action="store_true",
                        help="also N = 64 particles (several minutes per stage)")
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    args = parser.parse_args(argv)
    cases = CASES | (LARGE if args.large else {})
    if args.only:
        cases = {k: v for k, v in cases.items() if args.only in k}
    failed = 0
    print(f"sympy {sympy.__version__}, python {sys.version.split()[0]}, median of {args.repeat}")
    for stage in args.stage or ["derive", "verify", "codegen", "generate"]:
        fn, targets = STAGES[stage]
        print(f"\n{stage}:")
        for case, (build, kwargs) in cases.items():
            if stage != "derive" and case not in targets:
                continue
            seconds = time_stage(fn, build(), kwargs, args.repeat)
            target = targets.get(case)
            verdict = "" if target is None else (
                f"  (target {target:g} s: {'ok' if seconds <= target else 'SLOW'})"
            )
            failed += target is not None and seconds > target
            print(f"  {case:<42} {seconds:8.3f} s{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
