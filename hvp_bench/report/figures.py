"""The report's figures: fitted power laws over measured medians, ratios, memory, comparisons.

Every function returns a matplotlib `Figure` (object API, no pyplot, no global state).
Statistic shown, stated in each title: times are **medians with bars from the 25th to
the 75th percentile** over the timed runs; ratios are ratios of medians. Dead points
(results all zero or non-finite) are drawn hollow (hvp_bench.plots.mark_dead).
"""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hvp_bench import words
from hvp_bench.config import METHOD_NAMES, TASK_METHODS
from hvp_bench.plots import COLORS, mark_dead
from hvp_bench.words import MEDIAN_IQR, label
from hvp_bench.rundir import is_dead, ok_times

NON_DENSE = [m for m in METHOD_NAMES if m not in ("hessian_then_hvp", "naive_hvp")]


def _theory_line(ax, xs: np.ndarray, anchor_x: float, anchor_y: float, k: float, color) -> None:
    """A dotted line of slope k through (anchor_x, anchor_y): the prediction's shape."""
    ax.plot(xs, anchor_y * (xs / anchor_x) ** k, ":", color=color, linewidth=1.5)


def _plot_fits(ax, rows: pd.DataFrame, fits: pd.DataFrame, methods, x: str) -> None:
    """Medians with 25-75% bars, the fitted power law (solid), the theory (dotted)."""
    for method in methods:
        data = rows[rows["method"] == method]
        if data.empty:
            continue
        q = data.groupby(x)["time_s"].quantile([0.25, 0.5, 0.75]).unstack()
        xs = q.index.to_numpy(float)
        color = COLORS.get(method)
        ax.errorbar(xs, q[0.5], yerr=[q[0.5] - q[0.25], q[0.75] - q[0.5]], fmt="o", markersize=4,
                    capsize=2, color=color)
        mark_dead(ax, xs, q[0.5], data.assign(dead=is_dead(data)).groupby(x)["dead"].any().reindex(q.index), color)
        fit = fits[fits["method"] == method].iloc[0]
        if np.isfinite(fit["slope"]):
            interval = f" [{fit['lo']:.2f}, {fit['hi']:.2f}]" if np.isfinite([fit["lo"], fit["hi"]]).all() else ""
            ax.plot(xs, np.exp(fit["intercept"]) * xs ** fit["slope"], "-", color=color,
                    label=f"{label(method)}: k = {fit['slope']:.2f}{interval} (theory {fit['pred_arithmetic']})")
            _theory_line(ax, xs, xs[-1], float(q[0.5].iloc[-1]), fit["pred_arithmetic"], color)
        else:
            ax.plot([], [], "o", color=color, label=f"{label(method)} (too few points to fit)")


def _finish(ax, xlabel: str, ylabel: str, title: str, base: int = 10) -> None:
    ax.set_xscale("log", base=base)
    if base == 2:  # widths are powers of two: label them 4, 8, 16, not 2^2
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def figure_time_fits(rows: pd.DataFrame, fits: pd.DataFrame, title: str, x: str = "depth") -> Figure:
    """Two log-log panels (the task's three timings; the HVPs and the gradient)."""
    rows = ok_times(rows)
    fig = Figure(figsize=(14, 6), layout="constrained")
    axes = fig.subplots(1, 2)
    groups = [TASK_METHODS, NON_DENSE]
    names = ["the three ways of the homework", "HVPs without the Hessian, and the gradient"]
    xlabel = words.DEPTH if x == "depth" else words.WIDTH
    for ax, methods, name in zip(axes, groups, names):
        _plot_fits(ax, rows, fits, methods, x)
        _finish(ax, xlabel, words.TIME, name, base=10 if x == "depth" else 2)
    # Solid: least-squares fit over all points; dotted: the asymptotic (arithmetic- or
    # bandwidth-bound) prediction through the largest-x median, so a bend towards it shows.
    fig.suptitle(f"{title}\npoints: {MEDIAN_IQR}; solid: fitted power law time ∝ {x}^k, k [95% bootstrap CI];\n"
                 f"dotted: the predicted exponent (arithmetic/bandwidth-bound) through the largest point"
                 + ("" if words.LAYERS_NOTE in title else f"; {words.LAYERS_NOTE}"), fontsize=10)
    return fig


