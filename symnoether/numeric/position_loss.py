# ruff: noqa: F722  (jaxtyping shape strings are not forward annotations)
"""Losses on positions only, through the discrete Euler-Lagrange equations.

The midpoint discretisation $L_d(q_k, q_{k+1}) = h\\,L((q_k+q_{k+1})/2, (q_{k+1}-q_k)/h)$
relates three consecutive positions: $D_2 L_d(q_{k-1}, q_k) + D_1 L_d(q_k, q_{k+1}) = 0$.
From two observed positions a Lagrangian therefore predicts every later one (the variational
integrator's step, `integrate/_variational.py`, whose residual is used here), and the loss
compares the predictions with the observed positions. Velocities and accelerations are
never formed from the data.

Each step is a Newton solve. Its derivative with respect to the network's parameters comes
from the implicit function theorem (`implicit_newton`, a `jax.custom_vjp`): one transposed
linear solve with the Jacobian at the solution, not backpropagation through the Newton
iterations.

The discrete equations are homogeneous in $L$: $cL$ predicts the same positions as $L$ for
every $c \\ne 0$, and $L = 0$ satisfies them trivially. `PositionLoss` fixes the scale with a
penalty on the mean trace of the mass matrix $\\partial^2 L/\\partial\\dot q^2$ over the
batch (docs/POSITIONS.md).
"""

import functools
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..errors import format_problems
from .discrete import discrete_momentum, increment_residual
from .lagrangian import AbstractLagrangian, as_lagrangian
from .losses import AbstractLoss
from .newton import default_tol, implicit_newton, newton_setting_problems
from .smoothing import smoothing_problems
from .source import AbstractPositionSource, AbstractSource, Windows

__all__ = [
    "PositionLoss",
    "discrete_rollout",
    "implicit_newton",
    "indefinite_fraction",
    "mean_mass_trace",
    "normalize_scale",
]


def discrete_rollout(
    lagrangian: Callable,
    q0: Float[Array, " n"],
    q1: Float[Array, " n"],
    *,
    dt,
    steps: int,
    tol: float | None = None,
    max_iter: int = 20,
    force: Callable | None = None,
) -> tuple[Float[Array, "steps n"], Float[Array, " steps"]]:
    """Positions $q_2, \\dots, q_{steps+1}$ that the discrete Euler-Lagrange equations of
    `lagrangian` predict from $q_0, q_1$ (the midpoint variational integrator, started from
    two positions instead of a position and a velocity).

    Differentiable in the Lagrangian's parameters and in $q_0, q_1$: every Newton solve is
    differentiated by the implicit function theorem ([`implicit_newton`][]).

    **Arguments:**

    - `lagrangian`: a `LagrangianNetwork` or any `lagrangian(q, qdot) -> scalar` (an
        `eqx.Module` or a function).
    - `q0`, `q1`: two consecutive positions, `dt` apart.
    - `dt`: the time step.
    - `steps`: how many positions to predict.
    - `tol`, `max_iter`: Newton settings; default `default_tol(dtype)` and 20.
    - `force`: a non-conservative force `force(m, v)` (an autonomous `AbstractForce`, e.g.
        a learned friction), or `None`: the forced discrete Euler-Lagrange equations (the
        discrete Lagrange-d'Alembert principle of `MidpointVariational`), differentiable
        in the force's parameters too.

    **Returns:**

    `(qs, residuals)`: the predicted positions `(steps, n)` and each solve's relative Newton
    residual `(steps,)`.
    """
    tol = default_tol(q0.dtype) if tol is None else float(tol)
    dt = jnp.asarray(dt, q0.dtype)

    def residual(dq, q, p, dt):
        return increment_residual(lagrangian, q, dq, p, dt, force=force)

    def step(carry, _):
        q, p, dq, dq_prev = carry
        guess = 2 * dq - dq_prev
        # The Lagrangian's arrays (a network's weights, or any traced value it closes
        # over) become explicit arguments, which the implicit gradient is taken in.
        fn, consts = jax.closure_convert(residual, guess, q, p, dt)
        new, res = implicit_newton(
            lambda x, args: fn(x, *args), guess, (q, p, dt, *consts), tol=tol,
            max_iter=max_iter,
        )  # fmt: skip
        p = discrete_momentum(lagrangian, q, new, dt, force=force)
        return (q + new, p, new, dq), (q + new, res)

    dq = q1 - q0
    carry = (q1, discrete_momentum(lagrangian, q0, dq, dt, force=force), dq, dq)
    _, (qs, residuals) = jax.lax.scan(step, carry, None, length=steps)
    return qs, residuals


