"""Figures of a run, drawn from its result files alone (runs.csv, meta.json).

Each `figure_*` function takes summaries and returns a matplotlib `Figure`; nothing here
touches pyplot, the backend or global rcParams, so importing this module is safe in a
notebook. `plot_run(run_dir)` draws every figure of a run into its directory.

Which statistic each figure shows (also written in its title):
- task_timings: the task's three timings against depth, **mean ± 1 standard
  deviation** over the timed runs (the task asks for exactly that), linear and log y.
- hvp_compositions, width_sweep: **median**, bars from the 25th to the 75th percentile
  (medians resist the outliers a shared machine produces; the report uses them too).
- compile_times: one compile per point, no statistic.
Skipped (over the memory budget) and failed points are drawn as markers on the x axis,
so a missing point is never silently missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES, TASK_METHODS
from hvp_bench.rundir import load_run, load_summary, summarize_runs, variants_of

LABELS = {
    "hessian_then_hvp": "(1) full Hessian + naive HVP",
    "naive_hvp": "(2) naive HVP, Hessian given",
    "hvp_rev_rev": "(3) autograd HVP, rev-over-rev",
    "hvp_fwd_rev": "fwd-over-rev HVP",
    "hvp_rev_fwd": "rev-over-fwd HVP",
    "hvp_linearize": "linearize + apply",
    "hvp_linearized_apply": "apply stored linearization",
    "hvp_by_hand": "HVP by hand (R-operator)",
    "gradient": "gradient (baseline)",
    FLOOR_METHOD: "dispatch floor (a trivial call)",
}
COLORS = dict(zip((*METHOD_NAMES, FLOOR_METHOD), matplotlib.colormaps["tab10"].colors))
VARIANT_STYLES = ("-", "--", ":", "-.")
STATUS_MARKERS = {"skipped": "x", "failed": "X", "wrong": "D"}
MEAN_STD = "mean ± 1 std over runs"
MEDIAN_IQR = "median, bars 25th-75th percentile over runs"


def label(method: str) -> str:
    return LABELS.get(method, method)


def title(meta: dict, what: str, show_width: bool = True, variant: str | None = None) -> str:
    """`what` over a line naming the model, precision, variant and device of the run."""
    config, env = meta.get("config", {}), meta.get("environment", {})
    width = f"width {config.get('width', '?')}, " if show_width else ""
    # Runs from before the key existed ran with JAX's default precision (TF32 on an H100).
    precision = config.get("matmul_precision", "default")
    variant = variant or meta.get("_variant") or (config.get("variants") or config.get("forms")
                                                  or [config.get("form", "?")])[0]
    return (f"{what}\n{width}batch {config.get('batch', '?')}, {config.get('dtype', '?')} "
            f"(matmul precision {precision}), variant {variant}, {env.get('device', '?')}")


def draw_points(ax, summary: pd.DataFrame, methods: Sequence[str], x: str, stat: str = "median") -> None:
    """One line per method; skipped/failed points as markers on the x axis.

    Args:
      stat: "mean" (mean ± std), "median" (median, quartile bars) or "compile" (compile_s).
    """
    for row, method in enumerate(methods):
        data = summary[summary["method"] == method].sort_values(x)
        if data.empty:
            continue
        ok = data[data["status"] == "ok"]
        if stat == "mean":
            y, err = ok["mean_s"], ok["std_s"]
        elif stat == "median":
            y = ok["median_s"]
            err = np.vstack([y - ok["q25_s"], ok["q75_s"] - y]) if "q25_s" in ok else None
        else:
            y, err = ok["compile_s"], None
        ax.errorbar(ok[x], y, yerr=err, marker="o", markersize=3, capsize=3, label=label(method),
                    color=COLORS.get(method))
        for status, marker in STATUS_MARKERS.items():
            bad = data[data["status"] == status]
            if not bad.empty:
                # One row of markers per method, so methods skipped at the same x all show.
                ax.plot(bad[x], [0.03 + 0.04 * row] * len(bad), marker, color=COLORS.get(method),
                        markersize=8, transform=ax.get_xaxis_transform(), clip_on=False,
                        label=f"{label(method)}: {status}")


def save_figure(fig: Figure, directory: Path, name: str, dpi: int = 130) -> list[Path]:
    """Writes `name`.png and `name`.svg; returns their paths."""
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    # Text stays text in SVGs (smaller, searchable); set for this save only.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for p in paths:
            # No date in the SVG, so redrawing unchanged results leaves the file unchanged.
            fig.savefig(p, dpi=dpi, metadata={"Date": None} if p.suffix == ".svg" else None)
    return paths


def _axes(figsize=(10.5, 5.5), ncols: int = 1):
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(1, ncols)


def _legend_outside(ax) -> None:
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))


def figure_task_timings(summary: pd.DataFrame, meta: dict) -> Figure:
    """The task's three timings against depth, mean ± 1 std, linear and log y."""
    fig, axes = _axes((13, 5.5), ncols=2)
    for ax, scale in zip(axes, ("linear", "log")):
        draw_points(ax, summary, TASK_METHODS, "depth", stat="mean")
        ax.set_yscale(scale)
        ax.set_xlabel("Number of layers")  # the task's label; n counts hidden layers
        ax.set_ylabel("Computation time (s)")
        ax.set_title(f"{scale} y")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title(meta, f"The task's three timings ({MEAN_STD})"))
    return fig


