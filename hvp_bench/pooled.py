"""README's per-layer table pooled over whole runs of one study, started hours apart.

Repeats inside one run understate the drift between runs started hours apart (the first
per-layer study's second run landed outside the range of the first's repeats for half its
entries), so the quoted interval is over runs: each run a directory RUN_DIR/<name> of the
same config (configs/bench_per_layer_runs.toml), from a clean commit. Per (variant, method):

- ratio: the median over every repeat of every run of that repeat's per-layer cost over its
  own formulation's gradient (hvp_bench.paired.repeat_estimates: Theil-Sen slopes over the
  depths of the median times, the method and its gradient timed in the same rounds);
- lo, hi: a percentile bootstrap interval at `level` that resamples the runs, then the
  repeats within each drawn run, then the rounds (numerator and denominator together);
- run_min, run_max: the range of the runs' own medians; rep_min, rep_max: of all repeats;
- between_runs: the share of the variance of log(repeat ratio) that lies between runs (a
  one-way random-effects estimate, 0 when the runs differ no more than their repeats do).

    python -m hvp_bench.pooled results/bench_per_layer_runs_cpu     # writes pooled.csv there
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from hvp_bench.paired import repeat_estimates

POOLED = "pooled.csv"
POOLED_COLUMNS = ["variant", "method", "vectors", "runs", "repeats", "rounds", "ratio", "lo", "hi", "run_min",
                  "run_max", "rep_min", "rep_max", "between_runs", "level"]


def run_dirs(parent: str | Path) -> list[Path]:
    """The finished runs under `parent` (subdirectories with a runs.csv), in name order."""
    return sorted(p for p in Path(parent).iterdir() if (p / "runs.csv").is_file())


def between_run_share(groups: list[np.ndarray]) -> float:
    """The share of the variance of the values that lies between the groups: σ²_between / (σ²_between +
    σ²_within), one-way random effects by the method of moments (0 when the groups' means differ no more
    than their spread within predicts; NaN with fewer than two groups or no spread beyond rounding)."""
    groups = [np.asarray(g, float) for g in groups if len(g)]
    sizes = np.array([len(g) for g in groups])
    if len(groups) < 2 or sizes.sum() <= len(groups):
        return float("nan")
    grand = np.concatenate(groups).mean()
    ms_between = sum(n * (g.mean() - grand) ** 2 for n, g in zip(sizes, groups)) / (len(groups) - 1)
    ms_within = sum(((g - g.mean()) ** 2).sum() for g in groups) / (sizes.sum() - len(groups))
    n0 = (sizes.sum() - (sizes ** 2).sum() / sizes.sum()) / (len(groups) - 1)
    between = max(0.0, (ms_between - ms_within) / n0)
    total = between + ms_within
    # Rounding alone (equal values computed along different paths) is no spread.
    return float(between / total) if total > 1e-20 * max(1.0, grand ** 2) else float("nan")


def pooled_per_layer(runs: dict[str, pd.DataFrame], level: float = 0.95, n_boot: int = 2000,
                     seed: int = 0) -> pd.DataFrame:
    """POOLED_COLUMNS per (variant, method) timed in every run; `runs`: run name -> its runs.csv rows."""
    rng = np.random.default_rng(seed)
    per_run: dict[tuple[str, str], list] = {}
    for frame in runs.values():
        for variant, method, vectors, estimates, rounds, _ in repeat_estimates(frame, n_boot, rng):
            per_run.setdefault((variant, method, vectors), []).append((estimates, rounds))
    out = []
    for (variant, method, vectors), found in per_run.items():
        if len(found) < len(runs):
            continue
        points = [np.array([p for p, _ in estimates]) for estimates, _ in found]
        boots = [np.stack([b for _, b in estimates]) for estimates, _ in found]  # per run: (repeats, n_boot)
        replicates = np.empty(n_boot)
        for b in range(n_boot):  # runs, then repeats within each drawn run; rounds are in the replicates
            drawn = rng.integers(0, len(boots), len(boots))
            replicates[b] = np.median(np.concatenate(
                [boots[r][rng.integers(0, len(boots[r]), len(boots[r])), b] for r in drawn]))
        lo, hi = np.quantile(replicates[np.isfinite(replicates)], [(1 - level) / 2, (1 + level) / 2])
        every = np.concatenate(points)
        out.append({"variant": variant, "method": method, "vectors": vectors, "runs": len(found),
                    "repeats": len(every), "rounds": sum(rounds for _, rounds in found),
                    "ratio": float(np.median(every)), "lo": float(lo), "hi": float(hi),
                    "run_min": float(min(np.median(p) for p in points)),
                    "run_max": float(max(np.median(p) for p in points)),
                    "rep_min": float(every.min()), "rep_max": float(every.max()),
                    "between_runs": between_run_share([np.log(p) for p in points]), "level": level})
    return pd.DataFrame(out, columns=POOLED_COLUMNS)


def write_pooled(parent: str | Path) -> Path:
    """Pools every run under `parent` into parent/pooled.csv; FileNotFoundError if there is none."""
    from expkit.results import write_csv_atomic

    dirs = run_dirs(parent)
    if not dirs:
        raise FileNotFoundError(f"no run (a directory with runs.csv) under {parent}")
    table = pooled_per_layer({d.name: pd.read_csv(d / "runs.csv") for d in dirs})
    write_csv_atomic(Path(parent) / POOLED, table)
    return Path(parent) / POOLED


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hvp_bench.pooled RUNS_DIR   (pools RUNS_DIR/*/runs.csv into RUNS_DIR/pooled.csv)",
              file=sys.stderr)
        return 2
    try:
        print(write_pooled(args[0]))
    except (FileNotFoundError, NotADirectoryError, PermissionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
