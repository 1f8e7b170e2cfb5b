"""Fits of measured scaling, each with a bootstrap CI: power laws, linear slopes, ratios.

Plain NumPy on arrays (no tables, no JAX), so both experiments and any analysis can use
them. Data come as `groups`: x -> the repeated measurements at x (e.g. depth -> the
timed runs). The bootstrap resamples the measurements within each x with replacement,
recomputes the per-x median and refits; a CI is the percentile interval of the refits.
It covers run-to-run noise only, not a wrong model (a curved log-log line), nor the
drift between repeated studies: expkit.robust fits over repeats, with a fit diagnostic.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

Groups = Mapping[float, np.ndarray]


@dataclasses.dataclass(frozen=True)
class SlopeFit:
    """A slope with a bootstrap percentile CI (log-log or linear); NaN where too few points."""

    slope: float
    lo: float
    hi: float
    intercept: float
    points: int


NO_FIT = SlopeFit(math.nan, math.nan, math.nan, math.nan, 0)


def resampled_medians(groups: Groups, n_boot: int = 2000, seed: int = 0,
                      stat: str = "median") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (k,), the per-x statistic (k,), its bootstrap replicates (n_boot, k)).

    Args:
      groups: x -> (runs,) measurements; every x needs at least one.
      stat: "median" or "mean".
    """
    reduce = {"median": np.median, "mean": np.mean}[stat]
    xs = np.array(sorted(groups), float)
    samples = [np.asarray(groups[x], float) for x in sorted(groups)]
    point = np.array([reduce(t) for t in samples])
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, len(xs)))
    for j, t in enumerate(samples):
        boot[:, j] = reduce(t[rng.integers(0, len(t), size=(n_boot, len(t)))], axis=1)
    return xs, point, boot


def nested_median_bootstrap(groups: list[np.ndarray], n_boot: int = 2000, seed: Any = 0) -> np.ndarray:
    """(n_boot,) medians of resamples: the groups (repeats) with replacement, then the values
    (rounds) within each resampled group. A paired ratio's rounds are resampled whole, so
    its numerator and denominator move together."""
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    for b in range(n_boot):
        picked = rng.integers(len(groups), size=len(groups))
        out[b] = np.median(np.concatenate([rng.choice(groups[i], size=len(groups[i])) for i in picked]))
    return out


def paired_ratio_interval(groups: list[np.ndarray], level: float = 0.95, n_boot: int = 2000,
                          seed: Any = 0) -> dict[str, float]:
    """A paired ratio from per-round ratios grouped by repeat: the median over every round
    (`ratio`), its percentile bootstrap interval at `level` (`lo`, `hi`; nested_median_bootstrap)
    and the range of the repeats' own medians (`rep_min`, `rep_max`), with the counts."""
    boot = nested_median_bootstrap(groups, n_boot, seed)
    per_repeat = [float(np.median(g)) for g in groups]
    return {"repeats": len(groups), "rounds": int(sum(len(g) for g in groups)),
            "ratio": float(np.median(np.concatenate(groups))), "lo": float(np.quantile(boot, (1 - level) / 2)),
            "hi": float(np.quantile(boot, (1 + level) / 2)), "rep_min": min(per_repeat), "rep_max": max(per_repeat),
            "level": level}


