"""lr_meta.problem: the unrolled loss against the closed form; loop, scan, checkpoint agree."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import closed_form
from lr_meta.problem import (
    draw_alpha0, draw_x0, sphere, unrolled_loss, unrolled_loss_scan, unrolled_values,
)


@pytest.fixture(autouse=True)
def _x64():
    # A context, not the global flag: hvp_bench's tests share this process.
    with jax.enable_x64(True):
        yield


def points(dim=30, horizon=10):
    """The task's start, a point beyond α = 1, one on the minimiser set, α = 0."""
    x0 = draw_x0(3, dim)
    start = draw_alpha0(3, horizon)
    beyond = np.random.default_rng(1).uniform(0.0, 1.8, horizon)
    on_set = start.copy()
    on_set[2] = 1.0
    return x0, [start, beyond, on_set, np.zeros(horizon)]


def test_draws_are_seeded_and_in_range():
    x0, x0_again, fresh = draw_x0(0, 1000), draw_x0(0, 1000), draw_x0(0, 1000, draw=1)
    np.testing.assert_array_equal(x0, x0_again)
    assert not np.array_equal(x0, fresh)
    assert x0.dtype == np.float64 and 0 <= x0.min() and x0.max() < 1
    assert abs(x0.mean() - 0.5) < 0.03  # mean of U[0,1], sd of the mean ≈ 0.009
    alpha = draw_alpha0(0, 10)
    assert alpha.shape == (10,) and 0 <= alpha.min() and alpha.max() < 0.1


def test_unrolled_loss_equals_closed_form():
    x0, alphas = points()
    got = jax.jit(jax.vmap(unrolled_loss, in_axes=(0, None)))(jnp.asarray(np.stack(alphas)), jnp.asarray(x0))
    want = [closed_form.loss(alpha, x0) for alpha in alphas]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)
    assert want[2] == 0.0 and float(got[2]) == 0.0  # on the minimiser set, exactly
    # α = 0 leaves x0 alone: L = f(x0).
    assert float(unrolled_loss(jnp.zeros(10), jnp.asarray(x0))) == pytest.approx(0.5 * x0 @ x0, rel=1e-15)


def test_one_step_of_size_one_lands_on_the_minimiser():
    x0 = jnp.asarray(draw_x0(0, 30))
    assert float(unrolled_loss(jnp.array([1.0]), x0)) == 0.0
    assert float(unrolled_loss(jnp.array([0.5, 0.5]), x0)) == pytest.approx(float(sphere(x0)) / 16, rel=1e-15)


def batched_value_and_grad(loss):
    """Jitted and vmapped over α: one compile per variant instead of op-by-op dispatch."""
    return jax.jit(jax.vmap(jax.value_and_grad(loss), in_axes=(0, None)))


LOOP = batched_value_and_grad(unrolled_loss)  # compiled once, shared by the cases below


@pytest.mark.slow
@pytest.mark.parametrize("segments", [None, 2, 5, 10])
def test_scan_and_checkpointed_scan_agree_with_the_loop(segments):
    x0, alphas = points()
    alphas, x0 = jnp.asarray(np.stack(alphas)), jnp.asarray(x0)
    loop_value, loop_grad = LOOP(alphas, x0)
    scan_value, scan_grad = batched_value_and_grad(
        lambda a, x: unrolled_loss_scan(a, x, segments=segments))(alphas, x0)
    np.testing.assert_allclose(scan_value, loop_value, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(scan_grad, loop_grad, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(loop_grad, [closed_form.grad(a, x0) for a in alphas], rtol=1e-12, atol=1e-300)


def test_segments_must_divide_the_horizon():
    with pytest.raises(ValueError, match="divide"):
        unrolled_loss_scan(jnp.zeros(10), jnp.ones(3), segments=3)


@pytest.mark.slow
def test_checkpointing_cuts_stored_iterates():
    # Reverse mode through a plain scan keeps T iterates of dim float64s; 20 segments of
    # 20 steps keep about 20 + 20. Compiled temp memory shows it (CPU reports it too).
    horizon, dim = 400, 2000
    alpha, x0 = jnp.full(horizon, 1e-3), jnp.asarray(draw_x0(0, dim))
    iterates_bytes = horizon * dim * 8

    def temp_bytes(segments):
        grad = jax.jit(jax.grad(lambda a, x: unrolled_loss_scan(a, x, segments=segments)))
        return grad.lower(alpha, x0).compile().memory_analysis().temp_size_in_bytes

    plain, checkpointed = temp_bytes(None), temp_bytes(20)
    assert plain >= 0.9 * iterates_bytes
    assert checkpointed <= 0.15 * iterates_bytes


def test_unrolled_values_trace_the_descent():
    x0, alphas = points(horizon=6)
    alpha = alphas[1]
    values = np.asarray(unrolled_values(jnp.asarray(alpha), jnp.asarray(x0)))
    want = [closed_form.loss(alpha[:k], x0) for k in range(7)]
    np.testing.assert_allclose(values, want, rtol=1e-13)
