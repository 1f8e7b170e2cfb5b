"""Figures of the long-horizon studies, drawn only from their result files.

`plot_horizon(out)`: memory and median time of the three hypergradients against T,
fitted exponents (with 95% CIs) in the legend, and forward mode's time against K.
`plot_training(out)`: held-out suboptimality of every schedule against T, the
schedules at the largest T, and ‖∂L/∂θ‖ against T for constant steps.
Object API only (no pyplot, no global state), as in lr_meta/plots.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from expkit.figures import save_figure
from lr_meta.plots import _figure

STYLE = {"reverse": "o-", "checkpointed": "s-", "forward": "^-"}


def plot_horizon(out: str | Path) -> None:
    """horizon.png/.svg: bytes and time against T (log-log), time against K."""
    out = Path(out)
    frame = pd.read_csv(out / "points.csv")
    summary = json.loads((out / "summary.json").read_text())
    config = json.loads((out / "meta.json").read_text())["config"]
    main = frame[frame["knots"] == config["knots"]]
    fig = _figure((15, 4.6))
    memory_ax, time_ax, knot_ax = fig.subplots(1, 3)
    for method, group in main.groupby("method"):
        group = group.sort_values("horizon")
        fit = summary["fits"][method]
        mem, tim = fit["memory_temp"], fit["time"]
        memory_ax.plot(group["horizon"], group["temp_bytes"], STYLE.get(method, "o-"),
                       label=f"{method}: T^{mem['slope']:.2f} [{mem['lo']:.2f}, {mem['hi']:.2f}] "
                             f"(theory {fit['theory']['memory']:g})")
        time_ax.plot(group["horizon"], group["time_median_s"], STYLE.get(method, "o-"),
                     label=f"{method}: T^{tim['slope']:.2f} [{tim['lo']:.2f}, {tim['hi']:.2f}] "
                           f"(theory {fit['theory']['time']:g})")
    memory_ax.set_title("Working memory (XLA buffer assignment, temp bytes)")
    time_ax.set_title(f"Median time of {config['repeats']} runs (fit over T ≥ {config['fit_min_horizon']})")
    for ax, label in ((memory_ax, "bytes"), (time_ax, "seconds")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"horizon T (dim {config['dim']}, K = {config['knots']} knots)")
        ax.set_ylabel(f"{label} (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    sweep = frame[frame["horizon"] == config["knot_sweep_horizon"]]
    for method, group in sweep.groupby("method"):
        group = group.sort_values("knots")
        knot_ax.plot(group["knots"], group["time_median_s"], STYLE.get(method, "o-"), label=method)
    knot_ax.set_xscale("log")
    knot_ax.set_yscale("log")
    knot_ax.set_xlabel("knots K (hyperparameters)")
    knot_ax.set_ylabel("seconds (log scale)")
    knot_ax.set_title(f"Median time against K at T = {config['knot_sweep_horizon']}")
    knot_ax.grid(True, which="both", alpha=0.3)
    knot_ax.legend(fontsize=8)
    save_figure(fig, out, "horizon")


def plot_training(out: str | Path) -> None:
    """training.png/.svg: held-out suboptimality, schedules, hypergradient norms."""
    out = Path(out)
    results = pd.read_csv(out / "results.csv")
    norms = pd.read_csv(out / "norms.csv")
    fig = _figure((16, 4.8))
    sub_ax, sched_ax, norm_ax = fig.subplots(1, 3)
    for name, group in results.groupby("schedule", sort=False):
        group = group.sort_values("horizon")
        sub_ax.plot(group["horizon"], np.exp(group["test_objective"]), "o-", label=name)
    sub_ax.set_title("Held-out: geometric mean of f(w_T) − f*")
    sub_ax.set_xlabel("horizon T")
    sub_ax.set_ylabel("suboptimality (log scale)")
    top = results[results["horizon"] == results["horizon"].max()]
    for _, row in top.iterrows():
        alphas = np.array(row["alphas"].split(), float)
        sched_ax.plot(np.arange(alphas.size), alphas, lw=1, label=row["schedule"])
    sched_ax.set_title(f"Schedules at T = {int(results['horizon'].max())}")
    sched_ax.set_xlabel("inner step k")
    sched_ax.set_ylabel("α_k (log scale)")
    for multiple, group in norms.groupby("multiple"):
        group = group.sort_values("horizon")
        norm_ax.plot(group["horizon"], group["grad_norm"], "o-", label=f"α = {multiple:g}/λ_max(H(0))")
    norm_ax.set_title("‖∂L/∂θ‖, per-step θ, constant α, L = mean f(w_T)")
    norm_ax.set_xlabel("horizon T")
    norm_ax.set_ylabel("norm (log scale)")
    for ax in (sub_ax, sched_ax, norm_ax):
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    sub_ax.set_xscale("log")
    norm_ax.set_xscale("log")
    save_figure(fig, out, "training")
