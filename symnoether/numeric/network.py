# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""The Lagrangian network: $L = f(S(q, \\dot q))$ with $S$ the generated invariant layer."""

import math
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Scalar

from ._batched import mlp_gradient_hessian, supports_closed_form
from ._weights import check_weights, parameters, weights_dtype
from .contract import check_module, known_lagrangian
from .dynamics import (
    MASS_SOLVES,
    MassSolve,
    autodiff_terms,
    check_float_dtype,
    euler_lagrange_terms,
    resolve_mass_solve,
    solve_mass_matrices,
    solve_mass_matrix,
    velocity_hessian,
)
from .lagrangian import AbstractLagrangian

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LagrangianNetwork",
    "activation_function",
    "activation_name",
    "check_module",
]

# The one mapping between activation names (configuration files, TrainConfig) and functions.
# No ReLU: its second derivative vanishes, which makes d2L/dqdot2 singular.
ACTIVATIONS: dict[str, Callable] = {
    "softplus": jax.nn.softplus,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "silu": jax.nn.silu,
    "gelu": jax.nn.gelu,
}
INITS: tuple[str, ...] = ("default", "reference", "glorot", "cranmer")
Activation = str | Callable[[Array], Array]


def activation_function(activation: Activation) -> Callable[[Array], Array]:
    """The activation function that `activation` names, or `activation` itself.

    **Arguments:**

    - `activation`: a name of [`ACTIVATIONS`][] (`"softplus"`, `"tanh"`, ...) or any
        twice-differentiable scalar function such as `jax.nn.softplus`.

    **Returns:**

    The function. A `ValueError` for an unknown name, a `TypeError` for anything else.
    """
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; expected one of {tuple(ACTIVATIONS)} or a "
                "function such as jax.nn.softplus"
            )
        return ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(
            f"activation must be a name in {tuple(ACTIVATIONS)} or a function such as "
            f"jax.nn.softplus, got {activation!r}"
        )
    return activation


def activation_name(activation: Activation) -> str | None:
    """The name of an activation in [`ACTIVATIONS`][] (a name is returned as it is), or
    `None` for a function that is not in it."""
    if isinstance(activation, str):
        return activation
    # By identity: activations need not be hashable.
    return next((name for name, fn in ACTIVATIONS.items() if fn is activation), None)

def _in_size(module: ModuleType, invariant: bool) -> int:
    # The number of MLP inputs: the invariants, or q and qdot.
    return len(module.INVARIANT_NAMES) if invariant else 2 * len(module.COORDINATE_NAMES)


def _reference_init(mlp: eqx.nn.MLP, key: PRNGKeyArray) -> eqx.nn.MLP:
    # Mueller's reference (eikehmueller/mlconservation_code) as every weights.json of its
    # published models records it: Keras RandomNormal(0, sigma) kernels, zero biases, and a
    # bias-free output layer (its train_model.py and NNLagrangian.__init__). With w units,
    # sigma = 2/sqrt(w) in the first hidden layer, 1/sqrt(w) in the second and
    # sqrt(w) in the output layer on those w units. The reference always has two hidden
    # layers; a deeper network takes 1/sqrt(w) in every further hidden layer, and one
    # without hidden layers sqrt(n) on its n inputs (the output rule).
    last = len(mlp.layers) - 1

    def draw(i, weight, key):
        fan_out, fan_in = weight.shape
        sigma = math.sqrt(fan_in) if i == last else (2.0 if i == 0 else 1.0) / math.sqrt(fan_out)
        return sigma * jax.random.normal(key, weight.shape, weight.dtype)

    return _redraw(mlp, key, draw)


def _glorot_init(mlp: eqx.nn.MLP, key: PRNGKeyArray) -> eqx.nn.MLP:
    # Keras' default for a Dense layer: Glorot-uniform weights, U(-a, a) with
    # a = sqrt(6 / (fan_in + fan_out)), and zero biases. Not the reference's: its models
    # were trained from this only before its commit b8aa485 (2022-08-23, "Use initialisers
    # similar to the ones used by Greydanus et al."); the published ones from `"reference"`.
    # Equinox's default draws weights and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)):
    # 2.7x wider on the 3-invariant input layer of Kepler, 2.5x narrower on the output.
    def draw(i, weight, key):
        limit = math.sqrt(6.0 / sum(weight.shape))
        return jax.random.uniform(key, weight.shape, weight.dtype, -limit, limit)

    return _redraw(mlp, key, draw)


