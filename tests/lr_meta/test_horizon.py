"""lr_meta.horizon: one measured point against the closed form; the summary's fits and goals."""

import jax
import numpy as np
import pandas as pd
import pytest

from expkit.config import load_config
from lr_meta import horizon
from lr_meta.config import HorizonConfig


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def config(**overrides):
    return load_config(HorizonConfig, None, [f"{k}={v}" for k, v in overrides.items()])


@pytest.mark.slow
def test_a_measured_point_matches_the_closed_form_and_stores_the_iterates():
    cfg = config(dim=200, horizons="[64]", repeats=2, warmup=1)
    rows = {m: horizon.measure(cfg, m, 64, 4) for m in ("reverse", "checkpointed", "forward")}
    for method, row in rows.items():
        assert row["loss_rel_err"] < 1e-13 and row["grad_rel_err"] < 1e-12, method
        assert len(row["times_s"].split()) == 2 and row["time_median_s"] > 0
    # Reverse mode keeps the 64 iterates of 200 float64s; 8 segments of 8 keep far fewer.
    assert rows["reverse"]["temp_bytes"] >= 64 * 200 * 8
    assert rows["checkpointed"]["temp_bytes"] < rows["reverse"]["temp_bytes"] / 2


def test_the_schedule_sums_to_about_total_step():
    cfg = config()
    for t in (10, 1000):
        alpha = np.exp(np.interp(np.arange(t), np.linspace(0, t - 1, 4), horizon.schedule_theta(cfg, t, 4)))
        assert 0.5 * cfg.total_step < alpha.sum() < 2 * cfg.total_step


def synthetic_frame(cfg):
    """Bytes ∝ T, √T and flat; times ∝ T with run-to-run noise; gradients that agree to 1e-12."""
    rows, rng = [], np.random.default_rng(0)
    for method, power in (("reverse", 1.0), ("checkpointed", 0.5), ("forward", 0.0)):
        for t in cfg.horizons:
            times = 1e-6 * t * (1 + 0.01 * rng.standard_normal(5))
            grad = np.array([1.0, 2.0]) * (1 + 1e-12 * power)
            rows.append({"method": method, "horizon": t, "knots": cfg.knots, "temp_bytes": 8000 * t**power,
                         "grad_rel_err": 1e-13, "times_s": " ".join(repr(float(t)) for t in times),
                         "time_median_s": np.median(times), "grad": " ".join(repr(float(g)) for g in grad)})
    return pd.DataFrame(rows)


def test_summary_fits_and_goals_on_synthetic_data():
    cfg = config(horizons="[10, 100, 1000, 10000]")
    summary = horizon.summarise(cfg, synthetic_frame(cfg))
    fits = summary["fits"]
    for method, want in (("reverse", 1.0), ("checkpointed", 0.5), ("forward", 0.0)):
        assert fits[method]["memory_temp"]["slope"] == pytest.approx(want, abs=1e-12)
        assert fits[method]["time"]["lo"] < 1.0 < fits[method]["time"]["hi"]
    goals = summary["goals"]
    assert goals["agree"] and goals["max_rel_diff_between_methods"] == pytest.approx(1e-12, rel=1e-3)
    assert goals["checkpointed_over_reverse_memory"] == pytest.approx(0.01)
    assert goals["checkpointed_memory_goal_met"] and goals["forward_memory_flat"]


def test_memory_fit_ci_is_the_student_t_interval_of_the_slope():
    from scipy import stats

    x = np.array([10.0, 30, 100, 300, 1000])
    y = 8000 * x ** 0.5 + 80000
    fit, ref = horizon.memory_fit(x, y), stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf(0.975, 3) * ref.stderr
    assert fit["slope"] == pytest.approx(ref.slope, rel=1e-12)
    assert (fit["lo"], fit["hi"]) == pytest.approx((ref.slope - half, ref.slope + half), rel=1e-10)
    assert np.isnan(horizon.memory_fit(np.array([10.0]), np.array([5.0]))["slope"])
