"""Figures of an lr_meta run, drawn only from its result files (redraw without re-running).

`plot_all(out)` writes meta_loss, alpha, beta_sweep (if swept) and (if the quadratic
study ran) quadratic,
each as PNG and SVG. Each `figure_*` returns a matplotlib `Figure` (object API: no
pyplot, no backend switch, no global rcParams), so this module is safe to import in a
notebook. Every curve is one deterministic run: no statistic over repeats is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from expkit.figures import save_figure


def _figure(figsize) -> Figure:
    return Figure(figsize=figsize, layout="tight")


def plot_meta_loss(out: Path) -> None:
    """L and ‖∂L/∂α‖ against meta-step: log-linear (left) and log-log (right)."""
    frame = pd.read_csv(out / "trajectory.csv")
    summary = json.loads((out / "summary.json").read_text())
    fig = _figure((11, 4.2))
    axes = fig.subplots(1, 2)
    for ax, loglog in zip(axes, (False, True)):
        data = frame[frame["step"] > 0] if loglog else frame
        if data.empty:  # a run that diverged at its first logged row
            ax.text(0.5, 0.5, "no logged meta-step after step 0", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        ax.plot(data["step"], data["loss"], label="L(α) = f(x_T)")
        ax.plot(data["step"], data["grad_norm"], label="‖∂L/∂α‖", alpha=0.8)
        ax.set_yscale("log")
        if loglog:
            ax.set_xscale("log")
        ax.set_xlabel("meta-step" + (" (log scale)" if loglog else ""))
        ax.set_ylabel("value (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    slope = summary.get("loss_tail_power_law_slope")
    title = f"Meta-GD on the step sizes: L {summary['loss_before']:.3g} → {summary['loss_after']:.3g}"
    if summary["status"] == "diverged":
        title += " (DIVERGED: stopped at the last finite row)"
    elif slope is not None:
        title += f"; tail L ∝ step^{slope:.2f}"
    fig.suptitle(title)
    save_figure(fig, out, "meta_loss")


def plot_alpha(out: Path) -> None:
    """The schedule α_k before and after meta-GD, with the hyperplane α_k = 1."""
    summary = json.loads((out / "summary.json").read_text())
    before, after = np.asarray(summary["alpha_before"]), np.asarray(summary["alpha_after"])
    k = np.arange(before.size)
    fig = _figure((7, 4.2))
    ax = fig.subplots()
    ax.bar(k - 0.2, before, width=0.4, label=f"before: L = {summary['loss_before']:.3g}")
    ax.bar(k + 0.2, after, width=0.4, label=f"after {summary['steps_done']} meta-steps: L = {summary['loss_after']:.3g}")
    ax.axhline(1.0, color="k", ls="--", lw=1, label="α_k = 1 (L = 0 on this hyperplane)")
    cert_path = out / "certificate.json"
    if cert_path.exists():
        limit = json.loads(cert_path.read_text())["sphere"]["gradient_flow_limit"]
        ax.plot(k + 0.2, limit, "kv", ms=6, label="where gradient flow from 'after' ends")
    ax.set_ylim(0, 1.45)
    ax.set_xticks(k)
    ax.set_xlabel("inner step k")
    ax.set_ylabel("step size α_k")
    ax.set_title("Step-size schedule before and after meta-GD (f = ½‖x‖²)")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    save_figure(fig, out, "alpha")


def plot_quadratic(out: Path) -> None:
    """f(x_k) / f(x_0) against k for every schedule of the quadratic study."""
    curves = pd.read_csv(out / "quadratic_curves.csv")
    quad = json.loads((out / "summary.json").read_text())["quadratic"]
    fig = _figure((8, 5))
    ax = fig.subplots()
    f0 = curves["CG iterates"].iloc[0]
    for name in curves.columns[1:]:
        style = dict(color="k", ls=":", lw=2) if name == "CG iterates" else dict(marker="o", ms=3)
        ax.plot(curves["k"], curves[name] / f0, label=name, **style)
    ax.set_yscale("log")
    ax.set_xlabel("inner step k")
    ax.set_ylabel("f(x_k) / f(x_0) (log scale)")
    ax.set_title(f"½xᵀAx, spectrum in [{quad['mu']:.3g}, {quad['L']:.3g}] (κ = {quad['condition']:g}): "
                 "only x_T is optimised")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, out, "quadratic")


def plot_beta_sweep(out: Path) -> None:
    """Final L against β with the stability bounds (left); L against meta-time β·t (right)."""
    final = pd.read_csv(out / "beta_sweep.csv")
    curves = pd.read_csv(out / "beta_sweep_curves.csv")
    bounds = json.loads((out / "summary.json").read_text())["beta_stability"]
    fig = _figure((12, 4.4))
    left, right = fig.subplots(1, 2)
    left.axvspan(bounds["beta_lo"], bounds["beta_hi"], color="0.85",
                 label=f"β_lo = {bounds['beta_lo']:.4f} … β_hi = {bounds['beta_hi']:.4f}")
    for dtype, marker in (("float64", "o"), ("float32", "x")):
        rows = final[final["dtype"] == dtype]
        ok = rows[rows["status"] == "ok"]
        left.plot(ok["beta"], ok["loss"], marker, ls="-" if dtype == "float64" else "", label=f"final L, {dtype}")
        bad = rows[rows["status"] != "ok"]
        if len(bad):
            left.plot(bad["beta"], bad["loss"], marker, color="r", ms=9, label=f"diverged ({dtype}): last finite L")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("meta step size β (log scale)")
    left.set_ylabel(f"L after {int(final['steps'].max())} meta-steps (log scale)")
    left.set_title("Final L against β; grey: the derived stability limit lies here")
    left.legend(fontsize=7)
    groups = list(curves[curves["dtype"] == "float64"].groupby("beta"))
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.95, len(groups)))  # one colour per β, in order
    for (beta, group), colour in zip(groups, colours):
        right.plot(group["meta_time"], group["loss"], lw=1, color=colour, label=f"β = {beta:g}")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("meta-time β·t (log scale)")
    right.set_ylabel("L (log scale)")
    right.set_title("Small β: curves collapse on β·t (gradient flow)")
    right.legend(fontsize=6, ncol=2)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    save_figure(fig, out, "beta_sweep")


def plot_all(out: str | Path) -> None:
    """All figures for the run directory `out`."""
    out = Path(out)
    plot_meta_loss(out)
    plot_alpha(out)
    summary = json.loads((out / "summary.json").read_text())
    if (out / "beta_sweep_curves.csv").exists() and "beta_stability" in summary:
        plot_beta_sweep(out)
    if (out / "quadratic_curves.csv").exists() and "quadratic" in json.loads((out / "summary.json").read_text()):
        plot_quadratic(out)
