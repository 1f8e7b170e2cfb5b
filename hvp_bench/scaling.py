"""Measured scaling of a sweep: fitted exponents with CIs, gradient ratios, run comparisons.

Works on result tables (runs.csv rows, see hvp_bench.rundir), so the analysis can be
redone or changed without re-running a sweep. Fits, each with a bootstrap CI over the
timed runs: log-log slopes of time against depth (or width), the same above the
dispatch floor measured at every point, seconds per extra layer and each method's
per-layer cost in gradients; memory slopes; per-depth ratios to the gradient. The predictions they are set against come from hvp_bench.cost_model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from expkit.fits import NO_FIT, bootstrap_linear_slope, bootstrap_slope, loglog_slope, loglog_slope_ci, ratio_ci
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES
from hvp_bench.cost_model import REGIMES, predicted_depth_exponent, predicted_width_exponent
from hvp_bench.rundir import ok_times


def _groups(rows: pd.DataFrame, x: str) -> dict[float, np.ndarray]:
    return {float(k): g["time_s"].to_numpy(float) for k, g in rows.groupby(x)}


def method_groups(runs: pd.DataFrame, x: str = "depth") -> dict[str, dict[float, np.ndarray]]:
    """method -> {x: (runs,) timed seconds}, for every method with timed points."""
    rows = ok_times(runs)
    return {m: _groups(g, x) for m, g in rows.groupby("method")}


def fit_time_slopes(runs: pd.DataFrame, x: str = "depth", n_boot: int = 2000, seed: int = 0,
                    methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Per method: the log-log slope of time against `x`, with CIs, beside the prediction.

    Args:
      runs: runs.csv rows of one sweep (fixed width for x="depth", fixed depth for
        "width"), with the dispatch floor among them where it was measured.
      x: "depth" or "width".
    Returns:
      One row per method: points; slope, lo, hi (all points); upper_* (the upper half of
      the x values: a fixed cost matters less there); local_* (the three largest x);
      floor_* (the slope of median time minus the median measured dispatch floor, at the
      x where both were measured); predicted exponents per regime.
    """
    groups_of = method_groups(runs, x)
    floor = groups_of.get(FLOOR_METHOD)
    predict = predicted_depth_exponent if x == "depth" else predicted_width_exponent
    out = []
    for method in methods or [m for m in METHOD_NAMES if m in groups_of]:
        groups = groups_of[method]
        xs = sorted(groups)
        upper = {k: groups[k] for k in xs if k >= np.median(xs)} if len(xs) >= 4 else {}
        local = {k: groups[k] for k in xs[-3:]} if len(xs) >= 4 else {}
        full, up, loc = (bootstrap_slope(g, n_boot=n_boot, seed=seed) for g in (groups, upper, local))
        above = NO_FIT
        if floor is not None and set(groups) <= set(floor):
            above = bootstrap_slope(groups, n_boot=n_boot, seed=seed, floor={k: floor[k] for k in groups})
        out.append({
            "method": method, "points": full.points,
            "slope": full.slope, "lo": full.lo, "hi": full.hi, "intercept": full.intercept,
            "upper_slope": up.slope, "upper_lo": up.lo, "upper_hi": up.hi,
            "local_slope": loc.slope, "local_lo": loc.lo, "local_hi": loc.hi,
            "floor_slope": above.slope, "floor_lo": above.lo, "floor_hi": above.hi, "floor_points": above.points,
            **{f"pred_{r}": predict(method, "time", r) for r in REGIMES},
        })
    return pd.DataFrame(out)


