"""lr_meta.beta_sweep: the derived stability bounds hold on either side; curves and first step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import beta_sweep, closed_form, meta_gd
from lr_meta.problem import draw_alpha0, draw_x0, unrolled_loss


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def test_bounds_are_p_squared_over_l():
    x0, alpha0 = draw_x0(0, 1000), draw_alpha0(0, 10)
    bounds = beta_sweep.stability_bounds(alpha0, x0)
    loss0 = closed_form.loss(alpha0, x0)
    assert bounds["loss0"] == pytest.approx(loss0, rel=1e-14)
    assert bounds["beta_lo"] == pytest.approx((1 - alpha0.max()) ** 2 / loss0, rel=1e-14)
    assert bounds["beta_hi"] == pytest.approx((1 - alpha0.min()) ** 2 / loss0, rel=1e-14)
    # The task's start: 0.01516 and 0.01853 (docs/lr_meta.md).
    assert (round(bounds["beta_lo"], 5), round(bounds["beta_hi"], 5)) == (0.01516, 0.01853)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_below_the_lower_bound_every_factor_shrinks_and_above_the_upper_one_all_grow(seed):
    x0, alpha0 = draw_x0(seed, 100), draw_alpha0(seed, 10)
    bounds = beta_sweep.stability_bounds(alpha0, x0)
    args = (jnp.asarray(x0),)
    for beta, shrinks in ((0.98 * bounds["beta_lo"], True), (1.02 * bounds["beta_hi"], False)):
        traj = meta_gd.optimise(unrolled_loss, jnp.asarray(alpha0), args, beta=beta, steps=30, chunk_rows=10)
        p = np.abs(1 - traj.alphas)
        if shrinks:
            assert not traj.diverged and np.all(np.diff(p, axis=0) < 0) and np.all(np.diff(traj.losses) < 0)
        else:
            assert traj.diverged or np.all(np.diff(p, axis=0) > 0)
            assert np.all(p[1] > p[0])


@pytest.mark.slow
def test_sweep_records_first_step_and_meta_time_curves():
    x0, alpha0 = draw_x0(0, 50), draw_alpha0(0, 10)
    final, curves = beta_sweep.sweep(unrolled_loss, alpha0, x0, [0.01], 100, mode="reverse",
                                     divergence_factor=1e6)
    assert list(final["dtype"]) == ["float64", "float32"]
    first = alpha0 + 0.01 * -closed_form.grad(alpha0, x0)
    assert final["loss_after_step_1"].iloc[0] == pytest.approx(closed_form.loss(first, x0), rel=1e-12)
    one = curves[(curves["beta"] == 0.01) & (curves["dtype"] == "float64")]
    np.testing.assert_array_equal(one["step"], np.arange(0, 101))
    np.testing.assert_allclose(one["meta_time"], 0.01 * one["step"])
