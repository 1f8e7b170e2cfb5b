"""lr_meta.unroll: reverse, checkpointed and forward hypergradients against the closed form,
finite differences and each other (float64)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import closed_form, logistic, schedule, unroll
from lr_meta.horizon import sphere_objective
from lr_meta.problem import draw_alpha0, draw_x0


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def sphere_hypergrads(theta, x0, horizon):
    loss = functools.partial(unroll.final_loss, f=sphere_objective, horizon=horizon)
    return {m: jax.jit(unroll.value_and_hypergrad(m, loss))(jnp.asarray(theta), jnp.asarray(x0), ())
            for m in unroll.METHODS}


@pytest.mark.slow
def test_the_task_at_t10_against_the_closed_form():
    # Per-step θ = log α at the task's own start: ∂L/∂θ = α ⊙ ∂L/∂α, ∂L/∂α from closed_form.
    x0, alpha = draw_x0(0, 1000), draw_alpha0(0, 10)
    want_loss, want = closed_form.loss(alpha, x0), alpha * closed_form.grad(alpha, x0)
    for method, (value, grad) in sphere_hypergrads(np.log(alpha), x0, 10).items():
        np.testing.assert_allclose(value, want_loss, rtol=1e-13, err_msg=method)
        np.testing.assert_allclose(grad, want, rtol=1e-12, err_msg=method)


@pytest.mark.slow
@pytest.mark.parametrize("horizon, knots", [(37, 37), (37, 3), (1000, 4)])
def test_long_horizons_against_the_closed_form_and_each_other(horizon, knots):
    # 37 is no square (the last segment is padded); 1000: 32 segments of 32 steps.
    x0 = draw_x0(1, 200)
    theta = np.log(2.0 / horizon) + np.random.default_rng(horizon).normal(0.0, 0.3, knots)
    alpha = schedule.alphas(theta, horizon)
    want_loss = closed_form.loss(alpha, x0)
    want = schedule.basis(horizon, knots).T @ (alpha * -2.0 * want_loss / (1.0 - alpha))
    got = sphere_hypergrads(theta, x0, horizon)
    for method, (value, grad) in got.items():
        np.testing.assert_allclose(value, want_loss, rtol=1e-12, err_msg=method)
        np.testing.assert_allclose(grad, want, rtol=1e-10, atol=1e-12 * np.abs(want).max(), err_msg=method)
    np.testing.assert_allclose(got["checkpointed"][1], got["reverse"][1], rtol=1e-13)
    np.testing.assert_allclose(got["forward"][1], got["reverse"][1], rtol=1e-13)


@pytest.mark.slow
def test_logistic_hypergradient_against_finite_differences():
    x, y = logistic.draw(0, 2, 30, 6, 10.0, stream=0)
    data = (jnp.asarray(x), jnp.asarray(y), jnp.full(2, 1e-2))
    x0s = jnp.zeros((2, 6))
    horizon = 40
    loss = functools.partial(unroll.mean_final_loss, f=logistic.loss, horizon=horizon)
    theta = np.log(0.5) + np.random.default_rng(2).normal(0.0, 0.2, 3)
    got = {m: jax.jit(unroll.value_and_hypergrad(m, loss))(jnp.asarray(theta), x0s, data)[1]
           for m in unroll.METHODS}

    def numpy_loss(t):  # NumPy GD with the NumPy gradient: shares no code with the JAX path
        total = 0.0
        for xi, yi in zip(x, y):
            w = np.zeros(6)
            for a in schedule.alphas(t, horizon):
                w = w - a * logistic.numpy_loss_grad(w, xi, yi, 1e-2)[1]
            total += logistic.numpy_loss_grad(w, xi, yi, 1e-2)[0]
        return total / 2

    h = 1e-5
    fd = np.array([(numpy_loss(theta + h * e) - numpy_loss(theta - h * e)) / (2 * h) for e in np.eye(3)])
    for method, grad in got.items():
        np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-10, err_msg=method)
    np.testing.assert_allclose(got["checkpointed"], got["reverse"], rtol=1e-12)
    np.testing.assert_allclose(got["forward"], got["reverse"], rtol=1e-12)


@pytest.mark.slow
def test_checkpointed_loop_is_forward_differentiable():
    x0 = jnp.asarray(draw_x0(2, 50))
    theta = jnp.asarray(np.log(np.full(3, 0.01)))
    loss = functools.partial(unroll.final_loss, x0=x0, data=(), f=sphere_objective, horizon=50)
    plain = jax.jacfwd(functools.partial(loss, checkpointed=False))(theta)
    nested = jax.jacfwd(functools.partial(loss, checkpointed=True))(theta)
    np.testing.assert_allclose(nested, plain, rtol=1e-13)


def test_segment_length_and_unknown_method():
    assert [unroll.segment_length(t) for t in (1, 2, 4, 5, 10, 100, 10000)] == [1, 2, 2, 3, 4, 10, 100]
    with pytest.raises(ValueError, match="unknown hypergradient method"):
        unroll.value_and_hypergrad("sideways", lambda t: t)
