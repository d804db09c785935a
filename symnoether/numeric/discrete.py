# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The discrete Euler-Lagrange equations of the midpoint rule
$L_d(q_0, q_1) = h\\,L((q_0+q_1)/2, (q_1-q_0)/h)$: what the variational integrator steps
and what the position losses predict with."""

import jax
import jax.numpy as jnp

__all__ = ["discrete_momentum", "increment_residual", "residual_scale"]


def residual_scale(*xs):
    """The size of the terms that cancel in a residual: the largest entry of `xs`."""
    return jnp.maximum(
        jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in xs])), jnp.finfo(xs[0].dtype).tiny
    )


def increment_residual(lagrangian, q, dq, p, dt, *, q_lo=0.0, p_lo=0.0, force=None):
    """The discrete Euler-Lagrange equation of the midpoint rule, as a residual in the
    increment $\\delta = q_{k+1} - q_k$.

    With $m = q_k + \\delta/2$ and $v = \\delta/h$, the equation
    $D_2 L_d(q_{k-1}, q_k) + D_1 L_d(q_k, q_{k+1}) = 0$ reads
    $\\partial_{\\dot q} L(m, v) - \\tfrac h2 \\partial_q L(m, v) - p_k = 0$ with
    $p_k = D_2 L_d(q_{k-1}, q_k)$ ([`discrete_momentum`][]). `q_lo` and `p_lo` are the low
    parts of compensated values $q_k$ = `q + q_lo` and $p_k$ = `p + p_lo`.

    With a force $\\Phi$ (`force(m, v)`: the discrete Lagrange-d'Alembert principle, the
    midpoint impulse $h\\,\\Phi(m, v)$ split equally between the two discrete momenta),
    $\\partial_q L$ is replaced by $g = \\partial_q L(m, v) + \\Phi(m, v)$ throughout:
    $\\partial_{\\dot q} L - \\tfrac h2 g = p_k$ and $p_{k+1} = p_k + h\\,g$.

    **Returns:**

    `(r, scale, g)`: the residual, the size of the terms that cancel in it (for a relative
    tolerance) and $g = \\partial_q L(m, v)$, plus $\\Phi(m, v)$ with a force, as
    [`newton`][] takes them.
    """
    m, v = q + (q_lo + 0.5 * dq), dq / dt
    l_q, l_v = jax.grad(lagrangian, argnums=(0, 1))(m, v)
    if force is not None:
        l_q = l_q + force(m, v)
    half = 0.5 * dt * l_q
    return (l_v - half - p) - p_lo, residual_scale(l_v, half, p), l_q


def discrete_momentum(lagrangian, q, dq, dt, *, force=None):
    """$p_{k+1} = D_2 L_d(q_k, q_k + \\delta) = \\partial_{\\dot q} L(m, v) +
    \\tfrac h2 \\partial_q L(m, v)$, with $m = q_k + \\delta/2$ and $v = \\delta/h$; with a
    force (`force(m, v)`), plus its half impulse $\\tfrac h2 \\Phi(m, v)$ (the discrete
    Lagrange-d'Alembert principle, as in [`increment_residual`][])."""
    m, v = q + 0.5 * dq, dq / dt
    l_q, l_v = jax.grad(lagrangian, argnums=(0, 1))(m, v)
    if force is not None:
        l_q = l_q + force(m, v)
    return l_v + 0.5 * dt * l_q
