"""Slope fits: planted exponents recovered, CIs that cover them, a floor fitted out."""

import numpy as np
import pytest

from expkit import fits
from tests.helpers.synthetic_runs import DEPTHS, synthetic_groups


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


def test_a_floor_hides_the_exponent_and_the_measured_floor_recovers_it():
    rng = np.random.default_rng(3)
    floor = {float(n): 2e-3 * rng.lognormal(0, 0.002, 10) for n in DEPTHS}
    # The floor is 99% of the time at 50 layers, a sixth of it at 1000.
    timed = {n: 1e-8 * n**2 + 2e-3 * rng.lognormal(0, 0.002, 10) for n in floor}
    plain = fits.bootstrap_slope(timed, n_boot=400)
    assert plain.hi < 1.0
    above = fits.bootstrap_slope(timed, n_boot=400, floor=floor)
    assert above.lo <= 2.0 <= above.hi and above.hi - above.lo < 0.5
    with pytest.raises(ValueError, match="same x"):
        fits.bootstrap_slope(timed, floor={50.0: np.ones(3)})


def test_linear_slope_and_a_ratio_of_slopes_with_cis():
    rng = np.random.default_rng(4)
    grad = {float(n): 1e-4 + 2e-7 * n * rng.lognormal(0, 0.05, 10) for n in DEPTHS}
    hvp = {float(n): 3e-4 + 5e-7 * n * rng.lognormal(0, 0.05, 10) for n in DEPTHS}
    g, g_boot = fits.bootstrap_linear_slope(grad, n_boot=500, seed=1)
    h, h_boot = fits.bootstrap_linear_slope(hvp, n_boot=500, seed=2)
    assert g.lo <= 2e-7 <= g.hi and h.lo <= 5e-7 <= h.hi
    assert g.intercept == pytest.approx(1e-4, rel=0.2)
    ratio, lo, hi = fits.ratio_ci(h.slope, g.slope, h_boot, g_boot)
    assert lo <= 2.5 <= hi and lo < ratio < hi and hi - lo < 0.5


def test_a_fitted_floor_recovers_the_exponent_with_a_ci():
    rng = np.random.default_rng(5)
    timed = {float(n): (2e-3 + 1e-8 * n**2) * rng.lognormal(0, 0.01, 10) for n in DEPTHS}
    fit = fits.bootstrap_floor_power_law(timed, n_boot=300)
    assert fit["lo"] <= 2.0 <= fit["hi"] and fit["hi"] - fit["lo"] < 0.3
    assert fit["a"] == pytest.approx(2e-3, rel=0.05)
    assert np.isnan(fits.bootstrap_floor_power_law({1.0: np.ones(2), 2.0: np.ones(2)})["k"])


def test_an_extrapolation_of_an_exact_power_law_is_exact():
    x = np.array([1e3, 2e3, 4e3, 8e3])
    at = fits.loglog_extrapolate(x, 3e-9 * x ** 3.1, 2.5e5)
    assert at["value"] == pytest.approx(3e-9 * 2.5e5 ** 3.1, rel=1e-9)
    assert at["lo"] == pytest.approx(at["value"], rel=1e-6) and at["hi"] == pytest.approx(at["value"], rel=1e-6)


def test_the_extrapolation_band_covers_the_truth_at_about_its_level():
    # Five noisy points over an 8x range, extrapolated 30x beyond the last: the t-band holds the
    # true value in about 95% of draws (the slope CI anchored at the last point would not).
    rng = np.random.default_rng(1)
    x = np.array([1e3, 1.7e3, 3e3, 5e3, 8e3])
    truth = 2e-9 * 2.4e5 ** 3.0
    held = anchored = 0
    for _ in range(2000):
        y = 2e-9 * x ** 3.0 * np.exp(rng.normal(0, 0.1, x.size))
        at = fits.loglog_extrapolate(x, y, 2.4e5)
        held += at["lo"] <= truth <= at["hi"]
        slope, ratio = fits.loglog_slope_ci(x, y), 2.4e5 / x[-1]
        anchored += y[-1] * ratio ** slope.lo <= truth <= y[-1] * ratio ** slope.hi
    assert 0.93 <= held / 2000 <= 0.97
    assert anchored / 2000 < 0.92
