"""docs/density_accuracy.md's tables and answers, written by code from a density-accuracy run's files.

Every figure comes from matrices.csv, cells.csv, targets.csv and summary.json (made by
curvature.accuracy_summary); curvature.headlines exposes these functions to the page.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from curvature.accuracy_summary import baselines

ESTIMATOR_WORDS = {"slq": "SLQ", "deflated_slq": "deflated SLQ", "kpm": "KPM"}
TARGET_WORDS = {"w1_baseline_10": "W1 ≤ baseline/10", "w1_baseline_100": "W1 ≤ baseline/100",
                "w1_range_1e-3": "W1 ≤ 0.1% of range", "w1_range_1e-4": "W1 ≤ 0.01% of range",
                "ks_1e-2": "KS ≤ 0.01"}


def count(x) -> str:
    """A product count: '1,280'; '—' where none on the grid meets the target; 2 digits past 1e6."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.1e}" if x >= 1e6 else f"{int(x):,}"


def _machine(run: Path) -> str:
    meta = json.loads((run / "meta.json").read_text())
    env, session = meta["environment"], meta["sessions"][-1]
    return (f"{env.get('cpu', 'CPU')}, jax {env.get('jax')}, commit {str(session.get('git_commit'))[:7]}"
            f"{'' if session.get('git_dirty') is False else ' (dirty)'}")


def accuracy_matrix_lines(run_dir: str | Path) -> list[str]:
    """The matrices: size, spectrum ends, the best trivial baseline, and the check against the source run."""
    run = Path(run_dir)
    m = pd.read_csv(run / "matrices.csv")
    best = baselines(m)
    lines = ["| matrix | P | λmin | λmax | best trivial W1 / range | eigenvalues vs source run (max diff / range) |",
             "|---|---:|---:|---:|---:|---:|"]
    for _, r in m.iterrows():
        which = "δ(0)" if r["point_mass_w1"] <= r["gaussian_w1"] else "Gaussian"
        check = "—" if pd.isna(r["reference_max_diff"]) else f"{r['reference_max_diff'] / r['spectral_range']:.0e}"
        lines.append(f"| {r['matrix']} | {int(r['size']):,} | {r['lambda_min']:.3g} | {r['lambda_max']:.3g} | "
                     f"{best[r['matrix']]:.2g} ({which}) | {check} |")
    lines.append("")
    lines.append(f"From `{run.as_posix()}` ({_machine(run)}).")
    return lines


def accuracy_table_lines(run_dir: str | Path) -> list[str]:
    """The fewest products whose median W1 (or KS) meets each target: float64 / float32, and the theorem's ask."""
    run = Path(run_dir)
    t = pd.read_csv(run / "targets.csv")
    names = list(TARGET_WORDS)
    lines = ["| matrix | estimator | " + " | ".join(TARGET_WORDS[n] for n in names)
             + " | a priori, W1 ≤ baseline/10 |", "|---|---|" + "---:|" * (len(names) + 1)]
    for (matrix, estimator), group in t.groupby(["matrix", "estimator"], sort=False):
        by = group.set_index("dtype")
        cells = [" / ".join(count(by.loc[d, n]) for d in by.index) for n in names]
        prior = count(by["w1_baseline_10_prior"].iloc[0]) if estimator != "kpm" else "(SLQ's theorem)"
        lines.append(f"| {matrix} | {ESTIMATOR_WORDS[estimator]} | " + " | ".join(cells) + f" | {prior} |")
    return lines


def accuracy_answer_lines(run_dir: str | Path) -> list[str]:
    """The page's answers: products for a density trusted to 1%, whether deflation pays, whether float32 hurts,
    and the bound checks."""
    run = Path(run_dir)
    t = pd.read_csv(run / "targets.csv")
    summary = json.loads((run / "summary.json").read_text())
    f64 = t[t["dtype"] == "float64"]
    trained = f64[f64["matrix"].str.startswith("digits_")]
    lines = []
    if len(trained):
        best = trained.groupby("matrix")["w1_baseline_100"].min()
        ks = trained.groupby("matrix")["ks_1e-2"].min()
        lines.append(
            f"- **A density trusted to 1% on the trained network** (W1 at most 1/100 of the best trivial "
            f"baseline's, best estimator, float64): {_span(best)} products across the {len(best)} "
            f"checkpoint/matrix pairs ({_missing(best)}); its CDF within 0.01 everywhere (KS): {_span(ks)} "
            f"({_missing(ks)}).")
    plain = f64[f64["estimator"] == "slq"].set_index("matrix")["w1_baseline_10"]
    deflated = f64[f64["estimator"] == "deflated_slq"].set_index("matrix")["w1_baseline_10"]
    both = pd.concat({"plain": plain, "deflated": deflated}, axis=1)
    cheaper = both[both["deflated"] < both["plain"].fillna(math.inf)]
    dearer = both[both["plain"] < both["deflated"].fillna(math.inf)]
    lines.append(
        f"- **Deflation** reaches W1 ≤ baseline/10 with fewer products on {len(cheaper)} of {len(both)} matrices"
        f"{' (' + ', '.join(cheaper.index) + ')' if len(cheaper) else ''}, with more on {len(dearer)}"
        f"{' (' + ', '.join(dearer.index) + ')' if len(dearer) else ''}; its fixed cost is the "
        f"deflation's Lanczos run.")
    ratio = summary["float32_over_float64"]
    if ratio:
        lines.append("- **float32** at the largest budget: median W1(float32) / W1(float64) over the matrices is "
                     + ", ".join(f"{v:.3g} for {ESTIMATOR_WORDS[k]}" for k, v in ratio.items()) + ".")
    b = summary["bounds"]
    lines.append(
        f"- **The a-priori bound** held in {b['prior_replicates'] - b['prior_exceeded']:,} of "
        f"{b['prior_replicates']:,} SLQ replicates (plain and deflated); the median W1 is "
        f"{b['prior_tightness_median']:.2g} of it. The a-posteriori bound (plain SLQ) held in "
        f"{b['posterior_replicates'] - b['posterior_exceeded']:,} of {b['posterior_replicates']:,}, "
        f"the median W1 {b['posterior_tightness_median']:.2g} of it.")
    return lines


def _span(series: pd.Series) -> str:
    found = series.dropna()
    if found.empty:
        return "none on the grid"
    return count(found.min()) if found.min() == found.max() else f"{count(found.min())}-{count(found.max())}"


def _missing(series: pd.Series) -> str:
    gone = series[series.isna()]
    return "every pair reached it" if gone.empty else "not reached within the grid for " + ", ".join(gone.index)
