"""Fits on run tables: ratios, comparisons, per-method slopes and memory slopes."""

import numpy as np
import pandas as pd
import pytest

from expkit.fits import bootstrap_linear_slope
from hvp_bench import scaling
from hvp_bench.config import FLOOR_METHOD
from hvp_bench.rundir import summarize_runs
from tests.helpers.synthetic_runs import DEPTHS, repeated_rows, synthetic_rows


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


DEPTHS_8 = np.linspace(50, 1000, 8).astype(int)  # 50 185 321 457 592 728 864 1000


def test_marginal_costs_over_drifting_repeats_with_dead_depths():
    # Six repeats whose machine state scales every per-layer cost by a shared factor;
    # the HVP's layers cost three gradients'; results dead from 660 layers on.
    rows = pd.DataFrame(repeated_rows(DEPTHS_8, {"gradient": 2e-7, "hvp_fwd_rev": 6e-7}, dead_from=660))
    marginal = scaling.marginal_costs(rows, n_boot=400).set_index("method")
    grad, hvp = marginal.loc["gradient"], marginal.loc["hvp_fwd_rev"]
    assert grad["status"] == "ok" and grad["points"] == 8 and grad["repeats"] == 6
    assert grad["per_layer_lo"] <= 2e-7 <= grad["per_layer_hi"]
    assert grad["rep_max_s"] / grad["rep_min_s"] > 1.2  # the drift between repeats (noise alone: ~1.02)
    # ... and in the CI, where one repeat's bootstrap over its runs sees noise only.
    one, _ = bootstrap_linear_slope(scaling.method_groups(rows[rows["repeat"] == 0])["gradient"], n_boot=400)
    assert grad["per_layer_hi"] - grad["per_layer_lo"] > 3 * (one.hi - one.lo)  # found 3.5x
    # Paired by repeat and round: the shared drift cancels in the ratio.
    assert 2.85 < hvp["ratio_lo"] <= 3.0 <= hvp["ratio_hi"] < 3.15 and hvp["ratio_status"] == "ok"
    assert hvp["ratio_rep_min"] == pytest.approx(3.0, rel=0.03) and hvp["ratio_rep_max"] == pytest.approx(3.0, rel=0.03)
    assert grad["dead_depths"] == 3 and grad["first_dead"] == 728
    ranges = scaling.ratio_by_repeat(rows).set_index(["depth", "method"])
    assert ranges.loc[(1000, "hvp_fwd_rev"), "repeats"] == 6 and ranges.loc[(1000, "hvp_fwd_rev"), "dead"]
    assert not ranges.loc[(592, "hvp_fwd_rev"), "dead"]
    assert ranges["lo"].le(ranges["ratio"]).all() and ranges["ratio"].le(ranges["hi"]).all()
    wide = scaling.gradient_ratios(rows)
    np.testing.assert_allclose(wide["hvp_fwd_rev"], ranges.xs("hvp_fwd_rev", level="method")["ratio"])
    assert list(scaling.dead_points(rows)["gradient"]) == [False] * 5 + [True] * 3


def test_a_kinked_sweep_and_a_short_one_are_flagged():
    kinked = pd.DataFrame(repeated_rows(DEPTHS_8, {"gradient": 2e-7}, kink=0.2))
    fit = scaling.marginal_costs(kinked, n_boot=300).set_index("method").loc["gradient"]
    assert fit["status"] == "segments disagree"
    assert fit["upper_s"] < 0.3 * fit["lower_s"]  # 2e-7 a layer below the middle, a fifth above
    short = pd.DataFrame(repeated_rows([50, 525, 1000], {"gradient": 2e-7}))
    assert scaling.marginal_costs(short, n_boot=100).loc[0, "status"] == "too few depths"
    # No repeat column: one repeat, and the least-squares exponents get a robust twin.
    single = short[short["repeat"] == 0].drop(columns="repeat")
    fits = scaling.fit_time_slopes(single, n_boot=100).set_index("method")
    assert fits.loc["gradient", "robust_repeats"] == 1 and "too few depths" in fits.loc["gradient", "robust_status"]


def test_compare_runs_marks_points_dead_in_either_run():
    a = pd.DataFrame(repeated_rows([50, 1000], {"gradient": 2e-7}, repeats=1, dead_from=660))
    b = a.assign(time_s=a["time_s"] / 2, nonzero=True)
    cmp = scaling.compare_runs(a, b).set_index("depth")
    assert list(cmp["dead"]) == [False, True] and np.allclose(cmp["speedup"], 2.0)
