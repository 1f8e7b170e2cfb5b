"""secondorder.kpm: Chebyshev moments against NumPy's Chebyshev series on a known spectrum, the Jackson
coefficients against Weiße et al.'s closed form, and the KPM measure against the exact spectrum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial import chebyshev

from secondorder import kpm
from secondorder.operators import dense_operator
from secondorder.wasserstein import wasserstein1

pytestmark = pytest.mark.usefixtures("x64")


def _matrix(eigenvalues, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigenvalues),) * 2))
    return (q * eigenvalues) @ q.T


def test_moments_with_doubling_are_the_chebyshev_series_of_each_probe():
    lam = np.random.default_rng(1).uniform(-2.0, 3.0, 60)
    a = np.diag(lam)
    bounds = (-2.5, 3.5)
    vectors = np.random.default_rng(2).standard_normal((3, 60))
    moments = np.asarray(kpm.chebyshev_moments(dense_operator(jnp.asarray(a)), jnp.asarray(vectors), 7, bounds))
    assert moments.shape == (3, 15)
    x = (lam - 0.5) / 3.0
    for v, row in zip(vectors, moments):
        w = v ** 2 / np.sum(v ** 2)
        exact = [np.sum(w * chebyshev.chebval(x, np.eye(15)[m])) for m in range(15)]
        np.testing.assert_allclose(row, exact, atol=1e-12)


def test_jackson_coefficients_are_weisse_closed_form():
    for degree in (1, 10, 57):
        n, big = np.arange(degree + 1), degree + 1  # N moments in Weiße et al. (2006), eq. 71
        weisse = ((big - n + 1) * np.cos(np.pi * n / (big + 1))
                  + np.sin(np.pi * n / (big + 1)) / np.tan(np.pi / (big + 1))) / (big + 1)
        np.testing.assert_allclose(kpm.jackson(degree), weisse, atol=1e-13)


def test_spectrum_bounds_hold_the_spectrum():
    lam = np.concatenate([np.linspace(0.0, 1.0, 150), [4.0, 7.5, -3.0]])
    op = dense_operator(jnp.asarray(_matrix(lam)))
    lower, upper = kpm.spectrum_bounds(op, jnp.ones(len(lam)), 20)
    assert float(lower) <= -3.0 and float(upper) >= 7.5 and float(upper - lower) < 1.2 * 10.5


def test_the_measure_sums_to_one_and_nears_the_spectrum_as_the_degree_grows():
    lam = np.concatenate([np.random.default_rng(3).normal(0.0, 0.3, 400), [3.0, 4.0]])
    op = dense_operator(jnp.asarray(_matrix(lam)))
    densities = kpm.kpm_density(op, key=jax.random.key(0), num_probes=40, num_matvecs=100, degrees=[10, 40, 200])
    spread = lam.max() - lam.min()
    w1 = [wasserstein1(np.asarray(d.nodes), np.asarray(d.weights), lam, np.ones_like(lam)) / spread
          for d in densities]
    for d in densities:
        assert abs(float(np.sum(d.weights)) - 1) < 1e-12 and np.min(d.weights) > -1e-12
    assert w1[0] > w1[1] > w1[2] and w1[2] < 0.01
    with pytest.raises(ValueError, match="degree"):
        kpm.kpm_measure(np.ones((1, 5)), (-1.0, 1.0), 5)
