"""Slope fits: planted exponents recovered, CIs that cover them, a floor fitted out."""

import numpy as np
import pytest

from expkit import fits
from synthetic_runs import DEPTHS, synthetic_groups


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_slope_recovers_known_exponent_and_ci_contains_it(k):
    fit = fits.bootstrap_slope(synthetic_groups(k), n_boot=1000, seed=0)
    assert fit.points == 15
    assert abs(fit.slope - k) < 0.05  # 10% noise, 10 runs at 15 depths over 1.3 decades
    assert fit.lo <= k <= fit.hi
    assert 0.005 < fit.hi - fit.lo < 0.15


def test_bootstrap_ci_coverage_is_near_nominal():
    hits = 0
    for seed in range(40):
        fit = fits.bootstrap_slope(synthetic_groups(1.0, sigma=0.2, seed=seed), n_boot=400, seed=seed)
        hits += fit.lo <= 1.0 <= fit.hi
    # Nominal 95%; the percentile bootstrap of a median of 10 runs under-covers a little.
    assert hits >= 33


def test_bootstrap_is_seeded_and_widens_with_noise():
    groups = synthetic_groups(2.0, sigma=0.05)
    a = fits.bootstrap_slope(groups, n_boot=300, seed=1)
    assert a == fits.bootstrap_slope(groups, n_boot=300, seed=1)
    noisy = fits.bootstrap_slope(synthetic_groups(2.0, sigma=0.4), n_boot=300, seed=1)
    assert noisy.hi - noisy.lo > 3 * (a.hi - a.lo)
    assert np.isnan(fits.bootstrap_slope({50.0: np.ones(3)}).slope)  # one depth: no slope


def test_floor_hides_the_exponent_and_the_floor_fit_recovers_it():
    n = DEPTHS.astype(float)
    t = 2e-3 + 1e-9 * n**2  # the floor is the whole time at 50 layers, 1/3 of it at 1000
    plain, _ = fits.loglog_slope(n, t)
    assert plain < 1.0
    floor = fits.fit_floor_power_law(n, t)
    assert floor["k"] == pytest.approx(2.0, abs=0.05)
    assert floor["a"] == pytest.approx(2e-3, rel=0.05)
