"""lr_meta.logistic: the JAX loss against the NumPy witness, the curvature bound, the optimum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import logistic


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def one_draw(samples=60, features=8):
    x, y = logistic.draw(3, 1, samples, features, 20.0, stream=0)
    return x[0], y[0]


def test_draws_are_seeded_split_and_labelled():
    a, b = logistic.draw(0, 2, 50, 5, 10.0, stream=0), logistic.draw(0, 2, 50, 5, 10.0, stream=0)
    held_out = logistic.draw(0, 2, 50, 5, 10.0, stream=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0], held_out[0])
    assert a[0].shape == (2, 50, 5) and set(np.unique(a[1])) == {-1.0, 1.0}
    # Feature variances spread over [1/condition, 1]: sample variances of 20k rows.
    x, _ = logistic.draw(0, 1, 20000, 3, 100.0, stream=0)
    np.testing.assert_allclose(x[0].var(axis=0), [1.0, 0.1, 0.01], rtol=0.05)


@pytest.mark.slow
def test_loss_and_gradient_match_numpy():
    x, y = one_draw()
    for w in np.random.default_rng(0).normal(0.0, 3.0, (4, 8)):
        value, grad = logistic.numpy_loss_grad(w, x, y, 1e-2)
        data = (jnp.asarray(x), jnp.asarray(y), 1e-2)
        np.testing.assert_allclose(logistic.loss(jnp.asarray(w), data), value, rtol=1e-14)
        np.testing.assert_allclose(jax.grad(logistic.loss)(jnp.asarray(w), data), grad, rtol=1e-12, atol=1e-15)


@pytest.mark.slow
def test_hessian_is_largest_at_zero():
    x, y = one_draw()
    _, top = logistic.curvature_at_zero(x, 1e-2)
    data = (jnp.asarray(x), jnp.asarray(y), 1e-2)
    hess = jax.hessian(logistic.loss)
    np.testing.assert_allclose(np.linalg.eigvalsh(hess(jnp.zeros(8), data))[-1], top, rtol=1e-12)
    for w in np.random.default_rng(1).normal(0.0, 2.0, (5, 8)):
        assert np.linalg.eigvalsh(hess(jnp.asarray(w), data))[-1] <= top * (1 + 1e-12)


def test_optimum_is_the_minimum():
    x, y = one_draw()
    best = logistic.optimum(x, y, 1e-2)
    # Plain GD at a safe step for many steps ends at the same value, never below it.
    w, step = np.zeros(8), 1.0 / logistic.curvature_at_zero(x, 1e-2)[1]
    for _ in range(20000):
        w = w - step * logistic.numpy_loss_grad(w, x, y, 1e-2)[1]
    value = logistic.numpy_loss_grad(w, x, y, 1e-2)[0]
    assert best <= value + 1e-15 and value - best < 1e-12
