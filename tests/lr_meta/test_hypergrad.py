"""lr_meta.hypergrad: reverse mode, forward mode and finite differences vs the closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.helpers.finite_differences import finite_difference
from lr_meta import closed_form, hypergrad
from lr_meta.problem import draw_alpha0, draw_x0, unrolled_loss, unrolled_loss_scan


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def cases():
    x0 = draw_x0(5, 40)
    start = draw_alpha0(5, 10)
    beyond = np.random.default_rng(5).uniform(0.0, 1.8, 10)
    on_set = start.copy()
    on_set[0] = 1.0
    return x0, {"start": start, "beyond": beyond, "on_set": on_set, "zero": np.zeros(10)}


@pytest.mark.parametrize("mode", sorted(hypergrad.MODES))
@pytest.mark.parametrize("loss", [unrolled_loss, unrolled_loss_scan], ids=["loop", "scan"])
def test_ad_modes_match_the_closed_form(mode, loss):
    x0, points = cases()
    value_and_grad = jax.jit(hypergrad.MODES[mode](loss))
    for name, alpha in points.items():
        value, grad = value_and_grad(jnp.asarray(alpha), jnp.asarray(x0))
        # Same float64 products in another order: agreement to a few ulps of the scale.
        scale = np.abs(closed_form.grad(alpha, x0)).max() + 1e-300
        np.testing.assert_allclose(value, closed_form.loss(alpha, x0), rtol=1e-13, atol=1e-300, err_msg=name)
        np.testing.assert_allclose(grad, closed_form.grad(alpha, x0), rtol=1e-12, atol=1e-13 * scale, err_msg=name)


def test_finite_differences_match_the_closed_form():
    x0, points = cases()
    for name, alpha in points.items():
        fd = finite_difference(unrolled_loss, alpha, jnp.asarray(x0))
        want = closed_form.grad(alpha, x0)
        # h = 1e-5: truncation h²·L''' and rounding ε·L/h are both below 1e-8 of the scale.
        np.testing.assert_allclose(fd, want, rtol=1e-7, atol=1e-8 * (np.abs(want).max() + 1), err_msg=name)


@pytest.mark.slow
def test_reverse_and_forward_agree_with_each_other_at_the_task_size():
    x0, alpha = jnp.asarray(draw_x0(0, 1000)), jnp.asarray(draw_alpha0(0, 10))
    rev = jax.jit(hypergrad.reverse(unrolled_loss))(alpha, x0)
    fwd = jax.jit(hypergrad.forward(unrolled_loss))(alpha, x0)
    np.testing.assert_allclose(rev[0], fwd[0], rtol=1e-14)
    np.testing.assert_allclose(rev[1], fwd[1], rtol=1e-13)


def test_hessian_matches_the_closed_form():
    x0, points = cases()
    hess = jax.jit(hypergrad.hessian(unrolled_loss))
    for name, alpha in points.items():
        want = closed_form.hessian(alpha, x0)
        got = np.asarray(hess(jnp.asarray(alpha), jnp.asarray(x0)))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13 * np.abs(want).max(), err_msg=name)
