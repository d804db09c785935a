"""Shared pytest set-up.

JAX's 64-bit mode is on for the whole session so that exact checks can run in float64;
float32 code paths stay float32 because they ask for float32 explicitly.
"""

import jax

jax.config.update("jax_enable_x64", True)
