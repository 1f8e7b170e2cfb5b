"""curvature.blocks: the three operator setups give the same estimates, and every row is written."""

import pandas as pd
import pytest

from curvature.blocks import COLUMNS, SETUPS, measure_depth, summarize


@pytest.mark.slow
def test_every_setup_estimates_the_same_trace_and_is_timed():
    rows = measure_depth(2, runs=2, slq_probes=2, slq_steps=4, hutchpp_hvps=6)
    assert len(rows) == 2 * len(SETUPS) * 2 and all(set(row) == set(COLUMNS) for row in rows)
    # Same probes, same function: the setups differ by rounding only.
    assert max(row["max_rel_diff"] for row in rows) < 1e-10
    table = summarize(pd.DataFrame(rows))
    assert set(table["setup"]) == set(SETUPS) and (table[table["setup"] == "logistic, vmap"]["over_vmap"] == 1).all()
