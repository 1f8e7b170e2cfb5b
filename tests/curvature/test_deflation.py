"""curvature.deflation: Ritz pairs and their residuals, and SLQ with the outliers deflated."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from curvature.density import quadrature, wasserstein1
from curvature.deflation import deflated_quadrature, ritz_pairs
from secondorder.operator import dense_operator

pytestmark = pytest.mark.usefixtures("x64")


def outlier_matrix(p=300, outliers=(40.0, 25.0, 12.0), seed=0):
    """A random rotation of a bulk in [-0.5, 1] plus a few large outliers: (matrix, eigenvalues)."""
    rng = np.random.default_rng(seed)
    ev = np.concatenate([rng.uniform(-0.5, 1.0, p - len(outliers)), outliers])
    q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return (q * ev) @ q.T, np.sort(ev)


def test_ritz_pairs_are_orthonormal_and_their_residuals_are_the_lanczos_identity():
    a, ev = outlier_matrix()
    values, vectors, residuals = (np.asarray(t) for t in ritz_pairs(dense_operator(jnp.asarray(a)), jnp.ones(300), 40))
    np.testing.assert_allclose(vectors @ vectors.T, np.eye(40), atol=1e-12)
    direct = np.linalg.norm(a @ vectors.T - vectors.T * values, axis=0)
    np.testing.assert_allclose(residuals, direct, rtol=0, atol=1e-10)
    np.testing.assert_allclose(values[-3:], ev[-3:], rtol=1e-12)  # the outliers have converged


def test_with_exact_eigenvectors_deflated_the_rest_is_the_remaining_spectrum():
    a, ev = outlier_matrix()
    w, u = np.linalg.eigh(a)
    basis = jnp.asarray(u[:, -3:].T)
    probes = jax.random.rademacher(jax.random.PRNGKey(0), (3, 300), dtype=jnp.float64)
    nodes, weights = (np.asarray(t) for t in deflated_quadrature(dense_operator(jnp.asarray(a)), basis, probes, 60))
    assert nodes.max() < 1.0 + 1e-10 and nodes.min() > -0.5 - 1e-10  # no outlier, no spurious zero
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)


def test_deflation_removes_the_outliers_weight_noise():
    # Same probes, same Krylov size: plain SLQ weighs each outlier by a noisy (v̂ᵀu)²;
    # deflated SLQ gives it exactly 1/P.
    a, ev = outlier_matrix()
    op = dense_operator(jnp.asarray(a))
    values, vectors, residuals = ritz_pairs(op, jnp.ones(300), 40)
    keep = np.argsort(-np.abs(np.asarray(values)))[:3]
    assert np.asarray(residuals)[keep].max() < 1e-8 * np.abs(values).max()
    probes = jax.random.rademacher(jax.random.PRNGKey(1), (4, 300), dtype=jnp.float64)
    n, w = (np.asarray(t) for t in quadrature(op, probes, 30))
    plain = wasserstein1(n.ravel(), w.ravel(), ev, np.ones(300))
    n, w = (np.asarray(t) for t in deflated_quadrature(op, jnp.asarray(vectors)[keep], probes, 30))
    x = np.concatenate([np.asarray(values)[keep], n.ravel()])
    weights = np.concatenate([np.full(3, 1 / 300), w.ravel() * (300 - 3) / (300 * 4)])
    deflated = wasserstein1(x, weights, ev, np.ones(300))
    assert deflated < plain / 3
