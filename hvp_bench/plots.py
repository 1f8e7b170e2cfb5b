"""Figures of a run, drawn from its result files alone (runs.csv, meta.json).

- task_timings: the task's three timings against depth, error bars of one standard
  deviation over runs, linear and log y side by side.
- hvp_compositions: every HVP composition and the gradient baseline, log y.
- compile_times: compile time of every method against depth.
- width_sweep: time against width at a fixed depth (when the run has one).
Skipped (over the memory budget) and failed points are drawn as markers on the x axis,
so a missing point is never silently missing.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Text stays text in SVGs: smaller files, searchable labels.
plt.rcParams["svg.fonttype"] = "none"
import pandas as pd  # noqa: E402

from hvp_bench.config import METHOD_NAMES  # noqa: E402
from hvp_bench.methods import TASK_METHODS  # noqa: E402

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
COLORS = dict(zip(METHOD_NAMES, plt.get_cmap("tab10").colors))
STATUS_MARKERS = {"skipped": "x", "failed": "X"}


def load_summary(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-point summaries of the depth sweep and the width sweep, and meta.json.

    Raises:
      ConfigError: no run directory, or an empty or unreadable runs.csv or meta.json.
    """
    from hvp_bench.analysis import split_sweeps
    from hvp_bench.sweep import load_run, summarize_runs

    rows, meta = load_run(run_dir)
    depth_rows, width_rows = split_sweeps(rows, meta)
    return summarize_runs(depth_rows), summarize_runs(width_rows), meta


def _title(meta: dict, what: str, show_width: bool = True) -> str:
    config, env = meta.get("config", {}), meta.get("environment", {})
    width = f"width {config.get('width', '?')}, " if show_width else ""
    return (f"{what}\n{width}batch {config.get('batch', '?')}, {config.get('dtype', '?')}, "
            f"{config.get('form', '?')} form, {env.get('device', '?')}")


def _draw(ax, summary: pd.DataFrame, methods, x: str, y: str = "mean_s", err: str | None = "std_s"):
    """One line per method with error bars; skipped/failed points as markers on the x axis."""
    for row, method in enumerate(methods):
        data = summary[summary["method"] == method].sort_values(x)
        if data.empty:
            continue
        ok = data[data["status"] == "ok"]
        ax.errorbar(ok[x], ok[y], yerr=ok[err] if err else None, marker="o", markersize=3,
                    capsize=3, label=LABELS.get(method, method), color=COLORS.get(method))
        for status, marker in STATUS_MARKERS.items():
            bad = data[data["status"] == status]
            if not bad.empty:
                # One row of markers per method, so methods skipped at the same x all show.
                ax.plot(bad[x], [0.03 + 0.04 * row] * len(bad), marker, color=COLORS.get(method), markersize=8,
                        transform=ax.get_xaxis_transform(), clip_on=False,
                        label=f"{LABELS.get(method, method)}: {status}")


def _save(fig, run_dir: Path, name: str) -> list[Path]:
    paths = [run_dir / f"{name}.png", run_dir / f"{name}.svg"]
    for p in paths:
        # No date in the SVG, so redrawing unchanged results leaves the file unchanged.
        fig.savefig(p, dpi=130, metadata={"Date": None} if p.suffix == ".svg" else None)
    plt.close(fig)
    return paths


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draws every figure of a run into its directory; returns the paths written."""
    run_dir = Path(run_dir)
    depth_sweep, width_sweep, meta = load_summary(run_dir)
    config = meta.get("config", {})
    written: list[Path] = []

    # Depth figures need a depth sweep (a width-only run has one depth).
    if depth_sweep["depth"].nunique() > 1:
        fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), layout="constrained")
        for ax, scale in zip(axes, ("linear", "log")):
            _draw(ax, depth_sweep, TASK_METHODS, "depth")
            ax.set_yscale(scale)
            ax.set_xlabel("Number of hidden layers")
            ax.set_ylabel("Time (s)")
            ax.set_title(f"{scale} y")
            ax.grid(True, which="both", alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(_title(meta, "The task's three timings (mean ± 1 std over runs)"))
        written += _save(fig, run_dir, "task_timings")

        fig, ax = plt.subplots(figsize=(10.5, 5.5), layout="constrained")
        hvps = [m for m in METHOD_NAMES if m not in ("hessian_then_hvp", "naive_hvp")]
        _draw(ax, depth_sweep, hvps, "depth")
        ax.set_yscale("log")
        ax.set_xlabel("Number of hidden layers")
        ax.set_ylabel("Time (s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax.set_title(_title(meta, "HVP compositions vs the gradient (mean ± 1 std)"))
        written += _save(fig, run_dir, "hvp_compositions")

        fig, ax = plt.subplots(figsize=(10.5, 5.5), layout="constrained")
        _draw(ax, depth_sweep, METHOD_NAMES, "depth", y="compile_s", err=None)
        ax.set_xlabel("Number of hidden layers")
        ax.set_ylabel("Compile time (s)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax.set_title(_title(meta, "Compile time (lower + XLA compile, once per point)"))
        written += _save(fig, run_dir, "compile_times")

    if width_sweep["width"].nunique() > 1:
        width_depth = config.get("width_depth")
        fig, ax = plt.subplots(figsize=(10.5, 5.5), layout="constrained")
        _draw(ax, width_sweep, METHOD_NAMES, "width")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("Hidden width")
        ax.set_ylabel("Time (s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax.set_title(_title(meta, f"Width sweep at {width_depth} hidden layers (mean ± 1 std)",
                            show_width=False))
        written += _save(fig, run_dir, "width_sweep")
    return written
