"""README's headline numbers of a curvature run, written by code from its summary.json.

    python -m curvature.headlines results/curvature
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from curvature.accuracy_text import accuracy_answer_lines, accuracy_matrix_lines, accuracy_table_lines  # noqa: F401


def headline_lines(run_dir: str | Path) -> list[str]:
    """Lanczos's top eigenvalues and Hutch++'s trace against the exact dense Hessian."""
    run_dir = Path(run_dir)
    goals = json.loads((run_dir / "summary.json").read_text())["goals"]
    top, gain = goals["top_k_float64"], goals["hutchpp_gain"]
    return [
        f"- Lanczos finds the top eigenvalues to {top['max_rel_error']:.2g} (relative) of the dense "
        f"Hessian's in {top['hvps']} HVPs, to 1e-6 in {top['hvps_to_1e-6']} (`{run_dir.as_posix()}`).",
        f"- At {gain['budget']} HVPs, Hutch++'s trace is {gain['ratio']:.3g}× more accurate than Hutchinson's.",
    ]


def cost_lines(run_dir: str | Path) -> list[str]:
    """docs/curvature.md's cost figures: Lanczos against the dense route, with and without
    compiles, and the dense route extrapolated to the deepest model with its t-band."""
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    goals, deep, fit = summary["goals"], summary["deepest"], summary["dense_fit"]
    ratio, far = goals["dense_over_lanczos"], deep["dense_extrapolated_s"]
    table = pd.read_csv(run_dir / "cost_summary.csv").set_index(["depth", "route"])
    at = ratio["depth"]
    dense = sum(table.loc[(at, r), "median_s"] for r in ("dense_hessian", "dense_eigvalsh"))
    lanczos = table.loc[(at, "lanczos"), "median_s"]
    day = 86400.0
    with_compiles = {r: deep[r]["median_s"] + deep[r]["compile_s"] for r in ("lanczos", "trace_hutchpp")}
    return [
        f"- **Lanczos against the dense route** at {at} layers (P = {int(table.loc[(at, 'lanczos'), 'params'])}): "
        f"{ratio['ratio']:.0f}× cheaper in run time ({lanczos:.3g} s against {dense:.3g} s, medians), "
        f"{ratio['ratio_with_compiles']:.0f}× with each route's compile counted once.",
        f"- **At {deep['depth']} layers** (P = {deep['params']}): top-5 and trace in "
        f"{sum(with_compiles.values()):.1f} s with compiles (Lanczos {with_compiles['lanczos']:.1f} s, "
        f"Hutch++ {with_compiles['trace_hutchpp']:.1f} s). The dense route would take about "
        f"{far['seconds'] / day:.0f} days [{far['lo'] / day:.0f}, {far['hi'] / day:.0f}] and "
        f"{deep['dense_hessian_bytes'] / 1e9:.0f} GB: extrapolated {deep['params'] / fit['largest_params']:.0f}× "
        f"in P from {fit['points']} depths, time ∝ P^{fit['slope']:.2f} [{fit['lo']:.2f}, {fit['hi']:.2f}] "
        f"(95% Student-t intervals of the fitted line; `{run_dir.as_posix()}`).",
    ]


def trained_lines(run_dir: str | Path) -> list[str]:
    """docs/curvature_trained.md's table of targets, one row per (checkpoint, matrix), from
    summary.csv: the exact spectrum's ends and trace, each estimate's error or interval,
    and W1 to the exact spectrum against the trivial baselines'."""
    run_dir = Path(run_dir)
    table = pd.read_csv(run_dir / "summary.csv")

    def interval(row, name: str) -> str:
        digits = 4 if row["trace"] < 10 else 3
        held = "yes" if row[f"{name}_contains"] else "**NO**"
        return f"[{row[f'{name}_lo']:.{digits}f}, {row[f'{name}_hi']:.{digits}f}] {held}"

    lines = ["| checkpoint (step) | matrix | λ_max | λ_min | top-5 Lanczos, max rel. error | exact trace | "
             "Hutch++ interval | XTrace interval | W1: point mass / Gaussian | W1 deflated SLQ / best | "
             "W1 plain SLQ / best |", "|" + "---|" * 11]
    for _, row in table.iterrows():
        matrix = {"hessian": "H", "ggn": "GGN"}[row["matrix"]]
        low = "0" if matrix == "GGN" and abs(row["lambda_min"]) < 1e-12 else f"{row['lambda_min']:.3g}"
        lines.append(
            f"| {row['checkpoint']} ({row['step']}) | {matrix} | {row['lambda_max']:.4g} | {low} | "
            f"{row['top_k_max_rel_error']:.1e} | {row['trace']:.5g} | {interval(row, 'hutchpp')} | "
            f"{interval(row, 'xtrace')} | {row['w1_point_mass']:.2g} / {row['w1_gaussian']:.2g} | "
            f"**{row['deflated_w1_over_best_baseline']:.2g}** | {row['slq_w1_over_best_baseline']:.2g} |")
    held = int(table[["hutchpp_contains", "xtrace_contains"]].to_numpy().sum())
    lines += ["", f"Trace intervals holding the exact trace: {held} of {2 * len(table)} "
              f"(`{run_dir.as_posix()}`)."]
    return lines