def figure_compositions(summary: pd.DataFrame, meta: dict) -> Figure:
    """Every HVP composition, the gradient and the dispatch floor against depth, log y."""
    fig, ax = _axes()
    hvps = [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m not in ("hessian_then_hvp", "naive_hvp")]
    draw_points(ax, summary, hvps, "depth", stat="median")
    ax.set_yscale("log")
    ax.set_xlabel("Number of hidden layers")
    ax.set_ylabel("Computation time (s)")
    ax.grid(True, which="both", alpha=0.3)
    _legend_outside(ax)
    ax.set_title(title(meta, f"HVP compositions vs the gradient ({MEDIAN_IQR})"))
    return fig


def figure_compile_times(summary: pd.DataFrame, meta: dict) -> Figure:
    """Compile time of every method against depth (one compile per point)."""
    fig, ax = _axes()
    draw_points(ax, summary, METHOD_NAMES, "depth", stat="compile")
    ax.set_xlabel("Number of hidden layers")
    ax.set_ylabel("Compile time (s)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    ax.set_title(title(meta, "Compile time (lower + XLA compile, once per point)"))
    return fig


def figure_width_sweep(summary: pd.DataFrame, meta: dict) -> Figure:
    """Every method against width at the config's `width_depth`, log-log, median and quartiles."""
    fig, ax = _axes()
    draw_points(ax, summary, METHOD_NAMES, "width", stat="median")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("Hidden width")
    ax.set_ylabel("Computation time (s)")
    ax.grid(True, which="both", alpha=0.3)
    _legend_outside(ax)
    depth = meta.get("config", {}).get("width_depth")
    ax.set_title(title(meta, f"Width sweep at {depth} hidden layers ({MEDIAN_IQR})", show_width=False))
    return fig


def figure_variants(summary: pd.DataFrame, meta: dict, x: str = "depth") -> Figure:
    """Compile time and median run time of each method in each variant against depth (or width)."""
    fig, axes = _axes((14, 5.5), ncols=2)
    variants = variants_of(meta, summary)
    for ax, (column, ylabel) in zip(axes, (("compile_s", "Compile time (s)"), ("median_s", "Computation time (s)"))):
        for (variant, method), data in summary[summary["status"] == "ok"].groupby(["variant", "method"]):
            data = data.sort_values(x)
            ax.plot(data[x], data[column], VARIANT_STYLES[variants.index(variant) % len(VARIANT_STYLES)],
                    marker="o", markersize=3, color=COLORS.get(method), label=f"{label(method)}, {variant}")
        missing = summary[summary["status"] != "ok"]
        for row, ((variant, method), data) in enumerate(missing.groupby(["variant", "method"])):
            ax.plot(data[x], [0.03 + 0.04 * row] * len(data), "x", color=COLORS.get(method), markersize=8,
                    transform=ax.get_xaxis_transform(), clip_on=False,
                    label=f"{label(method)}, {variant}: {'/'.join(sorted(set(data['status'])))}")
        ax.set_yscale("log")
        if x == "width":
            ax.set_xscale("log", base=2)
        ax.set_xlabel("Number of hidden layers" if x == "depth" else "Hidden width")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("one compile per point")
    axes[1].set_title("median over runs")
    _legend_outside(axes[1])
    styles = ", ".join(f"{s!r}: {v}" for s, v in zip(VARIANT_STYLES, variants))
    fig.suptitle(title(meta, f"The variants side by side (line styles {styles})", variant=" vs ".join(variants)))
    return fig


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draws every figure of a run into its directory; returns the paths written.

    With several variants, the figures of the first variant have plain names, those of
    the others a `_<variant>` suffix, and `variants` compares them all.

    Raises:
      ConfigError: no run directory, or an empty or unreadable runs.csv or meta.json.
    """
    run_dir = Path(run_dir)
    rows, meta = load_run(run_dir)
    variants = variants_of(meta, rows)
    written: list[Path] = []
    for i, variant in enumerate(variants):
        depth_sweep, width_sweep, _ = load_summary(run_dir, variant)
        suffix = "" if i == 0 else f"_{variant}"
        if depth_sweep["depth"].nunique() > 1:  # a width-only run has one depth
            for name, draw in (("task_timings", figure_task_timings), ("hvp_compositions", figure_compositions),
                               ("compile_times", figure_compile_times)):
                written += save_figure(draw(depth_sweep, {**meta, "_variant": variant}), run_dir, name + suffix)
        if width_sweep["width"].nunique() > 1:
            written += save_figure(figure_width_sweep(width_sweep, {**meta, "_variant": variant}), run_dir,
                                   "width_sweep" + suffix)
    if len(variants) > 1:
        config = meta.get("config", {})
        width, width_depth = config.get("width"), config.get("width_depth")
        summary = summarize_runs(rows[rows["width"] == width] if width is not None else rows)
        if summary["depth"].nunique() > 1:
            written += save_figure(figure_variants(summary, meta), run_dir, "variants")
        across = summarize_runs(rows[rows["depth"] == width_depth]) if config.get("widths") else summary.iloc[:0]
        if len(across) and across["width"].nunique() > 1:
            written += save_figure(figure_variants(across, meta, x="width"), run_dir, "variants_width")
    return written