def _cranmer_init(mlp: eqx.nn.MLP, key: PRNGKeyArray) -> eqx.nn.MLP:
    # Cranmer et al. (2020), `custom_init` of their LNN code: zero biases, weights
    # N(0, sigma^2) with sigma = c / sqrt(n), n = max(fan_in, fan_out), c = 2.2 for the
    # first layer, 0.58 * i for hidden layer i and n for the output layer (sigma = sqrt(n)).
    # Called "reference" before the reference's own initialisation took that name; run
    # folders of that time are read as "cranmer" (see `run._saved_config`).
    last = len(mlp.layers) - 1

    def draw(i, weight, key):
        n = max(weight.shape)
        factor = n if i == last else (2.2 if i == 0 else 0.58 * i)
        return factor / math.sqrt(n) * jax.random.normal(key, weight.shape, weight.dtype)

    return _redraw(mlp, key, draw)


def _redraw(mlp: eqx.nn.MLP, key: PRNGKeyArray, draw) -> eqx.nn.MLP:
    # New weights `draw(layer index, old weight, key)`, one key per layer, and zero biases.
    keys = jax.random.split(key, len(mlp.layers))
    pairs = enumerate(zip(mlp.layers, keys, strict=True))
    weights = [draw(i, layer.weight, k) for i, (layer, k) in pairs]
    mlp = eqx.tree_at(lambda m: [layer.weight for layer in m.layers], mlp, weights)
    biases = [layer.bias for layer in mlp.layers if layer.bias is not None]
    return eqx.tree_at(
        lambda m: [layer.bias for layer in m.layers if layer.bias is not None],
        mlp,
        [jnp.zeros_like(bias) for bias in biases],
    )


