"""Strict test settings: warnings are errors (pyproject), CPU only, 64-bit mode off.

64-bit mode stays off, as in every real run, so float32 paths are tested as they run.
A test that needs float64 asks for the `x64` fixture (or a module sets
`pytestmark = pytest.mark.usefixtures("x64")`), which switches it on for that test only.
"""

import jax
import pytest

jax.config.update("jax_platforms", "cpu")


@pytest.fixture
def x64():
    """64-bit mode for the duration of one test."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
