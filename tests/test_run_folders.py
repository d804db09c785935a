"""Run folders that cannot lie: module integrity, one writer, full resume checks, and
`generate` that never destroys a user file (issue 17). Each test reproduces one reported
case and checks the documented exit code and message (docs/ERRORS.md)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clitools import OSCILLATOR, cli

from symnoether.cli import main
from symnoether.errors import IntegrityError
from symnoether.lock import run_lock
from symnoether.numeric.run import load_run

ROOT = Path(__file__).resolve().parent.parent
KEPLER = str(ROOT / "examples/kepler/spec.py")
TINY = {"width": 8, "epochs": 1, "steps_per_epoch": 2, "t_final": 5.0}
RESUME = ("--models", "invariant", "--resume")  # the variant the run has
EVALUATE = ("--t-final", "0.05", "--method", "rk4")  # short and cheap


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """A Kepler run folder (invariant model, one tiny epoch) and its configuration file."""
    folder = tmp_path_factory.mktemp("trained")
    config = folder / "tiny.json"
    config.write_text(json.dumps(TINY))
    assert main(["train", KEPLER, "--out", str(folder / "run"), "--config", str(config),
                 "--models", "invariant"]) == 0
    return folder / "run", config


@pytest.fixture
def run(trained, tmp_path) -> Path:
    """A fresh copy of the trained run folder."""
    return Path(shutil.copytree(trained[0], tmp_path / "run"))


def test_run_json_records_module_data_and_config(run):
    info = json.loads((run / "run.json").read_text())
    module = (run / "module.py").read_text()
    assert f'MODULE_HASH = "{info["module_hash"]}"' in module
    assert len(info["data_hash"]) == 16 and info["config"]["width"] == 8


def test_hand_edited_module_is_refused_by_resume_and_evaluate(run, trained, capsys):
    # The reported case: one invariant line edited in RUN/module.py.
    path = run / "module.py"
    text = path.read_text()
    edited = text.replace("x**2 + y**2 + z**2,  # x_x", "x**2 + y**2 + 1.01*z**2,  # x_x", 1)
    assert edited != text
    path.write_text(edited)
    code, err = cli(capsys, "train", KEPLER, "--out", run, *RESUME)
    assert code == 2 and "was edited after it was generated" in err and "--trust-module" in err
    code, err = cli(capsys, "evaluate", run, *EVALUATE)
    assert code == 2 and "was edited after it was generated" in err
    assert not (run / "evaluation").exists()
    # An explicit override works, and is recorded in the run folder and shown.
    code, err = cli(capsys, "evaluate", run, *EVALUATE, "--trust-module")
    assert code == 0
    assert "warning: module check overridden (--trust-module)" in cli.out
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    assert any("edited after it was generated" in w for w in metrics["warnings"])


def test_module_swapped_for_another_specs_is_refused(run, tmp_path, capsys):
    spec = tmp_path / "osc.py"
    spec.write_text(OSCILLATOR)
    assert main(["generate", str(spec), "-o", str(run / "module.py")]) == 0
    code, err = cli(capsys, "evaluate", run, *EVALUATE)
    assert code == 2 and "is not the module this run was trained with" in err
    assert "system 'kepler'" in err and "system 'osc'" in err


def test_resume_with_trusted_module_records_the_override(run, capsys):
    path = run / "module.py"
    path.write_text(path.read_text().replace("# x_x", "# x_x (edited)", 1))
    code, _ = cli(capsys, "train", KEPLER, "--out", run, *RESUME, "--trust-module")
    assert code == 0
    info = json.loads((run / "run.json").read_text())
    assert len(info["overrides"]) == 1 and "at training" in info["overrides"][0]
    # The same text is trusted from now on (the record shows it); any other edit is not.
    assert load_run(run).overrides == tuple(info["overrides"])
    path.write_text(path.read_text().replace("# x_x", "# x_x (again)", 1))
    with pytest.raises(IntegrityError, match="edited after it was generated"):
        load_run(run)


def test_resume_without_models_continues_the_recorded_variants(run, capsys):
    # `--resume` alone keeps an invariant-only run invariant-only: it neither trains nor
    # records the unconstrained network the default `--models` of a new run would add.
    code, _ = cli(capsys, "train", KEPLER, "--out", run, "--resume")
    assert code == 0
    assert json.loads((run / "run.json").read_text())["variants"] == ["invariant"]
    assert not (run / "models" / "unconstrained").exists()


def test_evaluate_dtype_flag(run, capsys):
    code, _ = cli(capsys, "evaluate", run, *EVALUATE, "--dtype", "float32")
    assert code == 0 and "float32" in cli.out
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    assert metrics["settings"]["dtype"] == "float32"
    with pytest.raises(SystemExit) as exit_:  # argparse's usage error
        main(["evaluate", str(run), "--dtype", "float16"])
    assert exit_.value.code == 2 and "invalid choice: 'float16'" in capsys.readouterr().err


def test_a_second_trainer_is_refused_naming_the_holder(run, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom symnoether.lock import run_lock\n"
         "with run_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n",
         str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = (run / "run.json").read_bytes()
        code, err = cli(capsys, "train", KEPLER, "--out", run, *RESUME)
        assert code == 2 and "is in use" in err and f"process {holder.pid}" in err
        assert (run / "run.json").read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    with run_lock(run):  # the operating system released the dead holder's lock
        assert (run / ".lock.json").is_file()
    assert not (run / ".lock.json").exists()


def test_resume_cleans_stale_temporary_files(run, capsys):
    stale = [run / "models/invariant/.checkpoint.eqx.k3j2.tmp", run / ".run.json.x1.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    assert cli(capsys, "train", KEPLER, "--out", run, *RESUME)[0] == 0
    assert not any(path.exists() for path in stale)


@pytest.mark.parametrize("change, difference", [
    ({"activation": "tanh"}, "activation was 'softplus', now 'tanh'"),
    ({"mass_solve": "pinv"}, "mass_solve was 'solve', now 'pinv'"),
    ({"init": "reference"}, "init was 'default', now 'reference'"),
    ({"adam_eps": 1e-7}, "adam_eps was 1e-08, now 1e-07"),
])
def test_resume_refuses_any_configuration_change(run, tmp_path, capsys, change, difference):
    config = tmp_path / "changed.json"
    config.write_text(json.dumps({**TINY, **change}))
    before = (run / "run.json").read_bytes()
    code, err = cli(capsys, "train", KEPLER, "--out", run, *RESUME, "--config", config)
    assert code == 2 and difference in err and "only ['checkpoint_every'] may change" in err
    assert (run / "run.json").read_bytes() == before


def test_old_records_of_init_reference_meant_cranmers(run, tmp_path, capsys):
    # Before the reference's own initialisation took the name, "reference" named Cranmer
    # et al.'s; records of that time have no adam_eps, and are read as "cranmer".
    for path in (run / "run.json", run / "models/invariant/config.json"):
        record = json.loads(path.read_text())
        config = record["config"]
        config.pop("adam_eps")
        config["init"] = "reference"
        path.write_text(json.dumps(record))
    assert load_run(run).config.init == "cranmer"
    config = tmp_path / "reference.json"
    config.write_text(json.dumps({**TINY, "init": "reference"}))
    code, err = cli(capsys, "train", KEPLER, "--out", run, *RESUME, "--config", config)
    assert code == 2 and "init was 'cranmer', now 'reference'" in err
    config.write_text(json.dumps({**TINY, "init": "cranmer"}))
    assert cli(capsys, "train", KEPLER, "--out", run, *RESUME, "--config", config)[0] == 0
    assert json.loads((run / "run.json").read_text())["config"]["init"] == "cranmer"


def test_resume_refuses_other_data_and_accepts_checkpoint_every(run, tmp_path, capsys):
    with np.load(run / "data.npz") as saved:
        arrays = {name: saved[name] for name in saved.files}
    arrays["qddot"] = arrays["qddot"] * 1.5
    np.savez(tmp_path / "other.npz", **arrays)
    code, err = cli(capsys, "train", KEPLER, "--out", run, *RESUME, "--data",
                    tmp_path / "other.npz")
    assert code == 2 and "the training data differ from the run's" in err
    config = tmp_path / "every.json"
    config.write_text(json.dumps({**TINY, "checkpoint_every": 5}))
    assert cli(capsys, "train", KEPLER, "--out", run, *RESUME, "--config", config)[0] == 0


def test_generate_never_overwrites_a_user_file(tmp_path, capsys):
    spec = tmp_path / "s.py"
    spec.write_text(OSCILLATOR)
    code, err = cli(capsys, "generate", spec, "-o", spec)  # the reported case
    assert code == 2 and "refusing to overwrite" in err and "--force" in err
    assert spec.read_text() == OSCILLATOR
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    assert cli(capsys, "generate", spec, "-o", notes)[0] == 2 and notes.read_text() == "mine"
    assert cli(capsys, "generate", spec, "-o", tmp_path)[0] == 2  # a folder
    module = tmp_path / "m.py"
    assert cli(capsys, "generate", spec, "-o", module)[0] == 0
    assert cli(capsys, "generate", spec, "-o", module)[0] == 0  # a generated module: replaced
    assert cli(capsys, "generate", spec, "-o", notes, "--force")[0] == 0
    assert "MODULE_HASH" in notes.read_text()


def test_truncated_json_in_a_run_folder(run, capsys):
    path = run / "run.json"
    path.write_text(path.read_text()[:40])
    code, err = cli(capsys, "evaluate", run)
    assert code == 2 and "run.json" in err and "damaged" in err
    info = run / "models/invariant/checkpoint.json"
    info.write_text(info.read_text()[:10])
    shutil.copy(run.parent / "run" / "models/invariant/config.json", run / "x.json")
    code, err = cli(capsys, "train", KEPLER, "--out", run, *RESUME)
    assert code == 2 and "damaged" in err


def test_truncated_checkpoint_is_not_called_a_configuration_mismatch(run, capsys):
    path = run / "models/invariant/checkpoint.eqx"
    path.write_bytes(path.read_bytes()[:-100])
    code, err = cli(capsys, "train", KEPLER, "--out", run, *RESUME)
    assert code == 2 and "is truncated" in err and "does not match" not in err
    code, err = cli(capsys, "evaluate", run, *EVALUATE)
    assert code == 2 and "is truncated" in err


def test_missing_checkpoint_at_evaluate_is_an_error(run, capsys):
    (run / "models/invariant/checkpoint.eqx").unlink()
    code, err = cli(capsys, "evaluate", run, *EVALUATE)
    assert code == 2 and "['invariant']" in err and "no checkpoint" in err
    assert not (run / "evaluation").exists()


def test_the_layout_is_the_one_run_folder_describes(run):
    # Every file training wrote is at a path RunFolder names (issue 23: one home for them).
    from symnoether.run_folder import CHECKPOINT_INFO, LOSSES, RunFolder

    folder = RunFolder(str(run))
    assert folder.path == run
    named = {folder.module, folder.data, folder.run_json, folder.config("invariant"),
             folder.checkpoint("invariant"), folder.model("invariant") / CHECKPOINT_INFO,
             folder.model("invariant") / LOSSES}  # fmt: skip
    written = {p for p in run.rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert written == named
    assert folder.checkpoints() == [folder.checkpoint("invariant")]
    assert folder.metrics.parent == folder.evaluation == run / "evaluation"
    assert (folder.lock.name, folder.lock_info.name) == (".lock", ".lock.json")
