"""Multi-process training with jax.distributed: two local CPU processes (gloo collectives)
against one process with two devices; one writer; resume with another process count."""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symnoether.errors import ConfigError
from symnoether.numeric.distributed import distributed_settings

ROOT = Path(__file__).parent.parent
KEPLER = str(ROOT / "examples/kepler/spec.py")
CONFIG = {"width": 16, "epochs": 3, "steps_per_epoch": 10, "batch_size": 16,
          "learning_rate": 3e-3, "data": "stream", "stream_window": 64}  # fmt: skip

# Runs `symnoether train` as the CLI does, logging every path under the run folder that
# this process creates, opens for writing or moves into place; with STOP_AFTER=E it stops
# after epoch E (as Ctrl-C would), every process at the same point.
_DRIVER = r"""
import builtins, io, json, os, pathlib, sys
out = os.path.abspath(sys.argv[1])
log = []
def _mine(path):
    try:
        return os.path.abspath(os.fspath(path)).startswith(out)
    except TypeError:
        return False
def _wrap(module, name, writes):
    real = getattr(module, name)
    def wrapper(*args, **kwargs):
        if args and _mine(args[0]) and writes(args, kwargs):
            log.append(f"{name} {args[0]}")
        return real(*args, **kwargs)
    setattr(module, name, wrapper)
_mode = lambda a, k: any(c in (a[1] if len(a) > 1 else k.get("mode", "r")) for c in "wax+")
_wrap(builtins, "open", _mode)
_wrap(io, "open", _mode)
_flags = lambda a, k: (a[1] if len(a) > 1 else k.get("flags", 0))
_wrap(os, "open", lambda a, k: _flags(a, k) & (os.O_WRONLY | os.O_RDWR))
for name in ("replace", "rename", "mkdir", "makedirs", "unlink", "remove"):
    _wrap(os, name, lambda a, k: True)
real_mkdir = pathlib.Path.mkdir
def mkdir(self, *a, **k):
    if _mine(self):
        log.append(f"mkdir {self}")
    return real_mkdir(self, *a, **k)
pathlib.Path.mkdir = mkdir
stop = int(os.environ.get("STOP_AFTER", "0"))
if stop:
    from symnoether.numeric.epoch_line import EpochLine
    update = EpochLine.update
    def _update(self, epoch, *args):
        update(self, epoch, *args)
        if epoch == stop:
            raise KeyboardInterrupt
    EpochLine.update = _update
from symnoether.cli import main
code = main(["train", *sys.argv[2:]])
pathlib.Path(os.environ["WRITE_LOG"]).write_text(json.dumps(log))
sys.stdout.flush(); sys.stderr.flush()
os._exit(code)
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(tmp_path, out, name, *extra, devices=1, stop=0):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "WRITE_LOG": str(tmp_path / f"{name}.json"),
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "STOP_AFTER": str(stop), "PYTHONPATH": str(ROOT)}  # fmt: skip
    for variable in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        env.pop(variable, None)
    args = [KEPLER, "--out", str(out), "--config", str(tmp_path / "config.json"), "--models",
            "invariant", "--no-cache", *extra]  # fmt: skip
    return subprocess.Popen([sys.executable, "-c", _DRIVER, str(out), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process, code=0):
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == code, stderr[-3000:]
    return stderr


def _losses(folder: Path) -> np.ndarray:
    with (folder / "models/invariant/losses.csv").open() as file:
        return np.array([float(row["loss"]) for row in csv.DictReader(file)])


def test_two_processes_match_two_devices_one_writer_and_resume(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    port = _port()
    flags = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
             "--distributed-timeout", "120"]  # fmt: skip
    single = _train(tmp_path, tmp_path / "single", "single", devices=2)
    shared = tmp_path / "shared"  # both processes are given the same run folder
    processes = [_train(tmp_path, shared, f"p{i}", *flags, "--process-id", str(i), stop=2)
                 for i in range(2)]  # fmt: skip
    _finish(single)
    errors = [_finish(p, code=130) for p in processes]
    assert all("process" in e and "2 in all" in e for e in errors)
    reference = _losses(tmp_path / "single")
    assert len(reference) == 3
    np.testing.assert_allclose(_losses(shared), reference[:2], rtol=1e-6)
    # Only process 0 wrote anything into the run folder.
    written = [json.loads((tmp_path / f"p{i}.json").read_text()) for i in range(2)]
    assert written[1] == [], written[1]
    assert any("checkpoint" in entry for entry in written[0])
    visible = sorted(p.name for p in shared.iterdir() if not p.name.startswith("."))
    assert visible == ["models", "module.py", "run.json"]
    # Resume the run of two processes in one process with two devices.
    _finish(_train(tmp_path, shared, "resume", "--resume", devices=2))
    np.testing.assert_allclose(_losses(shared), reference, rtol=1e-6)


def test_a_missing_process_is_a_timeout_with_a_message(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    flags = ["--coordinator", f"127.0.0.1:{_port()}", "--num-processes", "2",
             "--process-id", "1", "--distributed-timeout", "2"]  # fmt: skip
    stderr = _finish(_train(tmp_path, tmp_path / "run", "alone", *flags), code=1)
    assert "did not all join within 2 s (process 1 of 2" in stderr
    assert not (tmp_path / "run").exists()


def test_distributed_settings_from_flags_and_environment():
    assert distributed_settings(environ={}) is None
    environ = {"JAX_COORDINATOR_ADDRESS": "node0:1234", "JAX_NUM_PROCESSES": "4",
               "JAX_PROCESS_ID": "3"}  # fmt: skip
    assert distributed_settings(environ=environ) == {
        "coordinator": "node0:1234", "num_processes": 4, "process_id": 3}
    assert distributed_settings(process_id=0, environ=environ)["process_id"] == 0
    with pytest.raises(ConfigError, match="(?s)num_processes is missing.*process_id is missing"):
        distributed_settings("node0:1234", environ={})
    with pytest.raises(ConfigError, match=r"process_id must be in 0..1, got 2"):
        distributed_settings("node0:1234", 2, 2, environ={})
    with pytest.raises(ConfigError, match="num_processes must be an integer, got 'two'"):
        distributed_settings("node0:1234", "two", 0, environ={})
