"""Slopes that survive a second run: Theil-Sen fits, a hierarchical bootstrap over repeats,
a fit diagnostic, and across-repeat headline figures.

A run's bootstrap over its timed calls (expkit.fits) does not see between-run drift, and
an OLS line through a few medians cannot see that it fits badly. Here:
- data come as `repeats`: repeat -> x -> (runs,) measurements. A repeat is one
  independent study (its own worker process); a run directory without a repeat column is
  one repeat;
- the point at each x is the mean over repeats of that repeat's median (a median resists
  a slow call; a mean over repeats is linear in each repeat's drift, so its slope
  estimates the mean slope and bootstraps well with few repeats);
- the slope is Theil-Sen's (the median of pairwise slopes): one bad depth cannot tilt it;
- its CI: resample repeats with replacement, then the runs within each (repeat, x),
  recompute the points and the slope; the expanded percentile interval of those (wider
  for few repeats, see `expanded_ci`). With one repeat it cannot see between-repeat
  drift: only more repeats can;
- a diagnostic: the slopes of the lower and upper halves of the x (sharing the middle
  one when their count is odd) and the bootstrap CI of their difference. Segments
  "disagree" when that CI excludes 0 and they differ by more than `tol` of the slope:
  one line does not describe the data, so its slope is no headline;
- fewer than `min_points` x values: computed, but flagged "too few depths".
The same seed draws the same repeats and run positions for data of the same shape, so
methods timed in the same repeats and interleaved rounds are resampled together (paired),
as a ratio of their slopes needs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from expkit.fits import percentile_ci

Repeats = Mapping[int, Mapping[float, np.ndarray]]
MIN_POINTS = 7
TOO_FEW = "too few depths"
DISAGREE = "segments disagree"
NO_FIT_STATUS = "no fit"


@dataclasses.dataclass(frozen=True)
class RobustFit:
    """A Theil-Sen slope, its hierarchical-bootstrap CI and its diagnostic.

    lower, upper: segment slopes (lower / upper half of the x); split_lo, split_hi: CI of
    upper - lower. resid_rel: median |residual| over the fitted rise across the x range.
    rep_median, rep_min, rep_max: each repeat's own slope, summarised (the headline shape);
    rep_slopes: (repeat, its slope) pairs.
    status: "ok", or the flags joined by "; " (TOO_FEW, DISAGREE, NO_FIT_STATUS).
    """

    slope: float
    lo: float
    hi: float
    intercept: float
    points: int
    repeats: int
    lower: float
    upper: float
    split_lo: float
    split_hi: float
    resid_rel: float
    rep_median: float
    rep_min: float
    rep_max: float
    status: str
    rep_slopes: tuple[tuple[int, float], ...] = dataclasses.field(default=(), repr=False)

    @property
    def headline(self) -> bool:
        """Whether the slope may be quoted as a result (enough x values, one line fits)."""
        return self.status == "ok"


NO_ROBUST_FIT = RobustFit(*[math.nan] * 4, 0, 0, *[math.nan] * 8, NO_FIT_STATUS)


def median_last(a: np.ndarray) -> np.ndarray:
    """The median along the last axis, ignoring NaNs (NaN where all are), without warnings."""
    a = np.sort(np.asarray(a, float), axis=-1)  # NaNs sort last
    n = (~np.isnan(a)).sum(-1)
    lo = np.take_along_axis(a, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(a, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def _mean_over(a: np.ndarray, axis: int) -> np.ndarray:
    """The mean over `axis` of the non-NaN entries (NaN where none)."""
    n = (~np.isnan(a)).sum(axis)
    total = np.where(np.isnan(a), 0.0, a).sum(axis)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Theil-Sen slopes and intercepts of y ~ a + b x for y (..., k) at once.

    Slope: the median of the slopes between all pairs of distinct x (pairs with a NaN
    left out); intercept: the median of y - slope x. NaN with fewer than two finite x.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    i, j = np.triu_indices(len(x), 1)
    keep = x[i] != x[j]
    i, j = i[keep], j[keep]
    slope = median_last((y[..., j] - y[..., i]) / (x[j] - x[i]))
    return slope, median_last(y - np.asarray(slope)[..., None] * x)


def _table(repeats: Repeats) -> tuple[np.ndarray, np.ndarray]:
    """(xs (k,), measurements (R, k, m) padded with NaN), repeats in sorted label order."""
    xs = np.array(sorted({float(x) for g in repeats.values() for x in g}), float)
    labels = sorted(repeats)
    m = max(len(t) for g in repeats.values() for t in g.values())
    table = np.full((len(labels), len(xs), m), np.nan)
    for r, label in enumerate(labels):
        for x, t in repeats[label].items():
            t = np.asarray(t, float)
            table[r, np.searchsorted(xs, float(x)), :len(t)] = t
    return xs, table


def hierarchical_points(repeats: Repeats, n_boot: int = 2000,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(xs (k,), points (k,), bootstrap points (n_boot, k), per-repeat medians (R, k)).

    A point: the mean over repeats of each repeat's median at x (NaN where no repeat
    has x). A bootstrap replicate draws R repeats with replacement, then the runs of
    each drawn repeat at each x with replacement.
    """
    xs, table = _table(repeats)
    n_rep, k, m = table.shape
    medians = median_last(table)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, n_rep, size=(n_boot, n_rep))
    counts = (~np.isnan(table)).sum(-1)[pick]  # (n_boot, R, k)
    position = np.minimum((rng.random((n_boot, n_rep, k, m)) * counts[..., None]).astype(int), m - 1)
    drawn = table[pick[:, :, None, None], np.arange(k)[None, None, :, None], position]
    drawn = np.where(np.arange(m) < counts[..., None], drawn, np.nan)
    return xs, _mean_over(medians, 0), _mean_over(median_last(drawn), 1), medians


