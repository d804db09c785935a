"""The small frictions a new user hit (issue 29, item 8): each now a clear message or fixed."""

import json
import textwrap
from pathlib import Path

import pytest
import sympy

import symnoether as sn
from symnoether.cli import main
from symnoether.lock import run_lock
from symnoether.numeric.run import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def test_a_string_lagrangian_is_a_type_error():
    c = sn.coordinates("theta")
    with pytest.raises(TypeError, match="lagrangian is a string.*SymPy expression"):
        sn.System("pendulum", c, None, lagrangian="thetadot**2/2 + cos(theta)")


def test_a_symbol_with_a_velocitys_name_but_other_assumptions_is_named():
    c = sn.coordinates("theta")
    thetadot = sympy.Symbol("thetadot")  # no real=True: another SymPy symbol
    with pytest.raises(sn.SpecError, match=r"Symbol\('thetadot'\) with assumptions \{\}, "
                       r"but the system's symbol of that name has \{real=True\}: the names "
                       "match, the assumptions differ"):
        sn.System("pendulum", c, None, lagrangian=thetadot**2 / 2 + sympy.cos(c.q[0]))


def test_every_configuration_problem_at_once_with_did_you_mean():
    with pytest.raises(sn.ConfigError) as info:
        TrainConfig.from_dict({"epocs": 3, "width": "wide", "learning_rate": -1.0,
                               "data": "fixd"})
    problems = info.value.problems
    assert "unknown training setting 'epocs'; did you mean 'epochs'?" in problems
    assert "width must be an integer, got 'wide'" in problems
    assert "learning_rate must be > 0, got -1.0" in problems
    assert any(p.startswith("data must be one of") for p in problems)
    assert len(problems) == 4


def test_a_spec_that_fails_to_import_names_its_line(tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text("import symnoether as sn\n\nc = sn.coordinates('x')\nboom = 1 / 0\n")
    with pytest.raises(sn.SpecError, match=rf"at {spec}:4 \(`boom = 1 / 0`\): "
                       "ZeroDivisionError"):
        sn.load_spec(spec)
    spec.write_text("x = (\n")
    with pytest.raises(sn.SpecError, match=rf"at {spec}:1 .*SyntaxError"):
        sn.load_spec(spec)


@pytest.mark.parametrize("make", [
    lambda c: sn.rotations(c, ["z"], charge_names=["charge"]),
    lambda c: sn.lorentz(c, ["z"], signature=(0, 2), charge_names=["charge"]),
])
def test_built_in_groups_can_rename_their_charges(make):
    c = sn.coordinates("a b", blocks={"z": ["a", "b"]})  # a complex field a + i b: U(1)
    G = make(c)
    assert G.charge_names == ("charge",) and G.names == ("rotation_x0x1",)
    system = sn.System("field", c, G, lagrangian=sum(v**2 for v in c.qdot) / 2)
    assert list(sn.noether_charges(system)) == ["charge"]
    assert 'CHARGE_NAMES = ("charge",)' in sn.render(system)


def test_translations_rename_and_wrong_counts_are_refused():
    c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
    assert sn.translations(c, ["x"], charge_names=["px", "py"]).charge_names == ("px", "py")
    with pytest.raises(sn.SpecError, match="give a list of 2 name"):
        sn.translations(c, ["x"], charge_names=["p"])


def test_a_refused_train_leaves_no_folder_or_lock(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text(textwrap.dedent("""
        import sympy
        import symnoether as sn
        c = sn.coordinates("x y", blocks={"x": ["x", "y"]})
        X, V = sympy.Matrix(c.q), sympy.Matrix(c.qdot)
        system = sn.System("broken", c, sn.rotations(c, ["x"]),
                           lagrangian=V.dot(V) / 2 - X.dot(X) / 2 + X[0] / 10,
                           initial_state=((1.0, 0.0), (0.0, 1.0)))
    """))
    out = tmp_path / "run"
    assert main(["train", str(broken), "--out", str(out)]) == 1  # verification fails
    assert not out.exists()
    existing = tmp_path / "mine"
    existing.mkdir()
    with run_lock(existing):
        assert (existing / ".lock").exists()
    assert existing.is_dir() and not any(existing.iterdir())  # the user's folder stays


def test_no_symmetry_trains_one_network(tmp_path, capsys):
    spec = tmp_path / "spec.py"
    spec.write_text(textwrap.dedent("""
        import symnoether as sn
        c = sn.coordinates("x")
        system = sn.System("osc", c, None, lagrangian=c.qdot[0]**2 / 2 - c.q[0]**2 / 2,
                           initial_state=((1.0,), (0.0,)))
    """))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"width": 8, "epochs": 1, "steps_per_epoch": 2,
                                  "t_final": 5.0}))
    out = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(out), "--config", str(config)]) == 0
    assert "no symmetry" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "models").iterdir()) == ["invariant"]


def test_readme_names_the_folder_the_demo_writes():
    from symnoether.pipeline import BUDGETS  # noqa: F401  (the budgets the folder is named by)

    readme = (ROOT / "README.md").read_text()
    assert "runs/demo-short/evaluation/" in readme and "`runs/demo/`" not in readme
