"""The wheel and sdist: build, check, install into a fresh venv, run the smoke demo there.

Run: `make wheel-test`, or `.venv/bin/python benchmarks/wheel_test.py [--keep DIR]`
(tests/test_wheel.py runs it, marked slow).

1. `python -m build` writes a wheel and an sdist into a temporary folder; both must contain
   the code templates (the wheel as `symnoether/_templates/`).
2. `twine check` passes on both.
3. A fresh venv (no symnoether, no repository on its path) gets the wheel with
   `pip install` (dependencies from the package index or pip's cache).
4. From a folder outside the repository, the installed package must be the venv's (not the
   clone) and find its templates there, and `symnoether demo --smoke` must succeed on the
   Kepler spec.
"""

import argparse
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "model.py.j2"


def run(*command, cwd=None) -> str:
    print("$", " ".join(map(str, command)), flush=True)
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def build(dist: Path) -> tuple[Path, Path]:
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    (wheel,), (sdist,) = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert f"symnoether/_templates/{TEMPLATE}" in names, f"no templates in {wheel.name}"
    with tarfile.open(sdist) as archive:
        assert any(n.endswith(f"templates/{TEMPLATE}") for n in archive.getnames()), \
            f"no templates in {sdist.name}"
    run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    return wheel, sdist


def try_wheel(wheel: Path, work: Path) -> None:
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    outside = work / "elsewhere"
    outside.mkdir()
    where = run(python, "-c", "import symnoether, symnoether.codegen.generate as g; "
                "print(symnoether.__file__); print(g._templates_dir())", cwd=outside)
    package, templates = where.split()
    assert package.startswith(str(venv)), f"imported {package}, not the installed wheel"
    assert templates.startswith(str(venv)), f"templates from {templates}"
    run(venv / "bin" / "symnoether", "demo", "--smoke",
        "--spec", ROOT / "examples/kepler/spec.py", "--out", work / "demo", cwd=outside)
    assert (work / "demo" / "evaluation" / "metrics.json").is_file()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        wheel, sdist = build(work / "dist")
        print(f"built {wheel.name} and {sdist.name}; twine check passed")
        try_wheel(wheel, work)
    print(f"wheel test passed in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
