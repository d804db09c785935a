"""Identity tests: exact points for angles, the 40/80-digit test, undecided, bounded tidying."""

import time

import mpmath
import pytest
import sympy

import symnoether as sn
from symnoether.symbolic.angles import Angle, angle_symbols, trig_linear
from symnoether.symbolic.identity import (
    ExactEvaluator,
    bounded_expand,
    decide_zero,
    has_high_powers,
    rational_points,
)
from symnoether.symbolic.noether import tidy
from symnoether.symbolic.precise import PreciseEvaluator, compare_precisions

C = sn.coordinates("a b")
A, B = C.q
ADOT, BDOT = C.qdot


def test_angle_points_have_rational_sine_and_cosine():
    angle = Angle(sympy.Rational(3, 7))
    assert angle.cos**2 + angle.sin**2 == 1
    assert sympy.tan(float(2 * sympy.atan(sympy.Rational(3, 7))) / 2) == pytest.approx(3 / 7)
    points = rational_points([sympy.sin(A) * BDOT], C.state, 3, seed=1)
    assert all(isinstance(p[A], Angle) and p[B].is_Rational for p in points)
    assert angle_symbols([sympy.cos(A - 2 * B) + ADOT]) == {A, B}
    assert trig_linear(A - 2 * B) == {A: 1, B: -2} and trig_linear(A / 2) is None


def test_exact_evaluator_computes_trig_of_integer_combinations_in_qq():
    point = {A: Angle(sympy.Rational(1, 3)), B: Angle(sympy.Rational(-2, 5)), ADOT: 1, BDOT: 2}
    ev = ExactEvaluator(point)
    for expr in [sympy.sin(2 * A - B), sympy.cos(A + 3 * B), sympy.tan(A - B)]:
        exact = ev.value(expr)
        assert exact is not None
        numeric = expr.subs({A: 2 * sympy.atan(sympy.Rational(1, 3)),
                             B: 2 * sympy.atan(sympy.Rational(-2, 5))})
        assert float(exact) == pytest.approx(float(numeric), rel=1e-14)
    assert ev.value(A) is None  # a bare angle has no rational value
    assert ev.value(sympy.sin(A / 2)) is None


@pytest.mark.parametrize(
    "expr",
    [
        sympy.sin(A) ** 2 + sympy.cos(A) ** 2 - 1,
        sympy.sin(2 * A) - 2 * sympy.sin(A) * sympy.cos(A),
        sympy.cos(A - B) - sympy.cos(A) * sympy.cos(B) - sympy.sin(A) * sympy.sin(B),
        ADOT * sympy.tan(A) * sympy.cos(A) - ADOT * sympy.sin(A),
    ],
)
def test_trig_identities_are_decided_exactly(expr):
    test = decide_zero(expr, C)
    assert test.zero and not test.undecided
    assert test.method.startswith(("symbolic", "exact"))


def test_a_wrong_trig_identity_is_refuted_exactly():
    test = decide_zero(sympy.sin(2 * A) - sympy.sin(A) * sympy.cos(A), C)
    assert not test.zero and not test.undecided
    assert test.method.startswith("exact evaluation: non-zero value")
    assert "2*atan(" in test.method  # the point is named


def test_transcendental_identities_are_decided_numerically():
    identity = sympy.cosh(A) ** 2 - sympy.sinh(A) ** 2 - 1
    test = decide_zero(identity, C)
    assert test.zero and test.method.startswith("numeric (40 and 80 digits")
    wrong = decide_zero(identity + sympy.exp(-A) / 1000, C)
    assert not wrong.zero and not wrong.undecided
    assert wrong.method.startswith("numeric evaluation")
    bare = decide_zero(sympy.sin(A) - A, C)  # a bare angle: numeric, and not zero
    assert not bare.zero and not bare.undecided


def test_what_cannot_be_evaluated_is_undecided_not_passed():
    root = sympy.sqrt(-1 - A**2)  # never real
    test = decide_zero(root * (B + 1) - B * root, C)
    assert not test.zero and test.undecided
    assert test.method.startswith("undecided:")


def test_precision_comparison_separates_rounding_from_values():
    with mpmath.workdps(80):
        tiny = mpmath.mpf(10) ** -70
        assert compare_precisions(mpmath.mpf(10) ** -38, tiny).verdict == "zero"
        assert compare_precisions(mpmath.mpf("0.25"), mpmath.mpf("0.25")).verdict == "nonzero"
        assert compare_precisions(mpmath.mpf("0.25"), mpmath.mpf("0.5")).verdict == "unclear"
    point = {A: sympy.Rational(1, 2), B: Angle(sympy.Rational(1, 3))}
    value = PreciseEvaluator(point, 40).value(sympy.exp(A) * sympy.cos(B))
    assert float(value) == pytest.approx(float(sympy.exp(0.5)) * 0.8, rel=1e-14)
    assert PreciseEvaluator(point, 40).value(sympy.log(-1 - A**2)) is None


def _lennard_jones_energy(n: int) -> sympy.Expr:
    c = sn.particles(n, dim=3)
    X = [sympy.Matrix(c.block(b)) for b in c.blocks]
    V = [sympy.Matrix(c.block_velocity(b)) for b in c.blocks]
    energy = sum((v.dot(v) for v in V), sympy.Integer(0)) / 2
    for i in range(n):
        for j in range(i + 1, n):
            r2 = (X[i] - X[j]).dot(X[i] - X[j])
            energy += 4 * (1 / r2**6 - 1 / r2**3)
    return energy


def test_high_powers_of_sums_are_never_multiplied_out():
    E = _lennard_jones_energy(3)
    assert has_high_powers(E) and not has_high_powers(1 / sympy.sqrt(A**2 + B**2) ** 3 * A)
    start = time.perf_counter()
    tidied, expanded = tidy(E), bounded_expand(E)
    assert time.perf_counter() - start < 2.0  # unbounded, cancel ran for minutes
    assert tidied.atoms(sympy.Pow) and sympy.Integer(-6) in {p.exp for p in tidied.atoms(
        sympy.Pow)}
    c = sn.particles(3, dim=3)
    assert decide_zero(expanded - E, c).zero


def test_ranks_modulo_a_prime_agree_with_exact_ranks():
    import random

    from sympy.polys.domains import QQ
    from sympy.polys.matrices import DomainMatrix

    from symnoether.symbolic.exact import independent_rows_mod_p, rank_mod_p

    rng = random.Random(0)
    for rows, cols, rank in [(6, 4, 3), (5, 7, 5), (9, 9, 2), (3, 3, 0)]:
        left = [[QQ(rng.randint(-9, 9), rng.randint(1, 5)) for _ in range(rank)]
                for _ in range(rows)]
        right = [[QQ(rng.randint(-9, 9), rng.randint(1, 5)) for _ in range(cols)]
                 for _ in range(rank)]
        M = [[sum((r[k] * right[k][j] for k in range(rank)), QQ(0)) for j in range(cols)]
             for r in left]  # rows x cols of rank min(rank, rows, cols) almost surely
        exact = DomainMatrix(M, (rows, cols), QQ).rank() if rows and cols else 0
        assert rank_mod_p(M) == exact == min(rank, rows, cols)
        kept = independent_rows_mod_p(M)
        assert len(kept) == exact
        assert DomainMatrix([M[i] for i in kept], (len(kept), cols), QQ).rank() == exact
