"""The `symnoether` command: output, exit codes and error messages."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from symnoether.cli import main

ROOT = Path(__file__).resolve().parent.parent
KEPLER = str(ROOT / "examples/kepler/spec.py")

BROKEN = textwrap.dedent("""
    import sympy
    import symnoether as sn
    c = sn.coordinates("x y z", blocks={"x": ["x", "y", "z"]})
    X, V = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
    system = sn.System("broken", c, sn.rotations(c, ["x"]),
                       lagrangian=V.dot(V) / 2 + 1 / sympy.sqrt(X.dot(X)) + X[0] / 10)
""")


def test_derive_prints_invariants_certificate_and_charges(capsys):
    assert main(["derive", KEPLER]) == 0
    out = capsys.readouterr().out
    for text in ("x_x = x**2 + y**2 + z**2", "complete: True", "rotation_x0x1: xi = (-y, x, 0)",
                 "angular_momentum_x0x1 = ", "expected 2n - r = 3"):
        assert text in out


def test_verify_exit_codes(tmp_path, capsys):
    assert main(["verify", KEPLER]) == 0
    assert "all passed" in capsys.readouterr().out
    broken = tmp_path / "broken.py"
    broken.write_text(BROKEN)
    assert main(["verify", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "rotation_x0x1" in out
    bad = tmp_path / "bad.py"
    bad.write_text("import symnoether as sn\nc = sn.coordinates('x x')\n")
    assert main(["verify", str(bad)]) == 2
    assert "declared twice" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.py")]) == 2


def test_generate_writes_module_or_refuses(tmp_path, capsys):
    out = tmp_path / "kepler_model.py"
    assert main(["generate", KEPLER, "-o", str(out)]) == 0
    assert "def invariant_derivatives" in out.read_text()
    broken = tmp_path / "broken.py"
    broken.write_text(BROKEN)
    assert main(["generate", str(broken), "-o", str(tmp_path / "b.py")]) == 1
    assert "--force" in capsys.readouterr().err and not (tmp_path / "b.py").exists()
    assert main(["generate", str(broken), "-o", str(tmp_path / "b.py"), "--force"]) == 0


def test_train_rejects_bad_data_and_config(tmp_path, capsys):
    data = tmp_path / "data.npz"
    np.savez(data, q=np.zeros((5, 2)), qdot=np.zeros((5, 2)), qddot=np.zeros((5, 2)))
    assert main(["train", KEPLER, "--out", str(tmp_path / "run"), "--data", str(data)]) == 2
    assert "shape" in capsys.readouterr().err
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"epochs": -1}))
    assert main(["train", KEPLER, "--out", str(tmp_path / "run2"), "--config",
                 str(config)]) == 2
    assert "epochs" in capsys.readouterr().err


def test_evaluate_needs_a_run_folder(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_no_command_and_version(capsys):
    assert main([]) == 2
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("models", ["nope", ""])
def test_train_rejects_unknown_variants(tmp_path, models, capsys):
    assert main(["train", KEPLER, "--out", str(tmp_path / "run"), "--models", models,
                 "--config", str(_tiny_config(tmp_path))]) == 2
    assert "variants" in capsys.readouterr().err


def _tiny_config(tmp_path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"width": 8, "epochs": 1, "steps_per_epoch": 2,
                                "t_final": 5.0}))
    return path


def test_train_resume_and_refusal_to_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    config = str(_tiny_config(tmp_path))
    args = ["train", KEPLER, "--out", str(out), "--config", config, "--models", "invariant"]
    assert main(args) == 0
    checkpoint = (out / "models/invariant/checkpoint.eqx").read_bytes()
    assert main(args) == 2
    assert "already holds trained models" in capsys.readouterr().err
    assert (out / "models/invariant/checkpoint.eqx").read_bytes() == checkpoint
    assert main([*args, "--resume"]) == 0
    epochs = json.loads((out / "run.json").read_text())["config"]["epochs"]
    assert main([*args, "--resume", "--epochs", str(epochs + 1)]) == 0  # extended
    info = json.loads((out / "models/invariant/checkpoint.json").read_text())
    assert info["epoch"] == epochs + 1


def test_learn_from_user_data_without_true_lagrangian(tmp_path, capsys):
    spec = tmp_path / "spec.py"
    spec.write_text(textwrap.dedent("""
        import symnoether as sn
        c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
        system = sn.System("planar", c, sn.rotations(c, ["x"]))
    """))
    rng = np.random.default_rng(0)
    q, v = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
    np.savez(tmp_path / "data.npz", q=q, qdot=v, qddot=-q)
    out = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(out), "--data", str(tmp_path / "data.npz"),
                 "--config", str(_tiny_config(tmp_path)), "--models", "invariant"]) == 0
    assert main(["evaluate", str(out), "--t-final", "0.5"]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("invariant")]
    assert len(rows) == 2 and all(row.split()[-1] == "-" for row in rows)
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert "true_charges" not in metrics["models"]["invariant"]["rk4"]
    assert main(["evaluate", str(out), "--t-final", "0.5", "--method", "variational"]) == 0
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["settings"]["methods"] == ["variational"]
    # Against data, without a true Lagrangian: one trajectory of a file with times t.
    t = np.linspace(0.0, 0.5, 6)
    q = np.stack([np.cos(t), np.sin(t)], 1)
    np.savez(tmp_path / "orbit.npz", q=q, qdot=np.stack([-q[:, 1], q[:, 0]], 1), qddot=-q, t=t)
    capsys.readouterr()
    assert main(["evaluate", str(out), "--t-final", "0.5", "--method", "rk4",
                 "--data", str(tmp_path / "orbit.npz")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("invariant")]  # fmt: skip
    assert len(rows) == 1 and rows[0].split()[-1] != "-" and rows[0].split()[-2] == "-"
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["models"]["invariant"]["rk4"]["data_error"]["trajectories"] == 1


def test_evaluate_method_choices_come_from_the_registry(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(tmp_path), "--method", "rk4,euler"])
    assert exit_info.value.code == 2
    assert "unknown integrator(s) ['euler']; choose from rk4, variational" in (
        capsys.readouterr().err
    )


PENDULUM_WRONG = textwrap.dedent("""
    import sympy
    import symnoether as sn
    c = sn.coordinates("theta phi")
    theta, phi = c.q
    thetadot, phidot = c.qdot
    system = sn.System("pendulum", c, sn.translations(c, coordinates=["theta"]),
                       lagrangian=(thetadot**2 + sympy.sin(theta)**2 * phidot**2) / 2
                       + sympy.cos(theta), initial_state=((1.0, 0.0), (0.0, 0.5)))
