"""Figures of a trained-network run, drawn only from its result files (redraw without re-running).

`plot_all(out)` writes, each as PNG and SVG:

- spectrum_over_training: the sharpness along training against 2/η, the loss, and at
  each checkpoint the spectral density of the Hessian and the GGN (exact, SLQ, deflated
  SLQ) with the top eigenvalues marked;
- estimates: each estimate's error against the exact answer (density W1 beside the
  trivial baselines, trace intervals, top eigenvalues).

matplotlib's object API only: no pyplot, no backend switch, no global rcParams.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from expkit.figures import save_figure
from secondorder.density import gaussian_density

_MATRIX = {"hessian": "Hessian", "ggn": "Gauss-Newton (GGN)"}
_TRACE = {"hutchpp": "Hutch++", "xtrace": "XTrace"}


def draw_sharpness(ax, out: Path, summary: dict, config: dict) -> None:
    """Largest eigenvalues along training (Lanczos), the exact ones at the checkpoints, and 2/η."""
    log = pd.read_csv(out / "training.csv")
    two_over_eta = summary["model"]["two_over_eta"]
    ax.plot(log["step"], log["hessian_max"], color="C0", lw=1.2, marker=".", ms=3,
            label=f"Hessian λ_max (Lanczos, {config['sharpness_lanczos_steps']} HVPs)")
    ax.plot(log["step"], log["ggn_max"], color="C1", lw=1, ls="--", label="GGN λ_max (Lanczos)")
    ax.axhline(two_over_eta, color="k", ls=":", lw=1.2, label=f"2/η = {two_over_eta:g} (η = {summary['model']['learning_rate']:g})")
    exact = pd.read_csv(out / "summary.csv")
    h = exact[exact["matrix"] == "hessian"]
    if len(h):
        ax.plot(h["step"], h["lambda_max"], "kx", ms=8, mew=1.5, label="Hessian λ_max, dense eigvalsh")
    for name, step in zip(config["checkpoint_names"], config["checkpoints"]):
        ax.axvline(step, color="0.6", lw=0.8)
        ax.annotate(name, (step, 1), xycoords=("data", "axes fraction"), xytext=(2, -10),
                    textcoords="offset points", fontsize=8, color="0.3")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(-0.5, 1.4 * log["step"].max())
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("gradient-descent step (full batch)")
    ax.set_ylabel("largest eigenvalue (sharpness)")
    ax.set_title("Sharpness along training against the stability threshold 2/η", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def draw_loss(ax, out: Path) -> None:
    """Training and held-out loss, and held-out accuracy, along training."""
    log = pd.read_csv(out / "training.csv")
    ax.plot(log["step"], log["train_loss"], color="C0", label="training loss")
    ax.plot(log["step"], log["test_loss"], color="C3", ls="--", label="held-out loss")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(-0.5, 1.4 * log["step"].max())
    ax.set_yscale("log")
    ax.set_xlabel("gradient-descent step (full batch)")
    ax.set_ylabel("cross-entropy")
    final = log.iloc[-1]
    ax.set_title(f"Loss (final accuracy: {100 * final['train_accuracy']:.1f}% training, "
                 f"{100 * final['test_accuracy']:.1f}% held out)", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7)


def draw_density(ax, out: Path, summary: dict, config: dict, name: str, matrix: str) -> None:
    """Exact, SLQ and deflated-SLQ densities (one Gaussian smoothing for all), top eigenvalues marked."""
    ev = pd.read_csv(out / f"spectrum_{name}_{matrix}.csv")["eigenvalue"].to_numpy(float)
    measures = pd.read_csv(out / f"slq_{name}_{matrix}.csv")
    span = ev.max() - ev.min()
    sigma = config["smoothing"] * span
    grid = np.linspace(ev.min() - 4 * sigma, ev.max() + 4 * sigma, 3000)
    exact = gaussian_density(ev, np.full(len(ev), 1 / len(ev)), grid, sigma)
    ax.plot(grid, exact, color="k", lw=1.6, label="exact (dense eigvalsh)")
    numbers = summary["checkpoints"][name][matrix]
    styles = {"slq": ("C0", "--", "SLQ"), "deflated": ("C1", "-", "deflated SLQ")}
    ratios = []
    for method, g in measures.groupby("method", sort=False):
        color, ls, label = styles[method]
        ax.plot(grid, gaussian_density(g["node"], g["weight"], grid, sigma), color=color, ls=ls, lw=1, label=label)
        ratios.append(f"{label}: {numbers[f'{method}_w1_over_best_baseline']:.2g}")
    top = pd.read_csv(out / "eigen.csv").query("checkpoint == @name and matrix == @matrix and which == 'top'")
    floor = 0.1 / (len(ev) * sigma * np.sqrt(2 * np.pi))  # a tenth of one eigenvalue's bump
    ax.set_yscale("log")
    ax.set_ylim(floor, 3 * exact.max())
    ax.plot(top["value"], np.full(len(top), 1.6 * floor), "^", color="C3", ms=6, label=f"top {len(top)} eigenvalues (Lanczos)")
    ax.text(0.98, 0.97, "W1 / best trivial baseline\n" + "\n".join(ratios), transform=ax.transAxes, ha="right", va="top",
            fontsize=7.5, bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9})
    step = dict(zip(config["checkpoint_names"], config["checkpoints"]))[name]
    ax.set_title(f"{_MATRIX[matrix]}, {name} (step {step})", fontsize=10)
    ax.set_xlabel(f"eigenvalue of the {_MATRIX[matrix].split(' ')[0]}")
    ax.set_ylabel("density (log scale)")


def draw_w1(ax, table: pd.DataFrame) -> None:
    """W1 to the exact spectrum: the trivial baselines beside SLQ and deflated SLQ (log scale)."""
    series = [("w1_point_mass", "point mass at 0", "0.7"), ("w1_gaussian", "Gaussian, exact mean and variance", "0.45"),
              ("slq_w1", "SLQ", "C0"), ("deflated_w1", "deflated SLQ", "C1")]
    series = [s for s in series if s[0] in table]
    x = np.arange(len(table))
    width = 0.8 / len(series)
    for i, (col, label, color) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, table[col], width, color=color, label=label)
    target = 0.1 * np.minimum(table["w1_point_mass"], table["w1_gaussian"])
    ax.hlines(target, x - 0.45, x + 0.45, color="k", lw=1.5, label="target: 1/10 of the best trivial baseline")
    ax.set_xticks(x, [f"{c}\n{'H' if m == 'hessian' else 'GGN'}" for c, m in zip(table["checkpoint"], table["matrix"])],
                  fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("W1 to the exact spectrum")
    ax.set_title("Density: distance to the exact spectrum", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", which="major", alpha=0.3)


def draw_trace(ax, table: pd.DataFrame) -> None:
    """(interval mean − exact trace) / interval half-width: inside [−1, 1] the interval holds the truth."""
    x = np.arange(len(table))
    names = [c[:-len("_contains")] for c in table.columns if c.endswith("_contains")]
    for i, est in enumerate(names):
        half = (table[f"{est}_hi"] - table[f"{est}_lo"]) / 2
        z = (table[f"{est}_trace"] - table["trace"]) / half
        at = x + 0.15 * (i - (len(names) - 1) / 2)
        ax.errorbar(at, z, yerr=1.0, fmt="o", ms=4, capsize=3, color=f"C{i + 2}",
                    label=f"{_TRACE.get(est, est)} (half-width {100 * table[f'{est}_rel_halfwidth'].median():.2g}% "
                          "of tr, median)")
        for a, b, held in zip(at, z, table[f"{est}_contains"]):
            if not held:
                ax.annotate("misses", (a, b + np.sign(b) * 1.05), ha="center", va="bottom" if b > 0 else "top",
                            fontsize=7, color=f"C{i + 2}")
    ax.axhline(0, color="k", lw=1)
    ax.set_xticks(x, [f"{c}\n{'H' if m == 'hessian' else 'GGN'}" for c, m in zip(table["checkpoint"], table["matrix"])],
                  fontsize=8)
    ax.set_ylabel("(estimate − exact) / half-width")
    ax.set_title("Trace: each interval against the exact trace (0 = exact)", fontsize=10)
    ax.margins(y=0.15)
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)


def draw_top(ax, out: Path, table: pd.DataFrame) -> None:
    """Relative error of each top-k Lanczos eigenvalue against eigvalsh, and the 1e-6 target."""
    eigen = pd.read_csv(out / "eigen.csv").query("which == 'top'")
    keys = list(zip(table["checkpoint"], table["matrix"]))
    floor = 1e-17
    for rank, g in eigen.groupby("rank"):
        x = [keys.index((c, m)) for c, m in zip(g["checkpoint"], g["matrix"])]
        ax.plot(np.asarray(x) + 0.08 * (rank - 3), np.maximum(g["rel_error"], floor), "o", ms=4, color=f"C{rank - 1}",
                label=f"λ{rank}")
    ax.axhline(1e-6, color="k", ls=":", lw=1, label="target 1e-6")
    ax.set_yscale("log")
    ax.set_xticks(range(len(keys)), [f"{c}\n{'H' if m == 'hessian' else 'GGN'}" for c, m in keys], fontsize=8)
    hvps = int(eigen["hvps"].iloc[0])
    ax.set_ylabel("relative error vs eigvalsh")
    ax.set_title(f"Top eigenvalues: Lanczos, {hvps} HVPs", fontsize=10)
    ax.legend(fontsize=7, ncol=3)
    ax.grid(True, axis="y", which="major", alpha=0.3)


def plot_all(out: str | Path) -> list[Path]:
    """The run's two figures; returns the paths written."""
    out = Path(out)
    summary = json.loads((out / "summary.json").read_text())
    config = json.loads((out / "meta.json").read_text())["config"]
    table = pd.read_csv(out / "summary.csv")
    names, matrices = config["checkpoint_names"], config["matrices"]
    cols = len(names)
    fig = Figure(figsize=(4.6 * cols, 3.6 * (1 + len(matrices))), layout="constrained")
    grid = fig.add_gridspec(1 + len(matrices), cols)
    draw_sharpness(fig.add_subplot(grid[0, :max(cols - 1, 1)]), out, summary, config)
    if cols > 1:
        draw_loss(fig.add_subplot(grid[0, cols - 1]), out)
    for r, matrix in enumerate(matrices, start=1):
        for c, name in enumerate(names):
            ax = fig.add_subplot(grid[r, c])
            draw_density(ax, out, summary, config, name, matrix)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, [f"{label}, all smoothed by one Gaussian kernel" if i == 0 else label
                         for i, label in enumerate(labels)], loc="outside lower center", ncol=len(labels), fontsize=8)
    fig.suptitle(f"Curvature of an MLP {'-'.join(map(str, summary['model']['sizes']))} "
                 f"(P = {summary['model']['params']}) trained on scikit-learn digits by full-batch GD", fontsize=11)
    paths = save_figure(fig, out, "spectrum_over_training")
    fig = Figure(figsize=(16, 4.5), layout="constrained")
    axes = fig.subplots(1, 3)
    draw_w1(axes[0], table)
    draw_trace(axes[1], table)
    draw_top(axes[2], out, table)
    return paths + save_figure(fig, out, "estimates")
