"""`jax.export` artefacts of a trained model, loaded and run by plain JAX without symnoether."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from handwritten import kepler_contract

from symnoether.cli import main
from symnoether.numeric.export import export_model
from symnoether.numeric.network import LagrangianNetwork
from symnoether.numeric.run import load_run

ROOT = Path(__file__).resolve().parent.parent
KEPLER = str(ROOT / "examples/kepler/spec.py")

# Runs in a fresh interpreter that must never load symnoether, Equinox or the generated
# module: the artefacts are the model.
PLAIN_JAX = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import jax, numpy as np
    folder, states = Path(sys.argv[1]), np.load(sys.argv[2])
    info = json.loads((folder / "export.json").read_text())
    out = {}
    for name, spec in info["functions"].items():
        program = jax.export.deserialize(bytearray((folder / spec["file"]).read_bytes()))
        out[name] = np.asarray(program.call(states["q"], states["qdot"]))
    assert not any(m.split(".")[0] in ("symnoether", "equinox", "sympy") for m in sys.modules)
    np.savez(sys.argv[3], **out)
""")


def _run_plain_jax(folder: Path, q, qdot, tmp_path: Path) -> dict:
    np.savez(tmp_path / "states.npz", q=q, qdot=qdot)
    subprocess.run([sys.executable, "-c", PLAIN_JAX, str(folder), str(tmp_path / "states.npz"),
                    str(tmp_path / "out.npz")], check=True, cwd=tmp_path)
    return dict(np.load(tmp_path / "out.npz"))


def test_cli_export_runs_in_plain_jax(tmp_path, capsys):
    out = tmp_path / "run"
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"width": 8, "epochs": 1, "steps_per_epoch": 2,
                                  "t_final": 5.0}))
    assert main(["train", KEPLER, "--out", str(out), "--config", str(config),
                 "--models", "invariant"]) == 0
    assert main(["export", str(out)]) == 0
    folder = out / "export" / "invariant"
    info = json.loads((folder / "export.json").read_text())
    assert info["n"] == 3 and info["coordinates"] == ["x", "y", "z"]
    assert info["functions"]["acceleration"]["out_shape"] == ["batch", 3]
    model = load_run(out).models["invariant"]
    rng = np.random.default_rng(0)
    for batch in (1, 5):  # any batch size: the batch axis is symbolic
        q = rng.normal(size=(batch, 3)).astype(np.float32) + np.float32(1.5)
        qdot = rng.normal(size=(batch, 3)).astype(np.float32)
        got = _run_plain_jax(folder, q, qdot, tmp_path)
        want_a = jax.vmap(model.acceleration)(jnp.asarray(q), jnp.asarray(qdot))
        want_l = jax.vmap(model)(jnp.asarray(q), jnp.asarray(qdot))
        np.testing.assert_allclose(got["acceleration"], want_a, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["lagrangian"], want_l, rtol=1e-5, atol=1e-6)
        assert got["acceleration"].shape == (batch, 3) and got["lagrangian"].shape == (batch,)


def test_export_of_a_missing_model_is_an_error(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_a_model_with_a_run_time_check_is_refused_with_the_fix(tmp_path):
    model = LagrangianNetwork(kepler_contract, max_condition=1e6, width=8,
                              key=jax.random.key(0))
    with pytest.raises(ValueError, match="without max_condition.*EQX_ON_ERROR=nan"):
        export_model(model, tmp_path / "out")
