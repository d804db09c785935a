"""Progress of long stages: one line per stage with its time, on the `symnoether` logger.

The library stays quiet by default (a logger without handlers); the command line turns the
lines on (on stderr), so a user of a long symbolic stage is never left with a silent process.
"""

import contextlib
import logging
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


def enable(stream=None) -> None:
    """Print the progress lines on `stream` (default stderr), once per process."""
    if any(getattr(h, "_symnoether", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[symnoether] %(message)s"))
    handler._symnoether = True
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
