"""The symnoether commands on an sn.LatticeSystem spec (issue 25), at tiny lattice sizes."""

import json
from pathlib import Path

import numpy as np
import pytest

from symnoether.cli import main

ROOT = Path(__file__).resolve().parent.parent
XY = ROOT / "examples" / "xy_chain_local" / "spec.py"
FIELD = ROOT / "examples" / "complex_field_local" / "spec.py"


def test_derive_verify_generate(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_SITES", "5")
    assert main(["derive", str(XY)]) == 0
    out = capsys.readouterr().out
    assert "position invariants of one stencil: 2" in out
    assert "total_momentum_theta" in out
    assert main(["verify", str(XY)]) == 0
    out = capsys.readouterr().out
    assert "PASS  sum_translation_invariant" in out and "FAIL" not in out
    assert main(["generate", str(XY), "-o", str(tmp_path / "m.py")]) == 0
    text = (tmp_path / "m.py").read_text()
    assert 'MODULE_KIND = "lattice_field"' in text and "SHAPE = (5,)" in text


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # Train on a 5-site ring (a few steps: the commands, not the physics). About 12 s CPU.
    folder = tmp_path_factory.mktemp("lattice_cli")
    config = folder / "config.json"
    config.write_text(
        json.dumps({"steps": 20, "trajectories": 2, "t_data": 0.2, "width": 8, "t_final": 0.1})
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMNOETHER_SITES", "5")
    out = folder / "run"
    code = main(["train", str(XY), "--out", str(out), "--config", str(config), "--quiet"])
    mp.undo()
    assert code == 0
    return out


def test_train_writes_the_run_folder(run):
    record = json.loads((run / "lattice.json").read_text())
    assert record["kind"] == "lattice_field" and record["shape"] == [5]
    assert np.isfinite(record["final_loss"])
    for name in ("module.py", "model.eqx", "data.npz"):
        assert (run / name).is_file(), name
    with np.load(run / "data.npz") as f:
        assert f["q"].shape[1] == 5 and f["qddot"].shape == f["q"].shape


@pytest.mark.slow  # about 20 s CPU: truth data, the RK4 and matrix-free variational rollouts
def test_evaluate_on_a_bigger_lattice(run, capsys, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_SITES", "12")
    assert main(["evaluate", str(run), "--system", str(XY)]) == 0
    out = capsys.readouterr().out
    assert "lattice 12, 12 sites (trained on 5)" in out and "variational: model charges" in out
    folder = run / "evaluate_xy_chain_local_12"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["sites"] == 12 and np.isfinite(metrics["acceleration_error"])
    for method in ("rk4", "variational"):
        rollout = metrics["rollouts"][method]
        assert rollout["finite"] and np.isfinite(rollout["trajectory_error_max"])
        # The variational method keeps the model's total momentum to rounding; RK4 too,
        # since the learned forces sum to zero at every state. The true momentum is the
        # model's over its learned (constant) mass.
        assert max(rollout["charge_drift"]) < 1e-12, method
        assert max(rollout["true_charge_relative_drift"]) < 1e-10, method
    assert (folder / "field.png").stat().st_size > 0
    assert (folder / "charges.png").stat().st_size > 0


def test_evaluate_refuses_another_structure(run, capsys, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_SIDE", "3")
    assert main(["evaluate", str(run), "--system", str(FIELD)]) == 2
    err = capsys.readouterr().err
    assert "another site or stencil" in err and "dimension" in err
    assert main(["evaluate", str(run), "--dtype", "float32"]) == 2
    assert "--dtype: not supported for a lattice run" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):  # argparse: not an integrator's name
        main(["evaluate", str(run), "--method", "midpoint"])


def test_bad_input_is_explained(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_SITES", "5")
    config = tmp_path / "c.json"
    config.write_text('{"stepz": 3}')
    args = ["train", str(XY), "--out", str(tmp_path / "r")]
    assert main(args + ["--config", str(config)]) == 2
    assert "unknown lattice run setting(s) ['stepz']" in capsys.readouterr().err
    data = tmp_path / "d.npz"
    np.savez(data, q=np.zeros((4, 7)), qdot=np.zeros((4, 7)), qddot=np.zeros((4, 7)))
    assert main(args + ["--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "must have shape (samples, 5)" in err and "(4, 7)" in err
    np.savez(data, q=np.zeros((4, 5)))
    assert main(args + ["--data", str(data)]) == 2
    assert "qdot, qddot missing" in capsys.readouterr().err


def test_flags_a_lattice_or_particle_run_would_ignore_are_refused(tmp_path, capsys,
                                                                  monkeypatch):  # fmt: skip
    # --models and --epochs belong to the MLP runs; a lattice or particle run takes its
    # settings from --config, so each is refused before anything is made.
    monkeypatch.setenv("SYMNOETHER_SITES", "5")
    out = tmp_path / "r"
    assert main(["train", str(XY), "--out", str(out), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "--epochs is not supported for a lattice spec" in err and "leave the flag out" in err
    assert main(["train", str(XY), "--out", str(out), "--models", "invariant"]) == 2
    assert "--models is not supported" in capsys.readouterr().err
    particles = ROOT / "examples" / "lennard_jones_local" / "spec.py"
    assert main(["train", str(particles), "--out", str(out), "--resume",
                 "--data", str(tmp_path / "d.npz")]) == 2  # fmt: skip
    assert "--data, --resume are not supported for a local spec" in capsys.readouterr().err
    assert not out.exists()