def expanded_ci(samples: np.ndarray, ci: float = 0.95, n: int = 1) -> tuple[float, float]:
    """Hesterberg's expanded percentile interval of bootstrap replicates over n units.

    The plain percentile interval of a statistic resampled from n units is too narrow
    for small n (its spread is that of n / (n - 1) fewer units, and normal, not t,
    quantiles): 95% intervals over 5 repeats cover about 83%. The expanded one takes the
    quantiles at Phi(+-sqrt(n / (n - 1)) t_{n-1, (1 + ci) / 2}) instead. n = 1: plain.
    """
    if n < 2:
        return percentile_ci(samples, ci)
    from scipy import stats  # a dependency of JAX itself; imported where needed

    z = math.sqrt(n / (n - 1)) * stats.t.ppf((1 + ci) / 2, n - 1)
    return percentile_ci(samples, 1 - 2 * stats.norm.sf(z))


def _halves(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the lower and upper halves of k sorted x (the middle one in both if k is odd)."""
    mid = k // 2
    return np.arange(0, mid + k % 2), np.arange(mid, k)


def _logged(xs, *ys):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(xs), *(np.log(np.where(y > 0, y, np.nan)) for y in ys))


def robust_slope(repeats: Repeats, n_boot: int = 2000, ci: float = 0.95, seed: int = 0, log: bool = False,
                 min_points: int = MIN_POINTS, tol: float = 0.2) -> tuple[RobustFit, np.ndarray]:
    """Theil-Sen slope of the points against x, its hierarchical-bootstrap CI and diagnostic.

    Args:
      repeats: repeat -> x -> (runs,) measurements.
      log: fit log(point) against log(x) (an exponent) instead of the linear slope.
      min_points: fewer x than this: flagged TOO_FEW.
      tol: segments that differ by less than this fraction of the slope are not flagged,
        however sure the bootstrap is that they differ.
    Returns:
      (fit, slope replicates (n_boot,)): the replicates give a ratio of slopes its CI.
    """
    nan_boot = np.full(n_boot, np.nan)
    if not repeats or not any(len(t) for g in repeats.values() for t in g.values()):
        return NO_ROBUST_FIT, nan_boot
    xs, point, boot, medians = hierarchical_points(repeats, n_boot, seed)
    if log:
        xs, point, boot, medians = _logged(xs, point, boot, medians)
    finite = np.isfinite(point)
    if len(np.unique(xs[finite])) < 2:
        return dataclasses.replace(NO_ROBUST_FIT, points=int(finite.sum()), repeats=len(medians)), nan_boot
    slope, intercept = (float(v) for v in theil_sen(xs, point))
    boot_slopes = theil_sen(xs, boot)[0]
    lo, hi = expanded_ci(boot_slopes, ci, len(medians))
    lower = upper = split_lo = split_hi = math.nan
    flags = [TOO_FEW] if finite.sum() < min_points else []
    if len(xs) >= 3:
        low, high = _halves(len(xs))
        lower, upper = (float(theil_sen(xs[s], point[s])[0]) for s in (low, high))
        split = theil_sen(xs[high], boot[:, high])[0] - theil_sen(xs[low], boot[:, low])[0]
        split_lo, split_hi = expanded_ci(split, ci, len(medians))
        if (split_lo > 0 or split_hi < 0) and abs(upper - lower) > tol * abs(slope):
            flags.append(DISAGREE)
    rise = abs(slope * (xs[finite].max() - xs[finite].min()))
    resid = np.abs(point[finite] - (intercept + slope * xs[finite]))
    # Through 3 points a Theil-Sen line passes through one exactly: no spread to speak of.
    resid_rel = float(np.median(resid) / rise) if rise > 0 and finite.sum() >= 4 else math.nan
    rep_slopes = theil_sen(xs, medians)[0]
    fit = RobustFit(slope, lo, hi, intercept, int(finite.sum()), len(medians), lower, upper, split_lo, split_hi,
                    resid_rel, *across_repeats(rep_slopes), "; ".join(flags) or "ok",
                    tuple(zip(sorted(repeats), map(float, rep_slopes))))
    return fit, boot_slopes


def across_repeats(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """(median, min, max) of the finite per-repeat estimates: a headline and its spread."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    return float(np.median(v)), float(v.min()), float(v.max())


def ratio_fit(num: RobustFit, num_boot: np.ndarray, den: RobustFit, den_boot: np.ndarray,
              ci: float = 0.95) -> dict[str, float | str]:
    """num.slope / den.slope with the percentile CI of the paired replicates' ratios.

    Args:
      num_boot, den_boot: (n_boot,) slope replicates from the same seed (paired draws).
    Returns:
      {"ratio", "lo", "hi", "rep_median", "rep_min", "rep_max", "status"}: rep_* the
      median and range, over the repeats both were fitted in, of the ratio within each;
      status "ok" only where both fits are headlines, else the flags of either.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num.slope / den.slope if den.slope else math.nan
        lo, hi = expanded_ci(np.asarray(num_boot) / np.asarray(den_boot), ci, min(num.repeats, den.repeats))
        den_of = dict(den.rep_slopes)
        both = [(s, den_of[r]) for r, s in num.rep_slopes if r in den_of]
        rep = across_repeats(np.divide(*np.array(both).T) if both else [])
    flags = dict.fromkeys(f for s in (num.status, den.status) if s != "ok" for f in s.split("; "))
    return {"ratio": float(ratio), "lo": lo, "hi": hi, "rep_median": rep[0], "rep_min": rep[1],
            "rep_max": rep[2], "status": "; ".join(flags) or "ok"}
