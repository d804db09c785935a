"""The exit-code promise (docs/ERRORS.md): every bad input reported in issue 17 gets one
clear `error:` message and exit code 2 (a failed check 1, Ctrl-C 130, a closed output
pipe 141), never a traceback; and no message blames the wrong cause."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from clitools import OSCILLATOR, cli
from handwritten import kepler_contract

import symnoether as sn
from symnoether import errors, pipeline
from symnoether.cli import main
from symnoether.numeric.data import trajectory_data
from symnoether.numeric.network import LagrangianNetwork
from symnoether.numeric.train import train

ROOT = Path(__file__).resolve().parent.parent
TINY = {"width": 8, "epochs": 1, "steps_per_epoch": 2, "t_final": 2.0}


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "osc.py"
    path.write_text(OSCILLATOR)
    return path


def _config(tmp_path, **settings) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY, **settings}))
    return path


def test_hierarchy_and_exit_codes():
    assert issubclass(errors.InputError, errors.SymnoetherError)
    assert issubclass(errors.CheckFailed, errors.SymnoetherError)
    for bad in (errors.SpecError, errors.SymmetryError, errors.ConfigError, errors.DataError,
                errors.RunFolderError, errors.IntegrityError, sn.CodegenError):
        assert issubclass(bad, errors.InputError) and bad("x").exit_code == 2, bad
    for failed in (sn.TrainingDivergedError, sn.codegen.printer.VerificationFailed):
        assert issubclass(failed, errors.CheckFailed), failed
    assert errors.format_problems("invalid thing", ["a", "b"]) == "invalid thing:\n  - a\n  - b"
    assert str(errors.ConfigError(["a"])) == "invalid training configuration (1 problem(s)):\n  - a"


@pytest.mark.parametrize("settings, message", [
    ({"noise": float("nan")}, "noise must be a finite number, got nan"),
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number, got nan"),
    ({"batch_size": 0}, "batch_size must be > 0, got 0"),
    ({"dt": 0.03}, "sample_every (0.1) must be a whole multiple of dt (0.03)"),
    ({"t_final": 0.05}, "t_final (0.05) must be >= sample_every (0.1)"),
    ({"t_final": float("inf")}, "t_final must be a finite number, got inf"),
    ({"dtype": "float16"}, "dtype must be one of ('float32', 'float64')"),
    ({"widht": 8}, "unknown training setting 'widht'; did you mean 'width'?"),
    ({"solver": "pinv", "mass_solve": "cholesky"}, "give mass_solve= only"),
])
def test_bad_configuration_is_exit_2_before_anything_is_written(tmp_path, spec, capsys,
                                                                 settings, message):
    out = tmp_path / "run"
    code, err = cli(capsys, "train", spec, "--out", out, "--config", _config(tmp_path, **settings))
    assert code == 2 and message in err and "diverged" not in err
    # (a deprecated "solver" is also shown, as one `warning:` line before the error)
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert lines[0].startswith("error: invalid training configuration")
    assert not out.exists()


@pytest.mark.parametrize("text, message", [
    ('{"width": 8', "is not valid JSON"),
    ("[1, 2]", "must hold a JSON object of settings"),
])
def test_unreadable_configuration_file(tmp_path, spec, capsys, text, message):
    config = tmp_path / "c.json"
    config.write_text(text)
    code, err = cli(capsys, "train", spec, "--out", tmp_path / "run", "--config", config)
    assert code == 2 and message in err
    code, err = cli(capsys, "train", spec, "--out", tmp_path / "run", "--config",
                    tmp_path / "missing.json")
    assert code == 2 and "cannot read the configuration file" in err


def test_float64_configuration_works_from_the_command_line(tmp_path, spec, capsys):
    # The command enables JAX's 64-bit mode itself (the test session has it on: off here).
    jax.config.update("jax_enable_x64", False)
    try:
        code, err = cli(capsys, "train", spec, "--out", tmp_path / "run", "--models",
                        "invariant", "--config", _config(tmp_path, dtype="float64"))
        assert code == 0, err
        assert jax.config.jax_enable_x64
    finally:
        jax.config.update("jax_enable_x64", True)
    data = np.load(tmp_path / "run" / "data.npz")
    assert data["q"].dtype == np.float64


@pytest.mark.parametrize("write, message", [
    (lambda path: path.write_bytes(b""), "the file is empty"),
    (lambda path: np.save(path, np.zeros((5, 2))), "holds a single array (a .npy file)"),
    (lambda path: np.savez(path, q=np.zeros((0, 2)), qdot=np.zeros((0, 2)),
                           qddot=np.zeros((0, 2))), "hold no samples"),
])
def test_bad_data_files_are_exit_2(tmp_path, spec, capsys, write, message):
    path = tmp_path / "data.npz"
    write(path)
    if not path.exists():  # np.save appends .npy
        path = tmp_path / "data.npz.npy"
    code, err = cli(capsys, "train", spec, "--out", tmp_path / "run", "--data", path,
                    "--config", _config(tmp_path))
    assert code == 2 and message in err


def test_read_only_output_folder(tmp_path, spec, capsys, monkeypatch):
    # As root every folder is writable, so the refusal the file system gives a user is
    # played by mkdir.
    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, err = cli(capsys, "train", spec, "--out", tmp_path / "ro" / "run", "--config",
                    _config(tmp_path))
    assert code == 2 and "Permission denied" in err and "you can write to" in err


def test_full_disk(tmp_path, spec, capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sn.files.os, "fsync", full)
    module = tmp_path / "m.py"
    code, err = cli(capsys, "generate", spec, "-o", module)
    assert code == 2 and "No space left on device" in err and "the disk is full" in err
    assert not module.exists() and list(tmp_path.iterdir()) == [spec]  # no temporary left


@pytest.mark.parametrize("argv, message", [
    (["--dt", "0"], "argument --dt: expected a finite number > 0, got '0'"),
    (["--t-final", "nan"], "argument --t-final: expected a finite number > 0, got 'nan'"),
    (["--t-final", "-1"], "expected a finite number > 0"),
])
def test_evaluate_rollout_arguments(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(tmp_path), *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    ({"dt": 0.0}, "dt must be a finite number > 0"),
    ({"t_final": float("nan")}, "t_final must be a finite number > 0"),
    ({"t_final": 0.01, "dt": 0.01}, "must be at least 2 steps"),
])
def test_evaluate_run_checks_its_rollout_settings(tmp_path, kwargs, message):
    with pytest.raises(errors.ConfigError, match=message):
        sn.evaluate_run(tmp_path, **kwargs)


def test_ctrl_c_suggests_resume(tmp_path, spec, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "train_models", interrupt)
    out = tmp_path / "run"
    code, err = cli(capsys, "train", spec, "--out", out, "--config", _config(tmp_path))
    assert code == 130 and err.startswith("error: interrupted")
    assert f"symnoether train {spec} --out {out} --resume" in err
    assert not (out / ".lock.json").exists()  # the lock was released


def test_broken_pipe_ends_quietly(spec):
    # `symnoether verify SPEC | head`: the reader is gone before anything is written.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "symnoether.cli", "verify", str(spec)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait() == 141
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err


def test_training_arguments_are_not_blamed_on_divergence():
    # NaN learning rate and zero batch size used to surface as "training diverged".
    data = trajectory_data(kepler_contract, jnp.array([1.0, 0.0, 0.0]),
                           jnp.array([0.0, 1.1, 0.1]), t_final=1.0, key=jax.random.key(0))
    model = LagrangianNetwork(kepler_contract, width=8, key=jax.random.key(1))
    for kwargs, message in (({"learning_rate": float("nan")}, "learning_rate must be a finite"),
                            ({"batch_size": 0}, "batch_size must be a positive integer"),
                            ({"final_learning_rate": -1.0}, "final_learning_rate must be")):
        with pytest.raises(errors.ConfigError, match=message):
            train(model, data, epochs=1, steps_per_epoch=2, key=jax.random.key(2), **kwargs)


# -- a bug is not bad input (issue 23): only the project's own input errors exit 2 ----------

def _shape_bug(*args, **kwargs):
    raise ValueError("Incompatible shapes for broadcasting: (3,) and (4,)")  # as JAX says


def test_a_plain_value_error_in_training_escapes_as_a_bug(tmp_path, spec, capsys, monkeypatch):
    # `train_models` used to turn every ValueError into RunFolderError: exit 2, "bad input".
    from symnoether.numeric import run as run_module

    monkeypatch.setattr(run_module, "train", _shape_bug)
    with pytest.raises(ValueError, match="Incompatible shapes") as info:
        main(["train", str(spec), "--out", str(tmp_path / "run"), "--config",
              str(_config(tmp_path))])  # fmt: skip
    assert not isinstance(info.value, errors.SymnoetherError)
    assert not (tmp_path / "run" / ".lock.json").exists()  # the lock was released


def test_a_plain_value_error_making_data_escapes_as_a_bug(tmp_path, spec, monkeypatch):
    # `pipeline._data` used to turn every ValueError into SpecError.
    from symnoether.numeric.config import TrainConfig

    monkeypatch.setattr(TrainConfig, "make_data", _shape_bug)
    with pytest.raises(ValueError, match="Incompatible shapes") as info:
        main(["train", str(spec), "--out", str(tmp_path / "run"), "--config",
              str(_config(tmp_path))])  # fmt: skip
    assert not isinstance(info.value, errors.SymnoetherError)


def test_data_the_initial_state_cannot_give_is_still_bad_input(tmp_path, spec, capsys):
    # The same place, the project's own error: exit 2 with the message, no traceback.
    code, err = cli(capsys, "train", spec, "--out", tmp_path / "run", "--config",
                    _config(tmp_path, data="kepler_orbit"))
    assert code == 2 and "invalid training data" in err and "3D state" in err


def test_resuming_a_checkpoint_of_other_settings_is_bad_input(tmp_path, spec, capsys):
    out = tmp_path / "run"
    assert cli(capsys, "train", spec, "--out", out, "--config", _config(tmp_path))[0] == 0
    # The checkpoint's own record differs from the run's: train refuses it with a
    # RunFolderError (it used to be a ValueError that train_models relabelled).
    path = out / "models" / "invariant" / "checkpoint.json"
    record = json.loads(path.read_text())
    record["settings"]["batch_size"] = 64
    path.write_text(json.dumps(record))
    code, err = cli(capsys, "train", spec, "--out", out, "--resume")
    assert code == 2 and "cannot resume from" in err and "batch_size was 64, now 128" in err


_BUG = """
import sys
import symnoether.numeric.run as run

def bug(*args, **kwargs):
    raise ValueError("Incompatible shapes for broadcasting: (3,) and (4,)")

run.train = bug
from symnoether.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_bug_exits_1_with_its_traceback(tmp_path, spec):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _BUG, "train", str(spec), "--out", str(tmp_path / "run"),
         "--config", str(_config(tmp_path))],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "Traceback" in out.stderr and "ValueError: Incompatible shapes" in out.stderr
    assert "error: " not in out.stderr


def test_overrides_are_checked_by_the_configuration_not_by_a_broad_except():
    with pytest.raises(errors.ConfigError,
                       match=r"unknown training setting 'widht'; did you mean 'width'"):
        pipeline.load_config(overrides={"widht": 8})
    with pytest.raises(errors.ConfigError, match="width must be > 0"):
        pipeline.load_config(overrides={"width": 0})
    assert pipeline.load_config(overrides={"width": 8}).width == 8
