"""Strict test settings: warnings are errors (pyproject), float64 available everywhere.

x64 is switched on for the whole session so float64 references are real float64;
float32 code paths pass explicit float32 dtypes, so they stay float32.
"""

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
