"""JAX against PyTorch in one run: each framework's best variant per method, side by side.

For a run that timed JAX variants and PyTorch ones (hvp_bench.torch_peer) together, two
tables, both derived from runs.csv alone:
- per layer: for each method, the JAX variant and the PyTorch variant with the lowest
  seconds per extra layer (hvp_bench.variant_study.slope_fits), each with its 95%
  hierarchical bootstrap CI and flags, and PyTorch's cost over JAX's with a CI from the
  replicates of both;
- per depth: for each method and depth, the lowest median time of each framework (any
  variant timed there, so torch.compile counts where it compiled only at shallow
  depths), and the ratio.
A last method row, "best_hvp", takes each framework's best HVP composition whatever it is.
Dead points (hvp_bench.rundir.is_dead) are marked: dead_depths per fit, dead per depth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from expkit.robust import ratio_fit
from hvp_bench.rundir import is_dead, ok_times
from hvp_bench.scaling import dead_columns, dead_points
from hvp_bench.variant_study import slope_fits
from secondorder.variants import parse_variant

BEST_HVP = "best_hvp"
FRAMEWORKS = ("jax", "torch")


def framework(variant: str) -> str:
    """"torch" for PyTorch's variants, else "jax"."""
    return "torch" if parse_variant(variant).is_torch else "jax"


def has_peers(runs: pd.DataFrame) -> bool:
    """Whether a run timed both frameworks (rows with status "ok" of each: on the first
    H100 run every PyTorch point failed, out of memory, and there is nothing to compare)."""
    timed = runs.loc[runs["status"] == "ok", "variant"].dropna().unique()
    return {framework(v) for v in timed} == set(FRAMEWORKS)


def _methods(keys) -> list[str]:
    methods = sorted({m for _, m in keys}, key=lambda m: (not m.startswith("gradient"), m))
    return methods + [BEST_HVP]


def _candidates(keys, fw: str, method: str) -> list:
    wanted = (lambda m: m.startswith("hvp_")) if method == BEST_HVP else (lambda m: m == method)
    return [key for key in keys if framework(key[0]) == fw and wanted(key[1])]


def per_layer(runs: pd.DataFrame, width: int | None = None, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per method timed by both frameworks: each one's best per-layer cost, the ratio.

    Columns: method; jax_variant, jax_method, jax_s, jax_lo, jax_hi, jax_status,
    jax_dead_depths; the same for torch_; ratio, ratio_lo, ratio_hi, ratio_status
    (PyTorch's seconds per layer over JAX's: > 1, JAX is faster).
    """
    rows, fits = slope_fits(runs, width, n_boot, seed)
    out = []
    for method in _methods(fits):
        row = {"method": method}
        for fw in FRAMEWORKS:
            keys = _candidates(fits, fw, method)
            if not keys:
                break
            best = min(keys, key=lambda key: fits[key][0].slope)
            fit = fits[best][0]
            data = rows[rows["variant"] == best[0]]
            dead = dead_columns(dead_points(data), best[1], sorted(data["depth"].unique()))["dead_depths"]
            row.update({f"{fw}_variant": best[0], f"{fw}_method": best[1], f"{fw}_s": fit.slope,
                        f"{fw}_lo": fit.lo, f"{fw}_hi": fit.hi, f"{fw}_status": fit.status,
                        f"{fw}_dead_depths": dead, f"_{fw}": fits[best]})
        else:
            ratio = ratio_fit(*row.pop("_torch"), *row.pop("_jax"))
            row.update(ratio=ratio["ratio"], ratio_lo=ratio["lo"], ratio_hi=ratio["hi"], ratio_status=ratio["status"])
            out.append(row)
    # Empty (with its columns) where no method has a fit in both frameworks, e.g. a run
    # cut off after PyTorch's first depth.
    columns = ["method"] + [f"{fw}_{k}" for fw in FRAMEWORKS
                            for k in ("variant", "method", "s", "lo", "hi", "status", "dead_depths")]
    return pd.DataFrame(out, columns=columns + ["ratio", "ratio_lo", "ratio_hi", "ratio_status"])


def by_depth(runs: pd.DataFrame, width: int | None = None) -> pd.DataFrame:
    """One row per (method, depth) timed by both: each framework's lowest median time there.

    Columns: method, depth; jax_variant, jax_method, jax_median_s; the same for torch_;
    ratio (PyTorch's over JAX's); dead (either chosen point's result all zero or non-finite).
    """
    rows = ok_times(runs)
    if width is None and len(rows):
        width = int(rows["width"].mode().iloc[0])
    rows = rows[rows["width"] == width]
    medians = rows.groupby(["depth", "variant", "method"])["time_s"].median()
    dead = rows.assign(dead=is_dead(rows)).groupby(["depth", "variant", "method"])["dead"].any()
    out = []
    for depth, at_depth in medians.groupby(level="depth"):
        at_depth = at_depth.droplevel("depth")
        for method in _methods(at_depth.index):
            row = {"method": method, "depth": int(depth)}
            for fw in FRAMEWORKS:
                keys = _candidates(at_depth.index, fw, method)
                if not keys:
                    break
                best = min(keys, key=lambda key: at_depth[key])
                row.update({f"{fw}_variant": best[0], f"{fw}_method": best[1], f"{fw}_median_s": at_depth[best]})
                row["dead"] = row.get("dead", False) or bool(dead[(depth, *best)])
            else:
                row["ratio"] = row["torch_median_s"] / row["jax_median_s"]
                out.append(row)
    frame = pd.DataFrame(out)
    if len(frame):
        frame = frame[[c for c in frame if c != "dead"] + ["dead"]]
    return frame.sort_values(["method", "depth"], key=_method_order).reset_index(drop=True) if len(frame) else frame


def _method_order(column: pd.Series) -> pd.Series:
    if column.name != "method":
        return column
    order = {m: i for i, m in enumerate(_methods([(None, m) for m in column.unique() if m != BEST_HVP]))}
    return column.map(order).astype(np.int64)
