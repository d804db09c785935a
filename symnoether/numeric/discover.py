"""Which symmetries a trained model has: the Noether condition solved in least squares.

A model trained without a declared symmetry (`symmetry=None`, or the unconstrained
variant) may still have learned one from the data. `symmetry_candidates` looks for the
affine point symmetries $\\xi(q) = A q + b$ with a linear boundary term $F = c \\cdot q$
(translations, rotations, and any linear map that the data respect) of the model's
Lagrangian: the condition

$$\\xi \\cdot \\partial L/\\partial q + (A \\dot q) \\cdot \\partial L/\\partial \\dot q
- c \\cdot \\dot q = 0$$

is linear in the unknowns $(A, b, c)$, so sampled states give one row each of a linear
system whose (numerical) null space is the model's symmetries. A basis of that null space
in reduced row-echelon form is snapped to small rationals, ready to be proved exactly on
the true Lagrangian by the symbolic half
(`symnoether.symbolic.symmetries.prove_candidates`), which never trusts these numbers.

Not covered by this ansatz: time-dependent fields (boosts, $\\tau \\ne 0$), fields
non-linear in q (e.g. rotations in polar coordinates are translations of the angle, which
are covered; rotations written in Euler angles are not).
"""

from dataclasses import dataclass
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .lagrangian import AbstractLagrangian, as_lagrangian

__all__ = ["SymmetryCandidates", "symmetry_candidates"]


@dataclass(frozen=True)
class SymmetryCandidates:
    """The affine symmetries a model's Lagrangian has, to the tolerance.

    **Attributes:**

    - `n`: the number of coordinates.
    - `generators`: one dict per basis vector: `"A"` (n x n), `"b"` (n) and `"c"` (n) as
      rational strings (e.g. `"-1"`, `"1/2"`), with `"snap_error"` (the largest change the
      rounding to rationals made, relative to the basis' entries of size 1) and
      `"residual"` (the snapped generator's relative residual on the samples), and
      `"alternatives"`: simpler snaps within `snap_tolerance` (the same keys and
      `"snap_error"`), simplest first.
    - `singular_values`: the relative singular values of the sampled condition, smallest
      first; those below `tol` are the null space.
    - `tol`, `samples`: the settings used.
    - `state_rank`: the rank of the sampled states `(q, qdot)` (2n when they spread in
      every direction; a planar orbit in 3D gives 4).
    - `unidentified`: the unknowns the states do not constrain (their column of the
      condition vanishes, e.g. `"A[2][0]"` when z = 0 and zdot = 0 throughout); they are
      set to 0 in `generators`, and symmetries that need them cannot be found from these
      states.
    """

    n: int
    generators: tuple[dict, ...]
    singular_values: tuple[float, ...]
    tol: float
    samples: int
    state_rank: int = 0
    unidentified: tuple[str, ...] = ()

    @property
    def gap(self) -> float | None:
        """The ratio of the first singular value above `tol` to the last one below it (a
        large gap means a clear-cut answer); `None` when one side is empty."""
        k = len(self.generators)
        s = self.singular_values
        if k == 0 or k == len(s) or s[k - 1] == 0:
            return None
        return s[k] / s[k - 1]

    def as_json(self) -> dict:
        """A JSON-ready dict (what `symnoether symmetries --from-run --json` embeds)."""
        return {"n": self.n, "generators": list(self.generators), "tol": self.tol,
                "samples": self.samples, "gap": self.gap,
                "singular_values": list(self.singular_values),
                "state_rank": self.state_rank, "unidentified": list(self.unidentified)}


def _rows(lagrangian: AbstractLagrangian, q, qdot) -> np.ndarray:
    """One row per state: the coefficients of (vec A, b, c) in the symmetry condition."""

    def row(q, qdot):
        Lq, Lv = jax.grad(lagrangian, argnums=(0, 1))(q, qdot)
        A = jnp.outer(Lq, q) + jnp.outer(Lv, qdot)  # d/dA_ij of xi . Lq + (A qdot) . Lv
        return jnp.concatenate([A.ravel(), Lq, -qdot])

    return np.asarray(jax.jit(jax.vmap(row))(q, qdot), np.float64)


