"""The model study's figure, in the reference's form: bars per model and method, time over the gradient's.

One panel per batch size; each bar is a paired ratio with its bootstrap interval, and a
black tick on it marks the method's flop ratio (what the arithmetic alone predicts).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hvp_models.catalog import METHOD_LABELS, METHODS, MODEL_LABELS

COLOURS = dict(zip(METHODS[1:], ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")))


def figure_ratios(summary: pd.DataFrame, directory: Path, name: str = "hvp_models") -> None:
    """Writes the bar chart of `summary` (hvp_models.summary.summarise) as `name`.png and .svg in `directory`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from expkit.figures import save_figure

    batches = sorted(summary["batch"].unique())
    models = list(dict.fromkeys(summary["model"]))
    methods = [m for m in METHODS[1:] if m in set(summary["method"])]
    fig, axes = plt.subplots(len(batches), 1, figsize=(2.6 * len(models) + 1.5, 3.2 * len(batches) + 1.2),
                             sharey=True, squeeze=False)
    width = 0.8 / max(len(methods), 1)
    for ax, batch in zip(axes[:, 0], batches):
        data = summary[summary["batch"] == batch].set_index(["model", "method"])
        for j, method in enumerate(methods):
            x = np.arange(len(models)) + (j - (len(methods) - 1) / 2) * width
            rows = [data.loc[(m, method)] if (m, method) in data.index else None for m in models]
            ratio = np.array([r["ratio"] if r is not None else np.nan for r in rows], float)
            lo = np.array([r["lo"] if r is not None else np.nan for r in rows], float)
            hi = np.array([r["hi"] if r is not None else np.nan for r in rows], float)
            flops = np.array([r["flop_ratio"] if r is not None else np.nan for r in rows], float)
            ax.bar(x, ratio, width, color=COLOURS[method], label=METHOD_LABELS[method])
            ax.errorbar(x, ratio, yerr=[ratio - lo, hi - ratio], fmt="none", ecolor="0.2", capsize=2, lw=0.8)
            ax.scatter(x, flops, marker="_", s=120, color="black", zorder=3,
                       label="flop ratio (compiled program)" if j == 0 else None)
        ax.axhline(1.0, color="0.5", lw=0.6)
        ax.set_xticks(np.arange(len(models)), [MODEL_LABELS.get(m, m) for m in models])
        ax.set_title(f"batch {batch}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    level = summary["level"].max()
    for ax in axes[:, 0]:
        ax.set_ylabel("time / the gradient's")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("What a Hessian-vector product costs, as a multiple of the gradient\n"
                 f"(paired ratios per vector, {level:.0%} bootstrap intervals; black: the flop ratio)", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save_figure(fig, directory, name)
    plt.close(fig)
