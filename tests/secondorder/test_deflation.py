"""secondorder.lanczos.ritz_pairs and secondorder.density.deflated_slq: Ritz pairs and their residuals,
and SLQ with the outliers deflated."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder.density import deflated_quadrature, deflated_slq, quadrature, slq, spectral_density
from secondorder.lanczos import ritz_pairs
from secondorder.operators import dense_operator
from secondorder.wasserstein import wasserstein1

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


def test_deflated_slq_gives_each_converged_outlier_its_exact_mass_and_beats_plain_slq():
    a, ev = outlier_matrix()
    op = dense_operator(jnp.asarray(a))
    probes = jax.random.rademacher(jax.random.PRNGKey(1), (4, 300), dtype=jnp.float64)
    deflated = jax.jit(lambda v, v0: deflated_slq(op, v, v0, 30, deflate=5, lanczos_steps=40))(probes, jnp.ones(300))
    ritz = np.asarray(deflated.probe) == -1
    weights, nodes = np.asarray(deflated.weights), np.asarray(deflated.nodes)
    assert ritz.sum() == 5 and weights.sum() == pytest.approx(1.0, rel=1e-12)
    accepted = ritz & (weights > 0)
    # The three outliers and two converged bulk-edge pairs, each with exactly 1/P.
    np.testing.assert_allclose(np.sort(nodes[accepted])[-3:], ev[-3:], rtol=1e-10)
    np.testing.assert_array_equal(weights[accepted], 1 / 300)
    assert float(deflated.max_residual) < 1e-8
    plain = slq(op, probes, 30)
    assert (wasserstein1(nodes, weights, ev, np.ones(300))
            < wasserstein1(np.asarray(plain.nodes), np.asarray(plain.weights), ev, np.ones(300)) / 3)


def test_ritz_pairs_that_have_not_converged_are_not_deflated():
    a, ev = outlier_matrix()
    op = dense_operator(jnp.asarray(a))
    probes = jax.random.rademacher(jax.random.PRNGKey(2), (2, 300), dtype=jnp.float64)
    # 10 Lanczos steps: the three outliers converge (residuals 1e-12 to 1e-9 of max |θ|),
    # the bulk's Ritz values do not (1e-3).
    deflated = deflated_slq(op, probes, jnp.ones(300), 20, deflate=6, lanczos_steps=10, tol=1e-8)
    ritz = np.asarray(deflated.probe) == -1
    accepted = ritz & (np.asarray(deflated.weights) > 0)
    assert accepted.sum() == 3 and ritz.sum() == 6
    np.testing.assert_allclose(np.sort(np.asarray(deflated.nodes)[accepted]), ev[-3:], rtol=1e-8)
    assert float(np.asarray(deflated.weights).sum()) == pytest.approx(1.0, rel=1e-12)


def test_spectral_density_plain_and_deflated_from_one_key():
    a, ev = outlier_matrix()
    op = dense_operator(jnp.asarray(a))
    plain = spectral_density(op, key=jax.random.key(0), num_probes=4, num_steps=30)
    deflated = spectral_density(op, key=jax.random.key(0), num_probes=4, num_steps=30, deflate=3, lanczos_steps=40)
    assert (np.asarray(plain.probe) >= 0).all() and (np.asarray(deflated.probe) == -1).sum() == 3
    for measure in (plain, deflated):
        assert float(measure.weights.sum()) == pytest.approx(1.0, rel=1e-12)
    w1 = {name: wasserstein1(np.asarray(m.nodes), np.asarray(m.weights), ev, np.ones(300))
          for name, m in (("plain", plain), ("deflated", deflated))}
    assert w1["deflated"] < w1["plain"]
