"""Every example spec derives, verifies and generates."""

from pathlib import Path

import pytest

import symnoether as sn

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "examples").glob("*/spec.py"))
# Lattice-field specs (`sn.LatticeSystem`) go through the lattice pipeline.
LATTICE = [p.parent.name for p in SPECS if "sn.LatticeSystem(" in p.read_text()]
# Particle-system specs (`sn.ParticleSystem`) go through the local pipeline.
LOCAL = [p.parent.name for p in SPECS if "sn.ParticleSystem(" in p.read_text()]
EXAMPLES = [p.parent.name for p in SPECS if p.parent.name not in LATTICE + LOCAL]


def test_examples_are_found():
    assert {"kepler", "schwarzschild", "two_particles", "n_particles", "oscillator",
            "cylinder"} <= set(EXAMPLES)


# The flat 6 x 6 lattice (2,699 invariants) takes about two minutes: run with -m slow (the
# local lattice examples below cover lattices in make test).
SLOW = {"lattice"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in EXAMPLES])
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


@pytest.mark.parametrize("name", LATTICE)
def test_lattice_example_verifies_and_generates(name, tmp_path):
    system = sn.load_lattice_spec(ROOT / "examples" / name / "spec.py")
    report = sn.verify_lattice(system)
    assert report.ok, report.checks
    assert sn.generate_lattice(system, tmp_path / "model.py").is_file()
    assert system.initial_state is not None
    assert (ROOT / "examples" / name / "README.md").is_file()


@pytest.mark.parametrize("name", LOCAL)
def test_local_example_verifies_and_generates(name, tmp_path):
    system = sn.load_local_spec(ROOT / "examples" / name / "spec.py")
    report = sn.verify_local(system)
    assert report.ok, str(report)
    assert sn.generate_local(system, tmp_path / "model.py").is_file()
    assert (ROOT / "examples" / name / "README.md").is_file()
