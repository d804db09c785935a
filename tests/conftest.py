"""Shared pytest set-up.

JAX's 64-bit mode is on for the whole session so that exact checks can run in float64;
float32 code paths stay float32 because they ask for float32 explicitly.

Hypothesis profiles for the fuzz suite (tests/test_fuzz.py): `fast` (the default: few,
derandomised examples, so `make test` stays quick and deterministic) and `long` (`make
test-slow` passes `--hypothesis-profile=long`).

XLA compiles the tests' programs with most optimisations off (`jax_disable_most_
optimizations`, also through the environment for the subprocesses and notebook kernels the
tests start): the suite spends most of its time compiling small programs that then run for
milliseconds, and this cuts its CPU time by about a third (tests/test_natural.py: 77 s to
52 s). The results are the same computations, unfused; `SYMNOETHER_TEST_OPTIMIZE=1` runs
the suite with XLA's default optimisations instead, as users' programs are compiled.
"""

import os

if not os.environ.get("SYMNOETHER_TEST_OPTIMIZE"):
    os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

_QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
settings.register_profile("fast", max_examples=8, deadline=None, derandomize=True,
                          suppress_health_check=_QUIET)
settings.register_profile("long", max_examples=200, deadline=None,
                          suppress_health_check=_QUIET)
settings.load_profile("fast")

jax.config.update("jax_enable_x64", True)
if not os.environ.get("SYMNOETHER_TEST_OPTIMIZE"):
    jax.config.update("jax_disable_most_optimizations", True)

# The command's JAX compilation cache (symnoether/compilation_cache.py) stays off in tests,
# in process and in the subprocesses they start, unless a test turns it on: a test must not
# fill the user's ~/.cache, nor depend on what an earlier run left there.
os.environ.setdefault("SYMNOETHER_CACHE_DIR", "off")
