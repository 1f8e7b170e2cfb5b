"""Variants compared: per-layer cost of every (variant, method), and the best per method.

A run with several variants (hvp_bench.variants) answers "how fast can each method be
made here". For each (variant, method): seconds per extra layer (Theil-Sen slope over
depths with a hierarchical bootstrap CI over repeats and runs, and its flags:
expkit.robust), per vector for a block of k vectors, the compile time at the deepest
depth, and the per-layer cost over the best gradient of the run (the fastest gradient
of any variant), with a CI from the paired replicates of both slopes. The best variant
of a method is the one with the lowest per-layer cost per vector. Dead points stay in
the fits and are counted (hvp_bench.scaling says why). Pure DataFrames: the figures of
these tables are hvp_bench.per_layer_figures'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from expkit.robust import ratio_fit, robust_slope
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES
from hvp_bench.rundir import ok_times
from hvp_bench.scaling import dead_columns, dead_points, repeat_groups
from hvp_bench.variants import parse_variant


def slope_fits(runs: pd.DataFrame, width: int | None = None, n_boot: int = 2000, seed: int = 0):
    """(the timed rows at `width`, {(variant, method): (RobustFit, bootstrap replicates)}).

    Seconds per extra layer (expkit.robust.robust_slope), for every (variant, method)
    timed at two depths or more at `width` (default: the most common). One seed for
    all: variants timed in the same repeats and rounds are resampled together.
    """
    rows = ok_times(runs)
    if width is None and len(rows):
        width = int(rows["width"].mode().iloc[0])
    rows = rows[rows["width"] == width]
    fits = {}
    for (variant, method), data in rows.groupby(["variant", "method"]):
        if data["depth"].nunique() >= 2:
            fits[(variant, method)] = robust_slope(repeat_groups(data), n_boot, seed=seed)
    return rows, fits


def per_layer_costs(runs: pd.DataFrame, width: int | None = None, n_boot: int = 2000,
                    seed: int = 0) -> pd.DataFrame:
    """One row per (variant, method) with a depth sweep at `width` (default: the most common).

    Columns: variant, method, vectors, depths, repeats, per_layer_s, lo, hi (per call),
    per_vector_s (per layer and vector), status (expkit.robust's flags, "ok" if none),
    rep_min_s, rep_max_s (range of each repeat's own slope), compile_s (at the deepest
    depth), ratio, ratio_lo, ratio_hi, ratio_status (per-vector per-layer cost over the
    best gradient's per-layer cost), ratio_rep_median / _min / _max (that ratio within
    each repeat, over the best gradient's slope in the same repeat), dead_depths, first_dead.
    """
    rows, fits = slope_fits(runs, width, n_boot, seed)
    dead = {v: dead_points(data) for v, data in rows.groupby("variant")}
    out = []
    gradients = {key: fit for key, fit in fits.items() if key[1] == "gradient"}
    best_grad = min(gradients, key=lambda key: gradients[key][0].slope) if gradients else None
    for (variant, method), (fit, boot) in fits.items():
        k = 1 if method in ("gradient", FLOOR_METHOD) else parse_variant(variant).vectors
        deepest = rows[(rows["variant"] == variant) & (rows["method"] == method)]
        deepest = deepest[deepest["depth"] == deepest["depth"].max()]
        ratio = {**dict.fromkeys(("ratio", "lo", "hi", "rep_median", "rep_min", "rep_max"), np.nan),
                 "status": "no gradient"}
        if best_grad is not None:
            ratio = ratio_fit(fit, boot, *gradients[best_grad])
            ratio = {**ratio, **{key: ratio[key] / k for key in ("ratio", "lo", "hi", "rep_median", "rep_min",
                                                                  "rep_max")}}
        depths = sorted(rows.loc[(rows["variant"] == variant) & (rows["method"] == method), "depth"].unique())
        out.append({"variant": variant, "method": method, "vectors": k, "depths": fit.points,
                    "repeats": fit.repeats, "per_layer_s": fit.slope, "lo": fit.lo, "hi": fit.hi,
                    "per_vector_s": fit.slope / k, "status": fit.status, "rep_min_s": fit.rep_min,
                    "rep_max_s": fit.rep_max, "compile_s": float(pd.to_numeric(deepest["compile_s"]).max()),
                    "ratio": ratio["ratio"], "ratio_lo": ratio["lo"], "ratio_hi": ratio["hi"],
                    "ratio_status": ratio["status"], "ratio_rep_median": ratio["rep_median"],
                    "ratio_rep_min": ratio["rep_min"], "ratio_rep_max": ratio["rep_max"],
                    **dead_columns(dead[variant], method, depths),
                    "best_gradient_variant": best_grad[0] if best_grad else None})
    return pd.DataFrame(out)


def best_per_method(costs: pd.DataFrame) -> pd.DataFrame:
    """The variant with the lowest per-vector per-layer cost for each method."""
    if costs.empty:
        return costs
    order = {m: i for i, m in enumerate((*METHOD_NAMES, FLOOR_METHOD))}
    best = costs.loc[costs.groupby("method")["per_vector_s"].idxmin()]
    return best.sort_values("method", key=lambda s: s.map(order)).reset_index(drop=True)
