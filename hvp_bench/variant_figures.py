"""Variants of the code compared as small multiples: one panel per method, few lines each.

A run with several variants (hvp_bench.variants) times every method in each of them.
One line per (variant, method) in one axes gives a legend nobody can read (2 variants x
9 methods = 18 entries), so each method gets its own panel:

- up to FEW_VARIANTS variants: one line per variant in every panel (its own colour and
  dash), the variants named once, in plain words, in a legend under the panels;
- more: every variant as a thin grey line, the run's first variant in black and the
  fastest one at the largest depth (or width) in orange, named in the panel's legend,
  their meanings listed under the panels.

Statistic: the median over the timed runs (with the 25th-75th percentile band where the
lines are few), or the compile time (one per point). Drawn with hvp_bench.plots' helpers.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hvp_bench import words
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES
from hvp_bench.plots import decorate, mark_dead
from hvp_bench.words import DEAD_LABEL, MEDIAN_IQR, label, variant_words
from hvp_bench.rundir import is_dead, variants_of

FEW_VARIANTS = 4
STYLES = (("black", "-"), ("tab:orange", "--"), ("tab:blue", ":"), ("tab:purple", "-."))
PRIMARY, FASTEST, OTHER = "black", "tab:orange", "0.65"
MISSING_LABEL = "x on the axis: not measured (skipped, failed or timed out)"


def _panels(n: int, x: str):
    ncols = 3 if n <= 9 else 4
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.3 * ncols, 3.1 * nrows + 1.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    for i, ax in enumerate(axes[:n]):
        if i + ncols >= n:  # nothing below it: the bottom of its column
            ax.set_xlabel(words.DEPTH if x == "depth" else words.WIDTH)
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig, axes[:n], ncols


def glossary(fig, variants, extra=(), ncols: int = 2, title: str | None = "the variants, in words") -> None:
    """Under the panels: each variant's code name with its meaning (and `extra` legend handles)."""
    handles = [Line2D([], [], linestyle="none", label=variant_words(v)) for v in variants]
    fig.legend(handles=[*handles, *extra], loc="outside lower center", ncols=ncols, fontsize=8.5, handlelength=0,
               frameon=False, title=title, title_fontsize=9)


def _fastest(ok: pd.DataFrame, x: str, column: str) -> str | None:
    """The variant with the lowest value at the largest x any variant reached."""
    if ok.empty:
        return None
    last = ok[ok[x] == ok[x].max()]
    return str(last.loc[last[column].idxmin(), "variant"])


def figure_variants(summary: pd.DataFrame, meta: dict, x: str = "depth", column: str = "median_s") -> Figure:
    """Median time (or compile time, `column="compile_s"`) of each method in each variant
    against depth (or width), one panel per method."""
    present = set(summary["method"])
    methods = [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m in present]
    methods += sorted(present - set(methods))
    variants = [v for v in variants_of(meta, summary) if v in set(summary["variant"])]
    few = len(variants) <= FEW_VARIANTS
    fig, axes, ncols = _panels(len(methods), x)
    dead_seen = missing_seen = False
    highlighted: dict[str, None] = {variants[0]: None}
    for i, (ax, method) in enumerate(zip(axes, methods)):
        data = summary[summary["method"] == method]
        ok = data[data["status"] == "ok"]
        fastest = _fastest(ok, x, column)
        end = "" if ok.empty else f"{ok[x].max():g} layers" if x == "depth" else f"width {ok[x].max():g}"
        for v_index, variant in enumerate(variants):
            line = ok[ok["variant"] == variant].sort_values(x)
            if few:
                color, dash = STYLES[v_index % len(STYLES)]
                width, name = 1.6, None
            elif variant == variants[0]:
                color, dash, width = PRIMARY, "-", 1.8
                name = f"{variant}" + (" (also the fastest)" if variant == fastest else "")
            elif variant == fastest:
                color, dash, width, name = FASTEST, "-", 1.8, f"fastest at {end}: {variant}"
                highlighted[variant] = None
            else:
                color, dash, width, name = OTHER, "-", 0.8, None
            ax.plot(line[x], line[column], dash, color=color, linewidth=width, marker="o", markersize=2.5,
                    label=name, zorder=2 if color != OTHER else 1)
            if few and column == "median_s" and len(line):
                ax.fill_between(line[x], line["q25_s"], line["q75_s"], color=color, alpha=0.15, linewidth=0)
            dead = is_dead(line)
            dead_seen |= bool(dead.any())
            mark_dead(ax, line[x], line[column], dead, color, legend=False)
            gone = data[(data["variant"] == variant) & (data["status"] != "ok")]
            if len(gone):
                missing_seen = True
                ax.plot(gone[x], [0.04 + 0.05 * v_index] * len(gone), "x", color=color, markersize=6,
                        transform=ax.get_xaxis_transform(), clip_on=False)
        if not few:
            ax.plot([], [], color=OTHER, linewidth=0.8, label="other variants")
            ax.legend(fontsize=7, loc="best", framealpha=0.85)
        ax.set_yscale("log")
        if x == "width":
            ax.set_xscale("log", base=2)
        ax.set_title(label(method), fontsize=9.5)
        ax.grid(True, which="both", alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel(words.TIME if column == "median_s" else words.COMPILE)
    extra = []
    if dead_seen:
        extra.append(Line2D([], [], marker="o", markerfacecolor="white", markeredgecolor="0.3", linestyle="none",
                            label=DEAD_LABEL))
    if missing_seen:
        extra.append(Line2D([], [], marker="x", color="0.3", linestyle="none", label=MISSING_LABEL))
    if few:
        lines = [Line2D([], [], color=c, linestyle=d, linewidth=1.6, label=variant_words(v))
                 for v, (c, d) in zip(variants, STYLES * len(variants))]
        fig.legend(handles=[*lines, *extra], loc="outside lower center", fontsize=8.5, frameon=False)
    else:
        glossary(fig, highlighted, extra, title="the variants named in the panels")
    if column == "median_s":
        stat = MEDIAN_IQR.replace("bars", "bands") if few else "median over runs"
        what = f"Each method in {len(variants)} variants of the code: time per call ({stat})"
    else:
        what = f"Each method in {len(variants)} variants of the code: compile time (one per point)"
    decorate(fig, meta, what, variant="all", show_width=x == "depth")
    return fig
