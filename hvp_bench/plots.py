"""Figures of a run, drawn from its result files alone (runs.csv, meta.json).

Each `figure_*` function takes summaries and returns a matplotlib `Figure`; nothing here
touches pyplot, the backend or global rcParams, so importing this module is safe in a
notebook (hvp_bench.run_figures draws every figure of a run into its directory). Names,
axis labels and titles come from hvp_bench.words (one vocabulary for all figures and tables).

Which statistic each figure shows (also written on it):
- task_timings: the homework's three timings against depth. Left, linear axis: **mean ±
  1 standard deviation** over the timed runs (what the homework asks for). Right, log
  axis: **median with bars from the 25th to the 75th percentile**, which stay above zero
  (mean - std does not, for noisy fast calls) and match the printed table's medians.
- hvp_compositions, width_sweep, variants: **median** and quartile bars (medians resist
  the outliers a shared machine produces; the report uses them too).
- compile_times, variants_compile: one compile per point, no statistic.
Skipped (over the memory budget) and failed points are drawn as markers on the x axis,
so a missing point is never silently missing. Dead points (the result all zero or
non-finite: hvp_bench.rundir.is_dead) are drawn hollow, in every figure of hvp_bench.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from expkit.figures import save_figure as expkit_save_figure

from hvp_bench import words
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES, TASK_METHODS
from hvp_bench.words import DEAD_LABEL, MEAN_STD, MEDIAN_IQR, label, subtitle
from hvp_bench.rundir import is_dead

__all__ = ["COLORS", "decorate", "draw_points", "legend", "mark_dead", "save_figure"]

COLORS = dict(zip((*METHOD_NAMES, FLOOR_METHOD), matplotlib.colormaps["tab10"].colors))
STATUS_MARKERS = {"skipped": "x", "failed": "X", "timeout": "X", "wrong": "D"}


def mark_dead(ax, xs, ys, dead, color, legend: bool = True) -> None:
    """Draws the dead points among (xs, ys) hollow (over a filled marker, if any) and, once
    per axes unless `legend` is False, a legend entry saying what hollow means."""
    dead = np.asarray(dead, bool)
    if not dead.any():
        return
    ax.plot(np.asarray(xs, float)[dead], np.asarray(ys, float)[dead], "o", markersize=7, markerfacecolor="white",
            markeredgecolor=color, markeredgewidth=1.2, linestyle="none", zorder=3)
    if legend and DEAD_LABEL not in ax.get_legend_handles_labels()[1]:
        ax.plot([], [], "o", markerfacecolor="white", markeredgecolor="0.3", linestyle="none", label=DEAD_LABEL)


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
        mark_dead(ax, ok[x], y, is_dead(ok), COLORS.get(method))
        for status, marker in STATUS_MARKERS.items():
            bad = data[data["status"] == status]
            if not bad.empty:
                # One row of markers per method, so methods skipped at the same x all show.
                ax.plot(bad[x], [0.03 + 0.04 * row] * len(bad), marker, color=COLORS.get(method),
                        markersize=8, transform=ax.get_xaxis_transform(), clip_on=False,
                        label=f"{label(method)}: {status}")


def decorate(fig, meta: dict, what: str, variant: str | None = None, show_width: bool = True) -> None:
    """Title on top, the run's subtitle (machine, precision, model) small underneath."""
    # The title keeps a blank last line, which the layout leaves room for; the subtitle is
    # drawn into it, anchored to the title's bottom edge.
    top = fig.suptitle(f"{what}\n", fontsize=12)
    fig.add_artist(Annotation(subtitle(meta, variant, show_width), xy=(0.5, 0.0), xycoords=top, fontsize=8.5,
                              color="0.3", ha="center", va="bottom"))


def save_figure(fig: Figure, directory: Path, name: str, dpi: int = 130) -> list[Path]:
    """Writes `name`.png and `name`.svg (expkit.figures); returns their paths."""
    return expkit_save_figure(fig, directory, name, dpi)


def _axes(figsize=(10.5, 5.5), ncols: int = 1):
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(1, ncols)


