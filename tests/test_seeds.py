"""Seed ensembles from the command line: `symnoether train SPEC --seeds 0:2` trains the seeds
as one vectorised program into run folders OUT/seed-K that are ordinary run folders."""

import json

import numpy as np
import pytest
from clitools import OSCILLATOR, cli

from symnoether.cli import _seed_list, main
from symnoether.errors import ConfigError
from symnoether.numeric.checkpoint import read_losses
from symnoether.numeric.run import TrainConfig, train_seed_runs
from symnoether.pipeline import format_seeds

# Tiny: two epochs of three Adam steps on the oscillator, the invariant model only.
TINY = {"width": 8, "epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "t_final": 5.0}


@pytest.mark.parametrize(
    "text, seeds", [("0:3", (0, 1, 2)), ("4:5", (4,)), ("0,3,7", (0, 3, 7)), ("2", (2,))]
)
def test_seeds_are_a_range_or_a_list(text, seeds):
    assert _seed_list(text) == seeds
    assert _seed_list(format_seeds(seeds)) == seeds


@pytest.mark.parametrize(
    "text, match",
    [
        ("5:2", "'5:2' is an empty or negative range: STOP must be greater than START >= 0"),
        ("-1:3", "empty or negative range"),
        ("0:x", "'0:x' is not a list of seeds; give START:STOP"),
        ("0:4:2", "not a list of seeds"),
        ("1,1", "distinct whole numbers >= 0"),
        ("", "not a list of seeds"),
    ],
)
def test_a_bad_seed_range_is_a_clear_error(tmp_path, capsys, text, match):
    spec = tmp_path / "osc.py"
    spec.write_text(OSCILLATOR)
    with pytest.raises(SystemExit) as info:
        main(["train", str(spec), "--out", str(tmp_path / "run"), f"--seeds={text}"])
    assert info.value.code == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_seed_and_seeds_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "spec.py", "--out", str(tmp_path), "--seed", "1", "--seeds", "0:2"])
    assert "not allowed with argument" in capsys.readouterr().err


def _main(*argv) -> int:
    return main([str(a) for a in argv])


def _losses(run, variant="invariant"):
    return read_losses(run / "models" / variant)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    spec, config = root / "osc.py", root / "tiny.json"
    spec.write_text(OSCILLATOR)
    config.write_text(json.dumps(TINY))
    common = ["--config", config, "--models", "invariant", "--quiet"]
    ensemble = root / "ensemble"
    assert _main("train", spec, "--out", ensemble, "--seeds", "0:2", *common) == 0
    for seed in (0, 1):
        assert _main("train", spec, "--out", root / f"alone-{seed}", "--seed", seed, *common) == 0
    return root, spec, config, ensemble


# The trainings below take 55 s of CPU time on the 2-core development machine (the
# ensemble's vmapped epoch alone compiles for about 15 s): too slow for `make test`.
@pytest.mark.slow
def test_each_seed_of_the_ensemble_equals_its_separate_run(trained):
    root, _, _, ensemble = trained
    assert json.loads((ensemble / "ensemble.json").read_text())["seeds"] == [0, 1]
    for seed in (0, 1):
        member = ensemble / f"seed-{seed}"
        record = json.loads((member / "run.json").read_text())
        assert record["config"]["seed"] == seed and record["variants"] == ["invariant"]
        together, alone = _losses(member), _losses(root / f"alone-{seed}")
        assert together.shape == (TINY["epochs"],)
        # float32 rounding (a vectorised matrix product sums in another order): measured
        # 1e-7 relative after six Adam steps.
        np.testing.assert_allclose(together, alone, rtol=1e-5)
    assert _losses(ensemble / "seed-0")[0] != _losses(ensemble / "seed-1")[0]


@pytest.mark.slow
def test_each_member_evaluates_and_plots(trained, capsys):
    _, _, _, ensemble = trained
    member = ensemble / "seed-1"
    code, err = cli(capsys, "evaluate", member, "--t-final", "0.2", "--method", "rk4")
    assert code == 0, err
    metrics = json.loads((member / "evaluation" / "metrics.json").read_text())
    assert list(metrics["models"]) == ["invariant"]
    assert (member / "evaluation" / "trajectories.png").is_file()