def _mass_trace(model: AbstractLagrangian, q, qdot) -> Array:
    return jnp.trace(model.mass_matrix(q, qdot)) / q.shape[0]


# A window whose Newton solves miss the tolerance by more than this factor counts as failed.
_ACCEPT = 64


def _window_errors(predicted, residuals, windows, tol: float) -> Array:
    # Mean squared error of each window. A window where a solve failed (a random network's
    # mass matrix may be indefinite or nearly singular) scores the error of the
    # constant-velocity guess instead, without gradient: failing never pays better than a
    # model that predicts anything sensible, and a failed solve's garbage stays out of the
    # gradient.
    observed = windows[:, 2:]
    ok = jnp.all(residuals <= _ACCEPT * tol, axis=1) & jnp.all(jnp.isfinite(predicted), axis=(1, 2))
    steps = jnp.arange(1, observed.shape[1] + 1, dtype=windows.dtype)[:, None]
    guess = windows[:, 1:2] + steps * (windows[:, 1:2] - windows[:, 0:1])
    safe = jnp.where(ok[:, None, None], predicted, observed)
    error = jnp.mean((safe - observed) ** 2, axis=(1, 2))
    fallback = jax.lax.stop_gradient(jnp.mean((guess - observed) ** 2, axis=(1, 2)))
    return jnp.where(ok, error, fallback)


def mean_mass_trace(model, windows: Float[Array, "batch window n"], dt) -> Array:
    """$\\operatorname{mean}_b \\operatorname{tr} M_b / n$: the mean mass of `model` at the
    first midpoint of each window, $M_b = \\partial^2 L/\\partial\\dot q^2$ at
    $((q_0 + q_1)/2, (q_1 - q_0)/h)$."""
    midpoint = 0.5 * (windows[:, 0] + windows[:, 1])
    velocity = (windows[:, 1] - windows[:, 0]) / dt
    model = as_lagrangian(model)
    return jnp.mean(jax.vmap(functools.partial(_mass_trace, model))(midpoint, velocity))


_jit_mean_mass_trace = eqx.filter_jit(mean_mass_trace)


@eqx.filter_jit
def indefinite_fraction(model, windows: Float[Array, "batch window n"], dt) -> Array:
    """The fraction of windows at whose first midpoint the mass matrix of `model` is not
    positive definite.

    A random network can start with an indefinite mass matrix on much of the data; training
    on positions must then move it through singular matrices, where solves fail, and it
    trains slowly or stalls (docs/POSITIONS.md). `train` warns when this exceeds 10%.
    """
    midpoint = 0.5 * (windows[:, 0] + windows[:, 1])
    velocity = (windows[:, 1] - windows[:, 0]) / dt
    mass_matrix = as_lagrangian(model).mass_matrix
    smallest = jnp.linalg.eigvalsh(jax.vmap(mass_matrix)(midpoint, velocity))[:, 0]
    return jnp.mean(~(smallest > 0))


def normalize_scale(model, windows: Float[Array, "batch window n"], dt):
    """`model` with $L$ multiplied by the constant that makes its mean mass
    ([`mean_mass_trace`][]) on `windows` equal to 1: the scale and sign that
    [`PositionLoss`][]'s scale term asks for.

    Training on positions starts from it: a random network's mass matrix is as likely
    negative as positive definite, and gradient steps from $-L$ to $+L$ would have to cross
    $L \\approx 0$, where every solve fails. The model rescales itself
    ([`AbstractLagrangian.rescaled`][]: a `LagrangianNetwork` its output layer, unless a
    known part fixes the scale); one that cannot is returned unchanged.
    """
    lagrangian = as_lagrangian(model)
    if lagrangian is not model or lagrangian.fixed_scale:  # a plain function keeps its scale
        return model
    trace = _jit_mean_mass_trace(model, jnp.asarray(windows, model.dtype), dt)
    trace = eqx.error_if(trace, ~(jnp.abs(trace) > 0), "the mass matrix vanishes on the data")
    return model.rescaled(1 / trace)


