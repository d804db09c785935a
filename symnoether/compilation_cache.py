"""JAX's persistent compilation cache for the `symnoether` command: fast restarts.

Neutral ground: imports neither jax nor sympy. The command calls `enable_cache` before
anything imports JAX, so the settings travel as JAX's own environment variables
(`JAX_COMPILATION_CACHE_DIR`, ...), which JAX reads when it is imported; a command of the
symbolic half (derive, verify) therefore still never loads JAX. When JAX is already
imported (the command called from Python), `jax.config.update` sets the same options.

The folder, in order: `--cache-dir DIR` (or `--no-cache`), the environment variable
`SYMNOETHER_CACHE_DIR` (empty, `0`, `off` or `none`: no cache), `JAX_COMPILATION_CACHE_DIR`
when the user set it, else `$XDG_CACHE_HOME/symnoether/jax` (`~/.cache/symnoether/jax`).
Library users turn the cache on themselves, with JAX's own call:
`jax.config.update("jax_compilation_cache_dir", "/path/to/cache")`.
"""

import os
import sys
from pathlib import Path

__all__ = ["ENV", "cache_folder", "enable_cache"]

ENV = "SYMNOETHER_CACHE_DIR"
_OFF = ("", "0", "off", "none", "false", "no")
# Every program is worth caching here: the training step and the rollouts each take
# seconds to compile on a laptop CPU, but also the many small programs (data generation,
# standardisation, initialisation) whose compile times add up on a restart. JAX's
# defaults (1 s, and a size floor) would skip most of them.
_SETTINGS = {
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": -1,
}


def cache_folder(folder: str | os.PathLike | None = None, *, enabled: bool = True,
                 environ=os.environ) -> Path | None:
    """The compilation cache folder the command uses, or None when the cache is off.

    **Arguments:**

    - `folder`: the folder asked for (`--cache-dir`); None for the default.
    - `enabled`: False for `--no-cache`.
    - `environ`: the environment to read (`os.environ`).

    **Returns:**

    The folder (not created), or None.
    """
    if not enabled:
        return None
    if folder is not None:
        return Path(folder).expanduser()
    if ENV in environ:
        value = environ[ENV].strip()
        return None if value.lower() in _OFF else Path(value).expanduser()
    if environ.get("JAX_COMPILATION_CACHE_DIR"):
        return Path(environ["JAX_COMPILATION_CACHE_DIR"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "symnoether" / "jax"


def enable_cache(folder: str | os.PathLike | None = None, *, enabled: bool = True) -> Path | None:
    """Point JAX's persistent compilation cache at `cache_folder(folder, enabled=...)`.

    **Returns:**

    The folder in use, or None (cache off; JAX's own settings are then left alone).
    """
    path = cache_folder(folder, enabled=enabled)
    if path is None:
        return None
    settings = {"jax_compilation_cache_dir": str(path), **_SETTINGS}
    if "jax" in sys.modules:  # too late for the environment: JAX read it on import
        import jax

        for name, value in settings.items():
            jax.config.update(name, value)
    else:
        for name, value in settings.items():
            os.environ[name.upper()] = str(value)
    return path
