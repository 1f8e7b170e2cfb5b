"""README's headline numbers of a curvature run, written by code from its summary.json.

    python -m curvature.headlines results/curvature
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


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


if __name__ == "__main__":
    print("\n".join(headline_lines(sys.argv[1])))
