"""Fits on run tables: ratios, comparisons, per-method slopes and memory slopes."""

import numpy as np
import pandas as pd
import pytest

from hvp_bench import scaling
from hvp_bench.rundir import summarize_runs
from synthetic_runs import DEPTHS, synthetic_rows


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
    assert fits.loc["gradient", "floor_k"] == pytest.approx(1.0, abs=0.1)
    assert fits.loc["naive_hvp", "pred_arithmetic"] == 2 and fits.loc["naive_hvp", "pred_overhead"] == 0
    mem = scaling.fit_memory_slopes(summarize_runs(rows)).set_index("method")
    assert mem.loc["naive_hvp", "compiled_bytes_slope"] == pytest.approx(2.0, abs=0.01)
    assert mem.loc["gradient", "predicted_bytes_upper"] == pytest.approx(1.0, abs=0.01)
