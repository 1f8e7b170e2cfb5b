"""curvature.trace against dense matrices with known traces (float64).

The random estimators are checked by statistics that a wrong estimator cannot pass:
the mean of many independent estimates within 4 standard errors of the exact trace,
with a standard error far below the trace, and Hutchinson's mean squared error against
its closed form 2(‖A‖_F² − Σ A_ii²)/m. Seeds are fixed, so the outcome is too.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from curvature import trace
from secondorder.operator import dense_operator
from tests.helpers.curvature_matrices import low_rank, with_spectrum


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def estimates(name, matrix, m, reps, seed=0, chunk=100):
    """`reps` independent estimates, vectorised over keys `chunk` at a time.

    (XTrace vmapped over 200 or more keys ran for minutes on XLA:CPU where 100 keys take
    30 ms, so keys go in chunks.)
    """
    op_matrix = jnp.asarray(matrix)
    estimator = trace.ESTIMATORS[name]
    run = jax.jit(jax.vmap(lambda a, k: estimator(dense_operator(a), k, m), in_axes=(None, 0)))
    keys = jax.random.split(jax.random.PRNGKey(seed), reps).reshape(-1, min(chunk, reps), 2)
    return np.concatenate([np.asarray(run(op_matrix, k)) for k in keys])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hutchinson", "hutchpp", "xtrace"])
def test_unbiased_mean_of_many_estimates(name):
    a = with_spectrum(1.0 / np.arange(1, 121))  # PSD, trace = H_120 ≈ 5.37
    exact = np.trace(a)
    est = estimates(name, a, 24, 2000)
    se = est.std(ddof=1) / np.sqrt(len(est))
    assert se < 0.01 * exact  # precise enough that a bias of a few percent would show
    assert abs(est.mean() - exact) < 4 * se


@pytest.mark.slow
def test_hutchinson_mean_squared_error_is_the_closed_form():
    a = with_spectrum(np.linspace(-2.0, 3.0, 80), seed=1)
    m, reps = 12, 4000
    mse = np.mean((estimates("hutchinson", a, m, reps) - np.trace(a)) ** 2)
    predicted = trace.hutchinson_variance(a) / m
    # The sample MSE's relative standard error is about sqrt(2 / reps) ≈ 2%.
    assert mse == pytest.approx(predicted, rel=0.12)


def test_hutchinson_variance_closed_form_on_a_small_matrix():
    a = np.array([[2.0, 1.0], [1.0, -3.0]])
    # vᵀAv = 2 - 3 + 2 v1 v2: variance 4 over Rademacher v = 2 (‖A‖_F² − Σ A_ii²) = 2 (15 − 13).
    assert trace.hutchinson_variance(a) == pytest.approx(4.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hutchpp", "xtrace"])
def test_exact_when_the_sketch_holds_the_range(name):
    a = low_rank(150, 8, seed=2)
    est = estimates(name, a, 30, 5)  # Hutch++ sketches 10 columns, XTrace 15: both >= rank 8
    np.testing.assert_allclose(est, np.trace(a), rtol=0, atol=1e-10 * np.abs(a).sum())


@pytest.mark.slow
def test_hutchpp_beats_hutchinson_on_a_decaying_spectrum():
    a = with_spectrum(1.0 / np.arange(1, 301) ** 2, seed=3)
    exact = np.trace(a)
    rmse = {n: np.sqrt(np.mean((estimates(n, a, 60, 400) - exact) ** 2)) for n in ("hutchinson", "hutchpp")}
    assert rmse["hutchpp"] < rmse["hutchinson"] / 10


@pytest.mark.slow
def test_a_float32_operator_gives_a_float32_estimate():
    a = jnp.asarray(with_spectrum(np.linspace(1.0, 2.0, 50)), jnp.float32)
    out = jax.jit(lambda a, k: trace.hutchpp(dense_operator(a), k, 12))(a, jax.random.PRNGKey(0))
    assert out.dtype == jnp.float32


def test_every_named_route_and_estimator_has_its_implementation():
    from curvature import config, cost, diagonal

    assert tuple(trace.ESTIMATORS) == config.TRACE_ESTIMATORS and tuple(diagonal.ESTIMATORS) == config.DIAG_ESTIMATORS
    assert (*cost.MATRIX_FREE, *cost.DENSE_ROUTES) == config.COST_ROUTES
