"""From the density-accuracy run's files to its tables: pure DataFrames, no figures.

- cells.csv: one row per (matrix, dtype, estimator, probes, steps): the median of each
  error over the replicates (seeds x disjoint probe ranges), the 10th and 90th
  percentiles of W1, the count of replicates, and the a-priori bound at that budget.
- targets.csv: for each (matrix, dtype, estimator), the fewest products on the grid whose
  median meets each target (`TARGETS`), beside what the a-priori bound asks for.
- summary.json: the bound checks (how often a replicate's W1 exceeds each bound) and
  the figures the docs quote.

All W1 are relative to the spectral range λmax − λmin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from expkit.results import write_csv_atomic, write_json_atomic
from secondorder.density_bounds import a_priori_budget, a_priori_t, probes_term

CELL = ["matrix", "dtype", "estimator", "probes", "steps", "hvps"]
# target name -> (the error column, the threshold: a number, or "baseline/N" of the best trivial baseline)
TARGETS = {
    "w1_baseline_10": ("w1", "baseline/10"),
    "w1_baseline_100": ("w1", "baseline/100"),
    "w1_range_1e-2": ("w1", 1e-2),
    "w1_range_1e-3": ("w1", 1e-3),
    "w1_range_1e-4": ("w1", 1e-4),
    "ks_1e-2": ("ks", 1e-2),
}
_THEORY = ("slq", "deflated_slq")  # the estimators the a-priori theorem speaks of (KPM: as a yardstick)


def cells(errors: pd.DataFrame, matrices: pd.DataFrame, eta: float) -> pd.DataFrame:
    """Medians and W1 percentiles over replicates, one row per grid cell, with the a-priori t."""
    grouped = errors.groupby(CELL, sort=False)
    table = grouped[["w1", "ks", "top_error", "negative_mass_error", "quadrature_bound"]].median()
    table["w1_q10"] = grouped["w1"].quantile(0.1)
    table["w1_q90"] = grouped["w1"].quantile(0.9)
    table["w1_max"] = grouped["w1"].max()
    table["replicates"] = grouped.size()
    table = table.reset_index()
    size = table["matrix"].map(matrices.set_index("matrix")["size"])
    table["prior_bound"] = [a_priori_t(s, n, p, eta) for s, n, p in zip(table["steps"], table["probes"], size)]
    table["posterior_bound"] = table["quadrature_bound"] + [probes_term(n, p, eta) for n, p in zip(table["probes"], size)]
    return table


def baselines(matrices: pd.DataFrame) -> pd.Series:
    """The best trivial baseline's W1 per matrix (a point mass at 0, or the moment-matched Gaussian), / range."""
    m = matrices.set_index("matrix")
    return np.minimum(m["point_mass_w1"], m["gaussian_w1"]) / m["spectral_range"]


def targets(table: pd.DataFrame, matrices: pd.DataFrame, eta: float) -> pd.DataFrame:
    """The fewest products whose median meets each target, per (matrix, dtype, estimator); NaN: not on the grid."""
    best = baselines(matrices)
    size = matrices.set_index("matrix")["size"]
    rows = []
    for (matrix, dtype, estimator), group in table.groupby(["matrix", "dtype", "estimator"], sort=False):
        row = {"matrix": matrix, "dtype": dtype, "estimator": estimator, "baseline_w1": best[matrix]}
        for name, (column, threshold) in TARGETS.items():
            value = best[matrix] / float(threshold.split("/")[1]) if isinstance(threshold, str) else threshold
            met = group[group[column] <= value].sort_values(["hvps", "probes"])
            row[name] = met["hvps"].iloc[0] if len(met) else np.nan
            row[f"{name}_split"] = f"{met['probes'].iloc[0]}x{met['steps'].iloc[0]}" if len(met) else ""
            if column == "w1":
                steps, probes = a_priori_budget(value, int(size[matrix]), eta)
                row[f"{name}_prior"] = steps * probes
        rows.append(row)
    return pd.DataFrame(rows)


def bound_checks(errors: pd.DataFrame, matrices: pd.DataFrame, eta: float) -> dict[str, Any]:
    """How many replicates exceed the a-priori bound (SLQ, plain and deflated) and plain SLQ's a-posteriori one."""
    size = errors["matrix"].map(matrices.set_index("matrix")["size"])
    prior = np.array([a_priori_t(s, n, p, eta) for s, n, p in zip(errors["steps"], errors["probes"], size)])
    theory = errors["estimator"].isin(_THEORY).to_numpy()
    plain = errors[errors["estimator"] == "slq"]
    posterior = plain["quadrature_bound"] + [probes_term(n, p, eta) for n, p in zip(plain["probes"], size[plain.index])]
    return {
        "prior_replicates": int(theory.sum()),
        "prior_exceeded": int((errors["w1"].to_numpy() > prior)[theory].sum()),
        "prior_exceeded_kpm": int((errors["w1"].to_numpy() > prior)[~theory].sum()),
        "kpm_replicates": int((~theory).sum()),
        "prior_tightness_median": float(np.median(errors["w1"].to_numpy()[theory] / prior[theory])),
        "posterior_replicates": int(len(plain)),
        "posterior_exceeded": int((plain["w1"] > posterior).sum()),
        "posterior_tightness_median": float(np.median(plain["w1"] / posterior)),
    }


def summarise(config, out_dir: str | Path) -> dict[str, Any]:
    """Writes cells.csv, targets.csv and summary.json from errors.csv and matrices.csv; returns the summary."""
    out = Path(out_dir)
    errors = pd.read_csv(out / "errors.csv")
    matrices = pd.read_csv(out / "matrices.csv")
    table = cells(errors, matrices, config.eta)
    write_csv_atomic(out / "cells.csv", table)
    write_csv_atomic(out / "targets.csv", targets(table, matrices, config.eta))
    summary = {"bounds": bound_checks(errors, matrices, config.eta),
               "reference_max_diff_relative": _number(
                   (matrices["reference_max_diff"] / matrices["spectral_range"]).max(skipna=True)),
               "trace_check_relative": float(
                   (np.abs(matrices["trace"] - matrices["trace_of_matrix"]) / matrices["spectral_range"]).max()),
               "float32_over_float64": float32_ratio(table)}
    write_json_atomic(out / "summary.json", summary)
    return summary


def _number(x) -> float | None:
    """x as a float, or None (JSON null) where there is none (NaN)."""
    return None if pd.isna(x) else float(x)


def float32_ratio(table: pd.DataFrame) -> dict[str, float]:
    """Median over matrices of W1(float32) / W1(float64) at each estimator's largest budget."""
    if set(table["dtype"]) != {"float32", "float64"}:
        return {}
    top = table[(table["probes"] == table["probes"].max()) & (table["steps"] == table["steps"].max())]
    wide = top.pivot_table(index=["matrix", "estimator"], columns="dtype", values="w1")
    ratio = (wide["float32"] / wide["float64"]).groupby(level="estimator").median()
    return {k: float(v) for k, v in ratio.items()}
