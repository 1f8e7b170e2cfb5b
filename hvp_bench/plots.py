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

from hvp_bench.config import METHOD_NAMES, TASK_METHODS
from hvp_bench.rundir import load_summary

LABELS = {
    "hessian_then_hvp": "(1) full Hessian + naive HVP",
    "naive_hvp": "(2) naive HVP, Hessian given",
    "hvp_rev_rev": "(3) autograd HVP, rev-over-rev",
    "hvp_fwd_rev": "fwd-over-rev HVP",
    "hvp_rev_fwd": "rev-over-fwd HVP",
    "hvp_linearize": "linearize + apply",
    "hvp_linearized_apply": "apply stored linearization",
    "gradient": "gradient (baseline)",
}
COLORS = dict(zip(METHOD_NAMES, matplotlib.colormaps["tab10"].colors))
STATUS_MARKERS = {"skipped": "x", "failed": "X"}
MEAN_STD = "mean ± 1 std over runs"
MEDIAN_IQR = "median, bars 25th-75th percentile over runs"


def label(method: str) -> str:
    return LABELS.get(method, method)


def title(meta: dict, what: str, show_width: bool = True) -> str:
    """`what` over a line naming the model, precision and device of the run."""
    config, env = meta.get("config", {}), meta.get("environment", {})
    width = f"width {config.get('width', '?')}, " if show_width else ""
    precision = config.get("matmul_precision")
    precision = f" (matmul {precision})" if precision else ""
    return (f"{what}\n{width}batch {config.get('batch', '?')}, {config.get('dtype', '?')}{precision}, "
            f"{config.get('form', '?')} form, {env.get('device', '?')}")


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
    """Every HVP composition and the gradient against depth, log y, median and quartiles."""
    fig, ax = _axes()
    hvps = [m for m in METHOD_NAMES if m not in ("hessian_then_hvp", "naive_hvp")]
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


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draws every figure of a run into its directory; returns the paths written.

    Raises:
      ConfigError: no run directory, or an empty or unreadable runs.csv or meta.json.
    """
    run_dir = Path(run_dir)
    depth_sweep, width_sweep, meta = load_summary(run_dir)
    written: list[Path] = []
    if depth_sweep["depth"].nunique() > 1:  # a width-only run has one depth
        written += save_figure(figure_task_timings(depth_sweep, meta), run_dir, "task_timings")
        written += save_figure(figure_compositions(depth_sweep, meta), run_dir, "hvp_compositions")
        written += save_figure(figure_compile_times(depth_sweep, meta), run_dir, "compile_times")
    if width_sweep["width"].nunique() > 1:
        written += save_figure(figure_width_sweep(width_sweep, meta), run_dir, "width_sweep")
    return written
