# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Batch-first acceleration: the MLP's gradient and Hessian in closed form.

`jax.vmap` of a per-state acceleration makes XLA run one small forward-over-reverse sweep
per state and per Hessian direction; on a CPU that is dominated by small operations. Here
a whole batch goes through the MLP at once, so the work is a few large matrix products
(M inputs, batch-major arrays):

- forward, layer $l$: $z_l = W_l h_{l-1} + b_l$, $h_l = \\sigma(z_l)$, $f = w \\cdot h_d$;
- the input Jacobians $P_l = \\partial z_l / \\partial x$: $P_1 = W_1$ for every state, so
  $P_2 = W_2 \\operatorname{diag}(\\sigma'(z_1)) W_1$ is one `(batch, width) @ (width,
  M * width)` product; deeper layers $P_l = W_l (\\sigma'(z_{l-1}) \\odot P_{l-1})$, one
  `(batch * M, width) @ (width, width)` product each;
- the adjoints $\\delta_d = w$, $\\delta_{l-1} = W_l^T(\\sigma'(z_l) \\odot \\delta_l)$, down
  to $\\delta_0 = \\partial f / \\partial x$, the gradient;
- the Hessian $\\sum_l P_l^T \\operatorname{diag}(\\sigma''(z_l) \\odot \\delta_l) P_l$.

The Euler-Lagrange chain rule (`dynamics.euler_lagrange_terms`, shared with the per-state
path) then contracts the small `(M, n)` Jacobians of the features by adding slices
(elementwise work that XLA fuses), and the mass matrices are solved by a Gaussian
elimination with partial pivoting vectorised over the batch (`solve_small`). Nothing here
changes the mathematics of `LagrangianNetwork.acceleration`: the results agree to rounding.
"""

import inspect
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = [
    "SMALL_SOLVE_MAX_N",
    "mlp_gradient_hessian",
    "solve_small",
    "supports_closed_form",
]

# Up to this size the mass matrices are solved by the vectorised elimination below; above
# it by batched LAPACK (`jnp.linalg.solve`), whose per-matrix cost then dominates less.
SMALL_SOLVE_MAX_N = 16

# Equinox's default `final_activation` (the identity), read from the signature so that
# importing this module runs no JAX computation.
_IDENTITY = inspect.signature(eqx.nn.MLP.__init__).parameters["final_activation"].default


def supports_closed_form(mlp: eqx.nn.MLP) -> bool:
    """Whether `mlp_gradient_hessian` handles `mlp`: a scalar-output `eqx.nn.MLP` without
    layer scanning, a final activation or per-layer (learnable) activations."""
    return (
        isinstance(mlp, eqx.nn.MLP)
        and mlp.out_size == "scalar"
        and not getattr(mlp, "scan", False)
        and mlp.final_activation is _IDENTITY
        and not any(eqx.is_array(leaf) for leaf in jax.tree.leaves(mlp.activation))
    )


# Closed forms written in e = exp(-|z|) <= 1 (or exp(-2|z|)): no overflow, and no
# cancellation in the tails or near 0, where 1 - sigmoid or 1 - tanh^2 would lose digits.


def _softplus(z):
    # softplus = max(z, 0) + log1p(e); sigmoid = 1 / (1 + e) or e / (1 + e);
    # sigmoid' = e / (1 + e)^2.
    e = jnp.exp(-jnp.abs(z))
    r = 1 / (1 + e)
    return jnp.maximum(z, 0) + jnp.log1p(e), jnp.where(z >= 0, r, e * r), e * r * r


def _tanh(z):
    # tanh' = sech^2 = 4 e / (1 + e)^2 with e = exp(-2|z|); tanh'' = -2 tanh tanh'.
    t = jnp.tanh(z)
    e = jnp.exp(-2 * jnp.abs(z))
    r = 1 / (1 + e)
    d = 4 * e * r * r
    return t, d, -2 * t * d


def _sigmoid(z):
    # sigmoid'' = sigmoid' (1 - 2 sigmoid) = -sigmoid' sign(z) (1 - e) / (1 + e).
    e = jnp.exp(-jnp.abs(z))
    r = 1 / (1 + e)
    d = e * r * r
    return jnp.where(z >= 0, r, e * r), d, -jnp.sign(z) * d * (-jnp.expm1(-jnp.abs(z))) * r


_CLOSED_FORMS: tuple[tuple[Callable, Callable], ...] = (
    (jax.nn.softplus, _softplus),
    (jnp.tanh, _tanh),
    (jax.nn.sigmoid, _sigmoid),
)


def activation_derivatives(activation: Callable, z: Array) -> tuple[Array, Array, Array]:
    """$(\\sigma(z), \\sigma'(z), \\sigma''(z))$ elementwise, for any scalar activation."""
    for known, closed_form in _CLOSED_FORMS:
        if activation is known:  # by identity: activations need not be hashable
            return closed_form(z)
    # Equinox applies the activation to each element (vmap); so do its derivatives.
    flat = z.reshape(-1)
    one = jnp.ones_like(flat)
    elementwise = jax.vmap(activation)

    def first(x):
        return jax.jvp(elementwise, (x,), (one,))

    (value, d1), (_, d2) = jax.jvp(first, (flat,), (one,))
    return value.reshape(z.shape), d1.reshape(z.shape), d2.reshape(z.shape)


def mlp_gradient_hessian(
    mlp: eqx.nn.MLP, x: Float[Array, "batch m"]
) -> tuple[Float[Array, "batch m"], Float[Array, "batch m m"]]:
    """Gradient and Hessian of a scalar MLP at each row of `x`, in closed form.

    **Arguments:**

    - `mlp`: an `eqx.nn.MLP` for which `supports_closed_form` holds.
    - `x`: a batch of inputs.

    **Returns:**

    `(gradient, hessian)` of shapes `(batch, m)` and `(batch, m, m)`.
    """
    batch, m = x.shape
    layers = mlp.layers
    w = layers[-1].weight.reshape(-1)
    if len(layers) == 1:  # depth 0: affine, zero Hessian
        return jnp.broadcast_to(w, (batch, m)), jnp.zeros((batch, m, m), x.dtype)
    # Forward: P_l = dz_l/dx, (batch, m, width). P_1 = W_1 is the same for every state,
    # so P_2 = W_2 diag(sigma'(z_1)) W_1 is one product of sigma'(z_1) with a weight matrix.
    first = layers[0]
    z = x @ first.weight.T if first.bias is None else x @ first.weight.T + first.bias
    inputs, slopes, curvatures = [None], [], []
    for index, layer in enumerate(layers[1:], start=1):
        h, slope, curvature = activation_derivatives(mlp.activation, z)
        slopes.append(slope)
        curvatures.append(curvature)
        if index == len(layers) - 1:
            break
        z = h @ layer.weight.T if layer.bias is None else h @ layer.weight.T + layer.bias
        width = layer.weight.shape[0]
        if index == 1:
            # v[j, k, i] = W_1[j, k] W_2[i, j]
            v = first.weight[:, :, None] * layer.weight.T[:, None, :]
            p = (slope @ v.reshape(v.shape[0], m * width)).reshape(batch, m, width)
        else:
            jacobian = (slope[:, None, :] * inputs[-1]).reshape(batch * m, -1)
            p = (jacobian @ layer.weight.T).reshape(batch, m, width)
        inputs.append(p)
    # Backward: delta_l = df/dh_l, and the Hessian sum_l P_l^T diag(sigma'' delta_l) P_l.
    delta = jnp.broadcast_to(w, z.shape)
    hessian = None
    for index in reversed(range(len(inputs))):
        weight = curvatures[index] * delta  # (batch, width)
        p = inputs[index]
        if p is None:
            w1 = first.weight  # (width, m)
            outer = (w1[:, :, None] * w1[:, None, :]).reshape(w1.shape[0], m * m)
            term = (weight @ outer).reshape(batch, m, m)
        else:
            term = jnp.einsum("bkw,bw,blw->bkl", p, weight, p)
        hessian = term if hessian is None else hessian + term
        delta = (slopes[index] * delta) @ layers[index].weight  # df/dh_{l-1}; df/dx at l=0
    return delta, hessian


def solve_small(
    a: Float[Array, "batch n n"], b: Float[Array, "batch n"]
) -> Float[Array, "batch n"]:
    """Solve $a x = b$ for a batch of small matrices by Gaussian elimination with partial
    pivoting (as LAPACK's `getrf`), vectorised over the batch. A singular matrix gives
    non-finite entries, as `jnp.linalg.solve` does."""
    n = a.shape[-1]
    rows = jnp.arange(n)
    augmented = jnp.concatenate([a, b[..., None]], axis=-1)  # (batch, n, n + 1)
    for k in range(n):
        pivot = k + jnp.argmax(jnp.abs(augmented[:, k:, k]), axis=-1)  # (batch,)
        row_k = augmented[:, k]
        row_pivot = jnp.take_along_axis(augmented, pivot[:, None, None], axis=1)[:, 0]
        is_k = (rows == k)[None, :, None]
        is_pivot = (rows[None, :] == pivot[:, None])[:, :, None]
        augmented = jnp.where(
            is_k, row_pivot[:, None], jnp.where(is_pivot, row_k[:, None], augmented)
        )
        below = rows[None, :] > k
        factor = jnp.where(below, augmented[:, :, k] / augmented[:, k, k, None], 0)
        augmented = augmented - factor[:, :, None] * augmented[:, k][:, None, :]
    x = [None] * n
    for k in reversed(range(n)):
        acc = augmented[:, k, n]
        for j in range(k + 1, n):
            acc = acc - augmented[:, k, j] * x[j]
        x[k] = acc / augmented[:, k, k]
    return jnp.stack(x, axis=-1)
