"""secondorder.diagonal, lanczos and density against dense matrices with known spectra (float64, float32).

Witnesses: the matrices are built from their eigenvalues (tests/helpers/curvature_matrices.py),
Gauss quadrature's exactness for polynomials of degree <= 2k - 1 checked against
v̂ᵀAᵖv̂ computed densely, and closed forms for the Wasserstein distance.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder import density, diagonal, lanczos, wasserstein
from secondorder.operators import dense_operator
from tests.helpers.curvature_matrices import low_rank, separated, with_spectrum


pytestmark = pytest.mark.usefixtures("x64")  # float64 throughout (tests/conftest.py)


@pytest.mark.slow
def test_hutchinson_diagonal_is_unbiased_with_the_closed_form_variance():
    a = with_spectrum(np.linspace(-1.0, 2.0, 60), seed=4)
    m, reps = 6, 400
    run = jax.jit(jax.vmap(lambda a, k: diagonal.hutchinson_diagonal(dense_operator(a), k, m), in_axes=(None, 0)))
    est = np.asarray(run(jnp.asarray(a), jax.random.split(jax.random.PRNGKey(0), reps)))
    # Entry i of one Rademacher probe has variance Σ_{j≠i} A_ij².
    off = (a * a).sum(axis=1) - np.diag(a) ** 2
    z = (est.mean(axis=0) - np.diag(a)) / np.sqrt(off / (m * reps))
    assert np.abs(z).max() < 4.5
    assert 0.6 < np.mean(z * z) < 1.5  # the variance formula holds, not just the mean (SD of this: 0.18)
    per_entry_var = est.var(axis=0, ddof=1)
    np.testing.assert_allclose(per_entry_var.mean(), (off / m).mean(), rtol=0.1)


@pytest.mark.slow
def test_xdiag_is_exact_for_a_low_rank_matrix():
    a = low_rank(100, 5, seed=5)
    est = jax.jit(lambda a, k: diagonal.xdiag(dense_operator(a), k, 20))(jnp.asarray(a), jax.random.PRNGKey(1))
    np.testing.assert_allclose(est, np.diag(a), atol=1e-12)


@pytest.mark.slow
def test_lanczos_finds_both_ends_to_1e_10():
    a, values = separated()
    top, bottom = jax.jit(lambda a, k: [lanczos.top_eigenvalues(dense_operator(a), 5, key=k, num_steps=80, which=w)
                                        for w in ("largest", "smallest")])(jnp.asarray(a), jax.random.PRNGKey(2))
    np.testing.assert_allclose(top, values[::-1][:5], rtol=1e-10)
    np.testing.assert_allclose(bottom, values[:5], rtol=1e-10)


@pytest.mark.slow
def test_lanczos_in_float32_is_within_float32_rounding():
    a, values = separated()
    top = jax.jit(lambda a, k: lanczos.top_eigenvalues(dense_operator(a), 5, key=k, num_steps=80))(
        jnp.asarray(a, jnp.float32), jax.random.key(2))
    assert top.dtype == jnp.float32
    np.testing.assert_allclose(top, values[::-1][:5], rtol=1e-5)


def test_ritz_history_matches_eigvalsh_of_each_leading_block():
    a, _ = separated(n=60)
    d, e = jax.jit(lambda a, v: lanczos.lanczos(dense_operator(a), v, 12))(jnp.asarray(a), jnp.ones(60))
    top, bottom = lanczos.ritz_history(np.asarray(d), np.asarray(e), 3)
    t = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    for j in (1, 2, 7, 12):
        ritz = np.linalg.eigvalsh(t[:j, :j])
        m = min(3, j)
        np.testing.assert_allclose(top[j - 1, 3 - m:], ritz[-m:], rtol=1e-12)
        np.testing.assert_allclose(bottom[j - 1, :m], ritz[:m], rtol=1e-12)
    assert np.isnan(top[0, :2]).all() and np.isnan(bottom[1, 2])


def test_power_iteration_converges_to_the_dominant_eigenvalue():
    a, values = separated()
    q = jax.jit(lambda a, v: lanczos.power_iteration(dense_operator(a), v, 150))(
        jnp.asarray(a), jax.random.normal(jax.random.PRNGKey(3), (300,)))
    assert q[-1] == pytest.approx(-12.0, rel=1e-10)  # |λ2/λ1| = 10/12 per step
    assert abs(q[4] + 12.0) > 1e-3  # and not before it could have


@pytest.mark.slow
def test_each_probes_quadrature_is_exact_for_low_degree_polynomials():
    values = np.linspace(-1.0, 1.0, 150) ** 3
    a = with_spectrum(values, seed=6)
    k = 8
    vectors = jax.random.rademacher(jax.random.PRNGKey(4), (3, 150), dtype=jnp.float64)
    nodes, weights = jax.jit(lambda a, v: density.quadrature(dense_operator(a), v, k))(jnp.asarray(a), vectors)
    np.testing.assert_allclose(np.sum(weights, axis=1), 1.0, rtol=1e-12)
    for v, x, w in zip(np.asarray(vectors), np.asarray(nodes), np.asarray(weights)):
        u = v / np.linalg.norm(v)
        power = u.copy()
        for p in range(2 * k):  # degrees 0 .. 2k - 1
            assert np.sum(w * x ** p) == pytest.approx(u @ power, abs=1e-12)
            power = a @ power


@pytest.mark.slow
def test_slq_measure_is_close_to_the_spectrum():
    values = np.concatenate([np.zeros(200), np.linspace(1.0, 3.0, 100)])  # an atom at 0, like a network Hessian
    a = with_spectrum(values, seed=7)
    vectors = jax.random.rademacher(jax.random.PRNGKey(5), (10, 300), dtype=jnp.float64)
    nodes, weights = jax.jit(lambda a, v: density.quadrature(dense_operator(a), v, 30))(jnp.asarray(a), vectors)
    x, w = density.spectral_measure(nodes, weights)
    assert w.sum() == pytest.approx(1.0)
    # Ritz values lie inside [λ_min, λ_max]; the isolated atom is found exactly, the edge
    # of the gapless bulk closely.
    nodes = np.asarray(nodes)
    assert nodes.max() <= 3.0 + 1e-12 and nodes.min() >= -1e-12
    np.testing.assert_allclose(nodes.min(axis=1), 0.0, atol=1e-10)
    assert nodes.max(axis=1).min() > 2.99
    # The rest is Monte-Carlo error: each probe's mass at 0 is 2/3 ± 0.04 here, which moves
    # about 0.025 of W1 (2% of the range of 3) at 10 probes.
    assert wasserstein.wasserstein1(x, w, values, np.ones_like(values)) < 0.02 * 3.0


def test_wasserstein1_closed_forms():
    w1 = wasserstein.wasserstein1
    assert w1(np.array([0.0]), np.array([1.0]), np.array([3.0]), np.array([2.0])) == pytest.approx(3.0)
    grid = np.arange(4.0)
    assert w1(grid, np.ones(4), grid + 0.5, np.ones(4)) == pytest.approx(0.5)
    assert w1(grid, np.ones(4), grid[::-1], np.ones(4)) == pytest.approx(0.0)
    # δ(0) against uniform mass on {0, 1, 2, 3}: mean distance 1.5.
    assert w1(np.array([0.0]), np.array([1.0]), grid, np.ones(4)) == pytest.approx(1.5)


def test_gaussian_density_integrates_to_the_total_weight():
    grid = np.linspace(-20.0, 20.0, 40001)
    f = density.gaussian_density(np.array([-1.0, 2.0]), np.array([0.25, 0.75]), grid, 0.5)
    assert np.sum(f) * (grid[1] - grid[0]) == pytest.approx(1.0, rel=1e-9)
    assert grid[np.argmax(f)] == pytest.approx(2.0, abs=1e-3)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_the_public_estimators_on_a_matrix_of_known_spectrum(dtype):
    a, values = separated()
    op = dense_operator(jnp.asarray(a, dtype))
    rtol = 1e-10 if dtype == jnp.float64 else 1e-5
    top = lanczos.top_eigenvalues(op, 5, key=jax.random.key(0), num_steps=80)
    np.testing.assert_allclose(top, np.sort(values)[::-1][:5], rtol=rtol)
    diag = diagonal.diagonal_estimate(op, key=jax.random.key(1), num_matvecs=40, method="hutchinson")
    assert diag.shape == (300,) and diag.dtype == dtype
    measure = density.spectral_density(op, key=jax.random.key(2), num_probes=4, num_steps=30)
    assert measure.nodes.shape == (120,) and float(measure.weights.sum()) == pytest.approx(1.0, rel=rtol)
    assert measure.nodes.dtype == dtype


def test_the_diagonal_estimate_has_the_parameters_structure():
    from secondorder.operators import hessian_operator

    params = {"a": jnp.arange(1.0, 4.0), "b": jnp.array([[2.0]])}
    op = hessian_operator(lambda p: jnp.sum(p["a"] ** 3) / 6 + jnp.sum(p["b"] ** 4), params)
    diag = diagonal.diagonal_estimate(op, key=jax.random.key(0), num_matvecs=8, method="hutchinson")
    # the Hessian is diagonal: a_i for a, 12 b^2 for b; Hutchinson is exact on a diagonal matrix
    np.testing.assert_allclose(diag["a"], [1.0, 2.0, 3.0], rtol=1e-12)
    np.testing.assert_allclose(diag["b"], [[48.0]], rtol=1e-12)


def test_bad_arguments_say_what_to_fix():
    op = dense_operator(jnp.eye(10))
    with pytest.raises(ValueError, match="num_steps <= P"):
        lanczos.top_eigenvalues(op, 3, key=jax.random.key(0), num_steps=11)
    with pytest.raises(ValueError, match="which must be"):
        lanczos.top_eigenvalues(op, 3, key=jax.random.key(0), which="middle")
    with pytest.raises(ValueError, match="method must be one of"):
        diagonal.diagonal_estimate(op, key=jax.random.key(0), method="magic")
    with pytest.raises(ValueError, match="num_steps <= P"):
        density.spectral_density(op, key=jax.random.key(0), num_steps=20)
