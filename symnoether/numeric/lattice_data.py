# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Trajectories, errors and field images of lattice fields, at any lattice size.

The generated lattice module gives the true acceleration for any shape
(`lattice_acceleration(q, qdot, shape)`, O(sites)); these helpers roll it forward, turn the
rollouts into training data, compare a model's rollout with the truth (wrapping angle
fields) and draw a field as an image (time x site for a chain, snapshots for a 2D field),
which stays readable for any number of sites.
"""

from pathlib import Path
from types import ModuleType

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from matplotlib.figure import Figure

from ..files import atomic_write
from .data import Dataset
from .integrate import integrate
from .lagrangian import FunctionLagrangian

__all__ = ["lattice_error", "lattice_truth", "lattice_trajectories", "plot_lattice_field"]


def lattice_truth(module: ModuleType, shape) -> FunctionLagrangian:
    """The true system of a lattice module on a lattice of `shape`, as an
    [`AbstractLagrangian`][] with its closed-form O(sites) acceleration."""
    shape = tuple(shape)
    return FunctionLagrangian(
        lambda q, v: module.lattice_lagrangian(q, v, shape),
        lambda q, v: module.lattice_acceleration(q, v, shape),
        module,
    )


def lattice_trajectories(
    module: ModuleType,
    q0: Float[Array, "batch n"],
    qdot0: Float[Array, "batch n"],
    *,
    shape,
    dt: float,
    steps: int,
    save_every: int,
) -> Dataset:
    """A [`Dataset`][] of true states and accelerations along RK4 rollouts of a batch of
    initial states on a lattice of `shape`."""
    truth = lattice_truth(module, shape)
    qs, vs = integrate(truth, q0, qdot0, dt=dt, steps=steps, save_every=save_every)
    qs, vs = qs.reshape(-1, qs.shape[-1]), vs.reshape(-1, vs.shape[-1])
    return Dataset(qs, vs, jax.vmap(truth.acceleration)(qs, vs))


def lattice_error(
    module: ModuleType, qs: Float[Array, "T n"], reference: Float[Array, "T n"]
) -> Float[Array, " T"]:
    """The largest difference over the sites at each time; angle fields (`PERIODIC`)
    wrapped to $(-\\pi, \\pi]$."""
    diff = qs - reference
    if module.PERIODIC:
        diff = jnp.angle(jnp.exp(1j * diff))
    return jnp.max(jnp.abs(diff), axis=-1)


def plot_lattice_field(
    module: ModuleType,
    qs: np.ndarray,
    shape,
    path,
    *,
    dt: float,
    reference: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Draw a lattice field as images and write a PNG.

    A chain (1D) is one image, time x site, of each field (angles wrapped), next to the
    reference's and the difference when given; a 2D lattice is `|field|` at four times (one
    row, and a second row for the reference). 3D lattices show the slice at index 0 of the
    last axis.
    """
    shape = tuple(shape)
    qs = np.asarray(qs).reshape(len(qs), *shape, module.FIELDS)
    rows = [("model", qs)] + (
        [("truth", np.asarray(reference).reshape(qs.shape))] if reference is not None else []
    )
    wrap = (lambda x: np.angle(np.exp(1j * x))) if module.PERIODIC else (lambda x: x)
    figure = Figure(figsize=(10, 3.2 * len(rows)))
    if len(shape) == 1:
        panels = rows + ([("model - truth", qs - rows[1][1])] if reference is not None else [])
        axes = figure.subplots(1, len(panels), squeeze=False)[0]
        for ax, (label, field) in zip(axes, panels):
            image = ax.imshow(
                wrap(field[..., 0]).T,
                aspect="auto",
                origin="lower",
                cmap="twilight" if module.PERIODIC else "viridis",
                extent=(0, dt * (len(field) - 1), 0, shape[0]),
            )
            ax.set(xlabel="t", ylabel="site", title=f"{label}: {module.FIELD_NAMES[0]}")
            figure.colorbar(image, ax=ax)
    else:
        times = np.linspace(0, len(qs) - 1, 4).astype(int)
        axes = figure.subplots(len(rows), 4, squeeze=False)
        for r, (label, field) in enumerate(rows):
            for c, k in enumerate(times):
                frame = field[k] if len(shape) == 2 else field[k][..., 0, :]
                image = axes[r, c].imshow(
                    np.linalg.norm(frame, axis=-1), origin="lower", cmap="viridis"
                )
                axes[r, c].set(title=f"{label}, t = {k * dt:.1f}", xticks=[], yticks=[])
                figure.colorbar(image, ax=axes[r, c])
    figure.suptitle(title or module.SYSTEM_NAME)
    figure.tight_layout()
    path = Path(path)
    return atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=100))
