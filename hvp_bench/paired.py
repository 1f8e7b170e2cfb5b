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

`per_layer_over_own_gradient` pairs a method with its own formulation's gradient the same
way, per extra layer: README's per-layer table (hvp_bench.per_layer_headlines).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from expkit.fits import paired_ratio_interval
from hvp_bench.config import FLOOR_METHOD
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


OWN_GRADIENT = "per_layer_own_gradient.csv"
"""Where a run's derive step writes per_layer_over_own_gradient (hvp_bench.bench_tables)."""
PER_LAYER_COLUMNS = ["variant", "method", "vectors", "depths", "repeats", "rounds", "ratio", "lo", "hi", "rep_min",
                     "rep_max", "level"]


def _repeat_ratios(num: np.ndarray, den: np.ndarray, depths: np.ndarray, n_boot: int,
                   rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """(this repeat's ratio, its n_boot bootstrap replicates): Theil-Sen slope over depths of the
    numerator's median time over the denominator's, rounds resampled at each depth jointly for both.

    num, den: (depths, rounds) times of one repeat, round i of both timed in the same round."""
    from expkit.robust import theil_sen

    slope = lambda t: theil_sen(depths, np.median(t, axis=-1))[0]  # noqa: E731
    idx = rng.integers(0, num.shape[1], (n_boot, *num.shape))
    boot = slope(np.take_along_axis(num[None], idx, -1)) / slope(np.take_along_axis(den[None], idx, -1))
    return float(slope(num) / slope(den)), boot


def repeat_estimates(runs: pd.DataFrame, n_boot: int, rng: np.random.Generator):
    """Per (variant, method) of one run, lazily (the caller's draws stay in order): (variant, method, vectors,
    [(repeat's ratio, its n_boot replicates) per repeat], rounds, depths) of the method's per-layer cost over
    its own variant's gradient (per vector, for a block). Depth sweep at the most common width; only depths
    and rounds both methods completed."""
    from hvp_bench.variants import parse_variant

    rows = ok_times(runs).assign(repeat=repeat_of(runs))
    rows = rows[rows["width"] == rows["width"].mode().iloc[0]] if len(rows) else rows
    for variant, data in rows.groupby("variant", sort=False):
        tables = {key: g.pivot_table(index="depth", columns="run_index", values="time_s")
                  for key, g in data.groupby(["method", "repeat"])}
        vectors = parse_variant(variant).vectors
        for method in dict.fromkeys(data["method"]):
            if method in ("gradient", FLOOR_METHOD):
                continue
            estimates, rounds, depth_count = [], 0, 0
            for repeat in sorted(r for m, r in tables if m == method and ("gradient", r) in tables):
                num, den = tables[(method, repeat)], tables[("gradient", repeat)]
                depths = num.index.intersection(den.index)
                cols = num.columns.intersection(den.columns)
                num, den = num.loc[depths, cols].to_numpy(), den.loc[depths, cols].to_numpy()
                if len(depths) < 2 or np.isnan(num).any() or np.isnan(den).any():
                    continue
                point, boot = _repeat_ratios(num, den, depths.to_numpy(float), n_boot, rng)
                estimates.append((point / vectors, boot / vectors))
                rounds += num.size
                depth_count = max(depth_count, len(depths))
            if estimates:
                yield variant, method, vectors, estimates, rounds, depth_count


def per_layer_over_own_gradient(runs: pd.DataFrame, level: float = 0.95, n_boot: int = 2000,
                                seed: int = 0) -> pd.DataFrame:
    """Per (variant, method): its per-layer cost over the same variant's gradient, paired in the rounds.

    Each repeat gives one ratio: the Theil-Sen slope over the depths of the method's median
    time over the gradient's (per vector, for a block). `ratio` is the median over the repeats;
    [lo, hi] a percentile bootstrap interval at `level` that resamples the repeats, then the
    rounds at each depth, the method's and the gradient's calls of one round together (they
    were timed in it); rep_min, rep_max the range of the repeats' own ratios. Depth sweep at
    the most common width; only depths and rounds both methods completed.
    """
    rng = np.random.default_rng(seed)
    out = []
    for variant, method, vectors, estimates, rounds, depth_count in repeat_estimates(runs, n_boot, rng):
        ratios = [point for point, _ in estimates]
        boots = np.stack([boot for _, boot in estimates])  # (repeats, n_boot)
        pick = rng.integers(0, len(ratios), (n_boot, len(ratios)))
        replicates = np.median(boots[pick, np.arange(n_boot)[:, None]], axis=1)
        lo, hi = np.quantile(replicates[np.isfinite(replicates)], [(1 - level) / 2, (1 + level) / 2])
        out.append({"variant": variant, "method": method, "vectors": vectors, "depths": depth_count,
                    "repeats": len(ratios), "rounds": rounds, "ratio": float(np.median(ratios)), "lo": float(lo),
                    "hi": float(hi), "rep_min": min(ratios), "rep_max": max(ratios), "level": level})
    return pd.DataFrame(out, columns=PER_LAYER_COLUMNS)
