"""The progress line of a training run: one updating line per model on a terminal, one
line every few epochs when stderr is a file or a pipe.

On a terminal the line is rewritten in place (`\\r`) after every epoch and ends with a
newline after the last; otherwise a line is written after the first epoch, every
`every` epochs (about ten lines per model) and after the last, so a log of 150 epochs has
a dozen lines rather than 150.
"""

import math
import sys
import time

__all__ = ["EpochLine", "piped_every"]

#: About this many lines per model when the output is not a terminal.
PIPED_LINES = 10


def piped_every(epochs: int) -> int:
    """The epochs between two lines when stderr is not a terminal."""
    return max(1, math.ceil(epochs / PIPED_LINES))


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class EpochLine:
    """The progress of one model's training, written to `sys.stderr` as it is at the time.

    **Arguments:**

    - `epochs`: the epochs of the whole run.
    - `done`: the epochs done before this call (a resume), not counted in the ETA.
    - `label`: what is training (e.g. `"invariant"`), shown first; `""` for none.
    """

    def __init__(self, epochs: int, done: int = 0, label: str = ""):
        self.epochs, self.done, self.label = epochs, done, label
        self.start = time.perf_counter()
        self.first_seconds = None  # the first epoch of a call compiles: left out of the ETA

    def eta(self, epoch: int) -> float | None:
        """Seconds left after `epoch` (1-based) from the mean time of this call's epochs
        after the first; None until two epochs are done."""
        ran = epoch - self.done
        if ran < 2 or self.first_seconds is None:
            return None
        per_epoch = (time.perf_counter() - self.start - self.first_seconds) / (ran - 1)
        return per_epoch * (self.epochs - epoch)

    def text(self, epoch: int, loss: float, rate: float) -> str:
        """The line after `epoch` (1-based) of mean loss `loss` at `rate` steps per second."""
        head = f"{self.label}: " if self.label else ""
        width = len(str(self.epochs))
        line = f"{head}epoch {epoch:>{width}}/{self.epochs}  loss {loss:.4e}  {rate:,.0f} steps/s"
        if epoch == self.done + 1:
            return line + " (with compilation)"
        eta = self.eta(epoch)
        if epoch == self.epochs:
            return line + f"  done in {_duration(time.perf_counter() - self.start)}"
        return line if eta is None else line + f"  ETA {_duration(eta)}"

    def update(self, epoch: int, loss: float, rate: float) -> None:
        """Write the line after `epoch` (1-based), as the stream allows."""
        if self.first_seconds is None:
            self.first_seconds = time.perf_counter() - self.start
        stream = sys.stderr
        last = epoch == self.epochs
        try:
            if stream.isatty():
                # Pad over a longer previous line; the newline only after the last epoch.
                stream.write("\r" + self.text(epoch, loss, rate).ljust(79) + ("\n" if last else ""))
            elif last or epoch == self.done + 1 or epoch % piped_every(self.epochs) == 0:
                stream.write(self.text(epoch, loss, rate) + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed stream: progress is not worth a crash
            pass

    def stop(self, epoch: int) -> None:
        """End a terminal's line early (training stopped after `epoch`)."""
        if epoch != self.epochs and sys.stderr.isatty():
            sys.stderr.write("\n")
