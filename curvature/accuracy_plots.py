"""The density-accuracy figure: W1 against products, per matrix, beside the bounds and the trivial baselines."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from curvature.accuracy_summary import baselines
from expkit.figures import save_figure

LABELS = {"slq": "SLQ", "deflated_slq": "deflated SLQ", "kpm": "KPM (Jackson)"}
COLOURS = {"slq": "tab:blue", "deflated_slq": "tab:orange", "kpm": "tab:green"}
STYLES = {"float64": "-", "float32": "--"}


def frontier(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells no cheaper cell beats: the smallest median W1 reachable with at most each product count."""
    ordered = cells.sort_values(["hvps", "w1"])
    keep = ordered["w1"] < ordered["w1"].cummin().shift(fill_value=np.inf)
    return ordered[keep.to_numpy()]


def envelope(cells: pd.DataFrame, column: str) -> pd.DataFrame:
    """(hvps, the smallest `column` among cells with at most that many products), at every product count."""
    best = cells.groupby("hvps")[column].min().sort_index().cummin()
    return pd.DataFrame({"hvps": best.index, column: best.to_numpy()})


def draw(config, out_dir: str | Path) -> None:
    """Writes accuracy.png and accuracy.svg into `out_dir` from cells.csv and matrices.csv."""
    out = Path(out_dir)
    cells = pd.read_csv(out / "cells.csv")
    matrices = pd.read_csv(out / "matrices.csv")
    best = baselines(matrices)
    names = list(matrices["matrix"])
    cols = 3
    rows = -(-len(names) // cols)
    height = 3.3 * rows + 1.2  # the legend's rows below the panels
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, height), squeeze=False, sharex=True)
    for ax, name in zip(axes.ravel(), names):
        mine = cells[cells["matrix"] == name]
        for (estimator, dtype), group in mine.groupby(["estimator", "dtype"], sort=False):
            front = frontier(group)
            ax.errorbar(front["hvps"], front["w1"], yerr=[front["w1"] - front["w1_q10"], front["w1_q90"] - front["w1"]],
                        color=COLOURS[estimator], ls=STYLES[dtype], marker="o", ms=3, capsize=2, lw=1.2,
                        label=f"{LABELS[estimator]}, {dtype}")
        prior = envelope(mine, "prior_bound")
        ax.plot(prior["hvps"], prior["prior_bound"], color="black", lw=1, drawstyle="steps-post",
                label="a-priori bound (CTU 2021)")
        post = mine[(mine["estimator"] == "slq") & (mine["dtype"] == "float64")]
        if len(post):
            front = envelope(post, "posterior_bound")
            ax.plot(front["hvps"], front["posterior_bound"], color="grey", lw=1, ls=":", drawstyle="steps-post",
                    label="a-posteriori bound, SLQ float64")
        ax.axhline(best[name], color="red", lw=0.8, label="best trivial baseline")
        ax.axhline(best[name] / 100, color="red", lw=0.8, ls=":", label="baseline / 100")
        ax.set(xscale="log", yscale="log", title=name.replace("_", " "))
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("matrix-vector products")
    for ax in axes[:, 0]:
        ax.set_ylabel("W1 / (λmax − λmin)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Spectral density error against its cost: median over replicates, 10th-90th percentile bars;\n"
                 "each line the best split of its product count into probes x steps", fontsize=10)
    fig.tight_layout(rect=(0, 1.2 / height, 1, 1 - 0.35 / height))
    save_figure(fig, out, "accuracy")
    plt.close(fig)
