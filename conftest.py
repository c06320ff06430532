"""Tests and doctests run in float64 (diffrax's habit: x64 on in the test suite)."""

import jax

jax.config.update("jax_enable_x64", True)