def marginal_costs(runs: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per method: seconds per extra layer (slope of median time against depth) and that
    slope over the gradient's, each with a bootstrap CI.

    The per-layer ratio is what an HVP costs in gradients once fixed costs (dispatch,
    the first and last layers) are out: a ratio at one depth mixes both.

    Returns:
      One row per method (the dispatch floor included, whose slope should be ~0):
      per_layer_s, per_layer_lo, per_layer_hi, intercept_s, ratio, ratio_lo, ratio_hi
      (NaN without a gradient).
    """
    groups_of = method_groups(runs, "depth")
    fits = {m: bootstrap_linear_slope(g, n_boot=n_boot, seed=seed + i)
            for i, (m, g) in enumerate(sorted(groups_of.items()))}
    grad, grad_boot = fits.get("gradient", (NO_FIT, np.full(n_boot, np.nan)))
    out = []
    for method in [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m in fits]:
        fit, boot = fits[method]
        ratio = ratio_ci(fit.slope, grad.slope, boot, grad_boot) if method != "gradient" else (1.0, 1.0, 1.0)
        out.append({"method": method, "points": fit.points, "per_layer_s": fit.slope, "per_layer_lo": fit.lo,
                    "per_layer_hi": fit.hi, "intercept_s": fit.intercept,
                    "ratio": ratio[0], "ratio_lo": ratio[1], "ratio_hi": ratio[2]})
    return pd.DataFrame(out)


def fit_memory_slopes(summary: pd.DataFrame, x: str = "depth") -> pd.DataFrame:
    """Per method: log-log slopes of compiled_bytes and predicted_bytes against `x`.

    Any point with a compiled size counts, skipped ones included (a point skipped after
    compiling still measured its memory). Upper half as in `fit_time_slopes`.
    """
    predict = predicted_depth_exponent if x == "depth" else predicted_width_exponent
    out = []
    for method in [m for m in METHOD_NAMES if m in set(summary["method"])]:
        data = summary[summary["method"] == method]
        row = {"method": method, "predicted_exponent": predict(method, "memory")}
        for col in ("compiled_bytes", "predicted_bytes"):
            values = pd.to_numeric(data[col], errors="coerce")
            d = data.assign(v=values)[values > 0].sort_values(x)
            xs, ys = d[x].to_numpy(float), d["v"].to_numpy(float)
            fit = loglog_slope_ci(xs, ys)
            row[f"{col}_points"] = len(xs)
            row[f"{col}_slope"], row[f"{col}_lo"], row[f"{col}_hi"] = fit.slope, fit.lo, fit.hi
            top = xs >= np.median(xs) if len(xs) >= 4 else np.zeros(len(xs), bool)
            row[f"{col}_upper"] = loglog_slope(xs[top], ys[top])[0]
        out.append(row)
    return pd.DataFrame(out)


def gradient_ratios(runs: pd.DataFrame, x: str = "depth", above_floor: bool = False) -> pd.DataFrame:
    """Median time of every method / median time of the gradient, per `x` (index) and method.

    Args:
      above_floor: subtract the median dispatch floor at each x from both first, so the
        ratio compares the work rather than the fixed cost of a call.
    Returns:
      NaN where either is missing. Empty if the run has no gradient (or, with
      above_floor, no floor).
    """
    rows = ok_times(runs)
    medians = rows.pivot_table(index=x, columns="method", values="time_s", aggfunc="median")
    if "gradient" not in medians or (above_floor and FLOOR_METHOD not in medians):
        return pd.DataFrame()
    if above_floor:
        medians = medians.sub(medians[FLOOR_METHOD], axis=0)
    ratios = medians.div(medians["gradient"], axis=0)
    return ratios[[m for m in METHOD_NAMES if m in ratios and m != "gradient"]]


def compare_runs(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> pd.DataFrame:
    """Median times of two runs at matched (depth, width, variant, method), and their ratio.

    Returns columns depth, width, variant, method, median_a_s, median_b_s, speedup = a / b
    (> 1: run b is faster).
    """
    keys = ["depth", "width", "variant", "method"]
    a = ok_times(runs_a).groupby(keys)["time_s"].median().rename("median_a_s")
    b = ok_times(runs_b).groupby(keys)["time_s"].median().rename("median_b_s")
    both = pd.concat([a, b], axis=1, join="inner").reset_index()
    return both.assign(speedup=both["median_a_s"] / both["median_b_s"])


def verdict(fit_lo: float, fit_hi: float, overhead: float, asymptotic: float) -> str:
    """One phrase placing a CI against the overhead-bound and asymptotic exponents."""
    if not np.isfinite(fit_lo):
        return "too few points to fit"
    if overhead != asymptotic and fit_lo <= overhead <= fit_hi and fit_lo <= asymptotic <= fit_hi:
        return f"CI too wide to tell the overhead-bound {overhead:g} from the asymptotic {asymptotic:g}"
    if fit_hi - fit_lo > 0.5 and fit_lo <= asymptotic <= fit_hi:
        return f"consistent with {asymptotic:g}, but the CI is too wide to be evidence"
    if fit_lo <= asymptotic <= fit_hi:
        return f"consistent with the asymptotic exponent {asymptotic:g}"
    if fit_lo <= overhead <= fit_hi:
        return f"consistent with the overhead-bound exponent {overhead:g}"
    low, high = min(overhead, asymptotic), max(overhead, asymptotic)
    if fit_hi < low:
        return "shallower than predicted: a fixed floor (dispatch, launch) dominates the small sizes"
    if fit_lo > high:
        return "steeper than predicted: costs grow faster (cache misses, a falling-off memory hierarchy)"
    return f"between the overhead-bound {overhead:g} and the asymptotic {asymptotic:g}: a mixed regime"
