"""A trained model as `jax.export` artefacts (StableHLO) that plain JAX loads and runs.

`export_model` writes, into one folder, the model's Lagrangian and its acceleration as
serialised `jax.export.Exported` programs with the weights inside, for a batch of states of
any size, and a small `export.json` that says what they take and give:

```
OUT/lagrangian.jaxexport     (q, qdot) of shape (batch, n) -> L, shape (batch,)
OUT/acceleration.jaxexport   (q, qdot) of shape (batch, n) -> qddot, shape (batch, n)
                             (and t, shape (batch,), for a model driven in time)
OUT/export.json              n, dtype, coordinate names, the functions and how to load them
```
Loading needs JAX alone (no symnoether, no Equinox, no generated module):

```python
import jax, numpy as np
with open("OUT/acceleration.jaxexport", "rb") as f:
    acceleration = jax.export.deserialize(bytearray(f.read()))
qddot = acceleration.call(q, qdot)          # q, qdot: arrays of shape (batch, n)
```
The artefacts are for the platform they were exported on (`export.json` lists it; pass
`platforms=("cpu", "cuda")` for several) and run under the JAX version that wrote them or a
later one (JAX's compatibility guarantee for serialised programs).
"""

import json
import os
from pathlib import Path

import jax
import jax.numpy as jnp

from ..files import atomic_write
from .network import LagrangianNetwork

__all__ = ["EXPORTS", "export_model"]

EXPORTS = ("lagrangian", "acceleration")
SUFFIX = ".jaxexport"


def _functions(model: LagrangianNetwork) -> dict:
    # Batched functions of public methods only: one state -> vmap over the batch axis. The
    # acceleration of a model driven in time (a known drive) also takes each state's time.
    if model.explicit_time:
        acceleration = jax.vmap(lambda q, qdot, t: model.acceleration(q, qdot, t=t))
    else:
        acceleration = jax.vmap(lambda q, qdot: model.acceleration(q, qdot))
    if model.lagrangian_explicit_time:  # L(q, qdot, t) takes each state's time too
        lagrangian = jax.vmap(lambda q, qdot, t: model.lagrangian_at(t)(q, qdot))
    else:
        lagrangian = jax.vmap(lambda q, qdot: model(q, qdot))
    return {"lagrangian": lagrangian, "acceleration": acceleration}


def export_model(
    model: LagrangianNetwork,
    out_dir: str | os.PathLike,
    *,
    platforms: tuple[str, ...] | None = None,
    names: tuple[str, ...] | None = None,
) -> Path:
    """Write a model's Lagrangian and acceleration as serialised `jax.export` programs.

    **Arguments:**

    - `model`: a trained `LagrangianNetwork` (its weights are baked into the programs).
    - `out_dir`: the folder to write (created when missing; files in it are replaced).
    - `platforms`: the platforms to lower for, e.g. `("cpu", "cuda")`; default the
        platform JAX runs on now.
    - `names`: the coordinate names, for `export.json` (default `model.module`'s).

    **Returns:**

    The folder. A forced model's acceleration includes its force (a learned friction, a
    known drive); for a model driven in time (`explicit_time`) it takes `(q, qdot, t)`,
    `t` of shape `(batch,)`, and so does the Lagrangian of one that depends on the time
    explicitly (`lagrangian_explicit_time`, an `sn.TimeLagrangianNetwork`). Each program
    takes `(q, qdot)`, arrays of shape `(batch, n)` in the model's dtype for any batch
    size, and returns `L` of shape `(batch,)` or `qddot` of shape `(batch, n)`; see the
    module docstring for how plain JAX loads them. Raises
    `ValueError` for a model whose programs call back to Python (a `max_condition` check).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if names is None:
        names = tuple(model.module.COORDINATE_NAMES)
    n, dtype = len(names), jnp.dtype(model.dtype)
    (batch,) = jax.export.symbolic_shape("batch")
    state = jax.ShapeDtypeStruct((batch, n), dtype)
    record = {}
    times = jax.ShapeDtypeStruct((batch,), dtype)
    for name, function in _functions(model).items():
        timed = (name == "acceleration" and model.explicit_time) or (
            name == "lagrangian" and model.lagrangian_explicit_time)
        inputs = (state, state, times) if timed else (state, state)
        try:
            exported = jax.export.export(jax.jit(function), platforms=platforms)(*inputs)
        except NotImplementedError as error:  # a host callback: eqx.error_if, max_condition
            raise ValueError(
                f"cannot export {name}: {error}. The model checks its mass matrix at run "
                "time (max_condition=...), through a host callback that jax.export cannot "
                "serialise; export a model built without max_condition, or set the "
                "environment variable EQX_ON_ERROR=nan before Equinox is imported (states "
                "that would raise then give NaN)"
            ) from error
        file = f"{name}{SUFFIX}"
        _write(out / file, bytes(exported.serialize()))
        record[name] = {"file": file, "inputs": ["q", "qdot", "t"] if timed else ["q", "qdot"],
                        "in_shape": ["batch", n],
                        "out_shape": [d if isinstance(d, int) else str(d)
                                      for d in exported.out_avals[0].shape]}
    info = {"format": "jax.export", "jax_version": jax.__version__, "n": n,
            "dtype": dtype.name, "coordinates": list(names),
            "platforms": list(exported.platforms), "functions": record,
            "load": "jax.export.deserialize(bytearray(open(FILE, 'rb').read())).call(q, qdot)"}
    _write(out / "export.json", (json.dumps(info, indent=1) + "\n").encode())
    return out


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, lambda file: file.write(data))
