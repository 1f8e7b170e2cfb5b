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
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from expkit.config import ConfigError
from expkit.results import CsvLog, write_csv_atomic
from hvp_bench.variants import describe, parse_variant
from hvp_bench.words import ms

COLUMNS = [
    "depth", "width", "variant", "method", "run_index", "order", "status", "time_s", "compile_s",
    "prepare_s", "params", "batch", "dtype", "backend", "predicted_bytes", "compiled_bytes",
    "budget_bytes", "finite", "nonzero", "gelu", "max_rel_error", "note", "repeat",
]
"""runs.csv's columns, in order. `compile_s`: every compile the method needs (naive_hvp's
includes building H); `prepare_s`: running its untimed setup. `order`: the call's position within its round of the
interleaved timing; `backend`: the JAX platform the point ran on; `budget_bytes`: the
memory budget in force (a skipped point is reconsidered on resume if it rose); `gelu`: the
GELU's form the point ran (tanh, logistic or exact: the library runs the tanh GELU's logistic
form where it vmaps products, `secondorder.timing.vmaps`);
`max_rel_error`: the largest relative difference of the output from single products at
the point (hvp_bench.values; empty for the gradient and the floor). Runs written before
these two columns read as the variant's own GELU, unchecked. `repeat`: REPEAT."""

POINT_KEYS = ["depth", "width", "variant", "method"]
REPEAT = "repeat"
"""The column naming a row's repeat: one independent study of the whole sweep (its own
worker processes; hvp_bench.config's `repeats`). Runs written without it are one repeat,
repeat 0."""
RUN_KEYS = [REPEAT, *POINT_KEYS]
"""What one measurement is: a point in one repeat."""
STATUSES = ("ok", "skipped", "failed", "timeout", "wrong")
TABLE_WIDTH = 100
"""The printed table's widest line (format_summary)."""


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


def repeat_of(runs: pd.DataFrame) -> pd.Series:
    """Each row's repeat (an int); 0 for every row where runs.csv has no repeat column."""
    if REPEAT not in runs:
        return pd.Series(0, index=runs.index, dtype=int)
    return pd.to_numeric(runs[REPEAT], errors="coerce").fillna(0).astype(int)


def add_repeat_column(path: Path) -> Path:
    """`path` (a runs.csv), given a `repeat` column of 0s if it was written before repeats existed."""
    if not path.is_file():
        return path
    with open(path) as f:
        header = f.readline().rstrip("\n")
    if header == ",".join(COLUMNS[:-1]):
        write_csv_atomic(path, CsvLog(path, COLUMNS[:-1]).read().assign(**{REPEAT: 0})[COLUMNS])
    return path


def is_dead(frame: pd.DataFrame) -> pd.Series:
    """Rows (runs.csv rows or summary points) whose result was all zero or non-finite.

    Deep width-4 models with the task's init underflow to exactly zero (from ~660 layers
    at width 4); wide ones overflow. Their times are those of the same arithmetic (XLA
    flushes denormals, so zeros run no slower on a CPU) but their values are not checkable.
    Rows without health columns (older runs) count as alive.
    """
    dead = pd.Series(False, index=frame.index)
    for column in ("finite", "nonzero"):
        if column in frame:
            dead |= frame[column].astype(str) == "False"
    return dead


def _worst(statuses: pd.Series) -> str:
    bad = statuses[statuses != "ok"]
    return str(bad.iloc[0] if len(bad) else statuses.iloc[0])


def summarize_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per point: status, time mean / std / median / min / quartiles, compile time, memory.

    std is the population standard deviation over the timed runs (the task's "standard
    deviation across runs"); q25_s / q75_s are the quartiles the report's figures show.
    With several repeats, a point pools the runs of all of them and its status is the
    first that is not "ok" (a point is ok only if it was ok in every repeat); per-repeat
    figures come from runs.csv (hvp_bench.scaling).
    """
    rows = rows.assign(time_s=pd.to_numeric(rows["time_s"], errors="coerce"), **{REPEAT: repeat_of(rows)},
                       **{c: np.nan for c in ("gelu", "max_rel_error") if c not in rows})
    grouped = rows.groupby(POINT_KEYS, sort=True)
    summary = grouped.agg(
        status=("status", _worst), repeats=(REPEAT, "nunique"), runs=("time_s", "count"),
        mean_s=("time_s", "mean"),
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


def shown_depths(depths, most: int = 6) -> list:
    """At most `most` of the sorted depths: the first, the last, and evenly spaced between."""
    depths = sorted(set(depths))
    if len(depths) <= most:
        return depths
    return [depths[i] for i in sorted(set(np.linspace(0, len(depths) - 1, most).round().astype(int)))]


def format_summary(summary: pd.DataFrame, labels: dict | None = None, most_depths: int = 6) -> str:
    """The median time per call in ms, one method a row, at most `most_depths` depths as
    columns; one block per variant and width. Fits in 100 columns; the full table is summary.csv.

    Args:
      labels: method -> name printed in its row, in the order rows are printed (methods not
        in it follow, by code name).
    """
    if summary.empty:
        return "(no points measured)"
    labels = labels or {}
    present = list(summary["method"].drop_duplicates())
    order = [m for m in labels if m in present] + [m for m in present if m not in labels]
    lines = ["median time per call (ms), by number of layers (hidden layers)"]
    shown, total = set(), set()
    for (variant, width), block in summary.groupby(["variant", "width"], sort=False):
        depths = shown_depths(block["depth"], most_depths)
        shown.add(len(depths))
        total.add(block["depth"].nunique())
        cells = {(r.method, r.depth): ms(r.median_s) if r.status == "ok" else str(r.status)
                 for r in block.itertuples()}
        rows = [[labels.get(m, m), *[cells.get((m, d), "") for d in depths]]
                for m in order if m in set(block["method"])]
        head = ["layers:", *[f"{d:g}" for d in depths]]
        first = max(len(r[0]) for r in [head, *rows])
        rest = [max(len(r[i]) for r in [head, *rows]) for i in range(1, len(head))]
        words = describe(variant)
        name = variant if words == variant else f"{variant} ({words})"
        lines += ["", *textwrap.wrap(f"{name}, width {width:g}", TABLE_WIDTH, subsequent_indent="  ",
                                         break_on_hyphens=False)]
        lines += ["  ".join([r[0].ljust(first), *[c.rjust(w) for c, w in zip(r[1:], rest)]]).rstrip()
                  for r in [head, *rows]]
    if shown == total:
        note = "Every point, with its mean, std and quartiles, is in summary.csv."
    else:
        counts = f"{shown.pop()} of {total.pop()} depths" if len(shown) == len(total) == 1 else "some depths"
        note = f"Showing {counts}; every depth, with its mean, std and quartiles, is in summary.csv."
    return "\n".join([*lines, "", note])
