"""Import a generated module from its file. Neutral ground: imports neither jax nor sympy."""

import hashlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

__all__ = ["import_file"]


def import_file(path: str | os.PathLike) -> ModuleType:
    """Import the Python file `path` under a name derived from its location.

    The module is not added to `sys.modules`, so loading several runs' modules never
    clashes. Raises `FileNotFoundError` with a hint when the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no generated module at {str(path)!r}; run `symnoether generate`")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(f"symnoether_generated_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
