"""Measured scaling of a sweep: fitted exponents with CIs, gradient ratios, run comparisons.

Works on result tables (runs.csv rows, see hvp_bench.rundir), so the analysis can be
redone or changed without re-running a sweep. Fits: log-log slopes of time against
depth (or width), least squares with a bootstrap CI over the timed runs beside Theil-Sen
with a hierarchical one over repeats and runs (expkit.robust), the same above the
dispatch floor measured at every point; seconds per extra layer and each method's
per-layer cost in gradients (Theil-Sen, hierarchical CIs, a fit diagnostic and flags);
memory slopes; per-depth ratios to the gradient (median over repeats). The predictions
they are set against come from hvp_bench.cost_model.

Dead points (results all zero or non-finite, hvp_bench.rundir.is_dead) stay in the
fits: their times are those of the same arithmetic. They are counted beside every fit
(dead_depths, first_dead) so a table can say so, and a dead region timed differently
shows as segments that disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from expkit.fits import NO_FIT, bootstrap_slope, loglog_slope, loglog_slope_ci
from expkit.robust import RobustFit, ratio_fit, robust_slope
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES
from hvp_bench.cost_model import REGIMES, predicted_depth_exponent, predicted_width_exponent
from hvp_bench.rundir import REPEAT, is_dead, ok_times, repeat_of


def _groups(rows: pd.DataFrame, x: str) -> dict[float, np.ndarray]:
    return {float(k): g["time_s"].to_numpy(float) for k, g in rows.groupby(x)}


def method_groups(runs: pd.DataFrame, x: str = "depth") -> dict[str, dict[float, np.ndarray]]:
    """method -> {x: (runs,) timed seconds}, for every method with timed points."""
    rows = ok_times(runs)
    return {m: _groups(g, x) for m, g in rows.groupby("method")}


def repeat_groups(rows: pd.DataFrame, x: str = "depth") -> dict[int, dict[float, np.ndarray]]:
    """repeat -> x -> (runs,) timed seconds of one method's timed rows, in run order.

    Run order (run_index) matters: methods timed in the same interleaved rounds are then
    resampled together by expkit.robust (the same seed draws the same positions).
    """
    rows = rows.assign(**{REPEAT: repeat_of(rows)})
    if "run_index" in rows:
        rows = rows.sort_values("run_index", kind="stable")
    return {int(r): _groups(g, x) for r, g in rows.groupby(REPEAT)}


def dead_points(runs: pd.DataFrame, x: str = "depth") -> pd.DataFrame:
    """x (index) by method: True where the method's timed result there was dead (is_dead)."""
    rows = ok_times(runs)
    dead = rows.assign(dead=is_dead(rows)).pivot_table(index=x, columns="method", values="dead", aggfunc="any",
                                                      fill_value=False)
    return dead.astype(bool)


def dead_columns(dead: pd.DataFrame, method: str, xs) -> dict:
    """dead_depths (how many of the fitted xs were dead) and first_dead (the smallest; NaN if none)."""
    hit = [x for x in xs if method in dead and x in dead.index and dead.at[x, method]]
    return {"dead_depths": len(hit), "first_dead": min(hit) if hit else np.nan}


def robust_columns(fit: RobustFit, prefix: str = "", scale: str = "") -> dict:
    """A RobustFit as table columns: {prefix}{slope, lo, hi, ...}; `scale` suffixes the
    columns in the data's unit (e.g. "_s"). Per-repeat pairs are left out."""
    unit = ("slope", "lo", "hi", "lower", "upper", "split_lo", "split_hi", "rep_median", "rep_min", "rep_max")
    return {f"{prefix}{k}{scale if k in unit else ''}": v for k, v in dataclasses.asdict(fit).items()
            if k != "rep_slopes"}


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
      x where both were measured); robust_* (Theil-Sen exponent with its hierarchical CI
      over repeats and runs, diagnostic and status: expkit.robust); dead_depths,
      first_dead; predicted exponents per regime.
    """
    groups_of = method_groups(runs, x)
    rows = ok_times(runs)
    dead = dead_points(runs, x)
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
        robust, _ = robust_slope(repeat_groups(rows[rows["method"] == method], x), n_boot, seed=seed, log=True)
        out.append({
            "method": method, "points": full.points,
            "slope": full.slope, "lo": full.lo, "hi": full.hi, "intercept": full.intercept,
            "upper_slope": up.slope, "upper_lo": up.lo, "upper_hi": up.hi,
            "local_slope": loc.slope, "local_lo": loc.lo, "local_hi": loc.hi,
            "floor_slope": above.slope, "floor_lo": above.lo, "floor_hi": above.hi, "floor_points": above.points,
            **robust_columns(robust, "robust_"), **dead_columns(dead, method, xs),
            **{f"pred_{r}": predict(method, "time", r) for r in REGIMES},
        })
    return pd.DataFrame(out)


def marginal_costs(runs: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per method: seconds per extra layer and that slope over the gradient's, robustly.

    The per-layer ratio is what an HVP costs in gradients once fixed costs (dispatch,
    the first and last layers) are out: a ratio at one depth mixes both. Each slope is
    Theil-Sen's over the per-depth points (mean over repeats of each repeat's median)
    with a hierarchical bootstrap CI over repeats, then runs (expkit.robust); every
    method uses the same seed, so the ratio's replicates are paired by repeat and round.

    Returns:
      One row per method (the dispatch floor included, whose slope should be ~0):
      points, repeats, per_layer_s, per_layer_lo, per_layer_hi, intercept_s, status
      ("ok" or the flags: too few depths, segments disagree), lower_s / upper_s (segment
      slopes), split_lo_s / split_hi_s (CI of upper - lower), resid_rel, rep_median_s /
      rep_min_s / rep_max_s (each repeat's own slope); ratio, ratio_lo, ratio_hi,
      ratio_rep_median / _min / _max, ratio_status (NaN without a gradient); dead_depths,
      first_dead.
    """
    rows = ok_times(runs)
    dead = dead_points(runs)
    fits = {m: robust_slope(repeat_groups(g), n_boot, seed=seed) for m, g in rows.groupby("method")}
    out = []
    for method in [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m in fits]:
        fit, boot = fits[method]
        ratio = {"ratio": np.nan, "lo": np.nan, "hi": np.nan, "rep_median": np.nan, "rep_min": np.nan,
                 "rep_max": np.nan, "status": "no gradient"}
        if "gradient" in fits:
            ratio = ratio_fit(fit, boot, *fits["gradient"])
        columns = robust_columns(fit, "", "_s")
        per_layer = {"per_layer_s": columns.pop("slope_s"), "per_layer_lo": columns.pop("lo_s"),
                     "per_layer_hi": columns.pop("hi_s"), "intercept_s": columns.pop("intercept")}
        depths = sorted(rows.loc[rows["method"] == method, "depth"].unique())
        out.append({"method": method, **per_layer, **columns,
                    **{"ratio" if k == "ratio" else f"ratio_{k}": v for k, v in ratio.items()},
                    **dead_columns(dead, method, depths)})
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


