"""lr_meta.meta_gd: meta-GD lowers L, chunks equal single steps, resumes exactly, detects divergence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import closed_form, meta_gd
from lr_meta.problem import draw_alpha0, draw_x0, unrolled_loss


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


# One (log_every, chunk_rows) for every test: make_chunk's cache then compiles once (β is
# an argument, not a constant), which keeps this file fast.
LOG, ROWS = 5, 3


def build_case(dim=50, horizon=10, seed=0):
    return jnp.asarray(draw_alpha0(seed, horizon)), (jnp.asarray(draw_x0(seed, dim)),)


def test_meta_gd_lowers_the_loss_by_the_stated_factor():
    # β scales like 1/‖x0‖² ≈ 3/dim (1e-3 at dim 1000): 0.02 at dim 50. Measured: x935.
    alpha0, args = build_case()
    traj = meta_gd.optimise(unrolled_loss, alpha0, args, beta=0.02, steps=200, log_every=LOG, chunk_rows=ROWS)
    assert not traj.diverged
    np.testing.assert_array_equal(traj.steps, np.arange(0, 201, LOG))
    assert traj.losses[0] / traj.losses[-1] > 500
    assert np.all(np.diff(traj.losses) < 0)  # monotone at this β
    # Logged losses are L at the logged α (closed form), not a stale value.
    np.testing.assert_allclose(traj.losses, [closed_form.loss(a, args[0]) for a in traj.alphas], rtol=1e-12)
    # Every α_k moved towards 1, the minimiser set (∂L/∂α_k < 0 while α_k < 1).
    assert np.all(traj.alphas[-1] > traj.alphas[0])


def test_chunks_equal_single_jitted_meta_steps():
    alpha0, args = build_case()
    step = meta_gd.make_meta_step(unrolled_loss, 0.02)
    alpha, alphas = alpha0, []
    for _ in range(30):
        alpha, _, _ = step(alpha, *args)
        alphas.append(np.asarray(alpha))
    traj = meta_gd.optimise(unrolled_loss, alpha0, args, beta=0.02, steps=30, log_every=LOG, chunk_rows=ROWS)
    np.testing.assert_allclose(traj.alphas[1:], np.array(alphas)[LOG - 1::LOG], rtol=1e-13)


def test_forward_mode_meta_gd_follows_the_same_path():
    alpha0, args = build_case()
    rev = meta_gd.optimise(unrolled_loss, alpha0, args, beta=0.02, steps=40, log_every=LOG, chunk_rows=ROWS)
    fwd = meta_gd.optimise(unrolled_loss, alpha0, args, beta=0.02, steps=40, log_every=LOG, chunk_rows=ROWS,
                        mode="forward")
    np.testing.assert_allclose(fwd.alphas, rev.alphas, rtol=1e-12)


def test_resuming_from_any_logged_row_is_bitwise_identical():
    alpha0, args = build_case()
    kw = dict(beta=0.02, log_every=LOG, chunk_rows=ROWS)
    whole = meta_gd.optimise(unrolled_loss, alpha0, args, steps=60, **kw)
    for row in (1, 4, 7):  # inside and at chunk boundaries
        blocks = list(meta_gd.meta_descent(unrolled_loss, whole.alphas[row], args, steps=60,
                                        start_step=int(whole.steps[row]), **kw))
        np.testing.assert_array_equal(np.concatenate([b.alphas for b in blocks]), whole.alphas[row + 1:])
        np.testing.assert_array_equal(np.concatenate([b.steps for b in blocks]), whole.steps[row + 1:])


def test_divergence_is_detected_and_bad_rows_are_dropped():
    alpha0, args = build_case()
    # β = 1 at dim 50: the first step overshoots to |1 − α| ≫ 1 and L explodes.
    traj = meta_gd.optimise(unrolled_loss, alpha0, args, beta=1.0, steps=100, log_every=LOG, chunk_rows=ROWS)
    assert traj.diverged
    assert np.all(np.isfinite(traj.losses)) and np.all(np.isfinite(traj.alphas))
    assert np.all(traj.losses <= 1e6 * traj.losses[0])
    assert traj.steps[-1] < 100


def test_first_bad_row():
    alphas = np.zeros((5, 2))
    losses = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert meta_gd.first_bad_row(alphas, losses, limit=10) is None
    assert meta_gd.first_bad_row(alphas, losses, limit=3.5) == 3
    losses[1] = np.nan
    assert meta_gd.first_bad_row(alphas, losses, limit=10) == 1
    alphas[0, 1] = np.inf
    assert meta_gd.first_bad_row(alphas, np.ones(5), limit=10) == 0
