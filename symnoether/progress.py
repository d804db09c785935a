"""Progress of long stages: one line per stage with its time, on the `symnoether` logger.

The library stays quiet by default (a logger without handlers); the command line turns the
lines on (on stderr), so a user of a long symbolic stage is never left with a silent process.
"""

import contextlib
import logging
import sys
import time

__all__ = ["enable", "stage"]

logger = logging.getLogger("symnoether")


@contextlib.contextmanager
def stage(what: str):
    """Time the block and log `what` with its duration; `what` may be extended by the block.

    **Arguments:**

    - `what`: the stage, e.g. `"verify: conservation checks"`.

    **Returns:**

    A context manager yielding a list: strings appended to it are added to the line (e.g.
    a count known only at the end).
    """
    start = time.perf_counter()
    extra: list[str] = []
    yield extra
    details = f" ({', '.join(extra)})" if extra else ""
    logger.info("%s%s: %.2f s", what, details, time.perf_counter() - start)


class _Stderr(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (tests and tools swap it)."""

    def emit(self, record):
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except (OSError, ValueError):  # closed or broken stream: progress is not worth a crash
            pass


def enable() -> None:
    """Print the progress lines on stderr, once per process."""
    if any(isinstance(h, _Stderr) for h in logger.handlers):
        return
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("[symnoether] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
