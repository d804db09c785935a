"""Every example spec derives, verifies and generates."""

from pathlib import Path

import pytest

import symnoether as sn

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/spec.py"))


def test_examples_are_found():
    assert {"kepler", "schwarzschild", "two_particles", "n_particles", "oscillator",
            "cylinder"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_derives_verifies_and_generates(name, tmp_path):
    system = sn.load_spec(ROOT / "examples" / name / "spec.py")
    invariants = sn.derive_invariants(system)
    assert invariants.certificate.invariant and invariants.certificate.complete
    report = sn.verify(system, invariants=invariants)
    assert report.ok, str(report)
    module = sn.generate(system, tmp_path / "model.py", invariants=invariants)
    assert module.INVARIANT_NAMES == invariants.names
    assert module.CHARGE_NAMES == system.symmetry.charge_names
    assert module.HAS_LAGRANGIAN and system.initial_state is not None
    assert (ROOT / "examples" / name / "README.md").is_file()
