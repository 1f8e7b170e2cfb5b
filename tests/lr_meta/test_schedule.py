"""lr_meta.schedule: the in-loop α_k equals NumPy's interpolation; the basis is its Jacobian."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import schedule


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


@pytest.mark.slow
@pytest.mark.parametrize("horizon, knots", [(10, 1), (10, 2), (10, 4), (10, 10), (37, 5), (1000, 4)])
def test_alpha_at_matches_numpy_interpolation(horizon, knots):
    theta = np.random.default_rng(knots).normal(-3.0, 1.0, knots)
    want = schedule.alphas(theta, horizon)
    got = jax.vmap(lambda k: schedule.alpha_at(jnp.asarray(theta), k, horizon))(jnp.arange(horizon))
    np.testing.assert_allclose(got, want, rtol=1e-14)
    # The knots are hit exactly: α at the knot positions is exp(θ).
    positions = np.linspace(0, horizon - 1, knots)
    on_grid = np.isclose(positions, np.round(positions))
    np.testing.assert_allclose(want[np.round(positions[on_grid]).astype(int)], np.exp(theta[on_grid]), rtol=1e-14)


def test_special_cases():
    np.testing.assert_allclose(schedule.alphas(np.log([0.2]), 5), np.full(5, 0.2))  # K = 1: constant
    theta = np.log(np.arange(1.0, 8.0))
    np.testing.assert_allclose(schedule.alphas(theta, 7), np.arange(1.0, 8.0))  # K = T: per step
    np.testing.assert_allclose(schedule.alphas(np.log([1.0, 4.0]), 3), [1.0, 2.0, 4.0])  # K = 2: geometric
    np.testing.assert_allclose(schedule.constant(0.1, 3), np.log([0.1] * 3))


@pytest.mark.slow
def test_basis_is_the_jacobian_of_log_alpha():
    theta = np.random.default_rng(0).normal(-2.0, 0.5, 4)
    jac = jax.jacfwd(lambda t: jnp.log(jax.vmap(lambda k: schedule.alpha_at(t, k, 25))(jnp.arange(25))))(
        jnp.asarray(theta))
    np.testing.assert_allclose(jac, schedule.basis(25, 4), atol=1e-14)
    assert schedule.basis(6, 1).shape == (6, 1)
