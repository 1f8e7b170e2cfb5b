"""The per-layer tables (README's, pooled over runs, and the first study's in docs/hvp_bench.md): each quoted
median is the median of the repeats' own ratios over the same formulation's gradient, recomputed here from
runs.csv with SciPy's Theil-Sen (an implementation independent of expkit.robust's), and each quoted interval
holds its median."""

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
POOLED = ROOT / "results" / "bench_per_layer_runs_cpu"
TABLES = {"first": ("docs/hvp_bench.md", "per_layer_lines", [RUN]),
          "pooled": ("README.md", "pooled_lines", sorted(p.parent for p in POOLED.glob("*/runs.csv")))}
CELL = re.compile(r"([\d.]+)× \[([\d.]+), ([\d.]+)\]")

def repeat_slopes(runs: pd.DataFrame, variant: str, method: str) -> dict[int, float]:
    """repeat -> Theil-Sen slope of the per-depth median time against depth."""
    rows = runs[(runs["variant"] == variant) & (runs["method"] == method) & (runs["status"] == "ok")]
    out = {}
    for repeat, data in rows.groupby("repeat"):
        medians = data.groupby("depth")["time_s"].median()
        out[int(repeat)] = stats.theilslopes(medians.to_numpy(), medians.index.to_numpy(float))[0]
    return out


def quoted_table(page: str, function: str) -> dict[str, list[tuple[str, str, str] | None]]:
    """A page's table: row name -> [(median, lo, hi) as printed, of the homework's formulation and of
    the tuned one; None for the reference gradient]."""
    readme = (ROOT / page).read_text()
    block = readme[readme.index(f"<!-- headlines:hvp_bench.{function}"):]
    block = block[:block.index("<!-- /headlines -->")]
    table = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] and not cells[0].startswith(("method", "---")):
            table[cells[0]] = [m.groups() if (m := CELL.match(c)) else None for c in cells[1:]]
    return table


@pytest.mark.parametrize("table_name", list(TABLES))
def test_each_quoted_median_is_the_repeats_median_over_the_same_formulation_s_gradient(table_name):
    page, function, run_dirs = TABLES[table_name]
    # Every run's repeats, numbered apart: the pooled median is over all of them.
    runs = pd.concat([pd.read_csv(d / "runs.csv").assign(repeat=lambda f, i=i: f["repeat"] + 1000 * i)
                      for i, d in enumerate(run_dirs)])
    assert runs["repeat"].nunique() >= 3 and runs["depth"].nunique() >= 3
    table = quoted_table(page, function)
    assert set(table) == {label(method) for method in PER_LAYER_METHODS}
    for method in PER_LAYER_METHODS:
        for variant, quoted in zip(["scan", "scan-fused-jvp-remat"], table[label(method)]):
            if method == "gradient":  # each column's own reference
                assert quoted is None
                continue
            median, lo, hi = quoted
            gradient = repeat_slopes(runs, variant, "gradient")
            ratios = [s / gradient[r] for r, s in repeat_slopes(runs, variant, method).items()]
            assert len(ratios) >= 3
            assert matches(median, float(np.median(ratios))), (method, variant, median, ratios)
            assert float(lo) - half_unit(lo) <= float(median) <= float(hi) + half_unit(hi)