""")


def test_wrong_angular_symmetry_fails_verify_and_train_refuses_cleanly(tmp_path, capsys):
    spec = tmp_path / "pendulum.py"
    spec.write_text(PENDULUM_WRONG)
    assert main(["verify", str(spec)]) == 1
    assert "FAIL  symmetry[translation_theta]" in capsys.readouterr().out
    out = tmp_path / "run"
    args = ["train", str(spec), "--out", str(out), "--config", str(_tiny_config(tmp_path)),
            "--models", "invariant"]
    assert main(args) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith("[symnoether]")]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "Traceback" not in err
    assert "symmetry[translation_theta]" in err and "--force" in err
    assert not (out / "module.py").exists()
    assert main([*args, "--force"]) == 0
    assert "WARNING: generated with force=True" in (out / "module.py").read_text()


def test_a_system_without_symmetry_runs_end_to_end(tmp_path, capsys):
    spec = str(ROOT / "examples/double_pendulum/spec.py")
    out = tmp_path / "run"
    assert main(["train", spec, "--out", str(out), "--config", str(_tiny_config(tmp_path)),
                 "--models", "invariant"]) == 0
    assert main(["evaluate", str(out), "--t-final", "0.2"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.startswith("invariant")]
    assert len(rows) == 2 and all(row[3:5] == ["-", "-"] for row in rows)  # no charges
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["settings"]["charge_names"] == []
    assert not (out / "evaluation" / "charge_drift.png").exists()


def test_minimal_switch_reaches_every_symbolic_stage(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_DIM", "2")
    spec = str(ROOT / "examples/two_particles/spec.py")
    assert main(["derive", spec]) == 0
    assert "invariants  8 " in capsys.readouterr().out
    assert main(["derive", spec, "--minimal"]) == 0
    out = capsys.readouterr().out
    assert "invariants  5 " in out and "minimal set: 5 of 8" in out
    module = tmp_path / "m.py"
    assert main(["generate", spec, "-o", str(module), "--minimal"]) == 0
    assert main(["verify", spec, "--minimal"]) == 0


@pytest.mark.slow  # about 18 s CPU; the same train/evaluate path as the other end-to-end
# runs here, with the flat lattice's known kinetic part (tests/test_known.py covers that part)
def test_lattice_example_runs_end_to_end_with_few_sites(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYMNOETHER_SITES", "4")
    spec = str(ROOT / "examples/lattice/spec.py")
    out = tmp_path / "run"
    assert main(["train", spec, "--out", str(out), "--config", str(_tiny_config(tmp_path)),
                 "--models", "invariant"]) == 0
    assert "HAS_KNOWN_LAGRANGIAN = True" in (out / "module.py").read_text()
    assert main(["evaluate", str(out), "--t-final", "0.5"]) == 0
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    drift = metrics["models"]["invariant"]["variational"]["charge_vector"]["max_relative_drift"]
    assert drift is not None and drift < 1e-12  # the total momentum, to rounding


def test_train_recognises_a_positions_file_and_rejects_a_bad_one(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, q=np.zeros((2, 6, 3)), t=np.array([0, 0.1, 0.2, 0.4, 0.5, 0.6]))
    assert main(["train", KEPLER, "--out", str(tmp_path / "run"), "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "invalid positions file" in err and "not uniformly spaced" in err


@pytest.mark.slow
def test_train_and_evaluate_from_positions_only(tmp_path, capsys):
    import jax
    from handwritten import kepler_contract

    import symnoether as sn

    data = sn.position_trajectories(kepler_contract, [1.0, 0.0, 0.0], [0.0, 1.2, 0.1],
                                    n_trajectories=2, spread=0.05, t_final=5.0,
                                    key=jax.random.key(0))  # fmt: skip
    sn.save_positions(tmp_path / "positions.npz", data)
    out = tmp_path / "run"
    args = ["train", KEPLER, "--out", str(out), "--data", str(tmp_path / "positions.npz"),
            "--config", str(_tiny_config(tmp_path)), "--models", "invariant"]  # fmt: skip
    assert main(args) == 0
    assert isinstance(sn.load_data(out / "data.npz", kepler_contract), sn.PositionData)
    assert main([*args, "--resume"]) == 0
    assert main(["evaluate", str(out), "--t-final", "0.5", "--method", "variational"]) == 0
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    drift = metrics["models"]["invariant"]["variational"]["charge_vector"]["max_relative_drift"]
    assert drift < 1e-12
