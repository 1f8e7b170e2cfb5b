"""From a run's files to its summary: paired ratios with their intervals, and the compiled cost beside them.

Pure pandas and numpy (the figure is hvp_models.plots). Per (model, batch, method):

- ratio: the method's time over the gradient's, per vector (a block's time is divided by
  its vectors): the median over every round of every repeat of t_method / t_gradient,
  both timed in the same shuffled round;
- lo, hi: a percentile bootstrap interval at `level` that resamples repeats, then rounds
  within each (numerator and denominator move together: they are one round);
- rep_min, rep_max: the range of the repeats' own median ratios;
- flop_ratio, bytes_ratio, kernel_ratio: the compiled program's flops, bytes accessed and
  entry operations over the gradient's, per vector; time_over_flops = ratio / flop_ratio
  (1: the method runs at its arithmetic's own cost);
- temp_ratio, peak_ratio: temporaries and all live bytes (arguments + outputs + temporaries)
  from the compiled memory analysis, over the gradient's;
- convolutions_not_nhwc: the program's convolutions in another layout than NHWC (XLA:CPU has
  a library kernel for that one only; reverse-over-reverse's transposed weight gradients
  come out in others);
- transposes: transpose operations anywhere in the program (a run made before they were
  counted: NaN);
- compile_s, check_error (worst over repeats), status.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from expkit.fits import paired_ratio_interval
from hvp_models.catalog import HVP_METHODS, METHOD_COLUMNS, METHODS, MODELS

LEVEL = 0.95
KEYS = ["model", "batch", "method"]
SUMMARY_COLUMNS = [*KEYS, "params", "vectors", "repeats", "rounds", "time_ms", "ratio", "lo", "hi", "level",
                   "rep_min", "rep_max", "flop_ratio", "bytes_ratio", "kernel_ratio", "time_over_flops",
                   "temp_ratio", "peak_ratio", "flops", "kernels", "convolutions_not_nhwc", "transposes", "temp_bytes",
                   "total_bytes",
                   "compile_s",
                   "check_error", "status"]
NEW_POINT_HVPS = (*HVP_METHODS, "hvp_linearize")
"""HVPs at a new point each time (a vector, a point): the candidates for "the best HVP"."""
FLOP_TOLERANCE = {"best": 1.1, "each": 1.25}
"""The issue's targets: the best HVP within 1.1x its own flop ratio (or under 2x the gradient),
every HVP within 1.25x its own."""


def worst_status(statuses: pd.Series) -> str:
    """"ok" if every repeat's was, else the first that was not (a failed check in any repeat shows)."""
    return next((s for s in statuses if s != "ok"), "ok")


def round_ratios(rounds: pd.DataFrame, vectors: pd.Series) -> pd.DataFrame:
    """Per timed call: KEYS, repeat, round, time_s and ratio = its time / the gradient's in the same round / vectors."""
    gradient = rounds[rounds["method"] == "gradient"].set_index(["model", "batch", "repeat", "round"])["time_s"]
    out = rounds.join(gradient.rename("gradient_s"), on=["model", "batch", "repeat", "round"], how="inner")
    per = out.join(vectors, on=KEYS)["vectors"].fillna(1).to_numpy()
    return out.assign(ratio=out["time_s"] / out["gradient_s"] / per)


def summarise(rounds: pd.DataFrame, methods: pd.DataFrame, level: float = LEVEL, n_boot: int = 2000,
              seed: int = 0) -> pd.DataFrame:
    """One row per (model, batch, method): SUMMARY_COLUMNS, in the config's model and method order."""
    methods = methods.reindex(columns=list(dict.fromkeys([*methods.columns, *METHOD_COLUMNS])))  # older runs: NaN
    cost = methods.groupby(KEYS, sort=False).agg(
        params=("params", "first"), vectors=("vectors", "first"), flops=("flops", "first"),
        bytes_accessed=("bytes_accessed", "first"), kernels=("kernels", "first"),
        convolutions_not_nhwc=("convolutions_not_nhwc", "first"), transposes=("transposes", "first"), temp_bytes=("temp_bytes", "first"),
        total_bytes=("total_bytes", "first"), compile_s=("compile_s", "first"), check_error=("check_error", "max"),
        status=("status", worst_status))
    ratios = round_ratios(rounds, cost["vectors"])
    rows = []
    for (model, batch, method), c in cost.iterrows():
        row = {"model": model, "batch": batch, "method": method, **c.to_dict()}
        data = ratios[(ratios["model"] == model) & (ratios["batch"] == batch) & (ratios["method"] == method)]
        if len(data):
            groups = [g["ratio"].to_numpy() for _, g in data.groupby("repeat")]
            row |= paired_ratio_interval(groups, level, n_boot, np.random.default_rng([seed, len(rows)]))
            row["time_ms"] = 1e3 * float(np.median(data["time_s"]))
        grad = cost.loc[(model, batch, "gradient")]
        per = c["vectors"]
        for name, column in (("flop_ratio", "flops"), ("bytes_ratio", "bytes_accessed"), ("kernel_ratio", "kernels")):
            row[name] = c[column] / grad[column] / per
        row["temp_ratio"] = c["temp_bytes"] / grad["temp_bytes"]
        row["peak_ratio"] = c["total_bytes"] / grad["total_bytes"]
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)
    out["time_over_flops"] = out["ratio"] / out["flop_ratio"]
    order = {name: i for names in (MODELS, METHODS) for i, name in enumerate(names)}  # the catalog's order
    return out.sort_values(["model", "batch", "method"], key=lambda s: s if s.name == "batch" else s.map(order),
                           kind="stable").reset_index(drop=True)


def verdicts(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (model, batch): the best new-point HVP, its ratio and flop ratio, and whether the issue's targets hold."""
    rows = []
    for (model, batch), s in summary.groupby(["model", "batch"], sort=False):
        hvps = s[s["method"].isin(NEW_POINT_HVPS) & s["ratio"].notna()]
        if hvps.empty:
            continue
        best = hvps.loc[hvps["ratio"].idxmin()]
        best_ok = best["ratio"] <= 2 or (best["flop_ratio"] > 2 and best["time_over_flops"] <= FLOP_TOLERANCE["best"])
        each = s[s["method"].isin(HVP_METHODS) & s["ratio"].notna()]
        rows.append({"model": model, "batch": batch, "best": best["method"], "best_ratio": best["ratio"],
                     "best_lo": best["lo"], "best_hi": best["hi"], "best_flop_ratio": best["flop_ratio"],
                     "best_ok": bool(best_ok),
                     "worst_time_over_flops": float(each["time_over_flops"].max()),
                     "worst_method": each.loc[each["time_over_flops"].idxmax(), "method"],
                     "each_ok": bool((each["time_over_flops"] <= FLOP_TOLERANCE["each"]).all())})
    return pd.DataFrame(rows)


def write_summary(out_dir: Path) -> None:
    """summary.csv, verdicts.csv, reference.csv and the figure, from rounds.csv and methods.csv alone."""
    from expkit.results import write_csv_atomic
    from hvp_models.plots import figure_ratios
    from hvp_models.reference import reference_table

    out_dir = Path(out_dir)
    summary = summarise(pd.read_csv(out_dir / "rounds.csv"), pd.read_csv(out_dir / "methods.csv"))
    write_csv_atomic(out_dir / "summary.csv", summary)
    write_csv_atomic(out_dir / "verdicts.csv", verdicts(summary))
    write_csv_atomic(out_dir / "reference.csv", reference_table())
    figure_ratios(summary, out_dir)