def trained_mass_lines(run_dir: str | Path) -> list[str]:
    """docs/curvature_trained.md's second table: negative mass, outliers, diagonal, and
    XTrace's own standard error against the spread of its repetitions, from summary.csv."""
    table = pd.read_csv(Path(run_dir) / "summary.csv")

    def mass(x: float) -> str:
        return "0" if x == 0 else f"{100 * x:.1f}%"

    lines = ["| checkpoint | matrix | mass below −10⁻³·max\\|λ\\|: exact | deflated SLQ | plain SLQ | "
             "outlier mass rel. error: deflated | plain | top-5 node positions, plain SLQ | "
             "diagonal rel. error: Hutchinson | XDiag | XTrace own SE / rep. SD |", "|" + "---|" * 11]
    for _, row in table.iterrows():
        lines.append(
            f"| {row['checkpoint']} | {dict(hessian='H', ggn='GGN')[row['matrix']]} | "
            f"{mass(row['deflated_negative_mass_exact'])} | {mass(row['deflated_negative_mass'])} | "
            f"{mass(row['slq_negative_mass'])} | {row['deflated_outlier_mass_rel_error']:.1e} | "
            f"{row['slq_outlier_mass_rel_error']:.2g} | {row['slq_top_nodes_rel_error']:.1e} | "
            f"{row['diag_hutchinson_rel_error']:.2f} | {row['diag_xdiag_rel_error']:.2g} | "
            f"{row['xtrace_own_sem_over_rep_sd']:.2f} |")
    return lines


def xtrace_bias_lines(run_dir: str | Path) -> list[str]:
    """docs/curvature_trained.md's check of XTrace for bias (scripts/run_xtrace_bias.py)."""
    run_dir = Path(run_dir)
    s = json.loads((run_dir / "summary.json").read_text())
    return [f"{s['repetitions']} XTrace repetitions ({s['samples']} samples each) on a 1000 x 1000 matrix "
            f"of known trace with a decaying spectrum: mean − truth = {s['resphering']['bias_in_sems']:+.2f} "
            f"standard errors with matfree's resphering, {s['plain']['bias_in_sems']:+.2f} without "
            f"(`{run_dir.as_posix()}`, `scripts/run_xtrace_bias.py`)."]


def xtrace_coverage_lines(run_dir: str | Path, level: float = 0.95) -> list[str]:
    """How often XTrace's own interval (estimate ± t · matfree's standard error) holds the
    trace, from the same repetitions (docs/library.md)."""
    from scipy import stats

    run_dir = Path(run_dir)
    s = json.loads((run_dir / "summary.json").read_text())
    rows = pd.read_csv(run_dir / "xtrace_bias.csv")
    t = stats.t.ppf(0.5 + level / 2, s["samples"] - 1)
    parts = []
    for resphering, words in ((True, "with matfree's resphering"), (False, "without")):
        g = rows[rows["resphering"] == resphering]
        held = float(((g["estimate"] - s["exact_trace"]).abs() <= t * g["own_sem"]).mean())
        parts.append(f"{held:.1%} {words} (its standard error is {g['own_sem'].mean() / g['estimate'].std():.2f} "
                     "of the estimates' spread)")
    return [f"Of {s['repetitions']} XTrace estimates ({s['samples']} samples each) of a 1000 x 1000 matrix of known "
            f"trace, the {level:.0%} interval from its own standard error held the trace in {parts[0]}, and in "
            f"{parts[1]} (`{run_dir.as_posix()}`, made by `scripts/run_xtrace_bias.py`)."]


def blocks_lines(run_dir: str | Path) -> list[str]:
    """docs/curvature.md's table of what vmapped blocks buy (curvature/blocks.py), from summary.csv and times.csv."""
    run_dir = Path(run_dir)
    table = pd.read_csv(run_dir / "summary.csv").set_index(["depth", "route", "setup"])
    times = pd.read_csv(run_dir / "times.csv")
    meta = json.loads((run_dir / "meta.json").read_text())
    config = meta.get("config") or meta.get("args")  # runs before the study driver wrote "args"
    commit = (meta.get("sessions") or [meta["environment"]])[-1]["git_commit"][:7]

    def cell(depth, route, setup):
        r = table.loc[(depth, route, setup)]
        return f"{r['median_s']:.2f} s [{r['min_s']:.2f}, {r['max_s']:.2f}]"

    lines = [f"Made from the commit {commit} on {meta['environment']['cpu']} ({meta['environment']['cpu_count']} "
             f"cores), {config['runs']} interleaved runs of each (median and range over the runs; "
             f"`{run_dir.as_posix()}`); the three setups' estimates agree to {times['max_rel_diff'].max():.0e}.",
             "", "| layers | SLQ, tanh sequential / logistic vmapped | Hutch++, the same |", "|---|---|---|"]
    depths = sorted({d for d, _, _ in table.index})
    for d in depths:
        lines.append(f"| {d} | {cell(d, 'slq', 'tanh, sequential')} / {cell(d, 'slq', 'logistic, vmap')} | "
                     f"{cell(d, 'hutchpp', 'tanh, sequential')} / {cell(d, 'hutchpp', 'logistic, vmap')} |")
    over = table.xs("tanh, sequential", level="setup")["over_vmap"]
    lines += ["", "Sequential over vmapped, medians: " + "; ".join(
        f"{route} {over.xs(route, level='route').min():.2f}-{over.xs(route, level='route').max():.2f}×"
        for route in ("slq", "hutchpp")) + f" over {depths[0]}-{depths[-1]} layers."]
    return lines


if __name__ == "__main__":
    print("\n".join(headline_lines(sys.argv[1])))
