"""Seed ensembles: K models of one configuration trained as one vectorised program.

`train_ensemble` runs `train`'s jitted epoch under `eqx.filter_vmap` over the models'
parameters, the optimiser states, the data (one source per seed, stacked: a fixed set's
noise depends on the seed) and the keys. Seed by seed it computes what K separate `train`
calls compute, up to float32 rounding (a vectorised matrix product may sum in another
order); on an accelerator the K small networks fill the device that one leaves idle.
Each seed has its own checkpoint folder, written as `train` writes one, so a seed's
folder resumes and evaluates like any other.
"""

import time
from collections.abc import Sequence
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from ..errors import RunFolderError
from .epoch_line import EpochLine
from .source import AbstractSource
from .train import (
    TrainResult,
    _averaged_or,
    _diverged,
    _host,
    _prepare,
    _run_epoch,
    _save,
    _start,
)

__all__ = ["train_ensemble"]


def _stack(trees):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def _member(tree, k: int):
    return jax.tree.map(lambda x: x[k], tree)


@eqx.filter_jit
def _run_ensemble_epoch(params, opt_state, source, source_state, keys, *, n_steps, settings):
    # `settings`: the static keyword arguments of `train`'s epoch (the same for every seed).
    def one(params, opt_state, source, source_state, key):
        return _run_epoch(params, opt_state, source, source_state, key, n_steps=n_steps,
                          **settings)  # fmt: skip

    return eqx.filter_vmap(one)(params, opt_state, source, source_state, keys)


def train_ensemble(
    models: Sequence,
    data: AbstractSource | Sequence[AbstractSource],
    *,
    keys: Sequence[PRNGKeyArray],
    epochs: int | None = None,
    steps: int | None = None,
    steps_per_epoch: int = 100,
    batch_size: int = 128,
    learning_rate: float | None = None,
    final_learning_rate: float | None = None,
    optimizer=None,
    checkpoint_dirs: Sequence[str | Path] | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    progress: bool | str = True,
    devices=None,
    loss=None,
    schedule_steps: int | None = None,
) -> list[TrainResult]:
    """Train K models of one structure at once, one per key, as `train` trains each.

    **Arguments:**

    - `models`: K models of the same architecture (e.g. one `TrainConfig.make_network`
        per seed).
    - `data`: one data source for all, or one per model (same kind and shapes).
    - `keys`: K random keys for the batches, one per model.
    - `checkpoint_dirs`: K checkpoint folders, or None.
    - `progress`: one progress line for the ensemble (its mean loss); a string labels it.
    - the rest: as `train`'s, the same for every model (`schedule_steps` too: an extended
        ensemble keeps its learning-rate schedule). There is no validation split.

    **Returns:**

    A list of K `TrainResult`s, in the order of `models`. A non-finite loss of any model
    raises `TrainingDivergedError` naming its folder (every folder keeps its last good
    checkpoint). Members whose checkpoints are at different epochs are a `RunFolderError`
    (resume them one by one with `train`).
    """
    count = len(models)
    sources = list(data) if isinstance(data, Sequence) else [data] * count
    folders = [None] * count if checkpoint_dirs is None else list(checkpoint_dirs)
    if count < 1 or not (len(sources) == len(keys) == len(folders) == count):
        raise ValueError(
            f"an ensemble needs as many models, keys, data sources (or one) and checkpoint "
            f"folders (or None) as members; got {count} models, {len(keys)} keys, "
            f"{len(sources)} sources, {len(folders)} folders")
    if not resume and isinstance(sources[0], AbstractSource):  # as `train` warns, once
        sources[0].warn_if_energy_decays(models[0].module, stacklevel=3)
    loops = [_prepare(model, source, key, epochs=epochs, steps=steps,
                      steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                      learning_rate=learning_rate, final_learning_rate=final_learning_rate,
                      optimizer=optimizer, checkpoint_dir=folder,
                      checkpoint_every=checkpoint_every, devices=devices, loss=loss,
                      resume=resume, schedule_steps=schedule_steps)
             for model, source, key, folder in zip(models, sources, keys, folders)]  # fmt: skip
    if any(not eqx.tree_equal(loop.static, loops[0].static) for loop in loops):
        raise ValueError("the models of an ensemble must have the same architecture and "
                         "settings (they differ in more than their parameters)")
    starts = [_start(loop, loop.model, resume, batch_size) for loop in loops]
    done = {start[3] for start in starts}
    if len(done) > 1:
        at = ", ".join(f"{loop.folder}: {start[3]}" for loop, start in zip(loops, starts))
        raise RunFolderError(f"the checkpoints of an ensemble are at different epochs ({at}); "
                             "resume its members one by one with `train`")
    done, step = starts[0][3], starts[0][4]
    params, opt_state, source_state = (_stack([s[i] for s in starts]) for i in range(3))
    losses = [list(s[5]) for s in starts]
    rest = eqx.filter(loops[0].source, eqx.is_array, inverse=True)
    source = eqx.combine(_stack([eqx.filter(loop.source, eqx.is_array) for loop in loops]), rest)
    run_epoch = loops[0].run_epoch
    settings = dict(run_epoch.keywords)
    base_keys = jnp.stack([loop.key for loop in loops])
    lengths = loops[0].lengths
    label = progress if isinstance(progress, str) else f"ensemble of {count}"
    line = EpochLine(len(lengths), done, label)
    for epoch in range(done, len(lengths)):
        start = time.perf_counter()
        epoch_keys = jax.vmap(jax.random.fold_in, (0, None))(base_keys, epoch)
        params, opt_state, source_state, step_losses = _run_ensemble_epoch(
            params, opt_state, source, source_state, epoch_keys, n_steps=lengths[epoch],
            settings=settings,
        )  # fmt: skip
        step_losses = _host(step_losses)
        seconds = time.perf_counter() - start
        for k, loop in enumerate(loops):
            if not np.all(np.isfinite(step_losses[k])):
                raise _diverged(step_losses[k], epoch + 1, step, loop.folder)
        means = step_losses.mean(axis=1, dtype=step_losses.dtype)
        step += lengths[epoch]
        for k, loop in enumerate(loops):
            member = _member((params, opt_state, source_state), k)
            _save(loop, *member, epoch + 1, step, means[k], seconds)
            losses[k].append(means[k])
        if progress is True or isinstance(progress, str):
            line.update(epoch + 1, float(means.mean()), lengths[epoch] / seconds)
    return [TrainResult(eqx.combine(_averaged_or(*_member((params, opt_state), k)),
                                    loop.static),
                        np.asarray(losses[k], dtype=loop.model.dtype))
            for k, loop in enumerate(loops)]  # fmt: skip