def _echelon(basis: np.ndarray) -> np.ndarray:
    """A basis (k, m) of the same span in reduced row-echelon form (pivots by largest
    entry, so the rows have entries of size at most about 1)."""
    basis = basis.copy()
    k = basis.shape[0]
    pivots = []
    for r in range(k):
        rest = np.abs(basis[r:])
        rest[:, pivots] = 0
        i, j = np.unravel_index(np.argmax(rest), rest.shape)
        basis[[r, r + i]] = basis[[r + i, r]]
        basis[r] /= basis[r, j]
        for s in range(k):
            if s != r:
                basis[s] -= basis[s, j] * basis[r]
        pivots.append(j)
    order = np.argsort(pivots)
    return basis[order]


def _as_field(snapped, n: int) -> dict:
    text = [str(f) for f in snapped]
    return {"A": [text[i * n:(i + 1) * n] for i in range(n)], "b": text[n * n:n * n + n],
            "c": text[n * n + n:]}


def _alternatives(vector, closest, max_denominator, zero, tolerance, n) -> list[dict]:
    """The snaps with smaller denominators within `tolerance` of `vector`, simplest first."""
    out, seen = [], {tuple(closest)}
    for denominator in range(1, max_denominator):
        snapped = [_snap(x, denominator, zero) for x in vector]
        error = float(np.max(np.abs(vector - np.array([float(f) for f in snapped]))))
        if error <= tolerance and tuple(snapped) not in seen:
            seen.add(tuple(snapped))
            out.append({**_as_field(snapped, n), "snap_error": error})
    return out


def _snap(x: float, max_denominator: int, zero: float) -> Fraction:
    return Fraction(0) if abs(x) < zero else Fraction(x).limit_denominator(max_denominator)


def symmetry_candidates(
    model,
    q: Float[Array, "batch n"],
    qdot: Float[Array, "batch n"],
    *,
    tol: float = 1e-2,
    max_denominator: int = 12,
    snap_tolerance: float = 0.1,
) -> SymmetryCandidates:
    """The affine Noether symmetries of a model's Lagrangian, from sampled states.

    **Arguments:**

    - `model`: an [`AbstractLagrangian`][] (a trained network) or a function
        `L(q, qdot)`.
    - `q`, `qdot`: states where the model is trusted (the training data's), shape
        `(batch, n)`; at least `n * (n + 2)` of them, spread out (states along one orbit
        can have spurious symmetries; several trajectories or a stream are better).
    - `tol`: the relative singular value below which a direction counts as a symmetry.
        A trained network is symmetric only to its training error: `1e-2` suits a model
        trained to a loss of about 1e-4 of its data's scale; `SymmetryCandidates.gap` says
        how clear the cut was.
    - `max_denominator`: the largest denominator of the rational entries.
    - `snap_tolerance`: the largest change of an entry (the basis' entries have size
        about 1) for the simpler alternatives: each generator also lists the snaps with
        denominators 1, 2, ... below `max_denominator` that stay within it, simplest
        first, for the prover to try when the closest snap is refuted (a model learns a
        symmetry only to its error: a mass matrix 8% off gives -11/12 for -1).

    **Returns:**

    A [`SymmetryCandidates`][]. Nothing here is proved: prove the candidates on the true
    Lagrangian with `symnoether.symbolic.symmetries.prove_candidates` (or
    `symnoether symmetries SPEC --from-run RUN`).
    """
    q, qdot = jnp.asarray(q), jnp.asarray(qdot)
    if q.ndim != 2 or q.shape != qdot.shape:
        raise ValueError(f"symmetry_candidates: q and qdot must have the same shape (batch, n)"
                         f", got {q.shape} and {qdot.shape}")
    batch, n = q.shape
    m = n * n + 2 * n
    if batch < m:
        raise ValueError(f"symmetry_candidates: {batch} states for {m} unknowns (n = {n}: "
                         f"A, b and c); give at least {m}, better {4 * m}")
    if not 0 < tol < 1:
        raise ValueError(f"symmetry_candidates: tol must lie in (0, 1), got {tol}")
    if not 0 <= snap_tolerance < 0.5:
        raise ValueError(f"symmetry_candidates: snap_tolerance must lie in [0, 0.5), got "
                         f"{snap_tolerance}")
    rows = _rows(as_lagrangian(model), q, qdot)
    if not np.all(np.isfinite(rows)):
        raise ValueError("symmetry_candidates: the model's gradients are not finite at some "
                         "of the states; give states where the model is defined")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = rows / np.where(norms > 0, norms, 1.0)
    names = ([f"A[{i}][{j}]" for i in range(n) for j in range(n)]
             + [f"b[{i}]" for i in range(n)] + [f"c[{i}]" for i in range(n)])
    states = np.concatenate([np.asarray(q), np.asarray(qdot)], axis=1).astype(np.float64)
    states = states - states.mean(0)
    rank = int(np.linalg.matrix_rank(states, tol=tol * np.abs(states).max()))
    # A coordinate that (with its velocity) barely moves in the data leaves the unknowns
    # that multiply it undetermined: they are left out (set to 0), and reported.
    spread = np.maximum(states[:, :n].std(0), states[:, n:].std(0))
    flat = spread < tol * spread.max()
    known = np.ones(m, bool)
    for j in np.flatnonzero(flat):
        known[[i * n + j for i in range(n)]] = False
        known[n * n + n + j] = False
    _, s, vt = np.linalg.svd(rows[:, known], full_matrices=True)
    s = np.concatenate([s, np.zeros(vt.shape[0] - s.size)]) / s[0]
    null = np.zeros((int(np.sum(s < tol)), m))
    null[:, known] = vt[s < tol]
    generators = []
    if null.shape[0]:
        basis = _echelon(null)
        for vector in basis:
            snapped = [_snap(x, max_denominator, tol) for x in vector]
            exact = np.array([float(f) for f in snapped])
            residual = np.linalg.norm(rows @ exact) / (np.linalg.norm(exact) * np.sqrt(batch))
            generators.append({
                **_as_field(snapped, n),
                "snap_error": float(np.max(np.abs(vector - exact))),
                "residual": float(residual),
                "alternatives": _alternatives(vector, snapped, max_denominator, tol,
                                              snap_tolerance, n),
            })
    return SymmetryCandidates(n, tuple(generators), tuple(float(x) for x in s[::-1]), tol,
                              batch, rank,
                              tuple(name for name, k in zip(names, known) if not k))