def _fake_ensemble(root, seeds=(0, 1)):
    # An ensemble's folder as training leaves it, without training: the refusals below
    # happen before anything is trained.
    root.mkdir()
    (root / "ensemble.json").write_text(json.dumps({"seeds": list(seeds)}))
    for seed in seeds:
        (root / f"seed-{seed}" / "models" / "invariant").mkdir(parents=True)
        (root / f"seed-{seed}" / "models" / "invariant" / "checkpoint.eqx").write_bytes(b"")
    return root


def test_refusals_name_the_ensemble(tmp_path, capsys):
    spec = tmp_path / "osc.py"
    spec.write_text(OSCILLATOR)
    ensemble = _fake_ensemble(tmp_path / "ensemble")
    code, err = cli(capsys, "train", spec, "--out", ensemble, "--seeds", "0:2")
    assert code == 2 and "already holds a trained seed ensemble (seeds 0:2)" in err
    code, err = cli(capsys, "train", spec, "--out", ensemble, "--seeds", "0,5", "--resume")
    assert code == 2 and "resume it with --seeds 0:2 (or no --seeds)" in err
    code, err = cli(capsys, "evaluate", ensemble)  # the ensemble's folder is not a run
    assert code == 2 and "is a seed ensemble (seeds 0:2)" in err
    assert f"symnoether evaluate {ensemble / 'seed-0'}" in err
    single = tmp_path / "single"
    single.mkdir()
    (single / "run.json").write_text("{}")
    code, err = cli(capsys, "train", spec, "--out", single, "--seeds", "0:2")
    assert code == 2 and "is the run folder of a single run" in err
    assert not list(single.glob("seed-*"))  # no member folder left behind


@pytest.mark.slow
def test_the_ensemble_and_one_member_resume(trained, capsys):
    _, spec, _, ensemble = trained
    before = {seed: _losses(ensemble / f"seed-{seed}") for seed in (0, 1)}
    # The whole ensemble, extended by one epoch (its seeds from ensemble.json).
    code, err = cli(
        capsys, "train", spec, "--out", ensemble, "--resume", "--epochs", "3", "--quiet"
    )
    assert code == 0, err
    for seed in (0, 1):
        losses = _losses(ensemble / f"seed-{seed}")
        assert len(losses) == 3 and np.array_equal(losses[:2], before[seed])
    # One member alone, with the plain command: an ordinary run folder.
    member = ensemble / "seed-1"
    code, err = cli(capsys, "train", spec, "--out", member, "--resume", "--epochs", "4", "--quiet")
    assert code == 0, err
    assert len(_losses(member)) == 4
    # Now the members have different lengths: the ensemble says so and how to go on.
    code, err = cli(capsys, "train", spec, "--out", ensemble, "--resume", "--quiet")
    assert code == 2
    assert "the configurations differ in ['epochs']" in err and "one by one" in err


@pytest.mark.parametrize(
    "configs, match",
    [
        ([TrainConfig(width=8), TrainConfig(width=16, seed=1)], r"differ in \['width'\]"),
        ([TrainConfig(seed=2), TrainConfig(seed=2)], r"the seeds \[2, 2\] repeat"),
        (
            [TrainConfig(validation_fraction=0.1), TrainConfig(validation_fraction=0.1, seed=1)],
            "without a validation split",
        ),
    ],
)
def test_an_ensembles_members_differ_only_in_their_seed(tmp_path, configs, match):
    folders = [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(ConfigError, match=match):
        train_seed_runs(folders, None, [None, None], configs)
    assert not any(folder.exists() for folder in folders)  # refused before anything


def test_a_refused_ensemble_leaves_no_folder(tmp_path, capsys):
    broken = tmp_path / "broken.py"  # a rotation that is no symmetry of L: verify fails
    broken.write_text(OSCILLATOR.replace("sum(x**2 for x in c.q) / 2", "c.q[0] ** 2"))
    out = tmp_path / "ensemble"
    code, err = cli(capsys, "train", broken, "--out", out, "--seeds", "0:2")
    assert code == 1 and "failed verification" in err
    assert not out.exists()
