"""The command's JAX compilation cache: where it goes, how it is turned off, that JAX uses it."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from symnoether.compilation_cache import ENV, cache_folder


@pytest.mark.parametrize("value", ["", "off", "0", "None"])
def test_the_environment_turns_the_cache_off(value):
    assert cache_folder(environ={ENV: value}) is None


def test_folder_precedence(tmp_path):
    assert cache_folder(tmp_path / "a", environ={ENV: str(tmp_path / "b")}) == tmp_path / "a"
    assert cache_folder(tmp_path / "a", enabled=False) is None
    assert cache_folder(environ={ENV: str(tmp_path / "b")}) == tmp_path / "b"
    assert cache_folder(environ={"JAX_COMPILATION_CACHE_DIR": "/j"}) == Path("/j")
    assert cache_folder(environ={"XDG_CACHE_HOME": "/x"}) == Path("/x/symnoether/jax")
    assert cache_folder(environ={}) == Path.home() / ".cache/symnoether/jax"


def test_jax_writes_small_programs_to_the_cache(tmp_path):
    # Set before JAX is imported (as the command does), JAX picks the folder up, and even a
    # tiny program, far below JAX's default 1 s compile-time floor, is written.
    script = textwrap.dedent(f"""
        import sys
        from symnoether.compilation_cache import enable_cache
        enable_cache({str(tmp_path / "cache")!r})
        assert "jax" not in sys.modules and "sympy" not in sys.modules
        import jax
        print(jax.jit(lambda x: x * 2 + 1)(3.0))
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    assert any((tmp_path / "cache").iterdir())
