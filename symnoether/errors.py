"""Exceptions shared by both halves (no jax, no sympy import), and their exit codes.

Every error the package anticipates is a `SymnoetherError`; its `exit_code` is what the
`symnoether` command exits with after printing the message (see docs/ERRORS.md):

```
SymnoetherError                 exit_code 1 unless a subclass says otherwise
+-- InputError                  2: bad input (a spec, configuration, data file, run folder)
|   +-- SpecError               a declaration or spec file (also a ValueError)
|   +-- SymmetryError           a symmetry that is not what it claims (also a ValueError)
|   +-- ConfigError             a training configuration (also a ValueError and a TypeError)
|   +-- DataError               a data file (also a ValueError and a TypeError)
|   +-- RunFolderError          a run folder: locked, resumed with other settings, damaged
|       +-- IntegrityError      a generated module edited or swapped since it was generated
+-- CheckFailed                 1: a check failed (verification; training diverged)
+-- DistributedError            1: the processes of a distributed run could not connect
```

Lists of problems are formatted by one function, `format_problems`.
"""

from collections.abc import Iterable

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "CheckFailed",
    "ConfigError",
    "DataError",
    "DistributedError",
    "InputError",
    "IntegrityError",
    "RunFolderError",
    "SpecError",
    "SymmetryError",
    "SymnoetherError",
    "format_problems",
]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as the shell reports a process stopped by SIGINT


def format_problems(header: str, problems: Iterable[str]) -> str:
    """The one layout of a list of problems: `header:` then one `  - problem` a line.

    **Arguments:**

    - `header`: what was wrong as a whole, e.g. `"invalid training configuration"`.
    - `problems`: each problem, saying how to fix it.

    **Returns:**

    The message, a str (the header alone when there are no problems).
    """
    problems = [str(p) for p in problems]
    if not problems:
        return header
    return f"{header}:\n" + "\n".join(f"  - {p}" for p in problems)


class SymnoetherError(Exception):
    """The base of every error the package anticipates; `exit_code` is the command's."""

    exit_code: int = EXIT_FAILED


class InputError(SymnoetherError):
    """Bad input, which the user can fix: a spec, configuration, data file or run folder.

    **Arguments:**

    - `problems`: one message, or a list of problems (each saying how to fix it).
    - `what`: what was invalid; the message starts `invalid <what> (k problem(s))` when
        given a list or `what`, and is the message as given otherwise.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[str] | str, *, what: str | None = None):
        single = isinstance(problems, str)
        self.problems = [problems] if single else [str(p) for p in problems]
        self.what = what
        if single and what is None:
            message = problems
        else:
            n = len(self.problems)
            message = format_problems(f"invalid {what or 'input'} ({n} problem(s))",
                                      self.problems)
        super().__init__(message)


class SpecError(InputError, ValueError):
    """A declaration (coordinates, symmetry, system or spec file) is invalid.

    The message lists every problem found, each with how to fix it.
    """

    def __init__(self, problems: list[str] | str, *, what: str = "declaration"):
        super().__init__([problems] if isinstance(problems, str) else problems, what=what)


class SymmetryError(InputError, ValueError):
    """A symmetry is not what it claims: not closed, or not a symmetry of a Lagrangian.

    The message names the generator(s), the quantity and the non-zero residual.
    """

    def __init__(self, message: str):
        super().__init__(str(message))


class ConfigError(InputError, ValueError, TypeError):
    """A training configuration (or an argument of `train`) is invalid; lists every problem."""

    def __init__(self, problems: list[str] | str, *, what: str = "training configuration"):
        super().__init__([problems] if isinstance(problems, str) else problems, what=what)


class DataError(InputError, ValueError, TypeError):
    """A data file cannot be used: unreadable, missing arrays, wrong shapes, non-finite."""


class RunFolderError(InputError, ValueError):
    """A run folder cannot be used as asked: not a run folder, held by another trainer,
    resumed with other settings or data, or with a missing or damaged file."""


class IntegrityError(RunFolderError):
    """A generated module was edited after generation, or is not the one a run was trained
    with. The message says what differs and how to regenerate."""


class CheckFailed(SymnoetherError):
    """A check failed: a verification check, or training that diverged (exit code 1)."""

    exit_code = EXIT_FAILED


class DistributedError(SymnoetherError):
    """The processes of a distributed run (`jax.distributed`) could not be connected: one
    is missing, unreachable, or died (exit code 1)."""
