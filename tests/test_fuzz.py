"""Fuzz: generated garbage for spec names, configurations, data files and command lines.

Every case either works or exits 2 with an `error:` message and no traceback, and no file
outside the run folder changes. The `fast` hypothesis profile (tests/conftest.py) keeps
this in `make test`; `make test-slow` runs it again under the `long` profile.
"""

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from clitools import OSCILLATOR
from handwritten import kepler_contract
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from symnoether.cli import main
from symnoether.errors import ConfigError, DataError
from symnoether.numeric.data import load_data
from symnoether.numeric.run import TrainConfig
from symnoether.pipeline import load_config

pytestmark = pytest.mark.fuzz
# The cheap cases (no spec to derive) take four times the profile's examples.
CHEAP = settings(max_examples=4 * settings.default.max_examples)

TRICKY_NAMES = ["S", "dtype", "xi", "q", "qdot", "jnp", "lambda", "print", "_x", "1x",
                "x y", "x", "xdot", "é", "", "match", "L", "mass", "rhs", "t0"]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _run(argv) -> tuple[int, str]:
    """`main(argv)`, with stderr captured; SystemExit (argparse) gives its code."""
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit_info:  # argparse: usage errors (2), --help (0)
            code = exit_info.code
    return code, err.getvalue()


def _assert_clean(code, err, allowed=(0, 2)):
    assert code in allowed, (code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = [line for line in err.splitlines() if not line.startswith("[symnoether]")]
        assert lines and (lines[0].startswith("error: ") or "usage:" in err), err


@given(names=st.lists(st.one_of(st.sampled_from(TRICKY_NAMES), st.text(max_size=6),
                                st.from_regex(r"[a-zA-Z][a-z0-9_]{0,4}", fullmatch=True)),
                      min_size=1, max_size=3),
       system=st.one_of(st.sampled_from(["osc", "class", "_s", "a b"]), st.text(max_size=5)))
def test_spec_names(names, system):
    spec = ("import symnoether as sn\n"
            f"c = sn.coordinates({names!r})\n"
            f"system = sn.System({system!r}, c)\n")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "spec.py").write_text(spec)
        before = _files(folder)
        code, err = _run(["generate", folder / "spec.py", "-o", folder / "out" / "m.py"])
        _assert_clean(code, err)
        after = _files(folder)
        assert {k: v for k, v in after.items() if not k.startswith("out/")} == before
        if code == 0:  # the module runs
            from symnoether.numeric.run import load_module

            module = load_module(folder / "out" / "m.py")
            n = len(module.COORDINATE_NAMES)
            assert module.invariants(np.ones(n), np.ones(n)).shape == (2 * n,)


_VALUES = st.one_of(
    st.integers(-3, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.none(), st.text(max_size=8), st.lists(st.integers(), max_size=2),
    st.sampled_from(["float64", "float32", "softplus", "tanh", "solve", "pinv", "default"]),
)
_KEYS = st.one_of(st.sampled_from(sorted(TrainConfig().to_dict()) + ["solver"]),
                  st.text(max_size=6))


@CHEAP
@given(settings=st.dictionaries(_KEYS, _VALUES, max_size=5),
       raw=st.one_of(st.none(), st.text(max_size=20)))
def test_configurations(settings, raw):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / "config.json"
        path.write_text(json.dumps(settings) if raw is None else raw)
        try:
            config = load_config(path)
        except ConfigError:
            config = None
        if config is not None:  # valid: numbers finite, sizes positive, times consistent
            values = config.to_dict()
            assert all(math.isfinite(values[k]) for k in ("dt", "learning_rate", "noise"))
            assert config.batch_size >= 1 and config.width >= 1
            return
        (folder / "osc.py").write_text(OSCILLATOR)
        before = _files(folder)
        code, err = _run(["train", folder / "osc.py", "--out", folder / "run", "--config",
                          path])
        _assert_clean(code, err, allowed=(2,))
        assert _files(folder) == before and not (folder / "run").exists()


_ARRAYS = hnp.arrays(  # float elements include NaN and infinities
    dtype=st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.complex64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)


@st.composite
def _data_files(draw):
    kind = draw(st.sampled_from(["bytes", "npz", "npy"]))
    if kind == "bytes":
        return kind, draw(st.binary(max_size=64))
    names = draw(st.lists(st.sampled_from(["q", "qdot", "qddot", "t", "x"]), unique=True,
                          max_size=4))
    return kind, {name: draw(_ARRAYS) for name in names}


@CHEAP
@given(_data_files(), st.booleans())
def test_data_files(file, poison):
    kind, content = file
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npz"
        if kind == "bytes":
            path.write_bytes(content)
        elif kind == "npy":
            with path.open("wb") as handle:
                np.save(handle, next(iter(content.values()), np.zeros(3)))
        else:
            if poison and content:
                name = sorted(content)[0]
                if content[name].size and np.issubdtype(content[name].dtype, np.floating):
                    content[name] = content[name].copy()
                    content[name].flat[0] = np.nan
            np.savez(path, **content)
        try:
            data = load_data(path, kepler_contract)
        except DataError as error:
            assert str(error)
            return
        assert data.q.shape[1] == 3 and data.q.shape[0] >= 1
        assert all(np.all(np.isfinite(x)) for x in (data.q, data.qdot, data.qddot))


_FLAGS = ["--out", "--config", "--data", "--models", "--resume", "--force", "--t-final",
          "--dt", "--method", "--minimal", "-o", "--trust-module", "--smoke", "--spec",
          "--version", "--full"]


@CHEAP
@given(command=st.sampled_from(["derive", "verify", "generate", "train", "evaluate", "demo",
                                "nope", "--version", "-h"]),
       tokens=st.lists(st.one_of(st.sampled_from(_FLAGS), st.text(max_size=6),
                                 st.floats().map(str), st.sampled_from(["nan", "0", "-1"])),
                       max_size=6))
def test_command_lines(command, tokens):
    # Every path named here is missing, so no command gets as far as real work: each must
    # stop with a message (or usage), and write nothing.
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "keep.txt").write_text("unchanged")
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            assume(not any(Path(t).exists() for t in tokens if t and "\x00" not in t))
            code, err = _run([command, *tokens])
        finally:
            os.chdir(cwd)
        _assert_clean(code, err)
        assert _files(folder) == {"keep.txt": b"unchanged"}
