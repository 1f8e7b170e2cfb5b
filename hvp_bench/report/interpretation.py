"""The report's generated interpretation: one sentence per finding, from fits and ratios.

Plain statements of what the measured numbers say against the model (no literature
figures: those are cited with their sources in docs/analysis.md, not generated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from expkit.robust import DISAGREE
from hvp_bench.config import FLOOR_METHOD
from hvp_bench.cost_model import MACHINES
from hvp_bench.words import label, ms
from hvp_bench.rundir import ok_times
from hvp_bench.scaling import verdict


def _flag(status: str) -> str:
    """"" for a headline fit, else its flags: a flagged number is never quoted bare."""
    return "" if status == "ok" else f"; ⚠ not a headline: {status}"


def interpretation(fits: pd.DataFrame, ratios: pd.DataFrame, marginal: pd.DataFrame, depth_rows: pd.DataFrame,
                   meta: dict, mem: pd.DataFrame) -> list[str]:
    lines = ["## Generated interpretation", ""]
    for _, f in fits.iterrows():
        if not np.isfinite(f["slope"]):
            continue
        m = f["method"]
        s = (f"- **{label(m)}**: time ~ n^{f['slope']:.2f} (95% CI [{f['lo']:.2f}, {f['hi']:.2f}]), "
             f"{verdict(f['lo'], f['hi'], f['pred_overhead'], f['pred_arithmetic'])}")
        if np.isfinite(f["upper_slope"]) and abs(f["upper_slope"] - f["pred_arithmetic"]) < abs(f["slope"] - f["pred_arithmetic"]) - 0.05:
            s += f"; over the upper half of depths the slope is {f['upper_slope']:.2f}, closer to the asymptotic {f['pred_arithmetic']}"
        if np.isfinite(f["floor_slope"]):
            s += (f"; above the measured dispatch floor, n^{f['floor_slope']:.2f} "
                  f"[{f['floor_lo']:.2f}, {f['floor_hi']:.2f}]")
        if f.get("robust_status", "ok") != "ok":
            s += f"; the Theil-Sen exponent is flagged ({f['robust_status']})"
            if DISAGREE in f["robust_status"]:
                s += ": its lower and upper halves disagree, so no one power law fits these depths"
        lines.append(s + ".")
    config = meta.get("config", {})
    w, b = config.get("width"), config.get("batch", 1)
    by_method = marginal.set_index("method") if len(marginal) else marginal
    if "gradient" in getattr(by_method, "index", ()) and w:
        g = by_method.loc["gradient"]
        flops = 3 * 2 * b * w * w
        backend = str(meta.get("environment", {}).get("backend", "cpu"))
        machine = MACHINES["cpu" if backend == "cpu" else "gpu"]
        if g["per_layer_s"] > 0:
            rate = flops / g["per_layer_s"]
            s = (f"- The gradient costs {g['per_layer_s'] * 1e6:.3g} µs per extra layer (95% CI "
                 f"[{g['per_layer_lo'] * 1e6:.3g}, {g['per_layer_hi'] * 1e6:.3g}]{_flag(g.get('status', 'ok'))}) "
                 f"for {flops} flops of matmuls "
                 f"per layer: {rate / 1e9:.3g} GFLOP/s, {rate / machine.flops_per_s:.2%} of the "
                 f"~{machine.flops_per_s / 1e9:.3g} GFLOP/s assumed for {machine.name}.")
            if rate < 0.1 * machine.flops_per_s:
                s += (" So the per-layer cost is fixed overhead, not arithmetic: the regime where "
                      "time ~ n and does not depend on w.")
            lines.append(s)
    if FLOOR_METHOD in getattr(by_method, "index", ()):
        f = by_method.loc[FLOOR_METHOD]
        lines.append(f"- The dispatch floor (a trivial compiled call on the same arguments) is "
                     f"{ms(f['intercept_s'])} ms at depth 0 and changes by {f['per_layer_s'] * 1e9:.3g} ns per layer "
                     "(95% CI [{:.3g}, {:.3g}]{}).".format(f["per_layer_lo"] * 1e9, f["per_layer_hi"] * 1e9,
                                                           _flag(f.get("status", "ok"))))
    hvps = [m for m in getattr(by_method, "index", ()) if m not in ("hessian_then_hvp", "naive_hvp", "gradient", FLOOR_METHOD)]
    if hvps and "gradient" in by_method.index:
        parts = ", ".join(f"{label(m)} {by_method.loc[m, 'ratio']:.2f}x [{by_method.loc[m, 'ratio_lo']:.2f}, "
                          f"{by_method.loc[m, 'ratio_hi']:.2f}{_flag(by_method.loc[m].get('ratio_status', 'ok'))}]"
                          for m in hvps)
        s = f"- HVP cost in gradients per extra layer (ratio of per-layer slopes, 95% CI): {parts}."
        if not ratios.empty:
            s += " At single depths (ratio of medians, median over depths): " + ", ".join(
                f"{label(m)} {ratios[m].median():.2f}x" for m in hvps if m in ratios) + "."
        dead = by_method.get("dead_depths", pd.Series(dtype=float)).max()
        if dead and np.isfinite(dead):
            s += (f" These slopes run over {int(dead)} depths where the result was all zero or non-finite (from "
                  f"n={int(by_method['first_dead'].min())}): the same arithmetic, values not checkable.")
        lines.append(s + " Arithmetic-bound theory says about 3x for any HVP (9 matmuls against 3) "
                     "and 2x to apply a stored linearization; step-count theory (launch-bound GPU) "
                     "says 1x, and 2x for rev-over-rev and linearize, which run twice as many "
                     "sequential loops.")
    mem = mem[np.isfinite(mem["compiled_bytes_slope"].astype(float))] if len(mem) else mem
    if len(mem):
        parts = ", ".join(f"{label(r.method)} {r.compiled_bytes_slope:.2f} [{r.compiled_bytes_lo:.2f}, "
                          f"{r.compiled_bytes_hi:.2f}] (predicted {r.predicted_exponent})" for r in mem.itertuples())
        lines.append(f"- Compiled memory ~ n^k with k: {parts}.")
    rows = ok_times(depth_rows)
    med = rows.groupby(["method", "depth"])["time_s"].median()
    if {"hessian_then_hvp", "naive_hvp", "hvp_rev_rev"} <= set(rows["method"]):
        common = sorted(set(med["hessian_then_hvp"].index) & set(med["naive_hvp"].index) & set(med["hvp_rev_rev"].index))
        if common:
            n = common[-1]
            th, tn, tv = med["hessian_then_hvp"][n], med["naive_hvp"][n], med["hvp_rev_rev"][n]
            s = (f"- At n={n}: full Hessian + H@v {ms(th)} ms, H@v alone {ms(tn)} ms, autograd HVP {ms(tv)} ms: "
                 f"the dense route costs {th / tv:.3g} autograd HVPs.")
            if tn < tv:
                s += (f" Once H is built, each further product is cheaper, so the dense route pays off "
                      f"after about {th / (tv - tn):.3g} vectors at one point — if 4P² bytes fit.")
            else:
                s += " H@v alone is no faster than the autograd HVP here, so building H never pays off."
            lines.append(s)
    return lines + [""]
