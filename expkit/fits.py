"""Fits of measured scaling: power laws with bootstrap CIs, and a power law above a floor.

Plain NumPy on arrays (no tables, no JAX), so both experiments and any analysis can use
them. Each fit says what its uncertainty covers: the bootstrap resamples the repeated
measurements at each x, so a CI covers run-to-run noise, not a wrong model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np


@dataclasses.dataclass(frozen=True)
class SlopeFit:
    """A log-log slope with a bootstrap percentile CI; NaN where too few points."""

    slope: float
    lo: float
    hi: float
    intercept: float
    points: int


_NO_FIT = SlopeFit(math.nan, math.nan, math.nan, math.nan, 0)


def loglog_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of log y = intercept + slope log x by least squares. x, y: (k,)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)


def bootstrap_slope(groups: Mapping[float, np.ndarray], stat: str = "median", n_boot: int = 2000,
                    ci: float = 0.95, seed: int = 0) -> SlopeFit:
    """Log-log slope of the per-x median (or mean) time, with a bootstrap CI.

    The timed runs at each x are resampled with replacement, the per-x statistic
    recomputed and the slope refitted, n_boot times; the CI is the percentile interval.
    It covers run-to-run noise only, not a wrong model (a curved log-log line).

    Args:
      groups: x (depth or width) -> (runs,) positive times.
      stat: "median" or "mean".
    """
    reduce = {"median": np.median, "mean": np.mean}[stat]
    xs = np.array(sorted(groups), float)
    samples = [np.asarray(groups[x], float) for x in sorted(groups)]
    if len(xs) < 2 or any(len(t) == 0 for t in samples):
        return _NO_FIT
    point = np.array([reduce(t) for t in samples])
    slope, intercept = loglog_slope(xs, point)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, len(xs)))
    for j, t in enumerate(samples):
        boot[:, j] = reduce(t[rng.integers(0, len(t), size=(n_boot, len(t)))], axis=1)
    # The least-squares slope of every resample at once: cov(log x, log y) / var(log x).
    lx = np.log(xs) - np.log(xs).mean()
    slopes = np.log(boot) @ lx / (lx @ lx)
    lo, hi = np.quantile(slopes, [(1 - ci) / 2, (1 + ci) / 2])
    return SlopeFit(slope, float(lo), float(hi), intercept, len(xs))


def fit_floor_power_law(x: np.ndarray, y: np.ndarray,
                        ks: np.ndarray = np.linspace(0.1, 5.0, 246)) -> dict[str, float]:
    """T(x) = a + c x^k, a, c >= 0: the exponent with a fixed floor `a` taken out.

    For each k on a grid, a and c are a linear least-squares fit of relative errors
    (each point weighted 1/y, so small and large times count alike); the best k wins.
    A floor (launch overhead, dispatch) bends the log-log line and hides the exponent.

    Returns {"a", "c", "k", "rel_rms"}; NaNs with fewer than 3 distinct x.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 3:
        return {"a": math.nan, "c": math.nan, "k": math.nan, "rel_rms": math.nan}
    best = None
    for k in ks:
        design = np.stack([np.ones_like(x), x**k], axis=1) / y[:, None]
        coef, *_ = np.linalg.lstsq(design, np.ones_like(y), rcond=None)
        if coef[0] < 0:  # no negative floors: refit through zero
            coef = np.array([0.0, np.linalg.lstsq(design[:, 1:], np.ones_like(y), rcond=None)[0][0]])
        if coef[1] <= 0:
            continue
        rms = float(np.sqrt(np.mean((design @ coef - 1) ** 2)))
        if best is None or rms < best["rel_rms"]:
            best = {"a": float(coef[0]), "c": float(coef[1]), "k": float(k), "rel_rms": rms}
    return best or {"a": math.nan, "c": math.nan, "k": math.nan, "rel_rms": math.nan}
