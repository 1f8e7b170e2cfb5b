"""Figures of the per-layer costs of a variants study (hvp_bench.variant_study's tables).

`figure_per_layer`: the per-layer cost per vector of every (variant, method), with its
interval; `figure_vectors`: that cost against the block size k. Matplotlib's object API,
no pyplot, no global state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hvp_bench import words
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES
from hvp_bench.plots import COLORS, mark_dead
from hvp_bench.words import label
from hvp_bench.variant_figures import glossary
from hvp_bench.variants import parse_variant


def figure_per_layer(costs: pd.DataFrame, title: str) -> Figure:
    """Per-layer cost per vector of every (variant, method), with 95% CIs, log scale."""
    variants = list(dict.fromkeys(costs["variant"]))
    methods = [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m in set(costs["method"])]
    fig = Figure(figsize=(max(8, 1.1 * len(variants) + 4), 5.5), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / max(len(methods), 1)
    positive = False
    for j, method in enumerate(methods):
        data = costs[costs["method"] == method].set_index("variant").reindex(variants)
        k = data["vectors"].fillna(1).to_numpy(float)
        y = data["per_vector_s"].to_numpy(float) * 1e6
        err = np.vstack([y - data["lo"].to_numpy(float) / k * 1e6, data["hi"].to_numpy(float) / k * 1e6 - y])
        x = np.arange(len(variants)) + (j - (len(methods) - 1) / 2) * width
        positive |= bool(np.any(y > 0))
        bars = ax.bar(x, np.where(y > 0, y, np.nan), width, yerr=np.clip(err, 0, None), capsize=2,
                      label=label(method), color=COLORS.get(method))
        # Flagged fits pale, fits over dead depths hatched: neither reads as a clean headline.
        for bar, status, dead in zip(bars, data["status"].fillna("ok"), data["dead_depths"].fillna(0)):
            bar.set_alpha(1.0 if status == "ok" else 0.35)
            bar.set_hatch("//" if dead else None)
    ax.set_xticks(np.arange(len(variants)), variants, rotation=30, ha="right")
    if positive:  # a smoke run's noisy slopes can all be <= 0: nothing to draw on a log axis
        ax.set_yscale("log")
    ax.set_ylabel(words.PER_LAYER)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(f"{title}\nper vector; Theil-Sen slope over depths, bars: 95% CI over repeats and runs; pale: "
                 "flagged fit (too few depths or kinked), hatched: fitted over dead depths (result all zero)",
                 fontsize=10)
    glossary(fig, variants, ncols=3)
    return fig


def figure_vectors(costs: pd.DataFrame, title: str, dense_per_vector_s: float | None = None,
                   params: int | None = None) -> Figure:
    """Per-vector per-layer cost against the block size k, one line per method and formulation."""
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    data = costs[~costs["method"].isin(["gradient", FLOOR_METHOD, "naive_hvp", "hessian_then_hvp"])].copy()
    data["base"] = [parse_variant(v).name.replace(f"-k{k}", "") for v, k in zip(data["variant"], data["vectors"])]
    for (base, method), group in data.groupby(["base", "method"]):
        group = group.sort_values("vectors")
        ax.plot(group["vectors"], group["per_vector_s"] * 1e6, "o-", color=COLORS.get(method), markersize=4,
                label=f"{label(method)} ({base})")
        mark_dead(ax, group["vectors"], group["per_vector_s"] * 1e6, group["dead_depths"] > 0, COLORS.get(method))
    grad = costs[costs["method"] == "gradient"]["per_layer_s"].min()
    if np.isfinite(grad):
        ax.axhline(grad * 1e6, color="k", linewidth=0.8, label="best gradient, per layer")
    if dense_per_vector_s is not None and params:
        ax.plot([params], [dense_per_vector_s * 1e6], "k*", markersize=12,
                label=f"dense Hessian: k = P = {params} vectors at once")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(words.VECTORS)
    ax.set_ylabel(words.PER_LAYER)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(f"{title}\nper-vector cost of a block of k HVPs (vmap), per vector; hollow: fitted over dead depths",
                 fontsize=10)
    glossary(fig, sorted(set(data["base"])))
    return fig
