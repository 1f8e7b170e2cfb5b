"""JAX against PyTorch in one run: each framework's best variant per method, side by side.

For a run that timed JAX variants and PyTorch ones (hvp_bench.torch_peer) together, two
tables, both derived from runs.csv alone:
- per layer: for each method, the JAX variant and the PyTorch variant with the lowest
  seconds per extra layer (hvp_bench.variant_study.slope_fits), each with its 95%
  hierarchical bootstrap CI and flags, and PyTorch's cost over JAX's with a CI from the
  replicates of both. Like for like: both sides are fitted over the same depths, those at
  which both frameworks timed the method, and each side's best is chosen by the same
  rule among its variants timed at every one of them (so torch.compile, skipped at deep
  depths by its compile budget, does not compete there; the per-depth table has it);
- per depth: for each method and depth, the lowest median time of each framework (any
  variant timed there, so torch.compile counts where it compiled only at shallow
  depths), and the ratio.
A last method row, "best_hvp", takes each framework's best HVP composition whatever it is.
Dead points (hvp_bench.rundir.is_dead) are marked: dead_depths per fit, dead per depth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from expkit.results import write_csv_atomic
from expkit.robust import ratio_fit
from hvp_bench.rundir import is_dead, ok_times
from hvp_bench.scaling import dead_columns, dead_points
from hvp_bench.variant_study import slope_fits
from hvp_bench.variants import parse_variant

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


PLAIN = ("scan", "torch")
"""Each framework's plain formulation: JAX's layers in a lax.scan, PyTorch's eager autograd."""


def per_layer(runs: pd.DataFrame, width: int | None = None, n_boot: int = 2000, seed: int = 0,
              variants: tuple[str, str] | None = None) -> pd.DataFrame:
    """One row per method timed by both frameworks: each one's best per-layer cost, the ratio.

    Args:
      variants: (JAX's, PyTorch's) to compare those two named variants (e.g. PLAIN)
        instead of each framework's best.
    Columns: method, depths (how many both were fitted over); jax_variant, jax_method,
    jax_s, jax_lo, jax_hi, jax_status, jax_dead_depths; the same for torch_; ratio,
    ratio_lo, ratio_hi, ratio_status (PyTorch's seconds per layer over JAX's: > 1, JAX is faster).
    """
    rows, _ = slope_fits(runs, width, n_boot, seed)
    if variants is not None:
        rows = rows[rows["variant"].isin(variants)]
    out = []
    for method in _methods(rows.groupby(["variant", "method"]).groups):
        depths = common_depths(rows, method)
        _, fits = slope_fits(rows[rows["depth"].isin(depths)], width, n_boot, seed)
        row = {"method": method, "depths": len(depths)}
        for fw in FRAMEWORKS:
            keys = [key for key in _candidates(fits, fw, method) if fits[key][0].points == len(depths)
                    and (variants is None or key[0] == variants[FRAMEWORKS.index(fw)])]
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
    columns = ["method", "depths"] + [f"{fw}_{k}" for fw in FRAMEWORKS
                            for k in ("variant", "method", "s", "lo", "hi", "status", "dead_depths")]
    return pd.DataFrame(out, columns=columns + ["ratio", "ratio_lo", "ratio_hi", "ratio_status"])


def common_depths(rows: pd.DataFrame, method: str) -> list:
    """The depths at which both frameworks timed `method` (any HVP for BEST_HVP)."""
    wanted = rows["method"].str.startswith("hvp_") if method == BEST_HVP else rows["method"] == method
    timed = rows[wanted].assign(fw=rows["variant"].map(framework)).groupby("depth")["fw"].nunique()
    return sorted(timed.index[timed == len(FRAMEWORKS)])


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


def write_peer_tables(run_dir: str | Path, runs: pd.DataFrame, width: int | None,
                      n_boot: int = 2000) -> dict[str, pd.DataFrame]:
    """Writes peers_by_depth.csv, peers_per_layer.csv (each framework's best) and
    peers_per_layer_plain.csv (PLAIN against each other) from the run's `runs` into `run_dir`;
    returns them by file stem. A per-layer table with nothing fitted on both sides (PyTorch
    timed at one depth) is not written, and an earlier one removed."""
    tables = {"peers_by_depth": by_depth(runs, width), "peers_per_layer": per_layer(runs, width, n_boot),
              "peers_per_layer_plain": per_layer(runs, width, n_boot, variants=PLAIN)}
    for stem, table in tables.items():
        path = Path(run_dir) / f"{stem}.csv"
        if len(table) or stem == "peers_by_depth":
            write_csv_atomic(path, table)
        else:
            path.unlink(missing_ok=True)  # an earlier derivation's table would be stale
    return tables


if __name__ == "__main__":  # re-derive a committed run's tables: python -m hvp_bench.peer_tables RUN_DIR...
    import sys

    from expkit.lifecycle import note_rederived
    from expkit.provenance import git_state
    from hvp_bench.rundir import load_run

    state = git_state()  # before writing: the rewritten files would make the tree read dirty
    for run_dir in sys.argv[1:]:
        runs, meta = load_run(run_dir)
        write_peer_tables(run_dir, runs, meta.get("config", {}).get("width"))
        note_rederived(run_dir, "peers_*.csv re-derived from runs.csv (like-for-like depths and choice); "
                                "nothing re-measured", state)
        print(f"rewrote {run_dir}/peers_*.csv")
