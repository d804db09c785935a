r"""The determining equations of Noether point symmetries, split by powers of the velocities.

A point field $X = \tau(t, q)\,\partial_t + \xi(t, q) \cdot \partial_q$ with boundary term
$F(t, q)$ is a Noether symmetry of $L(q, \dot q)$ when
$$\mathrm{pr}X\, L + L\, D_t\tau = D_t F, \qquad
\mathrm{pr}X\, L = \tau L_t + \xi \cdot L_q + \eta \cdot L_{\dot q},\quad
\eta = D_t \xi - \dot q\, D_t \tau,$$
with $D_t = \partial_t + \dot q \cdot \partial_q$. For a Lagrangian quadratic in the
velocities, $L = \tfrac12 \dot q^T g(q) \dot q + A(q) \cdot \dot q - V(q)$ with $g$
non-degenerate, the condition is a cubic polynomial in $\dot q$ and splits into four blocks:

- cubic: $-\tfrac12 g(\dot q, \dot q)\, \dot q \cdot \partial_q \tau = 0$, so $\tau = \tau(t)$;
- quadratic: $\mathcal L_\xi g = \tau'(t)\, g$: for every t, $\xi(t, \cdot)$ is a homothety of
  $g$, so $\xi = \sum_a \alpha_a(t) X_a(q)$ over a basis $X_a$ of the homotheties
  ($\mathcal L_{X_a} g = c_a g$) and $\tau' = \sum_a c_a \alpha_a$ (`homotheties.py`);
- linear: $\sum_a \alpha_a\, \mathcal L_{X_a} A + \alpha_a'\, g X_a = dF$ in q;
- velocity-free: $\sum_a \alpha_a (X_a V + c_a V) - \alpha_a' A \cdot X_a + \partial_t F = 0$
  (`solve.py`).

This module finds $g$, $A$, $V$ and says why when the Lagrangian has another form.
"""

from dataclasses import dataclass

import sympy

from ..calculus import gradient
from ..coordinates import TIME
from ..exact import high_precision_rank
from ..identity import ExactEvaluator, decide_zero, rational_points

__all__ = ["NaturalForm", "natural_form", "prolonged_condition"]


@dataclass(frozen=True)
class NaturalForm:
    """$L = \\tfrac12 \\dot q^T g \\dot q + A \\cdot \\dot q - V$, with how it was proved.

    **Attributes:**

    - `g`: the n x n metric $\\partial^2 L / \\partial \\dot q^2$ (a SymPy Matrix in q).
    - `A`: the n components of the gyroscopic term, $\\partial L/\\partial \\dot q$ at rest.
    - `V`: the potential, $-L$ at rest.
    - `method`: the identity test that proved the split.
    """

    g: sympy.Matrix
    A: tuple[sympy.Expr, ...]
    V: sympy.Expr
    method: str


def natural_form(L: sympy.Expr, c) -> tuple[NaturalForm | None, str]:
    """The split of L into metric, gyroscopic term and potential, or None and why not.

    **Arguments:**

    - `L`: the Lagrangian (parameters substituted).
    - `c`: its [`Coordinates`][].

    **Returns:**

    `(form, note)`: the [`NaturalForm`][] and a note, or `(None, reason)` when L depends on
    the time, is not a polynomial of degree at most 2 in the velocities, or has a
    degenerate metric (the reason says which; the finder reports it as undecided).
    """
    if TIME in L.free_symbols and TIME not in c.q:
        return None, ("the Lagrangian depends on the time explicitly; the finder handles "
                      "autonomous Lagrangians only so far")
    if not L.is_polynomial(*c.qdot):
        return None, ("the Lagrangian is not a polynomial in the velocities, so the "
                      "determining equations do not split into velocity blocks")
    at_rest = {v: sympy.Integer(0) for v in c.qdot}
    p = gradient(L, c.qdot)
    g = sympy.Matrix([gradient(pi, c.qdot) for pi in p])
    moving = [e for e in g if set(c.qdot) & e.free_symbols]
    if moving:
        return None, ("the Lagrangian is a polynomial of degree above 2 in the velocities "
                      f"(d2L/dqdot2 contains {moving[0]}); only Lagrangians quadratic in the "
                      "velocities are split so far")
    A = tuple(pi.xreplace(at_rest) for pi in p)
    V = -L.xreplace(at_rest)
    v = sympy.Matrix(c.qdot)
    rebuilt = (v.T * g * v)[0] / 2 + sum((a * x for a, x in zip(A, c.qdot)), 0) - V
    test = decide_zero(L - rebuilt, c)
    if not test.zero:
        return None, f"the split L = qdot.g.qdot/2 + A.qdot - V could not be proved ({test.method})"
    rank = _rank(g, c)
    if rank != c.n:
        return None, (f"the metric d2L/dqdot2 has rank {rank} < n = {c.n}: a degenerate "
                      "Lagrangian")
    return NaturalForm(g, A, V, test.method), "quadratic in the velocities, g non-degenerate"


def _rank(g: sympy.Matrix, c) -> int:
    for point in rational_points(list(g), c.q, 8, seed=3):
        matrix = ExactEvaluator(point).matrix(g.tolist())
        if matrix is not None:
            return matrix.rank()
    return high_precision_rank(g.tolist(), c.q)  # exp, log, ...: 50 digits


def prolonged_condition(L, c, tau, xi, F, t) -> sympy.Expr:
    """$\\mathrm{pr}X\\,L + L\\,D_t\\tau - D_tF$ for given tau, xi, F (zero for a symmetry).

    **Arguments:**

    - `L`: the Lagrangian; `c`: its [`Coordinates`][].
    - `tau`, `xi`, `F`: the field's components and boundary term, in t and q.
    - `t`: the time symbol they use.
    """
    def D(f):
        return sympy.diff(f, t) + sum((sympy.diff(f, s) * v for s, v in zip(c.q, c.qdot)), 0)

    Dtau = D(tau)
    eta = [D(x) - v * Dtau for x, v in zip(xi, c.qdot)]
    Lq, Lv = gradient(L, c.q), gradient(L, c.qdot)
    prX = tau * sympy.diff(L, t) + sum((x * d for x, d in zip(xi, Lq) if x != 0), 0) + sum(
        (e * d for e, d in zip(eta, Lv) if e != 0), 0)
    return prX + L * Dtau - D(F)
