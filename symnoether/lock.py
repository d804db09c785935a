"""One writer per run folder: an exclusive lock held by training for its whole run.

Neutral ground: imports neither jax nor sympy. The lock is `RUN_DIR/.lock`, taken with
`filelock` (an operating-system lock, released by the system when its process ends, so a
killed trainer never leaves a stale lock behind). Who holds it is written to
`RUN_DIR/.lock.json` (process id, host, command, start time) for the message a second
trainer gets. The lock is re-entrant within a process: the CLI takes it around preparing
and training, and `train_run` takes it again for library users.

While it holds the lock, a process is the folder's only writer, so the temporary files
an interrupted atomic write left behind (`.NAME.XXXX.tmp`) are removed when it is taken.
"""

import contextlib
import datetime
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import filelock

from .errors import RunFolderError
from .processes import is_writer
from .run_folder import RunFolder

__all__ = ["LOCK", "clean_temporaries", "run_lock"]

LOCK = RunFolder(".").lock.name
_held: dict[Path, list] = {}  # folder -> [FileLock, depth], for re-entrance
_guard = threading.Lock()


def _holder_text(folder: Path) -> str:
    try:
        holder = json.loads(RunFolder(folder).lock_info.read_text())
        return (f"process {holder['pid']} on {holder['host']} since {holder['since']} "
                f"({holder['command']})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def clean_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that interrupted atomic writes left in a run folder
    (`RUN_DIR` and its `models/*` folders). Call only with the lock held.

    **Returns:**

    The paths removed.
    """
    folder = Path(folder)
    places = [folder, *RunFolder(folder).model_folders()]
    removed = []
    for place in places:
        if not place.is_dir():
            continue
        for path in sorted(place.glob(".*.tmp")):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the run folder's writer lock (creating the folder) for the `with` block.

    **Arguments:**

    - `folder`: the run folder.

    **Yields:**

    The folder, as a `Path`. In a process of a distributed run other than process 0
    (`symnoether.processes.is_writer()` false), which writes nothing, no lock is taken.
    Raises `RunFolderError` (exit code 2) naming the holder when
    another process holds the lock.
    """
    folder = Path(folder)
    if not is_writer():  # a process of a distributed run other than 0 writes nothing
        yield folder
        return
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is None:
        lock = filelock.FileLock(str(RunFolder(folder).lock), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise RunFolderError(
                f"run folder {str(folder)!r} is in use: {_holder_text(folder)} is writing to "
                "it. Wait for it to finish (or stop it), or choose another --out folder; "
                "two trainers in one folder would overwrite each other's files"
            ) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "command": " ".join(sys.argv) or sys.executable,
                  "since": datetime.datetime.now().isoformat(timespec="seconds")}
        try:
            RunFolder(folder).lock_info.write_text(json.dumps(holder) + "\n")
            clean_temporaries(folder)
        except BaseException:
            lock.release()
            raise
        with _guard:
            entry = _held[key] = [lock, 1]
    try:
        yield folder
    finally:
        with _guard:
            entry[1] -= 1
            last = entry[1] == 0
            if last:
                del _held[key]
        if last:
            RunFolder(folder).lock_info.unlink(missing_ok=True)
            _remove_if_unused(folder, created)
            entry[0].release()


def _remove_if_unused(folder: Path, created: bool) -> None:
    # A refused command (a bad spec, a failed verification, a run already trained) wrote
    # nothing: leave no lock file behind, nor the folder when the lock made it. Done while
    # the lock is still held, so another trainer finds it taken (timeout 0) or finds no
    # file; only one that opened the file in the microseconds between its own open and lock
    # calls, overlapping this unlink and release, could lock the removed file.
    try:
        if [p.name for p in folder.iterdir()] != [LOCK]:
            return
        (folder / LOCK).unlink()
        if created:
            folder.rmdir()
    except OSError:  # someone wrote in between, or the folder is not ours to remove
        pass
