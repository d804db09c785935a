"""The wheel installs into a fresh venv and runs the smoke demo (benchmarks/wheel_test.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # builds, installs every dependency into a new venv, trains: minutes
def test_wheel_in_a_fresh_venv():
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "wheel_test.py")], check=True)
