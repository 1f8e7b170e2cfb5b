"""Figures of a curvature run, drawn only from its result files (redraw without re-running).

`plot_all(out)` writes trace_error, density, eigen, cost and overview (the four main
panels on one page), each as PNG and SVG. Figures use matplotlib's object API
(`matplotlib.figure.Figure`): no pyplot, no backend switch, no global rcParams.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from expkit.figures import save_figure
from curvature import analysis
from secondorder.density import gaussian_density, spectral_measure

_LABELS = {"hutchinson": "Hutchinson", "hutchpp": "Hutch++", "xtrace": "XTrace"}
_ROUTES = {"lanczos": "Lanczos top-k + bottom-k", "slq": "SLQ density", "trace_hutchpp": "Hutch++ trace",
           "hvp": "one HVP"}


def draw_trace(ax, out: Path, summary: dict) -> None:
    """Relative RMSE of each trace estimator against HVPs (log-log), fits and theory."""
    table = pd.read_csv(out / "trace_summary.csv")
    slopes = summary["trace_slopes"]
    for name, g in table.groupby("estimator", sort=False):
        s = slopes[name]
        bars = ax.errorbar(g["hvps"], g["rel_rmse"], yerr=[g["rel_rmse"] - g["rel_rmse_lo"], g["rel_rmse_hi"] - g["rel_rmse"]],
                           marker="o", ms=4, capsize=2, ls="none",
                           label=f"{_LABELS.get(name, name)}: slope {s['slope']:.2f} [{s['lo']:.2f}, {s['hi']:.2f}]"
                                 f" (theory {s['theory']:g})")
        m = np.asarray(g["hvps"], float)
        ax.plot(m, np.exp(s["intercept"]) * m ** s["slope"], color=bars[0].get_color(), lw=1)
    first = table.drop_duplicates("hvps")
    ax.plot(first["hvps"], first["hutchinson"], "k--", lw=1, label="Hutchinson, exact variance of this H")
    ax.plot(first["hvps"], first["hutchpp_ideal"], "k:", lw=1,
            label=f"Hutch++ with the exact top m/3 deflated (slope {slopes['hutchpp_ideal_spectral']['slope']:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(first["hvps"], [str(m) for m in first["hvps"]])
    ax.minorticks_off()
    ax.set_xlabel("HVPs per estimate, m")
    ax.set_ylabel("relative RMSE of tr H (95% bootstrap CI)")
    ex = summary["exact"]
    ax.set_title(f"Trace: error against HVPs ({ex['depth']} layers, P = {ex['params']}, "
                 f"{int(table['reps'].iloc[0])} reps each)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def _measures(out: Path):
    ev = pd.read_csv(out / "exact.csv")["eigenvalue"].to_numpy(float)
    slq = pd.read_csv(out / "slq.csv")
    probes = slq["probe"].nunique()
    x, w = spectral_measure(slq["node"].to_numpy().reshape(probes, -1), slq["weight"].to_numpy().reshape(probes, -1))
    return ev, x, w


def draw_density(ax, out: Path, summary: dict) -> None:
    """Histogram of the dense eigenvalues under the smoothed SLQ density (log y)."""
    ev, x, w = _measures(out)
    d = summary["density"]
    sigma = d["smoothing_sigma"]
    grid = np.linspace(ev.min() - 3 * sigma, ev.max() + 3 * sigma, 2000)
    heights, _, _ = ax.hist(ev, bins=150, density=True, color="0.75",
                            label=f"dense eigvalsh, all {len(ev)} eigenvalues")
    smoothed = gaussian_density(x, w, grid, sigma)
    ax.plot(grid, smoothed, color="C3", lw=1.2,
            label=f"SLQ ({d['probes']} probes x {d['steps']} steps), Gaussian σ = {sigma:.3g}")
    ax.set_yscale("log")
    # From a third of one eigenvalue's bar to above the tallest bar or curve (log
    # autoscaling of zero-based bars otherwise leaves decades of empty axis on top).
    ax.set_ylim(0.3 / (len(ev) * (ev.max() - ev.min()) / 150), 5 * max(heights.max(), smoothed.max()))
    ax.set_xlabel("eigenvalue of H")
    ax.set_ylabel("density (log scale)")
    ax.set_title(f"Spectral density: W1(SLQ, exact) = {d['w1']:.3g} = {100 * d['w1_fraction_of_range']:.3f}% "
                 f"of the range\n({100 * d['zero_mass_exact']:.0f}% of the {len(ev)} eigenvalues are 0)", fontsize=10)
    ax.legend(fontsize=7)


def draw_cdf(ax, out: Path) -> None:
    """The two cumulative spectral distributions; W1 is the area between them."""
    ev, x, w = _measures(out)
    order = np.argsort(x)
    ax.step(np.sort(ev), np.arange(1, len(ev) + 1) / len(ev), where="post", color="0.4", label="dense eigvalsh")
    ax.step(x[order], np.cumsum(w[order]), where="post", color="C3", label="SLQ measure")
    ax.set_xlabel("eigenvalue of H")
    ax.set_ylabel("cumulative fraction")
    ax.set_title("Cumulative spectra (W1 = the area between)", fontsize=10)
    ax.legend(fontsize=7)


def draw_eigen(ax, out: Path, summary: dict) -> None:
    """Relative error of the top-k Ritz values against Lanczos steps, and of power iteration."""
    frame = pd.read_csv(out / "eigen.csv")
    floor = 1e-17  # exact agreement drawn at the bottom of the axis
    lz = frame[(frame["method"] == "lanczos") & (frame["which"] == "top")]
    for (dtype, rank), g in lz.groupby(["dtype", "rank"]):
        ax.plot(g["hvps"], np.maximum(g["rel_error"], floor), color=f"C{rank - 1}", lw=1,
                ls="-" if dtype == "float64" else "--",
                label=f"Lanczos λ{rank} ({dtype})" if rank == 1 or dtype == "float64" else None)
    pw = frame[frame["method"] == "power"]
    ax.plot(pw["hvps"], np.maximum(pw["rel_error"], floor), "k:", lw=1.5, label="power iteration, |λ| max")
    ax.axhline(summary["eigen"]["tolerance"], color="0.5", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("HVPs (Lanczos steps / power iterations)")
    ax.set_ylabel("relative error vs eigvalsh")
    e = summary["eigen"]
    e32 = e.get("lanczos_float32_top", {}).get("max_rel_error", float("nan"))
    ax.set_title(f"Top-{e['lanczos_float64_top']['count']} eigenvalues: float64 within "
                 f"{e['lanczos_float64_top']['max_rel_error']:.1g} after {e['lanczos_float64_top']['hvps']} HVPs; "
                 f"float32 {e32:.1g}", fontsize=10)
    ax.legend(fontsize=7, ncol=2)


def _cost(out: Path):
    table = pd.read_csv(out / "cost_summary.csv")
    params = table.drop_duplicates("depth").set_index("depth")["params"]
    return table, params


def _depth_axes(ax, ylabel: str, title: str, depths) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(depths), [str(d) for d in depths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("hidden layers (width 16)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def draw_cost_time(ax, out: Path, summary: dict) -> None:
    """Median time against depth: the dense route (measured, then extrapolated) and the matrix-free ones."""
    table, params = _cost(out)
    wide = table[table["status"] == "ok"].pivot(index="depth", columns="route", values="median_s")
    fit = summary["dense_fit"]
    if {"dense_hessian", "dense_eigvalsh"} <= set(wide.columns):
        dense = (wide["dense_hessian"] + wide["dense_eigvalsh"]).dropna()
        interval = (f"[{fit['lo']:.2f}, {fit['hi']:.2f}]" if np.isfinite([fit["lo"], fit["hi"]]).all()
                    else f"({fit['points']} depths: no interval)")
        ax.plot(dense.index, dense, "ks-", label=f"dense Hessian + eigvalsh: ∝ P^{fit['slope']:.2f} {interval}")
        beyond = [d for d in params.index if d >= dense.index.max()]
        band = [analysis.extrapolate(fit, params[d]) for d in beyond]
        ax.plot(beyond, [b["seconds"] for b in band], "k--", lw=1,
                label="dense, extrapolated (band: the fitted line's 95% t-interval)")
        ax.fill_between(beyond, [b["lo"] for b in band], [b["hi"] for b in band], color="k", alpha=0.1)
    for route, label in _ROUTES.items():
        if route in wide:
            ax.plot(wide.index, wide[route], "o-", ms=4, label=label)
    _depth_axes(ax, "median time (s)", "Cost against depth: dense route vs matrix-free", params.index)


def draw_cost_memory(ax, out: Path) -> None:
    """Memory against depth: compiled bytes of each route, and 8 P^2 for the dense Hessian."""
    table, params = _cost(out)
    memory = table.pivot_table(index="depth", columns="route", values="memory_bytes", aggfunc="max")
    if "dense_hessian" in memory:
        measured = table[(table["route"] == "dense_hessian") & (table["status"] == "ok")]["depth"]
        ax.plot(measured, memory.loc[measured, "dense_hessian"], "ks-", label="dense Hessian build (compiled)")
        ax.plot(params.index, 8.0 * params.to_numpy() ** 2, "k--", lw=1, label="8 P² (the float64 Hessian)")
    for route, label in _ROUTES.items():
        if route in memory and route != "hvp":
            ax.plot(memory.index, memory[route], "o-", ms=4, label=f"{label} (compiled)")
    _depth_axes(ax, "memory (bytes)", "Memory against depth", params.index)


# The figures of a run: (name, the result file it needs, its panels left to right).
FIGURES = (
    ("trace_error", "trace_summary.csv", (draw_trace,)),
    ("density", "slq.csv", (draw_density, lambda ax, out, _: draw_cdf(ax, out))),
    ("eigen", "eigen.csv", (draw_eigen,)),
    ("cost", "cost_summary.csv", (draw_cost_time, lambda ax, out, _: draw_cost_memory(ax, out))),
)


def plot_all(out: str | Path) -> list[Path]:
    """Every figure of the run in `out` that its files allow; returns the paths written."""
    out = Path(out)
    summary = json.loads((out / "summary.json").read_text())
    paths = []
    has = {needs: (out / needs).exists() for _, needs, _ in FIGURES}
    for name, needs, panels in FIGURES:
        if has[needs]:
            fig = Figure(figsize=(12, 4.5) if len(panels) > 1 else (7.5, 5), layout="constrained")
            for ax, draw in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
                draw(ax, out, summary)
            paths += save_figure(fig, out, name)
    if all(has.values()):
        fig = Figure(figsize=(14, 10), layout="constrained")
        for ax, (_, _, panels) in zip(fig.subplots(2, 2).flat, FIGURES):  # each figure's first panel
            panels[0](ax, out, summary)
        paths += save_figure(fig, out, "overview")
    return paths
