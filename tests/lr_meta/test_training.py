"""lr_meta.training: the objective against NumPy GD, grids, Adam tuning, hypergradient norms."""

import jax
import numpy as np
import pytest

from expkit.config import load_config
from lr_meta import logistic, schedule, training
from lr_meta.config import TrainingConfig


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


@pytest.fixture(scope="module")
def draws():
    cfg = load_config(TrainingConfig, None, ["features=6", "samples=40", "train_draws=3", "test_draws=4",
                                             "horizons=[12]", "meta_steps=40", "grid_points=6"])
    with jax.enable_x64(True):
        return cfg, training.make_draws(cfg, 0, 3), training.make_draws(cfg, 1, 4)


def numpy_objective(theta, draws, horizon):
    """log(f(w_T) − f* + FLOOR·f*) per draw by NumPy GD: shares no code with the JAX path."""
    x, y, l2 = draws.data
    out = []
    for xi, yi, li, best in zip(x, y, l2, draws.optimum):
        w = np.zeros(x.shape[2])
        for a in schedule.alphas(theta, horizon):
            w = w - a * logistic.numpy_loss_grad(w, xi, yi, li)[1]
        out.append(np.log(max(logistic.numpy_loss_grad(w, xi, yi, li)[0] - best, 0) + training.FLOOR * best))
    return np.array(out)


def test_evaluate_matches_numpy_gradient_descent(draws):
    _, train, _ = draws
    theta = np.log(1.0 / train.curvature[1]) + np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(training.evaluate(theta, train, 12), numpy_objective(theta, train, 12), rtol=1e-9)
    assert train.curvature[0] < train.curvature[1]
    assert np.all(train.optimum > 0)


def test_grid_search_picks_the_lowest_mean(draws):
    _, train, _ = draws
    thetas = [schedule.constant(m / train.curvature[1], 1) for m in (0.1, 1.0, 1.9, 60.0)]
    means = [numpy_objective(t, train, 12).mean() for t in thetas]
    assert training.grid_search(thetas, train, 12) == int(np.nanargmin(means))


@pytest.mark.slow
def test_tuning_lowers_the_objective_and_keeps_the_best(draws):
    _, train, _ = draws
    start = schedule.constant(1.0 / train.curvature[1], 3)
    for method in ("forward", "checkpointed", "reverse"):
        tuned = training.tune(start, train, 12, method, steps=40, lr=0.05)
        before, after = numpy_objective(start, train, 12).mean(), numpy_objective(tuned["theta"], train, 12).mean()
        assert after < before - 0.5, method  # a factor e^0.5 in geometric-mean suboptimality at least
        assert tuned["start_loss"] == pytest.approx(before, rel=1e-9)


@pytest.mark.slow
def test_compare_yields_every_schedule(draws):
    cfg, train, test = draws
    rows = list(training.compare(cfg, train, test, 12))
    names = [r["schedule"] for r in rows]
    assert names[:3] == ["constant (grid)", "decaying a0/sqrt(k+1) (grid)", "Chebyshev on H(0)"]
    assert len(rows) == 5 and all(set(r) == set(training.RESULT_COLUMNS) for r in rows)
    constant = rows[0]
    assert constant["test_win_fraction"] == 0.0 and constant["knots"] == 1
    # Tuned schedules start at the best constant and keep the best training objective seen.
    for row in rows[3:]:
        assert row["train_objective"] <= constant["train_objective"] + 1e-12


@pytest.mark.slow
def test_hypergradient_norm_decays_when_converging_and_grows_when_chaotic(draws):
    _, train, _ = draws
    lip = train.curvature[1]
    calm = [training.hypergrad_norm(train, t, 1.0 / lip)["grad_norm"] for t in (10, 60)]
    assert calm[1] < calm[0]
    wild = [training.hypergrad_norm(train, t, 40.0 / lip) for t in (10, 60)]
    assert wild[1]["grad_norm"] > 1e3 * wild[0]["grad_norm"] or not wild[1]["finite"]
