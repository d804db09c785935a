"""Smoke run of the main job: the demo path end to end on a tiny budget."""

import json
from pathlib import Path

from symnoether.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_smoke_writes_run_folder_metrics_and_plots(tmp_path, capsys, monkeypatch):
    # `make test`'s smoke run of the demo: the default example, as `make demo` runs it from
    # the repository's root (the default spec is a path relative to it).
    monkeypatch.chdir(ROOT)
    out = tmp_path / "demo"
    demo = ["demo", "--smoke", "--out", str(out)]
    assert main(demo) == 0
    printed = capsys.readouterr().out
    assert "own charges" in printed and "variational" in printed and "unconstrained" in printed
    for name in ("module.py", "data.npz", "run.json", "models/invariant/checkpoint.eqx",
                 "models/unconstrained/checkpoint.eqx", "models/invariant/losses.csv"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert set(metrics["models"]) == {"invariant", "unconstrained"}
    charges = {"angular_momentum_x0x1", "angular_momentum_x0x2", "angular_momentum_x1x2"}
    for model in ("invariant", "unconstrained"):
        for method in ("rk4", "variational"):
            entry = metrics["models"][model][method]
            assert set(entry["charges"]) == set(entry["true_charges"]) == charges
            assert "final" in entry["trajectory_error"] and "energy" in entry
        assert metrics["models"][model]["final_training_loss"] > 0
    assert metrics["models"]["invariant"]["variational"]["newton"]["max_iterations"] >= 1
    # Rollouts start from the spec's clean initial state, recorded in run.json.
    assert metrics["settings"]["q0"] == [1 / 1.8, 0.0, 0.0]  # the reference's orbit
    assert metrics["settings"]["qdot0"] == [0.0, 1.8, 0.0]
    # (Conservation itself is tested in test_integrate.py: a smoke-trained network can leave
    # the data and reach states where d2L/dqdot2 is singular, where no integrator helps.)
    pngs = list((out / "evaluation").glob("*.png"))
    assert len(pngs) >= 4 and all(p.stat().st_size > 10_000 for p in pngs)
    # A rerun resumes: the models are not trained again.
    assert main(demo) == 0
