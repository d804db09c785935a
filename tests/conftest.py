"""Shared pytest set-up.

JAX's 64-bit mode is on for the whole session so that exact checks can run in float64;
float32 code paths stay float32 because they ask for float32 explicitly.

Hypothesis profiles for the fuzz suite (tests/test_fuzz.py): `fast` (the default: few,
derandomised examples, so `make test` stays quick and deterministic) and `long` (`make
test-slow` passes `--hypothesis-profile=long`).
"""

import os

import jax
from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
settings.register_profile("fast", max_examples=8, deadline=None, derandomize=True,
                          suppress_health_check=_QUIET)
settings.register_profile("long", max_examples=200, deadline=None,
                          suppress_health_check=_QUIET)
settings.load_profile("fast")

jax.config.update("jax_enable_x64", True)

# The command's JAX compilation cache (symnoether/compilation_cache.py) stays off in tests,
# in process and in the subprocesses they start, unless a test turns it on: a test must not
# fill the user's ~/.cache, nor depend on what an earlier run left there.
os.environ.setdefault("SYMNOETHER_CACHE_DIR", "off")
