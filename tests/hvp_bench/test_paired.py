"""hvp_bench.paired.per_layer_over_own_gradient on synthetic rounds of known per-layer cost."""

import numpy as np
import pandas as pd
import pytest

from hvp_bench.paired import per_layer_over_own_gradient
from tests.helpers.synthetic_runs import paired_rounds as rounds

def test_without_noise_the_ratio_is_the_per_layer_costs_and_the_interval_a_point():
    runs = rounds({("scan", "gradient"): 2e-7, ("scan", "hvp_fwd_rev"): 5e-7, ("scan-k4", "gradient"): 1e-7,
                   ("scan-k4", "hvp_fwd_rev"): 8e-7})
    table = per_layer_over_own_gradient(runs).set_index(["variant", "method"])
    assert set(table.index) == {("scan", "hvp_fwd_rev"), ("scan-k4", "hvp_fwd_rev")}  # no gradient over itself
    assert table.loc[("scan", "hvp_fwd_rev"), ["ratio", "lo", "hi"]].to_numpy() == pytest.approx([2.5] * 3)
    assert table.loc[("scan-k4", "hvp_fwd_rev"), "ratio"] == pytest.approx(8 / 4)  # per vector of the block
    assert table.loc[("scan", "hvp_fwd_rev"), "repeats"] == 3


@pytest.mark.parametrize("noise, width", [(0.02, 0.1), (0.2, 1.0)])
def test_the_interval_holds_the_true_ratio_and_widens_with_the_noise(noise, width):
    runs = rounds({("scan", "gradient"): 2e-7, ("scan", "hvp_fwd_rev"): 5e-7}, noise=noise)
    row = per_layer_over_own_gradient(runs).iloc[0]
    assert row.lo <= 2.5 <= row.hi
    assert (row.hi - row.lo) / 2.5 < width
    assert row.rep_min <= row.ratio <= row.rep_max
