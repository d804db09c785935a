"""Multi-process training with `jax.distributed`: one Python process per host.

`initialize` starts JAX's multi-controller runtime from explicit arguments (the
`symnoether train` flags `--coordinator`, `--num-processes`, `--process-id`), else from the
environment variables `JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES` and `JAX_PROCESS_ID`,
else from a cluster JAX detects itself (SLURM's `srun`, Open MPI, ...). Afterwards
`jax.devices()` lists every process's devices, `train` builds its mesh over all of them,
and only process 0 writes the run folder (`symnoether.processes`).

On CPU the collectives go through gloo (`jax_cpu_collectives_implementation`), which must
be chosen before JAX's backend starts: call `initialize` before anything makes an array.

A process that does not come within `timeout` seconds makes every other one stop with a
message and exit code 1 instead of waiting for ever (a watchdog thread: JAX's own client
would abort the process from C++); one that dies during
training is noticed by the coordinator after `heartbeat_timeout` seconds of silence,
which stops the others with JAX's own message.
"""

import os
import sys
import threading

import jax

from ..errors import EXIT_FAILED, ConfigError, DistributedError
from ..processes import set_writer

__all__ = ["DistributedError", "distributed_settings", "initialize"]

_ENVIRONMENT = {"coordinator": "JAX_COORDINATOR_ADDRESS", "num_processes": "JAX_NUM_PROCESSES",
                "process_id": "JAX_PROCESS_ID"}  # fmt: skip


def distributed_settings(coordinator: str | None = None, num_processes: int | None = None,
                         process_id: int | None = None, environ=None) -> dict | None:  # fmt: skip
    """The coordinator address, process count and process id from the arguments, each
    falling back on its environment variable; `None` when none is set (one process, or a
    cluster for JAX to detect). `ConfigError` when they are incomplete or inconsistent."""
    environ = os.environ if environ is None else environ
    given = {"coordinator": coordinator, "num_processes": num_processes, "process_id": process_id}
    settings = {k: environ.get(_ENVIRONMENT[k]) if v is None else v for k, v in given.items()}
    if all(v is None for v in settings.values()):
        return None
    problems = [f"{name} is missing (flag --{name.replace('_', '-')} or ${_ENVIRONMENT[name]})"
                for name, value in settings.items() if value is None]  # fmt: skip
    for name in ("num_processes", "process_id"):
        value = settings[name]
        try:
            settings[name] = None if value is None else int(value)
        except (TypeError, ValueError):
            problems.append(f"{name} must be an integer, got {value!r}")
    count, index = settings["num_processes"], settings["process_id"]
    if isinstance(count, int) and count < 1:
        problems.append(f"num_processes must be >= 1, got {count}")
    elif isinstance(count, int) and isinstance(index, int) and not 0 <= index < count:
        problems.append(f"process_id must be in 0..{count - 1}, got {index}")
    if problems:
        raise ConfigError(problems, what="distributed setting(s)")
    return settings


def _give_up(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    os._exit(EXIT_FAILED)


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, timeout: float = 300,
               heartbeat_timeout: float = 100, detect: bool = False) -> int:  # fmt: skip
    """Join a multi-process run (`jax.distributed.initialize`); returns the process count.

    **Arguments:**

    - `coordinator`, `num_processes`, `process_id`: `HOST:PORT` of process 0, the number of
        processes and this one's index; each defaults to its environment variable
        (`JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`).
    - `timeout`: seconds to wait for every process to join; then the process prints why
        and exits with code 1 (JAX gives no exception to catch there).
    - `heartbeat_timeout`: seconds of silence after which a process counts as dead.
    - `detect`: with none of the three set, let JAX detect a cluster (SLURM, Open MPI);
        otherwise stay a single process.
    """
    settings = distributed_settings(coordinator, num_processes, process_id)
    if settings is None and not detect:
        return 1
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    arguments = {} if settings is None else {
        "coordinator_address": settings["coordinator"],
        "num_processes": settings["num_processes"], "process_id": settings["process_id"]}
    where = "" if settings is None else (
        f" (process {settings['process_id']} of {settings['num_processes']}, coordinator "
        f"{settings['coordinator']})")
    message = (f"the processes of the distributed run did not all join within {timeout:g} s"
               f"{where}. Start every process with the same coordinator address and process "
               "count and a distinct process id, check that the coordinator's port is "
               "reachable, or raise --distributed-timeout")
    # JAX's client ends the process from C++ (SIGABRT) when its deadline passes: a watchdog
    # that fires first turns that into this message and exit code 1.
    watchdog = threading.Timer(timeout, _give_up, args=(message,))
    watchdog.daemon = True
    watchdog.start()
    try:
        jax.distributed.initialize(**arguments, initialization_timeout=int(timeout) + 10,
                                   heartbeat_timeout_seconds=int(heartbeat_timeout))
    except Exception as error:  # JAX's runtime errors have no public type to name
        raise DistributedError(f"{message}: {error}") from error
    finally:
        watchdog.cancel()
    set_writer(jax.process_index() == 0)
    return jax.process_count()