class PositionLoss(AbstractLoss):
    """The loss of training on positions: predict a window of observed positions through
    the discrete Euler-Lagrange equations.

    Each sample is a window $q_0, \\dots, q_{K+1}$ of consecutive observed positions.
    From $q_0, q_1$ the model predicts $\\hat q_2, \\dots, \\hat q_{K+1}$
    ([`discrete_rollout`][]) and the loss is
    $\\operatorname{mean}\\,|\\hat q_j - q_j|^2 / h^4$ (in units of an acceleration squared:
    a one-step error is $h^2$ times an acceleration error), plus the scale term
    $w\\,(\\operatorname{mean}_b \\operatorname{tr} M_b / n - 1)^2$ with $M_b$ the mass matrix
    $\\partial^2 L/\\partial\\dot q^2$ at the first midpoint of window $b$. The fit is
    invariant under $L \\to cL$; the scale term picks $c$ (mean mass 1), so that $L$ cannot
    drift to 0 or blow up. A model that can rescale itself (`rescaled`) gets no scale term:
    `train` sets its scale exactly after every step instead (`project`). A window whose
    Newton solves fail (more than 64 times the tolerance; a random network's mass matrix
    may be indefinite) scores the error of the constant-velocity guess
    $q_1 + (j-1)(q_1 - q_0)$, with no gradient.

    **Fields:**

    - `steps`: K, the positions predicted per window. `1` is the one-step loss (predict
        $q_{k+1}$ from $q_{k-1}, q_k$); larger K is a rollout loss, which averages the
        position noise over the window and matches how the model is used.
    - `scale_weight`: $w$; `None` (default) is 1, or 0 when the model has a known part
        (`HAS_KNOWN_LAGRANGIAN`), which fixes the scale itself. For a model that can
        rescale itself, any $w > 0$ means `project` after every step (no term); 0 leaves
        its scale free.
    - `tol`, `max_iter`: Newton settings of the solves (default `default_tol(dtype)`, 20).
    - `smooth_window`, `smooth_degree`: the positions are first smoothed by local
        polynomials of `smooth_degree` over `smooth_window` samples
        ([`smoothed_positions`][]; default 1: not smoothed). Noisy positions need it: the
        one-step loss turns position noise into acceleration noise of order
        sigma / dt^2, and the noise in the inputs biases the fit (docs/POSITIONS.md).
    """

    steps: int = eqx.field(default=1, static=True)
    scale_weight: float | None = eqx.field(default=None, static=True)
    tol: float | None = eqx.field(default=None, static=True)
    max_iter: int = eqx.field(default=20, static=True)
    smooth_window: int = eqx.field(default=1, static=True)
    smooth_degree: int = eqx.field(default=4, static=True)

    def __check_init__(self):
        problems = newton_setting_problems(self.tol, self.max_iter)
        problems += smoothing_problems(self.smooth_window, self.smooth_degree)
        if not (isinstance(self.steps, int) and not isinstance(self.steps, bool)
                and self.steps >= 1):  # fmt: skip
            problems.append(f"steps (K, positions predicted per window) must be a positive "
                            f"int, got {self.steps!r}")  # fmt: skip
        if self.scale_weight is not None and not self.scale_weight >= 0:
            problems.append(f"scale_weight must be >= 0 or None, got {self.scale_weight!r}")
        if problems:
            raise ValueError(format_problems("invalid PositionLoss", problems))

    def _tol(self, windows) -> float:
        return default_tol(windows.dtype) if self.tol is None else float(self.tol)

    @property
    def window(self) -> int:
        """The positions per sample: K + 2."""
        return self.steps + 2

    def weight(self, model) -> float:
        """The scale term's weight for `model` (see `scale_weight`)."""
        if self.scale_weight is not None:
            return float(self.scale_weight)
        return 0.0 if as_lagrangian(model).fixed_scale else 1.0

    def bind(self, dt: float) -> "_BoundLoss":
        """This loss for data sampled every `dt`: `bound(model, windows)`. An `eqx.Module`
        compared by value, so that `train`'s compiled epoch is reused across calls."""
        return _BoundLoss(self, float(dt))

    def batches(self, source: AbstractSource) -> Windows:
        """Every window of K + 2 consecutive positions of `source`, drawn with replacement."""
        if not isinstance(source, AbstractPositionSource):  # validation of the user's input
            raise ValueError(
                "loss= is the loss on positions; give it with PositionData only (states "
                f"with accelerations, here {type(source).__name__}, train with the default "
                "AccelerationLoss)"
            )
        if self.smooth_window > 1:
            source = source.smoothed(self.smooth_window, self.smooth_degree)
        return source.windowed(self.window)

    def prepare(self, model, source: AbstractPositionSource, *, resume: bool = False):
        """`model` rescaled by [`normalize_scale`][] on the data's windows (the fit cannot
        tell $L$ from $cL$: start from the scale and sign the loss asks for); unless
        resuming, a warning when its mass matrix is indefinite on much of the data."""
        windows = _spread(self.batches(source).arrays[0], 4096)
        model = normalize_scale(model, windows, source.dt)
        if not resume:
            _warn_if_indefinite(model, windows, source.dt)
        return model

    def from_config(self, config) -> "PositionLoss":
        """The loss a `TrainConfig` asks for: `position_loss` `"one_step"` (K = 1) or
        `"rollout"` (K = `rollout_steps`)."""
        steps = 1 if config.position_loss == "one_step" else config.rollout_steps
        return PositionLoss(steps=steps, scale_weight=self.scale_weight, tol=self.tol,
                            max_iter=self.max_iter, smooth_window=config.smooth_window,
                            smooth_degree=config.smooth_degree)  # fmt: skip

    def objective(self, source: AbstractPositionSource) -> "_BoundLoss":
        return self.bind(source.dt)

    def settings(self, source: AbstractPositionSource) -> dict:
        """What a resumed training run must match, as JSON."""
        settings = {"kind": "positions", "steps": self.steps, "scale_weight": self.scale_weight,
                    "tol": self.tol, "max_iter": self.max_iter, "dt": float(source.dt)}  # fmt: skip
        if self.smooth_window > 1:  # (absent before smoothing existed: old runs resume)
            settings["smooth"] = [self.smooth_window, self.smooth_degree]
        return settings

    def __call__(self, model, windows: Float[Array, "batch window n"], dt) -> Array:
        """The loss of `model` on a batch of windows `(batch, K + 2, n)` sampled every `dt`."""
        # A forced model's force enters the discrete equations (positions carry no times:
        # a model driven in time is refused by the data, `AbstractSource.timed`).
        rollout = functools.partial(
            discrete_rollout, model, dt=dt, steps=self.steps, tol=self.tol,
            max_iter=self.max_iter, force=as_lagrangian(model).forcing(),
        )  # fmt: skip
        predicted, residuals = jax.vmap(rollout)(windows[:, 0], windows[:, 1])
        fit = jnp.mean(_window_errors(predicted, residuals, windows, self._tol(windows))) / dt**4
        weight = self.weight(model)
        if weight == 0 or _rescalable(model):
            # A model that rescales itself has its scale set by `project` after every step
            # instead. Differentiated, each batch's term also pulled on the shape of M(q)
            # (a batch's mean mass is never exactly 1): on exact Kepler positions, 4,000
            # steps of the natural family reached a fit of 1.1e-3 with it, 5.0e-7 with
            # `project` (docs/POSITIONS.md, "The degeneracy").
            return fit
        return fit + weight * (mean_mass_trace(model, windows, dt) - 1) ** 2

    def project(self, model, windows: Float[Array, "batch window n"], dt):
        """`model` with its scale reset so that its mean mass on `windows` is 1, when
        `scale_weight` is not 0 and the model can rescale itself; else `model`. `train`
        applies it after every optimiser step, in place of the scale term: the fit cannot
        see the scale, so this fixes it without touching anything the fit depends on."""
        if self.weight(model) == 0 or not _rescalable(model):
            return model
        trace = mean_mass_trace(model, windows, dt)
        return model.rescaled(jnp.where(trace > 0, 1 / trace, 1.0))


def _rescalable(model) -> bool:
    # Whether `model.rescaled` changes it (a known part, or a plain function, cannot).
    return isinstance(model, AbstractLagrangian) and model.rescaled(2.0) is not model


class _BoundLoss(eqx.Module):
    loss: PositionLoss
    dt: float = eqx.field(static=True)

    def __call__(self, model, windows: Float[Array, "batch window n"]) -> Array:
        return self.loss(model, windows, self.dt)

    def project(self, model, windows: Float[Array, "batch window n"]):
        return self.loss.project(model, windows, self.dt)


def _warn_if_indefinite(model, windows, dt) -> None:
    fraction = float(indefinite_fraction(model, windows, dt))
    if fraction > 0.1:
        warnings.warn(
            f"the initial network's mass matrix d2L/dqdot2 is not positive definite on "
            f"{fraction:.0%} of the data's states; training on positions from it may be slow "
            "or stall. If the system's kinetic energy is positive definite, start from "
            "another random key (seed) or clip the gradients (docs/POSITIONS.md)",
            RuntimeWarning,
            stacklevel=5,  # the caller of `train`
        )


def _spread(x: Array, size: int) -> Array:
    # At most `size` rows, evenly spaced.
    return x[:: max(1, x.shape[0] // size)][:size]
