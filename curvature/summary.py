"""A run directory's derived files: summary.json (numbers and goals) and the summary tables.

`summarize(out)` reads only the result files (exact.csv/json, trace.csv, diag.csv,
eigen.csv, slq.csv, cost.csv, estimates.csv), so it can be re-run on any run directory;
curvature/run.py calls it at the end of every run and writes what it returns.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curvature import analysis
from secondorder.density import spectral_measure
from secondorder.wasserstein import wasserstein1

# The targets.
GOALS = {"top_k_rel_error": 1e-6, "lanczos_max_hvps": 100, "hutchpp_gain": 10.0, "w1_fraction": 0.01,
         "dense_over_lanczos": 100.0, "deep_seconds": 600.0}


def _read(out: Path, name: str) -> pd.DataFrame:
    path = out / name
    return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()


def density_numbers(slq: pd.DataFrame, eigenvalues: np.ndarray, smoothing: float) -> dict[str, float]:
    """W1 between the SLQ measure and the dense spectrum, absolute and as a fraction of the range."""
    probes = slq["probe"].nunique()
    nodes = slq["node"].to_numpy().reshape(probes, -1)
    weights = slq["weight"].to_numpy().reshape(probes, -1)
    x, w = spectral_measure(nodes, weights)
    span = float(eigenvalues.max() - eigenvalues.min())
    w1 = wasserstein1(x, w, eigenvalues, np.ones_like(eigenvalues))
    return {"probes": int(probes), "steps": int(nodes.shape[1]), "w1": w1, "spectral_range": span,
            "w1_fraction_of_range": w1 / span, "smoothing_sigma": smoothing * span,
            "zero_mass_exact": float(np.mean(np.abs(eigenvalues) <= 1e-10 * np.abs(eigenvalues).max()))}


def crosschecks(table: pd.DataFrame) -> pd.DataFrame:
    """Per depth: each estimate against the dense answer where there is one, and against each other."""
    rows = []
    for (depth, params), g in table.groupby(["depth", "params"]):
        get = {r: g[g["route"] == r].iloc[0] for r in g["route"]}
        row: dict[str, Any] = {"depth": int(depth), "params": int(params)}
        lz, dense = get.get("lanczos"), get.get("dense_eigvalsh")
        if lz is not None:
            row["lanczos_top_1"], row["lanczos_bottom_1"] = lz["top_1"], lz["bottom_1"]
            extreme = lz["top_1"] if abs(lz["top_1"]) >= abs(lz["bottom_1"]) else lz["bottom_1"]
            if "power" in get:
                row["power_vs_lanczos_rel"] = abs(get["power"]["dominant"] - extreme) / abs(extreme)
        for r in get:
            if r.startswith("trace_") or r == "slq":
                row[f"{r}_estimate"] = get[r]["trace"]
        if dense is not None:
            row["dense_trace"] = dense["trace"]
            if lz is not None:
                tops = [c for c in lz.index if isinstance(c, str) and (c.startswith("top_") or c.startswith("bottom_"))]
                row["lanczos_max_rel_error"] = max(abs(lz[c] - dense[c]) / abs(dense[c]) for c in tops if pd.notna(lz[c]))
            for r in get:
                if r.startswith("trace_") or r == "slq":
                    row[f"{r}_rel_error"] = abs(get[r]["trace"] - dense["trace"]) / abs(dense["trace"])
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(out: Path, config) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(summary.json's content, {file name: derived table}) for the run in `out`."""
    exact = json.loads((out / "exact.json").read_text())
    eigenvalues = _read(out, "exact.csv")["eigenvalue"].to_numpy(float)
    trace, eigen = _read(out, "trace.csv"), _read(out, "eigen.csv")
    tables: dict[str, pd.DataFrame] = {}
    summary: dict[str, Any] = {"model": {"width": config.width, "init": config.init, "init_scale": config.init_scale,
                                         "study_depth": config.study_depth, "dtype": config.dtype,
                                         "hvp": config.hvp, "devices": config.devices},
                               "exact": exact}
    if not trace.empty:
        rmse = analysis.rmse_table(trace)
        predicted = analysis.predicted_errors(exact, eigenvalues, sorted(trace["hvps"].unique()))
        tables["trace_summary.csv"] = rmse.merge(predicted, on="hvps", how="left")
        summary["trace_slopes"] = analysis.error_slopes(trace)
        summary["trace_slopes"]["hutchpp_ideal_spectral"] = {
            "slope": analysis.loglog_fit(predicted["hvps"], predicted["hutchpp_ideal"])}
        pivot = rmse.pivot(index="hvps", columns="estimator", values="rel_rmse")
        summary["trace_rmse_at_largest_budget"] = {k: float(v) for k, v in pivot.iloc[-1].items()}
        summary["trace_largest_budget"] = int(pivot.index.max())
    diag = _read(out, "diag.csv")
    if not diag.empty:
        d = diag.groupby(["estimator", "hvps"])["rel_error"].agg(["mean", "std", "count"]).reset_index()
        tables["diag_summary.csv"] = d
    if not eigen.empty:
        summary["eigen"] = analysis.eigen_summary(eigen)
    slq = _read(out, "slq.csv")
    if not slq.empty:
        summary["density"] = density_numbers(slq, eigenvalues, config.smoothing)
    cost, estimates = _read(out, "cost.csv"), _read(out, "estimates.csv")
    if not cost.empty:
        table = analysis.cost_table(cost)
        tables["cost_summary.csv"] = table
        fit = analysis.dense_fit(cost)
        summary["dense_fit"] = fit
        deepest = int(table["depth"].max())
        p_deep = int(table.loc[table["depth"] == deepest, "params"].iloc[0])
        summary["deepest"] = {"depth": deepest, "params": p_deep,
                              "dense_extrapolated_s": analysis.extrapolate(fit, p_deep),
                              "dense_hessian_bytes": 8 * p_deep ** 2}
        for route in ("lanczos", "trace_hutchpp", "slq"):
            row = table[(table["depth"] == deepest) & (table["route"] == route)]
            if len(row):
                summary["deepest"][route] = {k: float(row[k].iloc[0]) for k in ("median_s", "compile_s", "memory_bytes")}
        if not estimates.empty:
            tables["crosscheck.csv"] = crosschecks(analysis.estimates_table(estimates))
    summary["goals"] = goals(summary, tables.get("cost_summary.csv"))
    return summary, tables


