"""secondorder.density_bounds and the density measures' history: the a-priori bound as the theorem states
it, the quadrature bound above the exact W1 of each probe's rule (the probe's measure from eigh), and the
history and probe ranges equal to separate runs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import ks_2samp

from secondorder import density, density_bounds
from secondorder.lanczos import lanczos, tridiagonal
from secondorder.operators import dense_operator
from secondorder.wasserstein import ks_distance, wasserstein1

pytestmark = pytest.mark.usefixtures("x64")


def _matrix(eigenvalues, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigenvalues),) * 2))
    return (q * eigenvalues) @ q.T, q


def test_a_priori_t_is_the_theorem_read_backwards():
    # ⌈12/t + 1/2⌉ steps and ⌈4 (n+2)^-1 t^-2 ln(2n/η)⌉ probes guarantee t.
    for t, n in [(0.1, 100), (0.01, 5962), (0.003, 2000)]:
        steps, probes = density_bounds.a_priori_budget(t, n)
        assert steps == int(np.ceil(12 / t + 0.5))
        assert probes == int(np.ceil(4 / (n + 2) / t ** 2 * np.log(2 * n / 0.05)))
        assert density_bounds.a_priori_t(steps, probes, n) <= t
        assert density_bounds.a_priori_t(steps - 1, probes, n) > t


def test_the_quadrature_bound_holds_the_exact_w1_of_each_probe_rule():
    lam = np.concatenate([np.random.default_rng(4).gamma(0.5, 1.0, 300), [20.0, 35.0]])
    a, q = _matrix(lam)
    op = dense_operator(jnp.asarray(a))
    for seed, steps in [(0, 3), (1, 8), (2, 25)]:
        v = np.random.default_rng(seed).standard_normal(len(lam))
        nodes, vecs = np.linalg.eigh(np.asarray(tridiagonal(*lanczos(op, jnp.asarray(v), steps))))
        weights = vecs[0] ** 2
        probe_measure = (q.T @ v) ** 2 / np.sum(v ** 2)  # the probe's weighted spectral measure, exactly
        exact = wasserstein1(nodes, weights, lam, probe_measure)
        bound = density_bounds.quadrature_w1_bound(nodes, weights, lam.min(), lam.max())
        assert exact <= bound < 50 * exact + 1e-3


@pytest.mark.slow  # 25 s of separate runs; CI time
def test_history_and_probe_ranges_equal_separate_runs():
    lam = np.linspace(-1.0, 2.0, 120)
    op = dense_operator(jnp.asarray(_matrix(lam)[0]))
    key = jax.random.key(3)
    for deflate in (0, 4):
        history = density.spectral_density_history(op, key=key, num_probes=6, steps=[5, 12, 30], deflate=deflate,
                                                    lanczos_steps=30)
        for steps, measure in zip([5, 12, 30], history):
            alone = density.spectral_density(op, key=key, num_probes=6, num_steps=steps, deflate=deflate,
                                             lanczos_steps=30)
            np.testing.assert_allclose(measure.nodes, alone.nodes, atol=1e-10)
            np.testing.assert_allclose(measure.weights, alone.weights, atol=1e-12)
    vectors = jax.random.rademacher(jax.random.key(5), (6, 120), dtype=jnp.float64)
    whole = density.slq(op, vectors, 10)
    part = whole.probe_range(2, 5)
    alone = density.slq(op, vectors[2:5], 10)
    assert abs(part.weights.sum() - 1) < 1e-12
    np.testing.assert_allclose(part.nodes, alone.nodes, atol=1e-12)
    np.testing.assert_allclose(part.weights, alone.weights, atol=1e-12)
    with pytest.raises(ValueError, match="probes"):
        whole.probe_range(4, 7)


def test_ks_distance_is_scipys_two_sample_statistic():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=50), np.round(rng.normal(0.3, 1.0, 70), 1)  # ties in b
    assert ks_distance(a, np.ones(50), b, np.ones(70)) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    assert ks_distance(a, np.ones(50), a, np.ones(50)) == 0.0
