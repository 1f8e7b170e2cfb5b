"""A sweep's run directory: its files, reading them back, and summarising them.

Used by the sweep (to resume), the figures and the report alike; JAX-free, so a run is
read and redrawn without starting a backend.

Files in a run directory:
  runs.csv     one row per point x timed run (one row for a skipped or failed point)
  summary.csv  per point: mean / std / median / min / quartiles, rewritten after every point
  meta.json    config, environment, start and end times
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from expkit.config import ConfigError
from secondorder.variants import parse_variant

COLUMNS = [
    "depth", "width", "variant", "method", "run_index", "order", "status", "time_s", "compile_s",
    "prepare_s", "params", "batch", "dtype", "backend", "predicted_bytes", "compiled_bytes",
    "budget_bytes", "finite", "nonzero", "gelu", "max_rel_error", "note",
]
"""runs.csv's columns, in order. `compile_s`: every compile the method needs (naive_hvp's
includes building H); `prepare_s`: running its untimed setup. `order`: the call's position within its round of the
interleaved timing; `backend`: the JAX platform the point ran on; `budget_bytes`: the
memory budget in force (a skipped point is reconsidered on resume if it rose); `gelu`: the
GELU's form the point ran (tanh, logistic or exact; hvp_bench.config's vmapped_gelu);
`max_rel_error`: the largest relative difference of the output from single products at
the point (hvp_bench.values; empty for the gradient and the floor). Runs written before
these two columns read as the variant's own GELU, unchecked."""

POINT_KEYS = ["depth", "width", "variant", "method"]
STATUSES = ("ok", "skipped", "failed", "timeout", "wrong")


def load_run(run_dir: str | Path) -> tuple[pd.DataFrame, dict]:
    """runs.csv and meta.json of a run directory; ConfigError (one line) if unusable."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run directory not found: {run_dir}")
    path = run_dir / "runs.csv"
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no runs.csv (not a run directory)")
    try:
        runs = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise ConfigError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not a readable CSV: {str(e).splitlines()[0]}") from None
    missing = [c for c in ("depth", "width", "method", "status", "time_s") if c not in runs]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
    if runs.empty:
        raise ConfigError(f"{path} has no rows (no point measured yet)")
    # Runs written before a column existed read with it empty; before variants, the
    # column was `form` (and before that, every run was the scan form).
    if "variant" not in runs and "form" in runs:
        runs = runs.rename(columns={"form": "variant"})
    runs = runs.reindex(columns=list(dict.fromkeys([*COLUMNS, *runs.columns])))
    runs["variant"] = runs["variant"].astype(object).where(runs["variant"].notna(), "scan")
    runs["gelu"] = runs["gelu"].astype(object).where(runs["gelu"].notna(), runs["variant"].map(_gelu_of))
    meta_path = run_dir / "meta.json"
    meta = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            raise ConfigError(f"{meta_path} is not valid JSON") from None
    return runs, meta


def _gelu_of(variant: str) -> str:
    try:
        return parse_variant(variant).activation
    except ValueError:
        return "tanh"


def ok_times(runs: pd.DataFrame) -> pd.DataFrame:
    """The timed rows: status ok and a positive, finite time_s."""
    t = pd.to_numeric(runs["time_s"], errors="coerce")
    keep = (runs["status"] == "ok") & np.isfinite(t) & (t > 0)
    return runs.assign(time_s=t)[keep]


def summarize_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per point: status, time mean / std / median / min / quartiles, compile time, memory.

    std is the population standard deviation over the timed runs (the task's "standard
    deviation across runs"); q25_s / q75_s are the quartiles the report's figures show.
    """
    rows = rows.assign(time_s=pd.to_numeric(rows["time_s"], errors="coerce"),
                       **{c: np.nan for c in ("gelu", "max_rel_error") if c not in rows})
    grouped = rows.groupby(POINT_KEYS, sort=True)
    summary = grouped.agg(
        status=("status", "first"), runs=("time_s", "count"), mean_s=("time_s", "mean"),
        std_s=("time_s", lambda t: float(np.std(t)) if t.notna().any() else np.nan),
        median_s=("time_s", "median"), min_s=("time_s", "min"),
        q25_s=("time_s", lambda t: t.quantile(0.25)), q75_s=("time_s", lambda t: t.quantile(0.75)),
        compile_s=("compile_s", "first"), params=("params", "first"),
        predicted_bytes=("predicted_bytes", "first"), compiled_bytes=("compiled_bytes", "first"),
        finite=("finite", "first"), nonzero=("nonzero", "first"), gelu=("gelu", "first"),
        max_rel_error=("max_rel_error", "first"), note=("note", "first"),
    )
    return summary.reset_index()


def variants_of(meta: dict, runs: pd.DataFrame) -> list[str]:
    """The run's variants, the config's first (the primary one) first."""
    config = meta.get("config", {})
    listed = config.get("variants") or config.get("forms") or ([config["form"]] if "form" in config else [])
    return list(listed) + [v for v in runs["variant"].dropna().unique() if v not in listed]


def split_sweeps(runs: pd.DataFrame, meta: dict, variant: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(depth sweep rows at the config's width, width sweep rows at width_depth or empty).

    Args:
      variant: keep this variant only; None: the run's primary variant (its first).
    """
    config = meta.get("config", {})
    variants = variants_of(meta, runs)
    runs = runs[runs["variant"] == (variant or (variants[0] if variants else "scan"))]
    width = config.get("width")
    if width is None or not (runs["width"] == width).any():
        width = runs["width"].mode().iloc[0]
    depth_rows = runs[runs["width"] == width]
    width_depth = config.get("width_depth")
    width_rows = runs[runs["depth"] == width_depth] if config.get("widths") else runs.iloc[:0]
    if width_rows["width"].nunique() < 2:
        width_rows = runs.iloc[:0]
    return depth_rows, width_rows


def load_summary(run_dir: str | Path, variant: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-point summaries of the depth sweep and the width sweep (of one variant), and meta.json."""
    rows, meta = load_run(run_dir)
    depth_rows, width_rows = split_sweeps(rows, meta, variant)
    return summarize_runs(depth_rows), summarize_runs(width_rows), meta


def format_summary(summary: pd.DataFrame) -> str:
    """A plain-text table of median milliseconds, depth x method (skipped/failed named)."""
    if summary.empty:
        return "(no points measured)"
    cell = [
        f"{m * 1e3:.3g}" if s == "ok" else s
        for m, s in zip(summary["median_s"], summary["status"])
    ]
    table = summary.assign(cell=cell).pivot_table(
        index=["variant", "width", "depth"], columns="method", values="cell", aggfunc="first", sort=True
    )
    order = [m for m in summary["method"].drop_duplicates()]
    return "median time per call (ms)\n" + table[order].to_string()
