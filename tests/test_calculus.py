"""Term-wise gradients and the light differentiator agree with sympy.diff."""

import pytest
import sympy

from symnoether.symbolic.calculus import _derivative, gradient, jacobian

x, y, z = sympy.symbols("x y z", real=True)


@pytest.mark.parametrize(
    "expr",
    [
        (x**2 + y**2) ** sympy.Rational(-3, 2) * x,
        sympy.sin(x * y) * x**3,
        4 * (1 / (x**2 + y**2) ** 6 - 1 / (x**2 + z**2) ** 3),
        sympy.exp(-(sympy.sqrt(x**2 + y**2) - 1)) ** 2,
        x * y * z / (1 + x),
        (x - y) ** 2 * (y - z) ** 3,
    ],
)
def test_light_derivative_equals_sympy_diff(expr):
    for s in (x, y, z):
        assert sympy.simplify(_derivative(expr, s) - sympy.diff(expr, s)) == 0


def test_gradient_of_long_sums_term_by_term():
    terms = [(x - y) ** 2 * z**k / (k + 1) for k in range(34)]  # more than 32 terms
    L = sympy.Add(*terms) + sympy.cos(x)
    for s, d in zip((x, y, z), gradient(L, (x, y, z))):
        assert sympy.expand(d - sympy.diff(L, s)) == 0
    assert gradient(x * y, (z, y)) == [0, x]
    assert jacobian([x * y, z], (x, y)) == sympy.Matrix([[y, x], [0, 0]])