def legend(ax, **kwargs) -> None:
    """The axes' legend, what hollow markers mean last."""
    pairs = list(zip(*ax.get_legend_handles_labels()))
    pairs.sort(key=lambda pair: pair[1] == DEAD_LABEL)
    if pairs:
        handles, labels = zip(*pairs)
        ax.legend(handles, labels, **kwargs)


def _legend_outside(ax) -> None:
    legend(ax, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))


def _runs(summary: pd.DataFrame) -> str:
    """"10 runs", "3-10 runs" where points were timed a different number of times, and
    "30 runs (3 repeats)" where the runs of several repeats are pooled."""
    ok = summary[summary["status"] == "ok"]
    if ok.empty:
        return "runs"
    lo, hi = int(ok["runs"].min()), int(ok["runs"].max())
    repeats = int(ok["repeats"].max()) if "repeats" in ok else 1
    return (f"{hi} runs" if lo == hi else f"{lo}-{hi} runs") + (f" ({repeats} repeats)" if repeats > 1 else "")


def figure_task_timings(summary: pd.DataFrame, meta: dict) -> Figure:
    """The homework's three timings against depth: mean ± 1 std on a linear axis (as asked),
    median and quartiles on a log axis (never below zero)."""
    fig, axes = _axes((13, 5.8), ncols=2)
    runs = _runs(summary[summary["method"].isin(TASK_METHODS)])
    panels = (("linear", "mean", f"Linear axis: {MEAN_STD.replace('runs', runs)}"),
              ("log", "median", f"Log axis: {MEDIAN_IQR.replace('runs', runs)}\n"
                                "(these bars cannot go below zero; mean − std can)"))
    for ax, (scale, stat, heading) in zip(axes, panels):
        draw_points(ax, summary, TASK_METHODS, "depth", stat=stat)
        ax.set_yscale(scale)
        ax.set_xlabel(words.DEPTH)
        ax.set_ylabel(words.TIME)
        ax.set_title(heading, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    legend(axes[0], fontsize=9, loc="upper left")
    decorate(fig, meta, "Time for one Hessian-vector product, three ways")
    return fig


def figure_compositions(summary: pd.DataFrame, meta: dict) -> Figure:
    """Every HVP composition, the gradient and the empty call against depth, log y."""
    fig, ax = _axes()
    hvps = [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m not in ("hessian_then_hvp", "naive_hvp")]
    draw_points(ax, summary, hvps, "depth", stat="median")
    ax.set_yscale("log")
    ax.set_xlabel(words.DEPTH)
    ax.set_ylabel(words.TIME)
    ax.grid(True, which="both", alpha=0.3)
    _legend_outside(ax)
    ax.set_title(MEDIAN_IQR, fontsize=10)
    decorate(fig, meta, "Hessian-vector products without the Hessian, against one gradient")
    return fig


def figure_compile_times(summary: pd.DataFrame, meta: dict) -> Figure:
    """Compile time of every method against depth (one compile per point)."""
    fig, ax = _axes()
    draw_points(ax, summary, METHOD_NAMES, "depth", stat="compile")
    ax.set_xlabel(words.DEPTH)
    ax.set_ylabel(words.COMPILE)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    ax.set_title("one compile per point (tracing and XLA compilation, not timed in the other figures)",
                 fontsize=10)
    decorate(fig, meta, "Compile time of each method")
    return fig


def figure_width_sweep(summary: pd.DataFrame, meta: dict) -> Figure:
    """Every method against width at the config's `width_depth`, log-log, median and quartiles."""
    fig, ax = _axes()
    draw_points(ax, summary, METHOD_NAMES, "width", stat="median")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(words.WIDTH)
    ax.set_ylabel(words.TIME)
    ax.grid(True, which="both", alpha=0.3)
    _legend_outside(ax)
    ax.set_title(MEDIAN_IQR, fontsize=10)
    depth = meta.get("config", {}).get("width_depth")
    decorate(fig, meta, f"Time against the width of the layers, at {depth} layers", show_width=False)
    return fig
