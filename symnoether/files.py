"""Files shared by both halves: atomic writes and importing generated modules.

Neutral ground: imports neither jax nor sympy.
"""

import hashlib
import importlib.machinery
import importlib.util
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import IO

__all__ = ["atomic_write", "import_file"]


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file atomically: `write(file)` into a temporary file, then `os.replace`.

    **Arguments:**

    - `path`: the destination; its folder must exist.
    - `write`: a function that writes the contents to a binary file object.

    **Returns:**

    The destination path.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); give it the usual permissions.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def import_file(path: str | os.PathLike) -> ModuleType:
    """Import the Python file `path` under a name derived from its location.

    The module is not added to `sys.modules`, so loading several runs' modules never
    clashes. Raises `FileNotFoundError` with a hint when the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no generated module at {str(path)!r}; run `symnoether generate`")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"symnoether_generated_{digest}"
    # An explicit loader: the file may have any name (`generate -o model.txt`).
    spec = importlib.util.spec_from_file_location(
        name, path, loader=importlib.machinery.SourceFileLoader(name, str(path)))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
