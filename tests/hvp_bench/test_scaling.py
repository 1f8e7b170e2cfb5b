"""Fits on run tables: ratios, comparisons, per-method slopes and memory slopes."""

import numpy as np
import pandas as pd
import pytest

from hvp_bench import scaling
from hvp_bench.config import FLOOR_METHOD
from hvp_bench.rundir import summarize_runs
from tests.helpers.synthetic_runs import DEPTHS, synthetic_rows


def test_ratios_and_comparison_from_planted_times(tmp_path):
    exps = {"gradient": 1.0, "hvp_fwd_rev": 1.0, "hessian_then_hvp": 2.0}
    rows = pd.DataFrame(synthetic_rows([(d, 4) for d in (50, 100, 200)], exps, dict.fromkeys(exps, 0), sigma=0))
    rows.loc[rows["method"] == "hvp_fwd_rev", "time_s"] *= 2.5
    ratios = scaling.gradient_ratios(rows)
    np.testing.assert_allclose(ratios["hvp_fwd_rev"], 2.5)
    np.testing.assert_allclose(ratios["hessian_then_hvp"], [50, 100, 200])  # 1e-6 n^2 / 1e-6 n
    faster = rows.assign(time_s=rows["time_s"] / 4)
    cmp = scaling.compare_runs(rows, faster[faster["depth"] != 200])
    assert len(cmp) == 6  # matched points only
    np.testing.assert_allclose(cmp["speedup"], 4.0)


def test_fit_time_slopes_upper_half_and_memory():
    exps = {"gradient": 1.0, "naive_hvp": 2.0}
    rows = pd.DataFrame(synthetic_rows([(int(d), 4) for d in DEPTHS], exps, dict.fromkeys(exps, 0), runs=5, sigma=0.02))
    # A floor of 1 ms under the gradient: the all-points slope flattens, the upper half less.
    rows.loc[rows["method"] == "gradient", "time_s"] += 1e-3
    fits = scaling.fit_time_slopes(rows, n_boot=200).set_index("method")
    assert fits.loc["naive_hvp", "slope"] == pytest.approx(2.0, abs=0.03)
    assert fits.loc["gradient", "slope"] < fits.loc["gradient", "upper_slope"] < 1.0
    assert np.isnan(fits.loc["gradient", "floor_slope"])  # no floor measured in this run
    assert fits.loc["naive_hvp", "pred_arithmetic"] == 2 and fits.loc["naive_hvp", "pred_overhead"] == 0
    mem = scaling.fit_memory_slopes(summarize_runs(rows)).set_index("method")
    assert mem.loc["naive_hvp", "compiled_bytes_slope"] == pytest.approx(2.0, abs=0.01)
    assert mem.loc["gradient", "predicted_bytes_upper"] == pytest.approx(1.0, abs=0.01)


def test_floor_and_marginal_costs_from_planted_times():
    exps = {"gradient": 1.0, "hvp_fwd_rev": 1.0, FLOOR_METHOD: 0.0}
    rows = pd.DataFrame(synthetic_rows([(int(d), 4) for d in DEPTHS], exps, dict.fromkeys(exps, 0), runs=5,
                                       sigma=0.01))
    # t = floor + per-layer work: a 1 ms floor under both; the HVP's layers cost 3 gradients'.
    floor = rows["method"] == FLOOR_METHOD
    rows.loc[floor, "time_s"] = 1e-3
    rows.loc[rows["method"] == "gradient", "time_s"] += 1e-3
    hvp = rows["method"] == "hvp_fwd_rev"
    rows.loc[hvp, "time_s"] = 3 * rows.loc[hvp, "time_s"] + 1e-3
    fits = scaling.fit_time_slopes(rows, n_boot=300).set_index("method")
    assert fits.loc["gradient", "hi"] < 0.9  # the floor flattens the plain slope ...
    assert fits.loc["gradient", "floor_lo"] <= 1.0 <= fits.loc["gradient", "floor_hi"]  # ... not this one
    marginal = scaling.marginal_costs(rows, n_boot=300).set_index("method")
    assert marginal.loc["gradient", "per_layer_s"] == pytest.approx(1e-6, rel=0.02)
    assert marginal.loc["hvp_fwd_rev", "ratio_lo"] <= 3.0 <= marginal.loc["hvp_fwd_rev", "ratio_hi"]
    assert abs(marginal.loc[FLOOR_METHOD, "per_layer_s"]) < 1e-8
    raw = scaling.gradient_ratios(rows)
    above = scaling.gradient_ratios(rows, above_floor=True)
    assert raw["hvp_fwd_rev"].iloc[0] < 2.5  # at 50 layers the floor drags the ratio towards 1
    np.testing.assert_allclose(above["hvp_fwd_rev"], 3.0, rtol=0.05)
