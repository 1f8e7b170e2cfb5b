"""The report's per-layer tables: robust slopes with their flags, segments, repeats and dead points.

A fit whose status is not "ok" (expkit.robust: too few depths, segments disagree) is
printed in parentheses with its flags beside it, never as a bare number: it is no
headline. A fit over depths where the result was dead (all zero or non-finite) says how
many and from where.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from expkit.robust import DISAGREE, TOO_FEW
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES
from hvp_bench.words import label
from hvp_bench.report.tables import DENSE, md_table, num, us

FLAG = "⚠"
DEAD = "†"
LEGEND = (f"{FLAG}: not a headline (the fit's flags: fewer than 7 depths, or its lower and upper halves "
          f"disagree beyond their CI); in parentheses. {DEAD}: fitted over depths whose result was all zero "
          "or non-finite (a dead network: the times are those of the same arithmetic, the values are not "
          "checkable).")


SHORT = {TOO_FEW: "few", DISAGREE: "kink"}


def flagged(text: str, status: str, short: bool = False) -> str:
    """`text` as is for a headline fit; in parentheses with the flags otherwise (as
    ⚠few / ⚠kink where `short`, for tables with a cell per fit)."""
    if status == "ok":
        return text
    if short:
        return f"({text}) " + " ".join(FLAG + SHORT.get(f, f) for f in status.split("; "))
    return f"({text}) {FLAG} {status}"


def dead_note(dead_depths, first_dead) -> str:
    """"—", or how many fitted depths were dead and from which depth on."""
    if not dead_depths or not np.isfinite(dead_depths):
        return "—"
    return f"{DEAD} {int(dead_depths)} (from n={int(first_dead)})"


def repeats_note(repeats, lo: float, hi: float, fmt=us) -> str:
    """How many repeats, and the range of each one's own estimate where there are several."""
    return f"{int(repeats)}" + (f" ({fmt(lo)}-{fmt(hi)})" if repeats > 1 else "")


def marginal_section(marginal: pd.DataFrame) -> list[str]:
    """Seconds per extra layer and the per-layer cost in gradients, with CIs, flags, segments."""
    # The dense methods cost ~ n^2: a per-layer slope means nothing for them.
    marginal = marginal[~marginal["method"].isin(DENSE)] if len(marginal) else marginal
    if marginal.empty:
        return ["Too few depths for per-layer costs.", ""]
    rows = [[label(r.method), r.points,
             flagged(f"{us(r.per_layer_s)} [{us(r.per_layer_lo)}, {us(r.per_layer_hi)}]", r.status),
             f"{us(r.lower_s)} / {us(r.upper_s)}", f"{num(r.resid_rel, '.1%')}",
             repeats_note(r.repeats, r.rep_min_s, r.rep_max_s), dead_note(r.dead_depths, r.first_dead),
             flagged(f"{num(r.ratio)} [{num(r.ratio_lo)}, {num(r.ratio_hi)}]", r.ratio_status)]
            for r in marginal.itertuples()]
    return [md_table(["method", "depths", "µs per extra layer [95% CI]", "lower / upper half (µs)",
                      "residual / rise", "repeats (range, µs)", "dead depths",
                      "per-layer cost in gradients [95% CI]"], rows),
            "", LEGEND, "",
            "(The dense methods grow as n², so they have no per-layer cost; see the exponents above.)", ""]


def variants_section(costs: pd.DataFrame) -> list[str]:
    """Per-layer cost of every (variant, method) and its ratio to the run's best gradient."""
    costs = costs[~costs["method"].isin(DENSE)]
    if costs.empty:
        return []
    variants = list(dict.fromkeys(costs["variant"]))
    table = costs.set_index(["method", "variant"])
    methods = [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m in set(costs["method"])]

    def cell(m, v):
        if (m, v) not in table.index:
            return "—"
        r = table.loc[(m, v)]
        text = f"{us(r['per_vector_s'])} ({num(r['ratio'])}× [{num(r['ratio_lo'])}, {num(r['ratio_hi'])}])"
        status = r.get("ratio_status", r.get("status", "ok"))
        return flagged(text, status, short=True) + (f" {DEAD}" if r.get("dead_depths", 0) else "")

    rows = [[label(m), *[cell(m, v) for v in variants]] for m in methods]
    return [md_table(["method", *[f"`{v}`" for v in variants]], rows), "",
            f"{FLAG}few: fewer than 7 depths; {FLAG}kink: the lower and upper halves of the depths disagree "
            "(of this fit or the gradient's it is divided by). " + LEGEND, ""]
