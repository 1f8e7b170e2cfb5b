"""curvature.trained_study: every estimator on a tiny trained classifier against its dense answer."""

import jax
import numpy as np
import pandas as pd
import pytest

from curvature.digits import load_split
from curvature.trained_config import TrainedConfig
from curvature.trained_study import Setup, diag_rows, exact, lanczos_rows, slq_measures, trace_rows
from curvature.trained_summary import density_numbers, trace_interval
from curvature.training import train

# P = 610: every dense check takes well under a second.
CONFIG = TrainedConfig(train_images=60, test_images=30, hidden=(8,), steps=60, checkpoints=(0, 60),
                       checkpoint_names=("init", "trained"), log_points=5, sharpness_lanczos_steps=8,
                       lanczos_steps=80, trace_hvps=60, trace_reps=6, diag_hvps=60, diag_reps=2,
                       slq_probes=4, slq_steps=40, deflate=8)


@pytest.fixture(scope="module")
def trained():
    with jax.enable_x64(True):
        split = load_split(CONFIG.train_images, CONFIG.test_images, CONFIG.seed)
        _, saved = train(CONFIG, split)
        setup = Setup(CONFIG, split)
        answers = {m: exact(setup, saved["trained"], 1, m) for m in CONFIG.matrices}
    return setup, saved["trained"], answers


@pytest.fixture(autouse=True)
def _x64(x64):
    pass


@pytest.mark.parametrize("matrix", ["hessian", "ggn"])
def test_the_dense_answer_is_symmetric_and_equals_single_products(trained, matrix):
    _, _, answers = trained
    arrays, facts = answers[matrix]
    assert facts["params"] == CONFIG.params == 610
    assert facts["max_asymmetry"] < 1e-14 and facts["dense_vs_single_product"] < 1e-12
    assert facts["trace"] == pytest.approx(arrays["eigenvalue"].sum(), rel=1e-12)
    assert facts["trace"] == pytest.approx(arrays["diagonal"].sum(), rel=1e-12)
    if matrix == "ggn":
        assert arrays["eigenvalue"][0] > -1e-12 * arrays["eigenvalue"][-1]  # positive semi-definite


@pytest.mark.parametrize("matrix", ["hessian", "ggn"])
def test_lanczos_finds_the_top_eigenvalues(trained, matrix):
    setup, params, answers = trained
    rows = pd.DataFrame(lanczos_rows(setup, params, 1, "trained", matrix, answers[matrix][0]["eigenvalue"]))
    top = rows[rows["which"] == "top"]
    assert len(top) == CONFIG.top_k and top["rel_error"].max() < 1e-10
    assert (top["residual"] < 1e-8 * top["value"].abs().max()).all()


@pytest.mark.parametrize("estimator", ["hutchpp", "xtrace"])
def test_trace_intervals_contain_the_trace(trained, estimator):
    setup, params, answers = trained
    truth = answers["hessian"][1]["trace"]
    rows = pd.DataFrame(trace_rows(setup, params, 1, "trained", "hessian", estimator, truth))
    assert len(rows) == CONFIG.trace_reps and rows["rep"].is_unique
    mean, lo, hi = trace_interval(rows["estimate"].to_numpy(), 0.99)
    assert lo <= truth <= hi and (hi - lo) / 2 < 0.2 * abs(truth)
    assert (rows["own_sem"] > 0).all()  # each estimate's own standard error (secondorder.trace)


def test_diagonal_estimates_are_rows_of_finite_errors(trained):
    setup, params, answers = trained
    for estimator in CONFIG.diag_estimators:
        rows = pd.DataFrame(diag_rows(setup, params, 1, "trained", "ggn", estimator, answers["ggn"][0]["diagonal"]))
        assert len(rows) == CONFIG.diag_reps and np.isfinite(rows["rel_error"]).all()
        assert rows["rel_error"].max() < 2.0


@pytest.mark.parametrize("matrix", ["hessian", "ggn"])
def test_slq_measures_sum_to_one_and_deflation_beats_the_baselines(trained, matrix):
    setup, params, answers = trained
    rows, facts = slq_measures(setup, params, 1, matrix)
    frame = pd.DataFrame(rows)
    for _, g in frame.groupby("method"):
        assert g["weight"].sum() == pytest.approx(1.0, rel=1e-12)
    assert facts["deflated"] >= 1  # some outliers were kept exactly (checked against eigvalsh below)
    ev = answers[matrix][0]["eigenvalue"]
    numbers = density_numbers(frame[frame["method"] == "deflated"], ev, CONFIG.negative_band, CONFIG.top_k)
    assert numbers["w1_over_best_baseline"] < 0.25
    assert numbers["outlier_mass_rel_error"] < 1e-12 and numbers["top_nodes_rel_error"] < 1e-10