def run_states(run, count: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` clean states `(q, qdot)` from a run's training data (its configuration
    rebuilt from the recorded initial state), where its models were trained.

    **Arguments:**

    - `run`: a `Run` (`load_run`).
    - `count`: how many states.
    - `seed`: the key of the draw.
    """
    from .source import AbstractStateSource

    if run.initial_state is None:
        raise ValueError(f"run {str(run.run_dir)!r} records no initial state, so its training "
                         "data cannot be rebuilt; pass states to symmetry_candidates yourself")
    key = jax.random.key(seed)
    source = run.config.make_data(run.module, *run.initial_state, key=key)
    if not isinstance(source, AbstractStateSource):
        raise ValueError(f"run {str(run.run_dir)!r} was trained on {run.config.data!r} data "
                         "without velocities; pass states (q, qdot) to symmetry_candidates "
                         "yourself, e.g. from a rollout of the model")
    _, batch = source.sample_clean(source.init(count), key, count)
    return np.asarray(batch[0], np.float64), np.asarray(batch[1], np.float64)


def data_states(path, module, count: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` states `(q, qdot)` drawn without replacement from a data file (what a run
    trained with `symnoether train --data FILE` saw).

    **Arguments:**

    - `path`: a `.npz` file of states (`q`, `qdot`, `qddot`).
    - `module`: the run's generated module (checks the file against its coordinates).
    - `count`: how many states (all of them when the file holds fewer).
    - `seed`: the seed of the draw.
    """
    from .data import Dataset, load_data

    data = load_data(path, module)
    if not isinstance(data, Dataset):
        raise ValueError(f"{str(path)!r} holds positions without velocities; the symmetry "
                         "condition needs states (q, qdot): give a file with q, qdot, qddot")
    rows = np.random.default_rng(seed).permutation(data.q.shape[0])[:count]
    return np.asarray(data.q, np.float64)[rows], np.asarray(data.qdot, np.float64)[rows]
