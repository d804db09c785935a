"""What the commands print: the training progress line, warnings, the model trained."""

import io
import warnings

import equinox as eqx
import jax
import numpy as np
from handwritten import kepler_contract

from symnoether import cli
from symnoether.numeric.epoch_line import EpochLine, piped_every
from symnoether.numeric.run import TrainConfig, describe_model


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(line, epochs):
    for epoch in range(line.done + 1, epochs + 1):
        line.update(epoch, 1.0 / epoch, 1000.0)


def test_piped_progress_writes_about_ten_lines_per_model(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    _run(EpochLine(150, label="invariant"), 150)
    lines = out.getvalue().splitlines()
    assert piped_every(150) == 15
    assert len(lines) == 11  # epoch 1, every 15th, and the last
    assert lines[0].startswith("invariant: epoch   1/150  loss") and "compilation" in lines[0]
    assert "ETA" in lines[1] and "steps/s" in lines[1]
    assert lines[-1].startswith("invariant: epoch 150/150") and "done in" in lines[-1]
    assert "\r" not in out.getvalue()


def test_terminal_progress_is_one_updating_line(monkeypatch):
    out = _Terminal()
    monkeypatch.setattr("sys.stderr", out)
    _run(EpochLine(30, label="unconstrained"), 30)
    text = out.getvalue()
    assert text.count("\r") == 30 and text.count("\n") == 1 and text.endswith("\n")


def test_resumed_progress_counts_from_the_resume(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    _run(EpochLine(20, done=10), 20)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("epoch 11/20") and "compilation" in lines[0]


def test_a_warning_is_one_line_without_a_source_path(monkeypatch, capsys):
    def command(args):
        warnings.warn("6583 Newton solve(s) did not\n  reach the tolerance", RuntimeWarning,
                      stacklevel=2)
        return 0

    monkeypatch.setattr(cli, "cmd_derive", command)
    assert cli.main(["derive", "spec.py"]) == 0
    err = capsys.readouterr().err
    assert "warning: 6583 Newton solve(s) did not reach the tolerance\n" in err
    assert ".py:" not in err and "RuntimeWarning" not in err
    assert warnings.showwarning is not cli._show_warning  # restored after the command


def test_the_model_trained_is_named():
    config = TrainConfig(width=8, depth=2)
    model = config.make_network(kepler_contract, key=jax.random.key(0))
    count = sum(np.size(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    text = describe_model("invariant", model, config)
    assert text.startswith("invariant: MLP family of the invariants, width 8, depth 2, ")
    assert text.endswith(f"{count:,} parameters")
    natural = TrainConfig(width=8, model="natural")
    model = natural.make_network(kepler_contract, key=jax.random.key(0))
    assert "natural family (T - V)" in describe_model("invariant", model, natural)
    assert "MLP family of q and qdot" in describe_model(
        "unconstrained", natural.make_network(kepler_contract, invariant=False,
                                              key=jax.random.key(0)), natural)


def test_quiet_flag():
    parser = cli._parser()
    assert parser.parse_args(["train", "s.py", "--out", "r", "--quiet"]).quiet
    assert parser.parse_args(["demo", "--smoke", "--quiet"]).quiet
    assert not parser.parse_args(["train", "s.py", "--out", "r"]).quiet
