"""The trained-network run's derived numbers: summary.json and summary.csv, from its files only.

`summarize(out, config)` reads exact.csv, the spectrum_*.csv and slq_*.csv files,
eigen.csv, trace.csv, diag.csv and training.csv, so it can be re-run on any run
directory (and tests recompute quoted numbers with it).

The trace interval of one (checkpoint, matrix, estimator) is the mean of its `trace_reps`
independent estimates ± t · s / sqrt(reps), with t the Student-t quantile at the
Bonferroni-corrected level: all of the run's intervals hold together with probability
`trace_confidence` (if the estimates are close to normal).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from curvature import spectra
from secondorder.wasserstein import gaussian_w1, point_mass_w1, wasserstein1

# The targets.
GOALS = {"top_k_rel_error": 1e-6, "w1_fraction_of_best_baseline": 0.1}


def trace_interval(estimates: np.ndarray, level: float) -> tuple[float, float, float]:
    """(mean, low, high): the two-sided Student-t interval at `level` from independent estimates."""
    x = np.asarray(estimates, np.float64)
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def density_numbers(rows: pd.DataFrame, eigenvalues: np.ndarray, band: float, k: int) -> dict[str, float]:
    """One estimated measure (rows: probe, node, weight) against the exact eigenvalues."""
    ev = np.asarray(eigenvalues, np.float64)
    x, w = rows["node"].to_numpy(np.float64), rows["weight"].to_numpy(np.float64)
    w1 = wasserstein1(x, w, ev, np.ones_like(ev))
    best = min(point_mass_w1(ev), gaussian_w1(ev, ev.mean(), ev.std()))
    cut = -band * np.abs(ev).max()
    neg_est, neg_exact = spectra.mass_below(x, w, cut), float(np.mean(ev < cut))
    out_est, out_exact = spectra.outlier_mass(x, w, ev, k)
    fixed = rows[rows["probe"] < 0]["node"].to_numpy(np.float64)
    rules = [np.concatenate([fixed, g["node"].to_numpy(np.float64)]) for p, g in rows.groupby("probe") if p >= 0]
    width = min(len(r) for r in rules) if rules else len(fixed)
    nodes = np.stack([np.sort(r)[-width:] for r in rules]) if rules else fixed[None, :]
    return {"w1": w1, "w1_over_best_baseline": w1 / best,
            "negative_mass": neg_est, "negative_mass_exact": neg_exact, "negative_mass_error": abs(neg_est - neg_exact),
            "outlier_mass": out_est, "outlier_mass_exact": out_exact,
            "outlier_mass_rel_error": abs(out_est - out_exact) / out_exact,
            "top_nodes_rel_error": spectra.top_node_error(nodes, ev, k)}


def summarize(out: Path, config) -> tuple[dict[str, Any], pd.DataFrame]:
    """(summary.json's content, summary.csv: one row per checkpoint and matrix) for the run in `out`."""
    exact = pd.read_csv(out / "exact.csv")
    eigen, trace, diag = (pd.read_csv(out / f) for f in ("eigen.csv", "trace.csv", "diag.csv"))
    slq_facts = pd.read_csv(out / "slq.csv")
    training = pd.read_csv(out / "training.csv")
    intervals = len(config.checkpoint_names) * len(config.matrices) * len(config.trace_estimators)
    level = 1 - (1 - config.trace_confidence) / intervals
    rows, nested = [], {}
    for name, step in zip(config.checkpoint_names, config.checkpoints):
        for matrix in config.matrices:
            facts = exact[(exact["checkpoint"] == name) & (exact["matrix"] == matrix)].iloc[0]
            ev = pd.read_csv(out / f"spectrum_{name}_{matrix}.csv")["eigenvalue"].to_numpy(np.float64)
            row: dict[str, Any] = {"checkpoint": name, "step": step, "matrix": matrix,
                                   "lambda_max": facts["lambda_max"], "lambda_min": facts["lambda_min"],
                                   "trace": facts["trace"], "negative_fraction": facts["negative_fraction"],
                                   "max_asymmetry": facts["max_asymmetry"],
                                   "dense_vs_single_product": facts["dense_vs_single_product"]}
            e = eigen[(eigen["checkpoint"] == name) & (eigen["matrix"] == matrix)]
            row["top_k_max_rel_error"] = float(e[e["which"] == "top"]["rel_error"].max())
            row["bottom_k_max_scale_error"] = float(e[e["which"] == "bottom"]["scale_error"].max())
            for est, g in trace[(trace["checkpoint"] == name) & (trace["matrix"] == matrix)].groupby("estimator"):
                mean, lo, hi = trace_interval(g["estimate"].to_numpy(), level)
                row.update({f"{est}_trace": mean, f"{est}_lo": lo, f"{est}_hi": hi,
                            f"{est}_contains": bool(lo <= facts["trace"] <= hi),
                            f"{est}_rel_error": abs(mean - facts["trace"]) / abs(facts["trace"]),
                            f"{est}_rel_halfwidth": (hi - lo) / 2 / abs(facts["trace"])})
                if g["own_sem"].notna().all():
                    row[f"{est}_own_sem_over_rep_sd"] = float(g["own_sem"].median() / g["estimate"].std(ddof=1))
            for est, g in diag[(diag["checkpoint"] == name) & (diag["matrix"] == matrix)].groupby("estimator"):
                row[f"diag_{est}_rel_error"] = float(g["rel_error"].mean())
            measures = pd.read_csv(out / f"slq_{name}_{matrix}.csv")
            row["w1_point_mass"] = point_mass_w1(ev)
            row["w1_gaussian"] = gaussian_w1(ev, ev.mean(), ev.std())
            for method, g in measures.groupby("method"):
                for key, value in density_numbers(g, ev, config.negative_band, config.top_k).items():
                    row[f"{method}_{key}"] = value
            sf = slq_facts[(slq_facts["checkpoint"] == name) & (slq_facts["matrix"] == matrix)].iloc[0]
            row["deflated_pairs"] = int(sf["deflated"])
            rows.append(row)
            nested.setdefault(name, {})[matrix] = {k: _plain(v) for k, v in row.items()
                                                   if k not in ("checkpoint", "matrix", "step")}
    table = pd.DataFrame(rows)
    density_method = "deflated" if config.deflate else "slq"
    goals = _goals(config, table, density_method)
    finite = bool(np.isfinite(table.select_dtypes("number").to_numpy(np.float64)).all())
    return {
        "status": "ok" if finite else "failed",
        "model": {"sizes": list(config.sizes), "params": config.params, "activation": "gelu (exact, erf)",
                  "train_images": config.train_images, "test_images": config.test_images, "dtype": "float64",
                  "optimiser": "optax.sgd (full batch, no momentum)", "learning_rate": config.learning_rate,
                  "two_over_eta": 2 / config.learning_rate, "devices": config.devices},
        "training": _training(config, training, table),
        "trace_interval_level_each": level,
        "density_method_for_goal": density_method,
        "checkpoints": nested,
        "goals": goals,
        "seconds": {"dense_build": float(exact["build_s"].sum()), "eigvalsh": float(exact["eigvalsh_s"].sum())},
    }, table


def _plain(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return float(v)


def _training(config, log: pd.DataFrame, table: pd.DataFrame) -> dict[str, Any]:
    """Per checkpoint: loss, accuracies, and the exact sharpness against 2/η."""
    result = {}
    for name, step in zip(config.checkpoint_names, config.checkpoints):
        at = log[log["step"] == step].iloc[0]
        entry = {"step": int(step), **{k: float(at[k]) for k in ("train_loss", "train_accuracy", "test_loss",
                                                                 "test_accuracy")}}
        h = table[(table["checkpoint"] == name) & (table["matrix"] == "hessian")]
        if len(h):
            entry["sharpness"] = float(h["lambda_max"].iloc[0])
            entry["sharpness_times_eta_over_2"] = entry["sharpness"] * config.learning_rate / 2
        result[name] = entry
    peak = log.loc[log["hessian_max"].idxmax()]
    result["sharpness_peak_along_training"] = {"step": int(peak["step"]), "lanczos_value": float(peak["hessian_max"])}
    return result


def _goals(config, table: pd.DataFrame, method: str) -> dict[str, dict]:
    goals: dict[str, dict] = {}
    worst = float(table["top_k_max_rel_error"].max())
    goals[f"top_{config.top_k}_within_1e-6"] = {"worst_rel_error": worst, "met": worst <= GOALS["top_k_rel_error"]}
    contains = [c for c in table.columns if c.endswith("_contains")]
    held = int(table[contains].to_numpy().sum())
    goals["trace_intervals_contain_exact"] = {"intervals": int(table[contains].size), "contain": held,
                                              "met": held == table[contains].size}
    for m in dict.fromkeys((method, "slq")):
        ratio = float(table[f"{m}_w1_over_best_baseline"].max())
        goals[f"{m}_w1_within_tenth_of_best_baseline"] = {"worst_ratio": ratio,
                                                          "met": ratio <= GOALS["w1_fraction_of_best_baseline"]}
    return goals


def report_lines(summary: dict, out: Path) -> str:
    """A few lines for the terminal: each goal's number and whether it was met."""
    from curvature.summary import goal_lines

    return goal_lines(summary["goals"], out, "configs/curvature_trained.toml")
