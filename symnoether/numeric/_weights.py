"""Weights in and out of `LagrangianNetwork`: the layout, and checks that say what is wrong.

The layout is one `(W, b)` pair per layer of the MLP, from the input: `W` of shape
`(out, in)` as in `eqx.nn.Linear` (a layer computes $W x + b$), `b` of shape `(out,)`, and
a scalar output layer `(1, width)` without bias. Equinox's MLP has one width for every
hidden layer.
"""

from collections.abc import Sequence

import jax
import numpy as np

from .dynamics import check_float_dtype

__all__ = ["check_weights", "layer_shapes", "parameters", "weights_dtype"]


def layer_shapes(in_size: int, width: int, depth: int) -> list[tuple[tuple, tuple | None]]:
    """The `(W shape, b shape)` of each layer; `None` for the output layer's missing bias."""
    sizes = [in_size] + [width] * depth
    return [((width, n), (width,)) for n in sizes[:-1]] + [((1, sizes[-1]), None)]


def parameters(model) -> list:
    """The arrays of a `LagrangianNetwork` in the order `check_weights` returns them: W0, b0,
    W1, ..., the last W, then the input standardisation (shift, scale) if any."""
    layers = model.mlp.layers
    weights = [x for layer in layers for x in (layer.weight, layer.bias) if x is not None]
    return weights + list(model.input_scaling or ())


def check_weights(weights, input_scaling, in_size: int, what: str) -> tuple[list, int, int]:
    """Check `(W, b)` pairs and an optional `(shift, scale)` against the layout.

    **Arguments:**

    - `weights`: one `(W, b)` pair per layer (NumPy or JAX arrays).
    - `input_scaling`: `(shift, scale)`, or `None`.
    - `in_size`: the number of MLP inputs.
    - `what`: the network's inputs, for messages (e.g. `"'kepler' (the invariants)"`).

    **Returns:**

    `(arrays, width, depth)`: the arrays in the order of `parameters`, the hidden width and
    the number of hidden layers. A `TypeError` if `weights` is not a list of pairs; a
    `ValueError` listing every shape that does not fit, expected against received.
    """
    weights = _pairs(weights)
    depth = len(weights) - 1
    width, source = _width(weights)
    problems = _weight_problems(weights, in_size, width) + _scaling_problems(
        input_scaling, in_size
    )
    if problems:
        hidden = f"{depth} hidden layer(s) of width {width} ({source})" if depth else (
            "no hidden layer")  # fmt: skip
        raise ValueError(
            f"weights do not fit a LagrangianNetwork of {what}: expected {in_size} inputs, "
            f"{hidden} and a scalar output without bias, W as (out, in) like eqx.nn.Linear "
            "and one width for every hidden layer:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    arrays = [x for pair in weights for x in pair if x is not None]
    return arrays + list(input_scaling or ()), width, depth


def weights_dtype(arrays: list) -> np.dtype:
    """The common dtype of `arrays`, if JAX can hold it; else a message saying what to pass."""
    # Read the dtypes, not the arrays: NumPy would treat a JAX array as a dtype-like.
    dtype = np.result_type(*(getattr(x, "dtype", None) or np.asarray(x).dtype for x in arrays))
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError(
            "the weights are float64, which needs JAX's 64-bit mode (off): pass "
            "dtype=jnp.float32 to convert them, or enable it first with "
            "`jax.config.update('jax_enable_x64', True)`"
        )
    return check_float_dtype(dtype)


def _pairs(weights) -> list[tuple]:
    pairs = isinstance(weights, Sequence) and all(
        isinstance(pair, Sequence) and len(pair) == 2 for pair in weights
    )
    if not pairs or not weights:
        raise TypeError(
            "weights must be a non-empty list of (W, b) pairs, one per layer (as "
            f"`model.weights()` returns them), got {type(weights).__name__}"
        )
    return [tuple(pair) for pair in weights]


def _width(weights: list[tuple]) -> tuple[int, str]:
    # Biases cannot be transposed, so the first one is the surer witness of the width.
    (w, b), depth = weights[0], len(weights) - 1
    if depth and np.ndim(b) == 1:
        return np.shape(b)[0], "read from layer 0's b"
    if depth and np.ndim(w) == 2:
        return np.shape(w)[0], "read from layer 0's W"
    return 1, "unknown"


def _weight_problems(weights: list[tuple], in_size: int, width: int) -> list[str]:
    problems = []
    shapes = layer_shapes(in_size, width, len(weights) - 1)
    for i, ((w, b), (w_shape, b_shape)) in enumerate(zip(weights, shapes, strict=True)):
        if np.shape(w) != w_shape:
            transposed = " (transposed? W is (out, in))" if np.shape(w)[::-1] == w_shape else ""
            problems.append(f"layer {i} W: expected {w_shape}, got {np.shape(w)}{transposed}")
        if b_shape is None and b is not None:
            problems.append(
                f"layer {i} b: expected None (the network has no output bias; a constant "
                f"shift of L changes no dynamics, so drop it), got shape {np.shape(b)}"
            )
        elif b_shape is not None and (b is None or np.shape(b) != b_shape):
            got = "None" if b is None else np.shape(b)
            problems.append(f"layer {i} b: expected {b_shape}, got {got}")
    return problems


def _scaling_problems(input_scaling, in_size: int) -> list[str]:
    if input_scaling is None:
        return []
    if not (isinstance(input_scaling, Sequence) and len(input_scaling) == 2):
        return [f"input_scaling: expected a pair (shift, scale) or None, got {input_scaling!r}"]
    problems = [
        f"input_scaling {name}: expected shape ({in_size},), got {np.shape(x)}"
        for name, x in zip(("shift", "scale"), input_scaling)
        if np.shape(x) != (in_size,)
    ]
    if not problems and not np.all(np.asarray(input_scaling[1]) > 0):
        problems.append("input_scaling scale: every entry must be > 0")
    return problems
