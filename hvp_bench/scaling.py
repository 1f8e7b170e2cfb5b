"""Measured scaling of a sweep: fitted exponents with CIs, gradient ratios, run comparisons.

Works on result tables (runs.csv rows, see hvp_bench.rundir), so the analysis can be
redone or changed without re-running a sweep. Fits: log-log slopes of time against
depth (or width) with a bootstrap CI over the timed runs, `T = a + c n^k` with a fixed
floor `a` taken out, memory slopes, and each HVP's time as a multiple of the
gradient's. The predictions they are set against come from hvp_bench.cost_model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from expkit.fits import bootstrap_slope, fit_floor_power_law, loglog_slope
from hvp_bench.config import METHOD_NAMES
from hvp_bench.cost_model import REGIMES, predicted_depth_exponent, predicted_width_exponent
from hvp_bench.rundir import ok_times


def _groups(rows: pd.DataFrame, x: str) -> dict[float, np.ndarray]:
    return {float(k): g["time_s"].to_numpy(float) for k, g in rows.groupby(x)}


def fit_time_slopes(runs: pd.DataFrame, x: str = "depth", n_boot: int = 2000, seed: int = 0,
                    methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Per method: the log-log slope of time against `x`, with CIs, beside the prediction.

    Args:
      runs: runs.csv rows of one sweep (fixed width for x="depth", fixed depth for "width").
      x: "depth" or "width".
    Returns:
      One row per method: points; slope, lo, hi (all points); upper_* (the upper half of
      the x values: the floor matters less there); local_* (the three largest x);
      floor_k, floor_a_s (`fit_floor_power_law` on the medians); predicted exponents.
    """
    rows = ok_times(runs)
    predict = predicted_depth_exponent if x == "depth" else predicted_width_exponent
    out = []
    for method in methods or [m for m in METHOD_NAMES if m in set(rows["method"])]:
        groups = _groups(rows[rows["method"] == method], x)
        xs = sorted(groups)
        upper = {k: groups[k] for k in xs if k >= np.median(xs)} if len(xs) >= 4 else {}
        local = {k: groups[k] for k in xs[-3:]} if len(xs) >= 4 else {}
        full, up, loc = (bootstrap_slope(g, n_boot=n_boot, seed=seed) for g in (groups, upper, local))
        medians = np.array([np.median(groups[k]) for k in xs])
        floor = fit_floor_power_law(np.array(xs), medians)
        out.append({
            "method": method, "points": full.points,
            "slope": full.slope, "lo": full.lo, "hi": full.hi, "intercept": full.intercept,
            "upper_slope": up.slope, "upper_lo": up.lo, "upper_hi": up.hi,
            "local_slope": loc.slope, "local_lo": loc.lo, "local_hi": loc.hi,
            "floor_k": floor["k"], "floor_a_s": floor["a"],
            **{f"pred_{r}": predict(method, "time", r) for r in REGIMES},
        })
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
            row[f"{col}_points"] = len(xs)
            row[f"{col}_slope"] = loglog_slope(xs, ys)[0]
            top = xs >= np.median(xs) if len(xs) >= 4 else np.zeros(len(xs), bool)
            row[f"{col}_upper"] = loglog_slope(xs[top], ys[top])[0]
        out.append(row)
    return pd.DataFrame(out)


def gradient_ratios(runs: pd.DataFrame, x: str = "depth") -> pd.DataFrame:
    """Median time of every method / median time of the gradient, per `x` (index) and method.

    NaN where either is missing. Empty if the run has no gradient.
    """
    rows = ok_times(runs)
    medians = rows.pivot_table(index=x, columns="method", values="time_s", aggfunc="median")
    if "gradient" not in medians:
        return pd.DataFrame()
    ratios = medians.div(medians["gradient"], axis=0)
    return ratios[[m for m in METHOD_NAMES if m in ratios and m != "gradient"]]


def compare_runs(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> pd.DataFrame:
    """Median times of two runs at matched (depth, width, method), and their ratio.

    Returns columns depth, width, method, median_a_s, median_b_s, speedup = a / b
    (> 1: run b is faster).
    """
    keys = ["depth", "width", "method"]
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
