"""secondorder.wasserstein (W1 of the trivial baselines) and curvature.spectra (negative and outlier
mass), checked by hand."""

import numpy as np
import pytest
from scipy.stats import norm

from curvature.spectra import mass_below, outlier_mass, top_node_error
from secondorder.wasserstein import gaussian_w1, point_mass_w1, wasserstein1


def test_a_point_mass_at_zero_is_as_far_as_the_mean_absolute_eigenvalue():
    ev = np.array([-1.0, 0.0, 2.0, 3.0])
    # By hand: the mass 1/4 at -1 moves 1, at 2 moves 2, at 3 moves 3: (1 + 0 + 2 + 3) / 4.
    assert point_mass_w1(ev) == pytest.approx(1.5)
    assert wasserstein1(np.zeros(1), np.ones(1), ev, np.ones(4)) == pytest.approx(1.5)
    assert point_mass_w1(ev, at=1.0) == pytest.approx((2 + 1 + 1 + 2) / 4)


def test_the_gaussian_baseline_in_closed_form():
    # δ(0) against N(0, s²): E|X| = s sqrt(2/π).
    assert gaussian_w1(np.zeros(7), 0.0, 2.0) == pytest.approx(2.0 * np.sqrt(2 / np.pi), rel=1e-12)
    # δ(a) against N(0, 1): E|X - a| = 2φ(a) + a(2Φ(a) - 1).
    a = 0.7
    assert gaussian_w1(np.full(3, a), 0.0, 1.0) == pytest.approx(2 * norm.pdf(a) + a * (2 * norm.cdf(a) - 1), rel=1e-12)


def test_the_gaussian_baseline_against_a_fine_quantile_grid():
    ev = np.concatenate([np.random.default_rng(0).exponential(1.0, 500) - 0.3, [8.0, 12.0]])
    n = 200_000
    grid = ev.mean() + ev.std() * norm.ppf((np.arange(n) + 0.5) / n)
    assert gaussian_w1(ev, ev.mean(), ev.std()) == pytest.approx(
        wasserstein1(grid, np.ones(n), ev, np.ones_like(ev)), rel=1e-4)


def test_negative_and_outlier_mass():
    x, w = np.array([-2.0, -0.5, 0.0, 1.0, 5.0]), np.array([1, 1, 2, 3, 3.0])
    assert mass_below(x, w, -0.1) == pytest.approx(0.2)
    assert mass_below(x, w, -0.5) == pytest.approx(0.1)  # strictly below
    ev = np.array([-1.0, 0.0, 0.5, 2.0, 4.0])
    # Above the midpoint between the 2nd and 3rd largest (1.25): exactly 2/5.
    assert outlier_mass(x, w, ev, 2) == (pytest.approx(0.3), pytest.approx(0.4))


def test_top_node_error_is_the_worst_probe_and_rank():
    ev = np.array([0.0, 1.0, 2.0, 4.0])
    nodes = np.array([[0.0, 2.0, 4.0], [0.5, 1.9, 4.4]])
    assert top_node_error(nodes, ev, 2) == pytest.approx(0.1)
