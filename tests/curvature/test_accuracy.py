"""The density-accuracy study's pieces: the error measures against closed forms, the targets read off a
grid, Papyan's matrices as curvlinops writes them, and a tiny run through the study driver (every cell
measured once, SLQ inside its a-priori bound, the two precisions on the same probes)."""

import numpy as np
import pandas as pd
import pytest

from curvature.accuracy_config import AccuracyConfig
from curvature.accuracy_matrices import build
from curvature.accuracy_study import AccuracyStudy, errors
from curvature.accuracy_summary import TARGETS, targets
from expkit.study import run_study
from tests.helpers.tiny_configs import DENSITY


def test_errors_are_zero_on_the_exact_measure_and_a_shift_on_a_shifted_one():
    spectrum = np.sort(np.random.default_rng(0).normal(size=200))
    spread = spectrum[-1] - spectrum[0]
    uniform = np.full(200, 1 / 200)
    exact = errors(spectrum, uniform, spectrum, 3, 1e-4)
    assert exact["w1"] == pytest.approx(0, abs=1e-15) and exact["ks"] == 0 and exact["top_error"] == 0
    assert exact["negative_mass_error"] == pytest.approx(0, abs=1e-15)
    shifted = errors(spectrum + 0.01 * spread, uniform, spectrum, 3, 0.0)
    assert shifted["w1"] == pytest.approx(0.01, rel=1e-12) and shifted["top_error"] == pytest.approx(0.01, rel=1e-9)
    # A point mass at the mean: W1 is the mean absolute deviation; every top quantile is the mean.
    mass = errors(np.array([spectrum.mean()]), np.array([1.0]), spectrum, 1, 0.0)
    assert mass["w1"] * spread == pytest.approx(np.mean(np.abs(spectrum - spectrum.mean())), rel=1e-12)
    assert mass["top_error"] * spread == pytest.approx(spectrum[-1] - spectrum.mean(), rel=1e-12)
    assert mass["negative_mass_error"] == pytest.approx(float(spectrum.mean() < 0) - np.mean(spectrum < 0))


def test_targets_are_the_fewest_products_whose_median_meets_them():
    matrices = pd.DataFrame({"matrix": ["m"], "size": [100], "spectral_range": [1.0], "point_mass_w1": [0.2],
                             "gaussian_w1": [0.5]})
    cells = pd.DataFrame({"matrix": "m", "dtype": "float64", "estimator": "slq", "hvps": [10, 40, 20, 80],
                          "probes": [1, 4, 2, 8], "steps": 10,
                          "w1": [0.05, 0.015, 0.019, 0.0015], "ks": [0.5, 0.2, 0.1, 0.009]})
    row = targets(cells, matrices, 0.05).iloc[0]
    assert row["baseline_w1"] == 0.2
    assert row["w1_baseline_10"] == 20 and row["w1_baseline_10_split"] == "2x10"
    assert row["w1_baseline_100"] == 80 and row["ks_1e-2"] == 80
    assert np.isnan(row["w1_range_1e-3"]) and set(TARGETS) <= set(row.index)
    assert row["w1_baseline_10_prior"] > 1e5  # the theorem asks for far more than the grid holds


def test_papyans_matrices_are_curvlinops_formulas():
    spiked, _ = build("spiked_wishart", trained_run="", task_run="", spiked_dim=50, pareto_dim=20, synthetic_seed=3)
    z = np.random.default_rng(3).standard_normal((50, 50))
    np.testing.assert_allclose(spiked, z @ z.T / 50 + np.diag([5, 4, 3] + [0] * 47), rtol=1e-14)
    pareto, _ = build("pareto", trained_run="", task_run="", spiked_dim=50, pareto_dim=20, synthetic_seed=3)
    z = np.random.default_rng(3).pareto(1.0, (20, 40))
    np.testing.assert_allclose(pareto, z @ z.T / 40, rtol=1e-14)


@pytest.mark.slow
def test_a_tiny_run_measures_every_cell_once(tmp_path):
    import tomllib

    config = AccuracyConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in tomllib.loads(DENSITY).items()})
    assert run_study(AccuracyStudy(config), config, tmp_path / "out", progress=False) == 0
    rows = pd.read_csv(tmp_path / "out" / "errors.csv")
    cells = 2 * 2 * 1 * 3 * (2 + 1) * 2  # matrices x dtypes x seeds x estimators x (replicates of 1 and 2 probes) x steps
    assert len(rows) == cells and not rows.duplicated(["matrix", "dtype", "estimator", "probes", "group", "steps"]).any()
    assert (rows["w1"] > 0).all() and (rows["w1"] < 1).all()
    summary = pd.read_json(tmp_path / "out" / "summary.json", typ="series")
    assert summary["bounds"]["prior_exceeded"] == 0
    wide = rows[rows["estimator"] == "slq"].pivot_table(index=["matrix", "probes", "group", "steps"], columns="dtype",
                                                        values="w1")
    np.testing.assert_allclose(wide["float32"], wide["float64"], rtol=1e-3)  # the same probes, rounded
