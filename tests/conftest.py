"""Strict test settings: warnings are errors (pyproject), CPU only, 64-bit mode off.

`pytest` runs the quick tier; tests marked `slow` (end-to-end runs, kills and Ctrl-C,
deep models) run with `pytest --slow`, or alone with `pytest -m slow`.

64-bit mode stays off, as in every real run, so float32 paths are tested as they run.
A test that needs float64 asks for the `x64` fixture (or a module sets
`pytestmark = pytest.mark.usefixtures("x64")`), which switches it on for that test only.
"""

import jax
import pytest

jax.config.update("jax_platforms", "cpu")


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="also run the tests marked slow (end-to-end runs, kills, deep models)")


def pytest_collection_modifyitems(config, items):
    """Without --slow (or a -m expression of one's own), the slow tests are deselected."""
    if config.getoption("--slow") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


@pytest.fixture
def x64():
    """64-bit mode for the duration of one test."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