def least_squares_slopes(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and intercepts of y ~ a + b x for y (..., k) at once: cov(x, y) / var(x)."""
    x = np.asarray(x, float)
    dx = x - x.mean()
    slope = (np.asarray(y, float) - np.mean(y, axis=-1, keepdims=True)) @ dx / (dx @ dx)
    return slope, np.mean(y, axis=-1) - slope * x.mean()


def percentile_ci(samples: np.ndarray, ci: float = 0.95) -> tuple[float, float]:
    """The central `ci` interval of the finite samples; NaNs where there are none."""
    samples = np.asarray(samples, float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(samples, [(1 - ci) / 2, (1 + ci) / 2])
    return float(lo), float(hi)


def loglog_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of log y = intercept + slope log x by least squares. x, y: (k,)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 2:
        return math.nan, math.nan
    slope, intercept = least_squares_slopes(np.log(x), np.log(y))
    return float(slope), float(intercept)


def _fit(xs, point, boot, transform, ci) -> SlopeFit:
    """Slope of transform(point) on transform(xs), CI from the same on each replicate."""
    fx, fy, fb = transform(xs, point, boot)
    keep = np.isfinite(fy)
    if keep.sum() < 2 or len(np.unique(fx[keep])) < 2:
        return NO_FIT
    slope, intercept = least_squares_slopes(fx[keep], fy[keep])
    # Replicates that lost a point (e.g. t - floor <= 0 there) are left out of the CI.
    boot_slopes, _ = least_squares_slopes(fx[keep], fb[:, keep])
    lo, hi = percentile_ci(boot_slopes, ci)
    return SlopeFit(float(slope), lo, hi, float(intercept), int(keep.sum()))


def _log(xs, point, boot):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(xs), np.log(np.where(point > 0, point, np.nan)), np.log(np.where(boot > 0, boot, np.nan))


def bootstrap_slope(groups: Groups, stat: str = "median", n_boot: int = 2000, ci: float = 0.95,
                    seed: int = 0, floor: Groups | None = None) -> SlopeFit:
    """Log-log slope of the per-x median (or mean) against x, with a bootstrap CI.

    Args:
      groups: x -> (runs,) positive measurements.
      floor: x -> (runs,) measurements of a fixed cost to subtract first (e.g. the
        dispatch floor timed beside each method): the slope is then that of
        median(t) - median(floor), the part that grows. x where it is <= 0 are dropped.
    """
    if len(groups) < 2 or any(len(t) == 0 for t in groups.values()):
        return NO_FIT
    xs, point, boot = resampled_medians(groups, n_boot, seed, stat)
    if floor is not None:
        if set(floor) != set(groups):
            raise ValueError("floor must have measurements at the same x as groups")
        _, fpoint, fboot = resampled_medians(floor, n_boot, seed + 1, stat)
        point, boot = point - fpoint, boot - fboot
    return _fit(xs, point, boot, _log, ci)


def bootstrap_linear_slope(groups: Groups, n_boot: int = 2000, ci: float = 0.95, seed: int = 0,
                           stat: str = "median") -> tuple[SlopeFit, np.ndarray]:
    """Slope of the per-x median against x (e.g. seconds per layer), CI, and its replicates.

    Returns:
      (fit, replicates (n_boot,)): the replicates let a ratio of two slopes get a CI.
    """
    if len(groups) < 2 or any(len(t) == 0 for t in groups.values()):
        return NO_FIT, np.full(n_boot, np.nan)
    xs, point, boot = resampled_medians(groups, n_boot, seed, stat)
    slope, intercept = least_squares_slopes(xs, point)
    boot_slopes, _ = least_squares_slopes(xs, boot)
    lo, hi = percentile_ci(boot_slopes, ci)
    return SlopeFit(float(slope), lo, hi, float(intercept), len(xs)), boot_slopes


def ratio_ci(a: float, b: float, a_boot: np.ndarray, b_boot: np.ndarray,
             ci: float = 0.95) -> tuple[float, float, float]:
    """a / b with the percentile CI of a_boot / b_boot (independent replicates of each)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = percentile_ci(np.asarray(a_boot) / np.asarray(b_boot), ci)
        return float(a / b) if b else math.nan, lo, hi


def bootstrap_floor_power_law(groups: Groups, n_boot: int = 1000, ci: float = 0.95, seed: int = 0,
                              ks: np.ndarray = np.linspace(0.1, 5.0, 246)) -> dict[str, float]:
    """T(x) = a + c x^k with a, c >= 0 fitted to the per-x medians, and a bootstrap CI of k.

    Where a fixed per-call cost was not measured beside the method, this separates it
    from the growing part; k is the exponent of the part that grows. For each k on a
    grid, (a, c) is the weighted least-squares fit (each point weighted 1/median, so
    small and large times count alike; a negative a is refitted through zero) and the k
    with the smallest relative error wins, for the medians and for every replicate.

    Returns:
      {"k", "lo", "hi" (CI of k), "a", "c", "rel_rms", "points"}; NaNs with fewer than 3 x.
    """
    nan = {"k": math.nan, "lo": math.nan, "hi": math.nan, "a": math.nan, "c": math.nan,
           "rel_rms": math.nan, "points": len(groups)}
    if len(groups) < 3 or any(len(t) == 0 for t in groups.values()):
        return nan
    xs, point, boot = resampled_medians(groups, n_boot, seed)
    ys = np.vstack([point, boot])  # row 0: the medians themselves
    best = np.full(len(ys), np.inf)
    best_k, best_a, best_c = (np.full(len(ys), np.nan) for _ in range(3))
    for k in ks:
        u, w = 1.0 / ys, xs**k / ys  # the design's two columns, per replicate: (R, n)
        suu, suw, sww = (u * u).sum(1), (u * w).sum(1), (w * w).sum(1)
        su, sw = u.sum(1), w.sum(1)  # against a target of ones (relative errors)
        det = suu * sww - suw**2
        with np.errstate(divide="ignore", invalid="ignore"):
            a = (sww * su - suw * sw) / det
            c = (suu * sw - suw * su) / det
            through_zero = a < 0
            c = np.where(through_zero, sw / sww, c)
            a = np.where(through_zero, 0.0, a)
        rms = np.sqrt(np.mean((a[:, None] * u + c[:, None] * w - 1.0) ** 2, axis=1))
        better = (c > 0) & (rms < best)
        best = np.where(better, rms, best)
        best_k, best_a, best_c = (np.where(better, new, old) for new, old in
                                  ((k, best_k), (a, best_a), (c, best_c)))
    lo, hi = percentile_ci(best_k[1:], ci)
    return {"k": float(best_k[0]), "lo": lo, "hi": hi, "a": float(best_a[0]), "c": float(best_c[0]),
            "rel_rms": float(best[0]), "points": len(xs)}


def loglog_slope_ci(x: np.ndarray, y: np.ndarray, ci: float = 0.95) -> SlopeFit:
    """Log-log least-squares slope of deterministic data, with a Student-t CI from the residuals.

    For quantities without run-to-run noise (compiled bytes, counted flops) the CI
    measures how far log y is from a straight line in log x, on n - 2 degrees of freedom
    (NaN with fewer than 3 distinct x).
    """
    from scipy import stats  # a dependency of JAX itself

    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if len(np.unique(lx)) < 2:
        return SlopeFit(math.nan, math.nan, math.nan, math.nan, len(lx))
    slope, intercept = least_squares_slopes(lx, ly)
    half = math.nan
    if len(np.unique(lx)) > 2:
        residual = ly - (slope * lx + intercept)
        stderr = math.sqrt(residual @ residual / (len(lx) - 2) / np.sum((lx - lx.mean()) ** 2))
        half = float(stats.t.ppf((1 + ci) / 2, len(lx) - 2) * stderr)
    return SlopeFit(float(slope), float(slope - half), float(slope + half), float(intercept), len(lx))


def loglog_extrapolate(x: np.ndarray, y: np.ndarray, x0: float, ci: float = 0.95) -> dict[str, float]:
    """y at x0 from the log-log least-squares line through (x, y), with the Student-t
    confidence band of that line at x0 (n - 2 degrees of freedom).

    Far outside the measured x the band widens with the distance from their mean, as it
    should: a slope CI anchored at the last point alone understates it.
    Returns {"value", "lo", "hi", "points"}; lo/hi NaN with fewer than 3 distinct x.
    """
    from scipy import stats

    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if len(np.unique(lx)) < 2:
        return {"value": math.nan, "lo": math.nan, "hi": math.nan, "points": len(lx)}
    slope, intercept = least_squares_slopes(lx, ly)
    at = float(slope * math.log(x0) + intercept)
    lo = hi = math.nan
    if len(np.unique(lx)) > 2:
        residual = ly - (slope * lx + intercept)
        s2 = residual @ residual / (len(lx) - 2)
        se = math.sqrt(s2 * (1 / len(lx) + (math.log(x0) - lx.mean()) ** 2 / np.sum((lx - lx.mean()) ** 2)))
        half = float(stats.t.ppf((1 + ci) / 2, len(lx) - 2) * se)
        lo, hi = math.exp(at - half), math.exp(at + half)
    return {"value": math.exp(at), "lo": lo, "hi": hi, "points": len(lx)}
