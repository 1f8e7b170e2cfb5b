"""Paired ratios: one formulation's time over another's, call by call within the same rounds.

Two variants timed in the same interleaved rounds (secondorder.timing.time_interleaved)
share each round's state of a shared machine, so the ratio of their two calls in one
round cancels most of the drift that separates rounds and runs. Per (depth, method):

- ratio: the median over every round of every repeat of t_numerator / t_denominator;
- lo, hi: a 95% percentile bootstrap interval that resamples repeats, then rounds within
  each resampled repeat (numerator and denominator move together: they are one round);
- rep_min, rep_max: the range of each repeat's own median ratio.

Used for what a formulation costs against another that computes the same numbers, e.g.
the parameters as a pytree against one flat vector (variant "-tree" beside its base).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from expkit.fits import paired_ratio_interval
from hvp_bench.rundir import ok_times, repeat_of

KEYS = ["depth", "width", "method"]
PAIRED_COLUMNS = ["numerator", "denominator", "depth", "width", "method", "repeats", "rounds", "ratio", "lo", "hi",
                  "rep_min", "rep_max", "level"]


def round_ratios(runs: pd.DataFrame, numerator: str, denominator: str) -> pd.DataFrame:
    """Per round: KEYS, repeat, run_index and ratio = numerator's time / denominator's, both timed ok."""
    rows = ok_times(runs).assign(repeat=repeat_of(runs))
    index = [*KEYS, "repeat", "run_index"]
    a = rows[rows["variant"] == numerator].set_index(index)["time_s"]
    b = rows[rows["variant"] == denominator].set_index(index)["time_s"]
    both = pd.concat({"numerator": a, "denominator": b}, axis=1, join="inner")
    return both.assign(ratio=both["numerator"] / both["denominator"]).reset_index()


def paired_ratios(runs: pd.DataFrame, numerator: str, denominator: str, level: float = 0.95, n_boot: int = 2000,
                  seed: int = 0) -> pd.DataFrame:
    """One row per (depth, width, method) timed in both variants: PAIRED_COLUMNS."""
    ratios = round_ratios(runs, numerator, denominator)
    rng = np.random.default_rng(seed)  # one stream over the groups, as before: the same intervals
    out = []
    for (depth, width, method), data in ratios.groupby(KEYS, sort=True):
        groups = [g["ratio"].to_numpy() for _, g in data.groupby("repeat")]
        out.append({"numerator": numerator, "denominator": denominator, "depth": depth, "width": width,
                    "method": method, **paired_ratio_interval(groups, level, n_boot, rng)})
    return pd.DataFrame(out, columns=PAIRED_COLUMNS)


def tree_pairs(variants: list[str]) -> list[tuple[str, str]]:
    """(V-tree, V) for every variant V-tree timed beside its flat twin V."""
    return [(v, v[: -len("-tree")]) for v in variants if v.endswith("-tree") and v[: -len("-tree")] in variants]