def goals(summary: dict[str, Any], cost: pd.DataFrame | None) -> dict[str, Any]:
    """Each of the issue's targets, with the measured number and whether it was met."""
    out: dict[str, Any] = {}
    eig = summary.get("eigen", {})
    if "lanczos_float64_top" in eig:
        e = eig["lanczos_float64_top"]
        out["top_k_float64"] = {"max_rel_error": e["max_rel_error"], "hvps": e["hvps"],
                                "hvps_to_1e-6": e["hvps_to_tolerance"],
                                "met": e["max_rel_error"] <= GOALS["top_k_rel_error"] and e["hvps"] <= GOALS["lanczos_max_hvps"]}
    if "lanczos_float32_top" in eig:
        out["top_k_float32"] = {"max_rel_error": eig["lanczos_float32_top"]["max_rel_error"]}
    slopes = summary.get("trace_slopes", {})
    for name in ("hutchinson", "hutchpp"):
        if name in slopes:
            s = slopes[name]
            out[f"slope_{name}"] = {"slope": s["slope"], "ci": [s["lo"], s["hi"]], "theory": s["theory"],
                                    "met": s["theory_in_ci"]}
    rmse = summary.get("trace_rmse_at_largest_budget", {})
    if "hutchinson" in rmse and "hutchpp" in rmse:
        gain = rmse["hutchinson"] / rmse["hutchpp"]
        out["hutchpp_gain"] = {"budget": summary["trace_largest_budget"], "ratio": gain, "met": gain >= GOALS["hutchpp_gain"]}
    if "density" in summary:
        f = summary["density"]["w1_fraction_of_range"]
        out["slq_w1"] = {"fraction_of_range": f, "met": f <= GOALS["w1_fraction"]}
    if cost is not None and not cost.empty:
        ok = cost[cost["status"] == "ok"].pivot(index="depth", columns="route", values="median_s")
        if {"dense_hessian", "dense_eigvalsh", "lanczos"} <= set(ok.columns):
            both = ok.dropna(subset=["dense_hessian", "dense_eigvalsh"])
            if len(both):
                d = both.index.max()
                ratio = (both.loc[d, "dense_hessian"] + both.loc[d, "dense_eigvalsh"]) / both.loc[d, "lanczos"]
                # The same ratio with each route's compile counted once on both sides (the 1000-layer
                # figure below includes compiles): a user who runs each route once pays them.
                compiled = cost[cost["status"] == "ok"].pivot(index="depth", columns="route", values="compile_s")
                once = ((both.loc[d, "dense_hessian"] + compiled.loc[d, "dense_hessian"] + both.loc[d, "dense_eigvalsh"]
                         + compiled.loc[d, "dense_eigvalsh"]) / (both.loc[d, "lanczos"] + compiled.loc[d, "lanczos"]))
                out["dense_over_lanczos"] = {"depth": int(d), "ratio": float(ratio),
                                             "ratio_with_compiles": float(once),
                                             "met": bool(ratio >= GOALS["dense_over_lanczos"])}
        deep = summary.get("deepest", {})
        if "lanczos" in deep and "trace_hutchpp" in deep:
            secs = sum(deep[r]["median_s"] + deep[r]["compile_s"] for r in ("lanczos", "trace_hutchpp"))
            out["deep_top_k_and_trace"] = {"depth": deep["depth"], "seconds_with_compile": secs,
                                           "met": secs <= GOALS["deep_seconds"] and math.isfinite(secs)}
    return out


def goal_lines(goals: dict[str, dict], out: Path, sizes_of: str) -> str:
    """A few lines for the terminal: each goal's numbers (3 digits) and whether it was met, and, if one
    was missed, that the goals are set for the sizes of `sizes_of` (a smoke run is too small for some)."""
    def shown(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(shown(x) for x in v) + "]"
        return str(v)

    lines = [f"results in {out}"]
    for name, goal in goals.items():
        numbers = ", ".join(f"{k}={shown(v)}" for k, v in goal.items() if k != "met")
        lines.append(f"  {name}: {numbers}" + ("" if "met" not in goal else " [met]" if goal["met"] else " [not met]"))
    if any(goal.get("met") is False for goal in goals.values()):
        lines.append(f"  (the goals are set for the sizes of {sizes_of}; a smaller run, such as a smoke run, "
                     "can miss them by its size alone)")
    return "\n".join(lines)
