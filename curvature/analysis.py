"""From a run's result files to numbers: error tables, fitted slopes with CIs, the goals.

Plain NumPy and pandas over the CSVs curvature/run.py writes (no JAX), so the summary
and the figures can be redone from the files alone.

Confidence intervals are 95% bootstrap percentile intervals over the independent
repetitions at each budget (or timed runs at each depth), as in `expkit.fits`: they
cover sampling noise, not a wrong model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from expkit.fits import bootstrap_slope, loglog_extrapolate, loglog_slope_ci

# Error ∝ m^slope: Hutchinson's is exact (its variance is 2(‖H‖_F² − Σ H_ii²)/m); Hutch++'s
# and XTrace's -1 is the lecture's rate, reached when |λ_i| decays like 1/i.
THEORY = {"hutchinson": -0.5, "hutchpp": -1.0, "xtrace": -1.0}
TOLERANCE = 1e-6
_BOOT = 2000


def rmse_table(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per (estimator, hvps): relative RMSE over the repetitions, with a bootstrap CI."""
    rng = np.random.default_rng(seed)
    rows = []
    for (name, hvps), group in frame.groupby(["estimator", "hvps"], sort=False):
        err = group["rel_error"].to_numpy(float)
        boot = np.sqrt(np.mean(err[rng.integers(0, len(err), (_BOOT, len(err)))] ** 2, axis=1))
        rows.append({"estimator": name, "hvps": int(hvps), "reps": len(err),
                     "rel_rmse": float(np.sqrt(np.mean(err ** 2))),
                     "rel_rmse_lo": float(np.quantile(boot, 0.025)), "rel_rmse_hi": float(np.quantile(boot, 0.975)),
                     "median_rel_error": float(np.median(err))})
    return pd.DataFrame(rows)


