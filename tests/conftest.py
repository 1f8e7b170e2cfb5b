"""Strict test settings: warnings are errors (pyproject), CPU only, 64-bit mode off.

`pytest` runs the quick tier; tests marked `slow` (end-to-end runs, kills and Ctrl-C,
deep models) run with `pytest --slow`, or alone with `pytest -m slow`.

Every test also belongs to one tier (a marker set here from its file, TIERS), for the
edit loop:

    pytest -m unit       # about half a minute on 2 cores: the parts, each on small inputs
    pytest -m numeric    # the library's answers against dense float64 references, on models
    pytest -m e2e        # every command run as a user runs it (add --slow for kills, Ctrl-C)
    pytest -m docs       # README and docs against the committed results, and the house rules
    pytest -m gpu        # the GPU jobs' scripts, run on the CPU at toy sizes

A slow test is never unit. With `-m`, slow tests are selected like any other.

64-bit mode stays off, as in every real run, so float32 paths are tested as they run.
A test that needs float64 asks for the `x64` fixture (or a module sets
`pytestmark = pytest.mark.usefixtures("x64")`), which switches it on for that test only.
"""

from pathlib import Path

import jax
import pytest

jax.config.update("jax_platforms", "cpu")


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="also run the tests marked slow (end-to-end runs, kills, deep models)")


TIERS = {
    "e2e": ("test_runners.py", "curvature/test_run.py", "curvature/test_trained_run.py", "lr_meta/test_run.py",
            "hvp_bench/test_sweep.py", "hvp_bench/test_interrupt.py", "curvature/test_trained_study.py"),
    "docs": ("test_readme.py", "test_claims.py", "test_structure.py", "hvp_bench/test_programs.py"),
    "gpu": ("hvp_models/test_gpu_script.py",),
    "numeric": ("secondorder/test_pytrees.py", "secondorder/test_density_bounds.py", "secondorder/test_deflation.py",
                "secondorder/test_estimators.py", "secondorder/test_operator.py", "secondorder/test_kpm.py",
                "secondorder/test_model.py", "secondorder/test_trace.py", "curvature/test_classifier.py",
                "curvature/test_training.py", "hvp_models/test_products.py"),
}
"""Tier of each test file (relative to tests/) that is not `unit`; unit is the rest."""

TIER_NAMES = ("unit", *TIERS)


def tier_of(path: Path, slow: bool) -> str:
    """The tier of a test in file `path`: its file's (TIERS), else e2e if slow, else unit."""
    name = path.relative_to(Path(__file__).parent).as_posix()
    tier = next((tier for tier, files in TIERS.items() if name in files), None)
    return tier or ("e2e" if slow else "unit")


def pytest_collection_modifyitems(config, items):
    """Marks every test with its tier; without --slow (or a -m expression of one's own), deselects the slow ones."""
    for item in items:
        item.add_marker(tier_of(Path(str(item.path)), item.get_closest_marker("slow") is not None))
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
