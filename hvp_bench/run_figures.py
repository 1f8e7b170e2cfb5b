"""Every figure of a run, drawn into its directory from its result files alone: `plot_run`.

The figures themselves are hvp_bench.plots' (one variant) and hvp_bench.variant_figures'
(the variants compared); this module only says which a run gets.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hvp_bench.config import METHOD_NAMES
from hvp_bench.plots import (figure_compile_times, figure_compositions, figure_task_timings, figure_width_sweep,
                             save_figure)
from hvp_bench.report.figures import figure_time_fits
from hvp_bench.rundir import load_run, load_summary, split_sweeps, summarize_runs, variants_of
from hvp_bench.scaling import fit_time_slopes
from hvp_bench.words import title
from hvp_bench.variant_figures import figure_variants

FIT_DEPTHS = 3
"""A depth sweep with at least this many depths also gets `time_vs_depth_loglog`: log-log, fitted exponents."""

OWN_FIGURES_UP_TO = 3
"""Runs with at most this many variants get every figure for each variant; with more,
the first variant alone, and the variants figures compare them all."""


def _has_dense_route(summary: pd.DataFrame) -> bool:
    return bool(summary["method"].isin(["hessian_then_hvp", "naive_hvp"]).any())


def _figure_loglog(rows: pd.DataFrame, meta: dict, variant: str):
    """The depth sweep of `variant` on log-log axes with each method's fitted exponent."""
    depth_rows, _ = split_sweeps(rows, meta, variant)
    fits = fit_time_slopes(depth_rows, "depth", methods=[m for m in METHOD_NAMES if (depth_rows["method"] == m).any()])
    return figure_time_fits(depth_rows, fits, title(meta, "Time against depth, log-log: the slope is the exponent",
                                                    variant=variant))


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draws every figure of a run into its directory; returns the paths written.

    With several variants, the figures of the first variant have plain names, those of
    the others (up to OWN_FIGURES_UP_TO variants in all) a `_<variant>` suffix, and
    `variants` (median times) and `variants_compile` compare them all, one panel per method.
    task_timings is drawn where the run has the dense route ((1) or (2)); time_vs_depth_loglog
    (log-log, each method's fitted exponent with its interval written on it) where the depth
    sweep has FIT_DEPTHS depths or more.

    Raises:
      ConfigError: no run directory, or an empty or unreadable runs.csv or meta.json.
    """
    run_dir = Path(run_dir)
    rows, meta = load_run(run_dir)
    variants = variants_of(meta, rows)
    own = variants if len(variants) <= OWN_FIGURES_UP_TO else variants[:1]
    written: list[Path] = []
    for i, variant in enumerate(own):
        depth_sweep, width_sweep, _ = load_summary(run_dir, variant)
        suffix = "" if i == 0 else f"_{variant}"
        variant_meta = {**meta, "_variant": variant}
        if depth_sweep["depth"].nunique() > 1:  # a width-only run has one depth
            figures = [("hvp_compositions", figure_compositions), ("compile_times", figure_compile_times)]
            if _has_dense_route(depth_sweep):
                figures.insert(0, ("task_timings", figure_task_timings))
            for name, draw in figures:
                written += save_figure(draw(depth_sweep, variant_meta), run_dir, name + suffix)
        if depth_sweep["depth"].nunique() >= FIT_DEPTHS:
            written += save_figure(_figure_loglog(rows, meta, variant), run_dir, "time_vs_depth_loglog" + suffix)
        if width_sweep["width"].nunique() > 1:
            written += save_figure(figure_width_sweep(width_sweep, variant_meta), run_dir, "width_sweep" + suffix)
    if len(variants) > 1:
        config = meta.get("config", {})
        width, width_depth = config.get("width"), config.get("width_depth")
        summary = summarize_runs(rows[rows["width"] == width] if width is not None else rows)
        if summary["depth"].nunique() > 1:
            written += save_figure(figure_variants(summary, meta), run_dir, "variants")
            written += save_figure(figure_variants(summary, meta, column="compile_s"), run_dir, "variants_compile")
        across = summarize_runs(rows[rows["depth"] == width_depth]) if config.get("widths") else summary.iloc[:0]
        if len(across) and across["width"].nunique() > 1:
            written += save_figure(figure_variants(across, meta, x="width"), run_dir, "variants_width")
    return written
