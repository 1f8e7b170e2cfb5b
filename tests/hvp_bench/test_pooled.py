"""hvp_bench.pooled: README's per-layer table pooled over runs, on synthetic rounds of known per-layer cost."""

import numpy as np
import pandas as pd
import pytest

from hvp_bench.pooled import between_run_share, main, pooled_per_layer
from tests.helpers.synthetic_runs import paired_rounds

COSTS = {("scan", "gradient"): 2e-7, ("scan", "hvp_fwd_rev"): 5e-7}


def runs_with(factors: list[float], noise: float = 0.0, repeats: int = 4) -> dict[str, pd.DataFrame]:
    """One run per factor: the HVP's per-layer cost times that factor (a drift between runs), each with its own noise."""
    return {f"run{i}": paired_rounds({**COSTS, ("scan", "hvp_fwd_rev"): 5e-7 * f}, repeats=repeats, noise=noise,
                                     seed=i)
            for i, f in enumerate(factors)}


def test_without_noise_every_run_gives_the_per_layer_cost_and_the_interval_is_a_point():
    row = pooled_per_layer(runs_with([1, 1, 1])).iloc[0]
    assert (row.variant, row.method, row.runs, row.repeats) == ("scan", "hvp_fwd_rev", 3, 12)
    assert [row.ratio, row.lo, row.hi, row.run_min, row.run_max] == pytest.approx([2.5] * 5)
    assert np.isnan(row.between_runs)  # no spread at all: no share to give


def test_runs_that_drift_apart_widen_the_interval_to_their_range_and_show_as_between_run_spread():
    drifting = pooled_per_layer(runs_with([0.8, 1.0, 1.25], noise=0.02)).iloc[0]
    steady = pooled_per_layer(runs_with([1.0, 1.0, 1.0], noise=0.02)).iloc[0]
    assert drifting.run_min == pytest.approx(2.0, rel=0.03) and drifting.run_max == pytest.approx(3.125, rel=0.03)
    # Resampling runs: an interval over runs reaches towards the outer runs, which repeats alone would not.
    assert drifting.lo < 2.2 and drifting.hi > 2.9
    assert drifting.between_runs > 0.9
    assert steady.lo <= 2.5 <= steady.hi and (steady.hi - steady.lo) / 2.5 < 0.1
    assert steady.between_runs < 0.5


def test_between_run_share_against_closed_forms():
    assert between_run_share([np.array([0.0, 2.0]), np.array([0.0, 2.0])]) == 0.0  # equal means
    assert between_run_share([np.array([1.0, 1.0]), np.array([3.0, 3.0])]) == 1.0  # no spread within
    # Means 0 and 4, within variance 2 (n = 2 each): MSB = 16, σ²_between = (16 - 2) / 2 = 7, share 7 / 9.
    assert between_run_share([np.array([-1.0, 1.0]), np.array([3.0, 5.0])]) == pytest.approx(7 / 9)
    assert np.isnan(between_run_share([np.array([1.0, 2.0])]))


def test_a_directory_without_runs_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run" in err
    assert main([]) == 2
