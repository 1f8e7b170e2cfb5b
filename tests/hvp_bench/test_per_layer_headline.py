"""README's per-layer headline: each quoted interval holds every repeat's own estimate,
recomputed here from runs.csv with SciPy's Theil-Sen (an implementation independent of
expkit.robust's)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from expkit.claims import half_unit, matches
from hvp_bench.headlines import PER_LAYER_METHODS
from hvp_bench.words import label

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "results" / "bench_per_layer_cpu"
CELL = re.compile(r"([\d.]+)× \[([\d.]+), ([\d.]+)\]")

def repeat_slopes(runs: pd.DataFrame, variant: str, method: str) -> dict[int, float]:
    """repeat -> Theil-Sen slope of the per-depth median time against depth."""
    rows = runs[(runs["variant"] == variant) & (runs["method"] == method) & (runs["status"] == "ok")]
    out = {}
    for repeat, data in rows.groupby("repeat"):
        medians = data.groupby("depth")["time_s"].median()
        out[int(repeat)] = stats.theilslopes(medians.to_numpy(), medians.index.to_numpy(float))[0]
    return out


def quoted_table() -> dict[str, list[tuple[str, str, str] | None]]:
    """README's table: row name -> [(median, lo, hi) as printed, of the homework's formulation and of
    the tuned one; None for the reference gradient]."""
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("<!-- headlines:hvp_bench.per_layer_lines"):]
    block = block[:block.index("<!-- /headlines -->")]
    table = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and CELL.match(cells[1]):
            table[cells[0]] = [m.groups() if (m := CELL.match(c)) else None for c in cells[1:]]
    return table


@pytest.mark.skipif(not RUN.is_dir(), reason="no committed per-layer study")
def test_each_quoted_interval_holds_every_repeats_estimate():
    runs = pd.read_csv(RUN / "runs.csv")
    costs = pd.read_csv(RUN / "variants.csv")
    variants = list(dict.fromkeys(costs["variant"]))
    assert runs["repeat"].nunique() >= 3 and runs["depth"].nunique() >= 7
    best = costs["best_gradient_variant"].iloc[0]
    gradient = repeat_slopes(runs, best, "gradient")
    table = quoted_table()
    assert set(table) == {label(method) for method in PER_LAYER_METHODS}
    for method, name in ((method, label(method)) for method in PER_LAYER_METHODS):
        for variant, quoted in zip(["scan", "scan-fused-jvp-remat"], table[name]):
            assert variant in variants
            if quoted is None:  # the reference gradient itself
                assert variant == best and method == "gradient"
                continue
            median, lo, hi = quoted
            ratios = [s / gradient[r] for r, s in repeat_slopes(runs, variant, method).items()]
            assert len(ratios) >= 3
            for ratio in ratios:  # at the precision printed
                assert float(lo) - half_unit(lo) <= ratio <= float(hi) + half_unit(hi), (name, variant, ratio, lo, hi)
            assert matches(median, float(np.median(ratios))), (name, variant)