def figure_memory(summary: pd.DataFrame, title: str) -> Figure:
    """Compiled (solid) and predicted (dashed) bytes against depth, log-log."""
    fig = Figure(figsize=(8.5, 5.5), layout="constrained")
    ax = fig.subplots()
    for method in [m for m in METHOD_NAMES if m in set(summary["method"])]:
        data = summary[summary["method"] == method].sort_values("depth")
        for col, style, what in (("compiled_bytes", "o-", "compiled"), ("predicted_bytes", "x--", "predicted")):
            v = pd.to_numeric(data[col], errors="coerce")
            d = data[v > 0]
            if len(d):
                ax.plot(d["depth"], v[v > 0], style, color=COLORS.get(method), markersize=4,
                        label=f"{label(method)} ({what})")
                if what == "compiled":
                    mark_dead(ax, d["depth"], v[v > 0], is_dead(d), COLORS.get(method))
    _finish(ax, words.DEPTH, words.MEMORY,
            f"{title}\nmemory: compiled (XLA memory analysis, one value per point) vs predicted; "
            f"{words.LAYERS_NOTE}")
    return fig


def figure_ratios(ratios: pd.DataFrame, title: str, dead: pd.DataFrame | None = None) -> Figure:
    """Each HVP's median time over the gradient's median, against depth.

    Args:
      dead: depth (index) by method, True where that result was dead (scaling.dead_points):
        hollow markers there (where the method's or the gradient's was).
    """
    fig = Figure(figsize=(8.5, 5.5), layout="constrained")
    ax = fig.subplots()
    for method in ratios:
        if method in ("hessian_then_hvp", "naive_hvp"):
            continue
        r = ratios[method].dropna()
        ax.plot(r.index, r.to_numpy(), "o-", color=COLORS.get(method), markersize=4, label=label(method))
        if dead is not None and len(dead):
            gone = pd.Series(False, index=r.index)
            for k in (method, "gradient"):
                if k in dead:
                    gone |= dead[k].reindex(r.index, fill_value=False).astype(bool)
            mark_dead(ax, r.index, r.to_numpy(), gone, COLORS.get(method))
    ax.axhline(1, color="k", linewidth=0.8)
    ax.axhspan(2, 3, color="0.85", zorder=0, label="arithmetic-bound prediction: 2x (stored linearization) to 3x")
    ax.set_xlabel(words.DEPTH)
    ax.set_ylabel(words.RATIO)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"{title}\nHVP cost in gradients (ratio of medians at each depth); {words.LAYERS_NOTE}",
                 fontsize=10)
    return fig


def figure_compare(cmp_depth: pd.DataFrame, cmp_width: pd.DataFrame, name_a: str, name_b: str) -> Figure:
    """Speedup of run b over run a (median a / median b) against depth, and against width."""
    panels = [(cmp_depth, "depth", words.DEPTH)]
    if len(cmp_width):
        panels.append((cmp_width, "width", words.WIDTH))
    fig = Figure(figsize=(8.5 * len(panels), 5.5), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (cmp, x, xlabel) in zip(axes[0], panels):
        for method in [m for m in METHOD_NAMES if m in set(cmp["method"])]:
            d = cmp[cmp["method"] == method].sort_values(x)
            ax.plot(d[x], d["speedup"], "o-", color=COLORS.get(method), markersize=4, label=label(method))
            if "dead" in d:
                mark_dead(ax, d[x], d["speedup"], d["dead"], COLORS.get(method))
        ax.axhline(1, color="k", linewidth=0.8)
        ax.set_yscale("log")
        if x == "width":
            ax.set_xscale("log", base=2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(words.SPEEDUP)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.set_title(f"against {x}", fontsize=10)
    fig.suptitle(f"{name_b} vs {name_a} at matched depth and width: speedup = median time({name_a}) / "
                 f"median time({name_b}); above 1: {name_b} faster; {words.LAYERS_NOTE}", fontsize=10)
    return fig
