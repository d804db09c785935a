"""Module trust: a run folder's generated module must be the text that was generated
(its `MODULE_HASH`) and the module the run was trained with (`run.json` records it); a
user may override either check (`--trust-module`), which the run folder records.
"""

import hashlib
import os
from pathlib import Path
from types import ModuleType

from ..errors import IntegrityError, format_problems
from ..files import import_file
from ..integrity import module_problems
from ..run_folder import RunFolder
from .contract import check_module
from .record import read_record

__all__ = ["check_run_module", "load_module", "module_record_problems", "module_text_hash"]


def load_module(path: str | os.PathLike, *, trust: bool = False) -> ModuleType:
    """Import a generated module from its file (no SymPy needed).

    **Arguments:**

    - `path`: a `.py` file written by `sn.generate`.
    - `trust`: load it even when its text no longer matches the `MODULE_HASH` it carries
        (it was edited after generation); by default that raises `IntegrityError`.

    **Returns:**

    The module, checked against its hash and the generated-module contract. It is not
    added to `sys.modules`, so loading several runs' modules never clashes.
    """
    path = Path(path)
    if path.is_file() and not trust:
        problems = module_problems(path)
        if problems:
            raise IntegrityError(problems[0] + "; or load it anyway with --trust-module "
                                 "(trust=True), which a run folder records")
    return check_module(import_file(path))


def module_record_problems(run_dir: Path, module: ModuleType, info: dict) -> list[str]:
    """How `module` differs from the module `run.json` (`info`) records; empty when it is
    the same one (or when the record predates module hashes)."""
    recorded = info.get("module_hash")
    current = getattr(module, "MODULE_HASH", None)
    if recorded is None or recorded == current:
        return []
    path = RunFolder(run_dir).module
    return [
        f"{str(path)!r} is not the module this run was trained with: "
        f"run.json records MODULE_HASH {recorded} (system {info.get('system')!r}, spec hash "
        f"{info.get('spec_hash')}), the file has {current} (system "
        f"{getattr(module, 'SYSTEM_NAME', None)!r}, spec hash "
        f"{getattr(module, 'SPEC_HASH', None)}). Put the original back, or regenerate it "
        "from the spec the run was trained with (`symnoether generate SPEC -o "
        f"{path}`; another symnoether version may write another text)"
    ]


def check_run_module(run_dir: str | os.PathLike, *, trust: bool = False,
                     when: str = "evaluation",
                     record: dict | None = None) -> tuple[ModuleType, list[str]]:
    """Load `RUN_DIR/module.py` and check it: against the `MODULE_HASH` it carries (not
    edited since generation) and against the module `run.json` records (not swapped).

    **Arguments:**

    - `run_dir`: the run folder.
    - `trust`: when a check fails, use the module anyway and return the override.
    - `when`: the stage, for the override's sentence (`"training"`, `"evaluation"`).
    - `record`: the run record, when the caller has read it already (`read_record`);
        by default `run.json` is read (none: nothing recorded to compare with).

    **Returns:**

    `(module, overrides)`: the overrides made (empty unless `trust` and a check failed),
    each a sentence for the run's record. Raises `IntegrityError` when a check fails
    without `trust`, unless the run was trained with this exact text trusted (its hash in
    `trusted_module_hashes`; `run.json` then lists that override, and `load_run` shows it).
    """
    run_dir = Path(run_dir)
    path = RunFolder(run_dir).module
    problems = module_problems(path) if path.is_file() else []
    module = load_module(path, trust=True)
    info = (read_record(run_dir) or {}) if record is None else record
    problems += module_record_problems(run_dir, module, info)
    if problems and module_text_hash(path) in info.get("trusted_module_hashes", []):
        return module, []  # trusted when the run was trained: run.json lists the override
    if problems and not trust:
        raise IntegrityError(format_problems(
            f"the module of run folder {str(run_dir)!r} cannot be trusted, so nothing was "
            f"done; fix it as said, or pass --trust-module (trust_module=True) to use it "
            "anyway, which the run folder records", problems))
    return module, [f"module check overridden (--trust-module) at {when}: {p}"
                    for p in problems]


def module_text_hash(path: str | os.PathLike) -> str:
    """The hash of a module file's exact text, as a run records a module it was told to
    trust (`trusted_module_hashes` in `run.json`)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
