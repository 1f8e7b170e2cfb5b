"""lr_meta.closed_form, checked without JAX: NumPy finite differences and known points."""

import numpy as np
import pytest

from lr_meta import closed_form
from lr_meta.problem import draw_alpha0, draw_x0


def fd_grad(fun, alpha, h=1e-6):
    """Central differences of a (T,) -> scalar or (T,) -> (T,) NumPy function."""
    cols = []
    for j in range(alpha.size):
        e = np.zeros_like(alpha)
        e[j] = h
        cols.append((np.asarray(fun(alpha + e)) - np.asarray(fun(alpha - e))) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_and_hessian_match_finite_differences(seed):
    x0 = draw_x0(seed, 40)
    alpha = np.random.default_rng(seed).uniform(0.0, 1.5, 10)
    g = closed_form.grad(alpha, x0)
    # Truncation O(h²)·L''' ≈ 1e-12 · 1e3, rounding ε·L/h ≈ 1e-10 relative: 1e-6 is safe.
    np.testing.assert_allclose(g, fd_grad(lambda a: closed_form.loss(a, x0), alpha), rtol=1e-6, atol=1e-9)
    h = closed_form.hessian(alpha, x0)
    np.testing.assert_allclose(h, h.T, rtol=0, atol=0)
    np.testing.assert_allclose(h, fd_grad(lambda a: closed_form.grad(a, x0), alpha), rtol=1e-6, atol=1e-8)


def test_known_values_at_alpha_zero():
    # L = c, ∂L/∂α_j = −2c, H = 4c·11ᵀ − 2c·I: eigenvalues 2c(2T − 1) once, −2c (T − 1 times).
    x0, horizon = draw_x0(0, 25), 10
    c = 0.5 * x0 @ x0
    alpha = np.zeros(horizon)
    assert closed_form.loss(alpha, x0) == pytest.approx(c, rel=1e-15)
    np.testing.assert_allclose(closed_form.grad(alpha, x0), -2 * c, rtol=1e-15)
    eig = np.linalg.eigvalsh(closed_form.hessian(alpha, x0))
    np.testing.assert_allclose(eig, [-2 * c] * (horizon - 1) + [2 * c * (2 * horizon - 1)], rtol=1e-12)


def test_known_values_on_the_minimiser_set():
    x0, alpha = draw_x0(0, 25), draw_alpha0(0, 10)
    c = 0.5 * x0 @ x0
    one = alpha.copy()
    one[4] = 1.0
    assert closed_form.loss(one, x0) == 0.0
    np.testing.assert_array_equal(closed_form.grad(one, x0), 0.0)
    h = closed_form.hessian(one, x0)
    want = np.zeros((10, 10))
    want[4, 4] = 2 * c * np.prod(np.delete(1 - alpha, 4) ** 2)
    np.testing.assert_allclose(h, want, rtol=1e-14, atol=0)
    two = one.copy()
    two[7] = 1.0
    np.testing.assert_array_equal(closed_form.hessian(two, x0), 0.0)


def test_gradient_flow_conserves_differences_of_squares():
    # GD with step β follows the flow up to O(β²) a step: here p_j² − p_k² drift by
    # 7.6e-5 in total (7.5e-6 with β = 1e-4: the drift is O(β)), while p² itself falls
    # by more than half; the predicted limit does not move along the path.
    x0, alpha = draw_x0(0, 20), draw_alpha0(0, 5)
    beta = 1e-3
    limit0 = closed_form.gradient_flow_limit(alpha)
    p0 = (1 - alpha) ** 2
    for _ in range(2000):
        alpha = alpha - beta * closed_form.grad(alpha, x0)
    p = (1 - alpha) ** 2
    assert p.max() < 0.5 * p0.max()  # it did move
    np.testing.assert_allclose(p - p[0], p0 - p0[0], atol=2e-4)
    np.testing.assert_allclose(closed_form.gradient_flow_limit(alpha), limit0, atol=2e-4)
    assert np.sum(limit0 == 1.0) == 1 and np.argmax(limit0) == np.argmin(p0)


@pytest.mark.parametrize("seed", [0, 1])
def test_off_the_minimiser_set_every_point_is_a_strict_saddle(seed):
    # H = 2L(2uuᵀ − diag(u)²) with u_j = 1/(1 − α_j): congruent to 2L(2·11ᵀ − I), so by
    # Sylvester's law one positive and T − 1 negative eigenvalues wherever L > 0.
    x0 = draw_x0(seed, 20)
    alpha = np.random.default_rng(seed).uniform(-0.5, 1.9, 8)
    eig = np.linalg.eigvalsh(closed_form.hessian(alpha, x0))
    assert np.sum(eig > 0) == 1 and np.sum(eig < 0) == 7
    u = 1 / (1 - alpha)
    h = 2 * closed_form.loss(alpha, x0) * (2 * np.outer(u, u) - np.diag(u**2))
    np.testing.assert_allclose(closed_form.hessian(alpha, x0), h, rtol=1e-11)