def ratio_by_repeat(runs: pd.DataFrame, x: str = "depth", above_floor: bool = False) -> pd.DataFrame:
    """Per (x, method): each repeat's median time over its median gradient time, summarised.

    Args:
      above_floor: subtract the median dispatch floor (of the same repeat, at each x) from
        both first, so the ratio compares the work rather than the fixed cost of a call.
    Returns:
      Columns x, method, ratio (median over repeats), lo, hi (their range), repeats, dead
      (the method's or the gradient's result dead there). Empty without a gradient (or,
      with above_floor, a floor).
    """
    rows = ok_times(runs)
    rows = rows.assign(**{REPEAT: repeat_of(rows)})
    medians = rows.pivot_table(index=[x, REPEAT], columns="method", values="time_s", aggfunc="median")
    if "gradient" not in medians or (above_floor and FLOOR_METHOD not in medians):
        return pd.DataFrame(columns=[x, "method", "ratio", "lo", "hi", "repeats", "dead"])
    if above_floor:
        medians = medians.sub(medians[FLOOR_METHOD], axis=0)
    ratios = medians.div(medians["gradient"], axis=0)
    methods = [m for m in METHOD_NAMES if m in ratios and m != "gradient"]
    long = ratios[methods].reset_index().melt(id_vars=[x, REPEAT], var_name="method", value_name="r").dropna()
    out = long.groupby([x, "method"], sort=False)["r"].agg(ratio="median", lo="min", hi="max", repeats="count")
    dead = dead_points(runs, x)
    out = out.reset_index()
    out["dead"] = [bool(dead.at[v, m] or dead.at[v, "gradient"]) for v, m in zip(out[x], out["method"])]
    return out


def gradient_ratios(runs: pd.DataFrame, x: str = "depth", above_floor: bool = False) -> pd.DataFrame:
    """Median time of every method / median time of the gradient, per `x` (index) and method.

    With several repeats: the median over repeats of each repeat's ratio (ratio_by_repeat
    has their range and which points were dead). NaN where either is missing; empty if
    the run has no gradient (or, with above_floor, no floor).
    """
    long = ratio_by_repeat(runs, x, above_floor)
    if long.empty:
        return pd.DataFrame()
    wide = long.pivot(index=x, columns="method", values="ratio").sort_index()
    return wide[[m for m in METHOD_NAMES if m in wide]].rename_axis(columns="method")


def compare_runs(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> pd.DataFrame:
    """Median times of two runs at matched (depth, width, variant, method), and their ratio.

    Returns columns depth, width, variant, method, median_a_s, median_b_s, speedup = a / b
    (> 1: run b is faster), dead (the result dead there in either run).
    """
    keys = ["depth", "width", "variant", "method"]
    a, b = ok_times(runs_a), ok_times(runs_b)
    medians = [r.groupby(keys)["time_s"].median().rename(f"median_{n}_s") for r, n in ((a, "a"), (b, "b"))]
    dead = [r.assign(d=is_dead(r)).groupby(keys)["d"].any().rename(f"dead_{n}") for r, n in ((a, "a"), (b, "b"))]
    both = pd.concat([*medians, *dead], axis=1, join="inner").reset_index()
    both = both.assign(speedup=both["median_a_s"] / both["median_b_s"], dead=both["dead_a"] | both["dead_b"])
    return both.drop(columns=["dead_a", "dead_b"])


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
