"""lr_meta.certify: the certificate at points where the answer is known analytically."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import certify
from lr_meta.problem import draw_alpha0, draw_x0, unrolled_loss


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


X0 = draw_x0(0, 30)
C = 0.5 * X0 @ X0
T = 10


def cert(alpha, **kw):
    return certify.certificate(unrolled_loss, jnp.asarray(alpha), (jnp.asarray(X0),), samples=100, **kw)


@pytest.mark.slow
def test_on_one_hyperplane_first_and_second_order_are_known():
    # One α_m = 1: L = 0, gradient exactly 0, Hessian diag(0, .., 2c∏_{k≠m}(1−α_k)², .., 0).
    alpha = draw_alpha0(0, T)
    alpha[6] = 1.0
    out = cert(alpha)
    assert out["loss"] == 0.0 and out["grad_norm"] == 0.0 and out["gap_to_lower_bound"] == 0.0
    top = 2 * C * np.prod(np.delete(1 - alpha, 6) ** 2)
    np.testing.assert_allclose(out["hessian_eigenvalues"][-1], top, rtol=1e-12)
    np.testing.assert_allclose(out["hessian_eigenvalues"][:-1], 0.0, atol=1e-12 * top)
    assert (out["hessian_negative"], out["hessian_zero"], out["hessian_positive"]) == (0, T - 1, 1)
    # L ≥ 0 = L(α): no perturbation can go lower.
    assert out["perturbation"]["holds"] and out["perturbation"]["lower"] == 0


def test_on_two_hyperplanes_the_hessian_vanishes():
    alpha = draw_alpha0(1, T)
    alpha[[2, 8]] = 1.0
    out = cert(alpha)
    assert out["grad_norm"] == 0.0
    assert out["hessian_zero"] == T and np.all(np.asarray(out["hessian_eigenvalues"]) == 0.0)
    assert out["perturbation"]["holds"]
    # Second order says nothing here; the certificate that remains is the gap to L ≥ 0.
    assert out["gap_to_lower_bound"] == 0.0


def test_at_alpha_zero_it_is_a_saddle():
    # ∂L/∂α_j = −2c; H = 4c·11ᵀ − 2c·I: one eigenvalue 2c(2T−1), T−1 equal to −2c.
    out = cert(np.zeros(T))
    np.testing.assert_allclose(out["grad"], -2 * C, rtol=1e-13)
    np.testing.assert_allclose(out["grad_norm"], 2 * C * np.sqrt(T), rtol=1e-13)
    np.testing.assert_allclose(out["hessian_eigenvalues"], [-2 * C] * (T - 1) + [2 * C * (2 * T - 1)], rtol=1e-12)
    assert (out["hessian_negative"], out["hessian_positive"]) == (T - 1, 1)
    # Antithetic pairs: with a non-zero gradient, about half of all ±δ go down.
    assert 0.4 * 200 < out["perturbation"]["lower"] < 0.6 * 200
    assert not out["perturbation"]["holds"]


def test_perturbation_radius_is_respected():
    # At α = 0, L(α + δ) − L(α) ≈ gᵀδ: |change| ≤ ‖g‖·r + O(r²).
    out = cert(np.zeros(T), radius=1e-6)
    bound = 2 * C * np.sqrt(T) * 1e-6
    assert max(-out["perturbation"]["min_change"], out["perturbation"]["max_change"]) <= 1.01 * bound
    assert out["perturbation"]["max_change"] >= 0.3 * bound


def test_sphere_report_finds_the_nearest_hyperplane_and_its_hessian():
    alpha = draw_alpha0(0, T) + 0.5
    report = certify.sphere_report(alpha, X0, samples=50)
    m = int(np.argmax(alpha))
    assert report["nearest_hyperplane"] == m
    assert report["distance_to_minimiser_set"] == pytest.approx(1 - alpha[m], rel=1e-15)
    assert report["nearest_minimiser"][m] == 1.0
    at = report["certificate_at_nearest_minimiser"]
    assert at["loss"] == 0.0 and at["grad_norm"] == 0.0
    np.testing.assert_allclose(at["hessian_eigenvalues"], report["predicted_hessian_eigenvalues_there"],
                               rtol=1e-12, atol=1e-300)
    assert report["gradient_flow_limit"][m] == 1.0