def error_slopes(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Slope of log RMSE against log HVPs per estimator, with its bootstrap CI and the theory.

    The fit is to the mean squared error (whose slope is twice the RMSE's), so the
    bootstrap resamples exactly the independent repetitions.
    """
    out = {}
    for name, group in frame.groupby("estimator", sort=False):
        squared = {float(m): g["rel_error"].to_numpy(float) ** 2 for m, g in group.groupby("hvps")}
        fit = bootstrap_slope(squared, stat="mean", n_boot=_BOOT)
        out[name] = {"slope": fit.slope / 2, "lo": fit.lo / 2, "hi": fit.hi / 2, "intercept": fit.intercept / 2,
                     "theory": THEORY.get(name, math.nan), "points": fit.points}
        out[name]["theory_in_ci"] = bool(out[name]["lo"] <= out[name]["theory"] <= out[name]["hi"])
    return out


def predicted_errors(exact: dict[str, Any], eigenvalues: np.ndarray, budgets) -> pd.DataFrame:
    """What theory predicts for this Hessian at each budget m (relative RMSE).

    hutchinson: sqrt(2(‖H‖_F² − Σ H_ii²) / m) / |tr H|, exact.
    hutchpp_ideal: Hutch++ with the exact top-m/3 eigenspace deflated and m/3 Gaussian-like
      probes on the rest, sqrt(2 Σ_{i > m/3} λ_(i)² / (m/3)) / |tr H| (λ sorted by magnitude):
      the rate this spectrum allows, against which Hutch++'s -1 is a worst case.
    """
    tail = np.sort(np.asarray(eigenvalues) ** 2)[::-1]
    tail_sums = np.cumsum(tail[::-1])[::-1]  # tail_sums[k] = Σ_{i >= k} λ_(i)²
    rows = []
    for m in budgets:
        k = m // 3
        rows.append({"hvps": int(m),
                     "hutchinson": math.sqrt(exact["hutchinson_variance"] / m) / abs(exact["trace"]),
                     "hutchpp_ideal": math.sqrt(2 * tail_sums[k] / (m - 2 * k)) / abs(exact["trace"])})
    return pd.DataFrame(rows)


def loglog_fit(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def eigen_summary(frame: pd.DataFrame, tol: float = TOLERANCE) -> dict[str, Any]:
    """Worst relative error of the top-k and bottom-k Ritz values at the last step, and the
    first step count at which every one of them is within `tol`; the same for power iteration."""
    out: dict[str, Any] = {"tolerance": tol}
    for (method, dtype), group in frame.groupby(["method", "dtype"], sort=False):
        for which, part in group.groupby("which", sort=False):
            worst = part.groupby("hvps")["rel_error"].max()
            k = part["rank"].max()
            complete = part.groupby("hvps")["rank"].count() == k
            worst = worst[complete]
            hit = worst.index[worst.to_numpy() <= tol]
            out[f"{method}_{dtype}_{which}"] = {
                "hvps": int(worst.index.max()), "max_rel_error": float(worst.iloc[-1]),
                "hvps_to_tolerance": int(hit.min()) if len(hit) else None, "count": int(k),
            }
    return out


def cost_table(cost: pd.DataFrame) -> pd.DataFrame:
    """Median time, compile time and memory per (depth, route); status 'skipped'/'failed'/'wrong' kept."""
    rows = []
    for (depth, route), g in cost.groupby(["depth", "route"], sort=True):
        ok = g[g["status"] == "ok"]
        rows.append({"depth": int(depth), "params": int(g["params"].iloc[0]), "route": route,
                     "status": "ok" if len(ok) else g["status"].iloc[0], "runs": len(ok),
                     "median_s": float(ok["time_s"].median()) if len(ok) else math.nan,
                     "min_s": float(ok["time_s"].min()) if len(ok) else math.nan,
                     "compile_s": float(g["compile_s"].iloc[0]) if len(ok) else math.nan,
                     "memory_bytes": float(g["memory_bytes"].iloc[0]) if g["memory_bytes"].notna().any() else math.nan,
                     "note": "" if len(ok) else str(g["note"].iloc[0])})
    return pd.DataFrame(rows)


def dense_fit(cost: pd.DataFrame) -> dict[str, Any]:
    """Exponent k of the dense route's time ∝ P^k (Hessian + eigvalsh, paired by run), with CIs.

    Fitted on the depths where both dense routes ran, through the median of each. `lo`/`hi`:
    the Student-t interval of the least-squares slope (what an extrapolation inherits);
    `boot_lo`/`boot_hi`: the bootstrap over the timed runs (blind to a line that fits badly).
    """
    ok = cost[(cost["status"] == "ok") & cost["route"].isin(["dense_hessian", "dense_eigvalsh"])]
    wide = ok.pivot_table(index=["params", "run"], columns="route", values="time_s").dropna()
    if wide.empty:
        return {"slope": math.nan, "lo": math.nan, "hi": math.nan, "points": 0}
    total = wide.sum(axis=1)
    groups = {float(p): g.to_numpy() for p, g in total.groupby(level="params")}
    boot = bootstrap_slope(groups, stat="median", n_boot=_BOOT)
    medians = total.groupby(level="params").median()
    line = loglog_slope_ci(medians.index.to_numpy(float), medians.to_numpy())
    return {"slope": line.slope, "lo": line.lo, "hi": line.hi, "boot_lo": boot.lo, "boot_hi": boot.hi,
            "intercept": line.intercept, "points": line.points, "params": [int(p) for p in medians.index],
            "median_s": [float(t) for t in medians], "largest_params": int(medians.index.max()),
            "largest_median_s": float(medians.iloc[-1])}


def extrapolate(fit: dict[str, Any], params: float) -> dict[str, float]:
    """The dense route's time at `params` from the fitted line, with the line's 95% Student-t
    band there (expkit.fits.loglog_extrapolate)."""
    if not fit.get("points"):
        return {"seconds": math.nan, "lo": math.nan, "hi": math.nan}
    at = loglog_extrapolate(np.asarray(fit["params"], float), np.asarray(fit["median_s"]), params)
    return {"seconds": at["value"], "lo": at["lo"], "hi": at["hi"]}


def estimates_table(estimates: pd.DataFrame) -> pd.DataFrame:
    """One row per (depth, params, route) with a column per quantity."""
    if estimates.empty:
        return pd.DataFrame()
    return estimates.pivot_table(index=["depth", "params", "route"], columns="quantity", values="value").reset_index()