class LagrangianNetwork(AbstractLagrangian):
    """A Lagrangian neural network, invariant under a symmetry group by construction.

    With `invariant=True`, $L(q, \\dot q) = f(S_1, \\dots, S_M)$ where $S$ are the
    invariants of the generated module and $f$ an MLP; every such $L$ conserves the Noether
    charges of the module's symmetry exactly, whatever the weights. With `invariant=False`,
    $L = f(q, \\dot q)$: the unconstrained baseline, same API.
    """

    mlp: eqx.nn.MLP
    # (shift, scale) standardising the MLP's inputs, or None. Constants: gradients are
    # stopped, so training leaves them as set by `standardized`.
    input_scaling: tuple[Array, Array] | None
    module: ModuleType = eqx.field(static=True)
    invariant: bool = eqx.field(static=True)
    mass_solve: MassSolve = eqx.field(static=True)
    max_condition: float | None = eqx.field(static=True)

    def __init__(
        self,
        module: ModuleType,
        *,
        invariant: bool = True,
        width: int = 128,
        depth: int = 2,
        activation: Activation = "softplus",
        init: Literal["default", "reference", "glorot", "cranmer"] = "default",
        dtype=jnp.float32,
        mass_solve: MassSolve = "solve",
        max_condition: float | None = None,
        standardize: bool = False,
        solver: MassSolve | None = None,
        key: PRNGKeyArray,
    ):
        """**Arguments:**

        - `module`: the generated module (`sn.generate`, `load_module`).
        - `invariant`: feed the MLP the invariants (`True`) or `concatenate(q, qdot)`.
        - `width`, `depth`: `depth` hidden layers of `width` units.
        - `activation`: a twice-differentiable activation: a name of `ACTIVATIONS`
            (`"softplus"`, `"tanh"`, ...) or a function such as `jax.nn.softplus`.
        - `init`: `"default"` (Equinox's), `"reference"` (Mueller's reference, as its
            trained models record it: weights $N(0, \\sigma^2)$ with $\\sigma = 2/\\sqrt{w}$
            in the first hidden layer of $w$ units, $1/\\sqrt{w}$ in later ones and
            $\\sqrt{w}$ in the output layer, zero biases; see `_reference_init`),
            `"glorot"` (Keras' default for a dense layer: Glorot-uniform weights, zero
            biases) or `"cranmer"` (Cranmer et al.'s LNN initialisation; see
            `_cranmer_init`).
        - `dtype`: of the parameters; float64 needs `jax_enable_x64`.
        - `mass_solve`: how d2L/dqdot2 is solved: `"solve"`, `"cholesky"` or `"pinv"`, see
            `dynamics.solve_mass_matrix`.
        - `max_condition`: if given, `acceleration` raises (`eqx.error_if`) on states whose
            mass matrix is singular or worse conditioned; costs an SVD per state.
        - `standardize`: give the MLP a fixed input standardisation (x - shift) / scale,
            identity until set from data with [`LagrangianNetwork.standardized`][].
        - `solver`: deprecated spelling of `mass_solve`.
        - `key`: a JAX random key for the initial weights.
        """
        self.module = check_module(module)
        activation = activation_function(activation)
        mass_solve = resolve_mass_solve(mass_solve, solver)
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; expected one of {INITS}")
        if mass_solve not in MASS_SOLVES:
            raise ValueError(f"unknown mass_solve {mass_solve!r}; expected one of {MASS_SOLVES}")
        if width < 1 or depth < 0:
            raise ValueError(f"need width >= 1 and depth >= 0, got width={width}, depth={depth}")
        in_size = _in_size(module, invariant)
        init_key, reference_key = jax.random.split(key)
        # The output bias is left out: a constant shift of L changes no dynamics.
        mlp = eqx.nn.MLP(
            in_size, "scalar", width, depth, activation, use_final_bias=False,
            dtype=check_float_dtype(dtype), key=init_key,
        )  # fmt: skip
        inits = {"default": lambda mlp, _: mlp, "reference": _reference_init,
                 "glorot": _glorot_init, "cranmer": _cranmer_init}  # fmt: skip
        self.mlp = inits[init](mlp, reference_key)
        dtype = check_float_dtype(dtype)
        self.input_scaling = (
            (jnp.zeros(in_size, dtype), jnp.ones(in_size, dtype)) if standardize else None
        )
        self.invariant = invariant
        self.mass_solve = mass_solve
        self.max_condition = max_condition

    @classmethod
    def from_weights(
        cls,
        module: ModuleType,
        weights: Sequence[tuple[ArrayLike, ArrayLike | None]],
        *,
        invariant: bool = True,
        activation: Activation = "softplus",
        input_scaling: tuple[ArrayLike, ArrayLike] | None = None,
        dtype=None,
        mass_solve: MassSolve = "solve",
        max_condition: float | None = None,
        solver: MassSolve | None = None,
    ) -> "LagrangianNetwork":
        """A network with the given weights, e.g. trained elsewhere; no random key needed.

        **Arguments:**

        - `module`: the generated module.
        - `weights`: one `(W, b)` pair per layer, from the input, as
            [`LagrangianNetwork.weights`][] returns them: `W` of shape `(out, in)` (as in
            `eqx.nn.Linear`: a layer computes $W x + b$), `b` of shape `(out,)`. The first
            `W` is `(width, M)` with `M` the number of invariants (or `2n` when
            `invariant=False`), hidden ones `(width, width)`, the last `(1, width)` with
            `b=None`. The depth is `len(weights) - 1`; the width is read from the first
            layer. NumPy or JAX arrays (see `numeric/_weights.py`).
        - `invariant`: what the MLP sees, as in the constructor.
        - `activation`: the hidden layers' activation, a name or a function as in the
            constructor (not stored with the weights; for a network of this package,
            `model.mlp.activation`).
        - `input_scaling`: `(shift, scale)`, each of shape `(M,)`: the MLP sees
            `(x - shift) / scale` (e.g. `model.input_scaling`); `None` for none.
        - `dtype`: of the parameters; default the arrays' common dtype (float64 needs
            `jax_enable_x64`; pass `dtype=jnp.float32` to convert).
        - `mass_solve`, `max_condition`, `solver`: as in the constructor.

        **Returns:**

        The `LagrangianNetwork`. Shapes that do not fit raise a `ValueError` that lists
        each mismatch, expected against received.
        """
        module = check_module(module)
        activation = activation_function(activation)
        mass_solve = resolve_mass_solve(mass_solve, solver)
        what = "the invariants" if invariant else "q and qdot"
        arrays, width, depth = check_weights(
            weights, input_scaling, _in_size(module, invariant), f"{module.SYSTEM_NAME!r} ({what})"
        )
        dtype = weights_dtype(arrays) if dtype is None else check_float_dtype(dtype)
        # Only the structure is built (no random numbers drawn); the arrays fill it.
        skeleton = eqx.filter_eval_shape(
            cls, module, invariant=invariant, width=width, depth=depth, activation=activation,
            dtype=dtype, mass_solve=mass_solve, max_condition=max_condition,
            standardize=input_scaling is not None, key=jax.random.key(0),
        )  # fmt: skip
        return eqx.tree_at(parameters, skeleton, [jnp.asarray(x, dtype) for x in arrays])

    def weights(self) -> list[tuple[Array, Array | None]]:
        """The MLP's weights, one `(W, b)` pair per layer from the input.

        **Returns:**

        A list of `depth + 1` pairs of JAX arrays in the model's dtype: `W` of shape
        `(out, in)` as in `eqx.nn.Linear` (a layer computes $W x + b$) and `b` of shape
        `(out,)`. The first `W` is `(width, M)` with `M` the number of MLP inputs (the
        invariants, or `2n` for the unconstrained network), hidden ones `(width, width)`;
        the last is `(1, width)` with `b = None` (no output bias: a constant shift of $L$
        changes no dynamics). The hidden activation is `self.mlp.activation`, the input
        standardisation `self.input_scaling`. Rebuild with
        [`LagrangianNetwork.from_weights`][].
        """
        return [(layer.weight, layer.bias) for layer in self.mlp.layers]

    @property
    def solver(self) -> MassSolve:
        """Deprecated name of `mass_solve`."""
        warnings.warn(
            "LagrangianNetwork.solver is deprecated; read .mass_solve",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.mass_solve

    @property
    def dtype(self) -> jnp.dtype:
        """The dtype of the parameters."""
        return self.mlp.layers[0].weight.dtype

    def features(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Array:
        """What the MLP sees (before standardisation): the invariants, or $(q, \\dot q)$."""
        if self.invariant:
            return self.module.invariants(q, qdot)
        return jnp.concatenate([q, qdot])

    def _standardize(self, x: Float[Array, "*batch m"]) -> tuple[Array, Array | None]:
        # The MLP's input (x - shift) / scale and the scale (None without standardisation).
        # Constants: gradients are stopped, so training leaves them as `standardized` set.
        if self.input_scaling is None:
            return x, None
        shift, scale = jax.lax.stop_gradient(self.input_scaling)
        return (x - shift) / scale, scale

    def _f(self, x: Array) -> Scalar:
        return self.mlp(self._standardize(x)[0])

    def __call__(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Scalar:
        """The learned Lagrangian $L(q, \\dot q)$ of one state (batch with `jax.vmap`).

        With a module whose system declares a known part K (`HAS_KNOWN_LAGRANGIAN`), this
        is $K(q, \\dot q) + f(S)$: only f is learned.
        """
        value = self._f(self.features(q, qdot))
        known = self._known
        return value if known is None else value + known(q, qdot)

    @property
    def _known(self):
        # The generated known part K(q, qdot), or None.
        return known_lagrangian(self.module)

    def _add_known(self, mass: Array, rhs: Array, q: Array, qdot: Array):
        # The Euler-Lagrange terms of K (a short closed form: autodiff is cheap), added.
        if self._known is None:
            return mass, rhs
        terms = autodiff_terms if q.ndim == 1 else jax.vmap(autodiff_terms, (None, 0, 0))
        known_mass, known_rhs = terms(self._known, q, qdot)
        return mass + known_mass, rhs + known_rhs

    @property
    def fixed_scale(self) -> bool:
        """Whether the module's known part K fixes the scale of $L = K + f(S)$."""
        return self._known is not None

    def rescaled(self, factor: Scalar) -> "LagrangianNetwork":
        """This network with $f$ multiplied by `factor` (its output layer, which has no
        bias); unchanged when a known part fixes the scale."""
        if self.fixed_scale:
            return self
        return eqx.tree_at(
            lambda m: m.mlp.layers[-1].weight, self, self.mlp.layers[-1].weight * factor
        )

    def standardized(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"]
    ) -> "LagrangianNetwork":
        """This network with its input standardisation set from a batch of states.

        **Arguments:**

        - `q`, `qdot`: states, e.g. the training data's.

        **Returns:**

        A copy whose MLP sees (x - mean) / std of its inputs x over the batch (std 1
        where an input is constant). Needs `standardize=True` at construction.
        """
        if self.input_scaling is None:
            raise ValueError("build the network with standardize=True to standardise its inputs")
        x = jax.vmap(self.features)(jnp.asarray(q, self.dtype), jnp.asarray(qdot, self.dtype))
        std = jnp.std(x, axis=0)
        scaling = (jnp.mean(x, axis=0), jnp.where(std > 0, std, jnp.ones_like(std)))
        return eqx.tree_at(lambda m: m.input_scaling, self, scaling)

    def _mlp_derivatives(self, s: Float[Array, " m"]) -> tuple[Array, Array]:
        # Forward-over-reverse on the M-input MLP: M tangents through one gradient pass
        # give the M x M Hessian, and the gradient comes along as the primal output.
        def gradient_twice(x):
            g = jax.grad(self._f)(x)
            return g, g

        hessian, gradient = jax.jacfwd(gradient_twice, has_aux=True)(s)
        return gradient, hessian

    def euler_lagrange(self, q: Float[Array, " n"], qdot: Float[Array, " n"]):
        """`(d2L/dqdot2, dL/dq - (d2L/dqdot dq) qdot)` of one state. The invariant network
        uses the chain rule through the module's closed-form `invariant_derivatives`, so
        autodiff only sees the small MLP; the unconstrained one uses autodiff."""
        if not self.invariant:
            return autodiff_terms(self, q, qdot)
        s, *derivatives = self.module.invariant_derivatives(q, qdot)
        mass, rhs = euler_lagrange_terms(*derivatives, *self._mlp_derivatives(s), qdot)
        return self._add_known(mass, rhs, q, qdot)

    def solve(self, mass: Float[Array, "n n"], rhs: Float[Array, " n"]) -> Float[Array, " n"]:
        """Solve the mass matrix with this network's `mass_solve` and `max_condition`."""
        return solve_mass_matrix(
            mass, rhs, mass_solve=self.mass_solve, max_condition=self.max_condition
        )

    def batched_solve(self, mass: Array, rhs: Array) -> Array:
        """`solve` over a batch (`dynamics.solve_mass_matrices`)."""
        return solve_mass_matrices(
            mass, rhs, mass_solve=self.mass_solve, max_condition=self.max_condition
        )

    def batched_acceleration(
        self, q: Float[Array, "batch n"], qdot: Float[Array, "batch n"]
    ) -> Float[Array, "batch n"]:
        """The accelerations of a batch of states: `jax.vmap(self.acceleration)`, faster.

        The MLP's gradient and Hessian are computed for the whole batch at once in closed
        form (a few large matrix products instead of a small sweep per state and
        direction), and the mass matrices are solved by `dynamics.solve_mass_matrices`.
        The same chain rule serves the unconstrained network, whose features $(q, \\dot
        q)$ have constant Jacobians. Results agree with `acceleration` to rounding; an MLP
        the closed form does not cover (layer scanning, learnable activations) falls back
        to `jax.vmap(self.acceleration)`. `integrate` uses this for RK4 rollouts.

        **Arguments:**

        - `q`, `qdot`: a batch of states, shape `(batch, n)`.

        **Returns:**

        $\\ddot q$ for each state, shape `(batch, n)`.
        """
        if not supports_closed_form(self.mlp):
            return jax.vmap(self.acceleration)(q, qdot)
        s, *derivatives = self._batch_feature_derivatives(q, qdot)
        x, scale = self._standardize(s)
        gradient, hessian = mlp_gradient_hessian(self.mlp, x)
        if scale is not None:  # the chain rule through x = (s - shift) / scale
            gradient = gradient / scale
            hessian = hessian / (scale[:, None] * scale[None, :])
        mass, rhs = euler_lagrange_terms(*derivatives, gradient, hessian, qdot)
        mass, rhs = self._add_known(mass, rhs, q, qdot)
        return self.batched_solve(mass, rhs)

    def _batch_feature_derivatives(self, q: Array, qdot: Array) -> tuple[Array, ...]:
        # The features of a batch and their derivatives, as `invariant_derivatives` gives
        # them; the unconstrained network's features (q, qdot) have constant Jacobians.
        if self.invariant:
            return jax.vmap(self.module.invariant_derivatives)(q, qdot)
        batch, n = q.shape
        eye, zero = jnp.eye(n, dtype=q.dtype), jnp.zeros((n, n), q.dtype)
        return (
            jnp.concatenate([q, qdot], axis=-1),
            jnp.broadcast_to(jnp.concatenate([eye, zero]), (batch, 2 * n, n)),
            jnp.broadcast_to(jnp.concatenate([zero, eye]), (batch, 2 * n, n)),
            jnp.zeros((batch, 2 * n, n, n), q.dtype),
            jnp.zeros((batch, 2 * n, n), q.dtype),
        )

    def mass_matrix(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Array:
        """The mass matrix $\\partial^2 L / \\partial \\dot q^2$ of one state, `(n, n)`."""
        if self.invariant:
            return self.euler_lagrange(q, qdot)[0]
        return velocity_hessian(self, q, qdot)

    def velocity_hessian(self, q: Float[Array, " n"], qdot: Float[Array, " n"]) -> Array:
        """Another name of [`LagrangianNetwork.mass_matrix`][]."""
        return self.mass_matrix(q, qdot)
