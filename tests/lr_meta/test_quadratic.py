"""lr_meta.quadratic: CG's schedule reproduces CG, classical schedules' known guarantees."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_meta import quadratic
from lr_meta.problem import draw_alpha0, draw_x0


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def reference_cg(a, b, x, iterations):
    """Textbook CG for a dense SPD A x = b, float64: the independent witness."""
    r = b - a @ x
    d = r.copy()
    for _ in range(iterations):
        step = (r @ r) / (d @ a @ d)
        x = x + step * d
        r_new = r - step * (a @ d)
        d = r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return x


def gd(alpha, eigs, x0):
    x = x0.copy()
    for a in alpha:
        x = x - a * eigs * x
    return x


@pytest.mark.parametrize("kind", ["linspace", "geomspace"])
def test_cg_schedule_reproduces_cg_iterate(kind):
    eigs = quadratic.spectrum(60, 100.0, kind)
    x0 = draw_x0(1, 60)
    horizon = 8
    # The same problem in a random basis: A = Q diag(λ) Qᵀ, start Q x0, target x* = 0.
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((60, 60)))
    want = q.T @ reference_cg(q @ np.diag(eigs) @ q.T, np.zeros(60), q @ x0, horizon)
    steps = quadratic.cg_steps(eigs, x0, horizon)
    np.testing.assert_allclose(gd(steps, eigs, x0), want, rtol=0, atol=1e-10 * np.abs(x0).max())
    iterates, _, _ = quadratic.conjugate_gradient(eigs, x0, horizon)
    np.testing.assert_allclose(iterates[-1], want, atol=1e-12)
    # Ritz values lie strictly inside the spectrum.
    assert np.all((1 / steps > eigs[0]) & (1 / steps < eigs[-1]))


@pytest.mark.slow
def test_cg_schedule_is_a_lower_bound_for_every_schedule():
    eigs, x0, horizon = quadratic.spectrum(40, 50.0), draw_x0(2, 40), 6
    best = float(quadratic.quadratic_loss(jnp.asarray(quadratic.cg_steps(eigs, x0, horizon)),
                                          jnp.asarray(x0), jnp.asarray(eigs)))
    rng = np.random.default_rng(0)
    losses = jax.jit(jax.vmap(quadratic.quadratic_loss, in_axes=(0, None, None)))(
        jnp.asarray(rng.uniform(0.5, 60.0, (2000, horizon))), jnp.asarray(x0), jnp.asarray(eigs))
    assert float(losses.min()) >= best * (1 - 1e-12)


def test_classical_schedules_have_their_worst_case_factors():
    mu, lip, horizon = 0.01, 1.0, 10
    eigs = quadratic.spectrum(2001, 1 / mu)
    x0 = draw_x0(0, 2001)
    table, curves = quadratic.compare_schedules(eigs, x0, {"start": draw_alpha0(0, horizon)})
    worst = dict(zip(table["schedule"], table["worst_case_factor"]))
    assert worst["constant 1/L"] == pytest.approx((1 - mu / lip) ** (2 * horizon), rel=1e-12)
    assert worst["constant 2/(mu+L)"] == pytest.approx(((lip - mu) / (lip + mu)) ** (2 * horizon), rel=1e-12)
    # Chebyshev: max |P| = 1 / T_T((L+μ)/(L−μ)); sampled on a grid, so slightly below.
    cheb = 1 / np.cosh(horizon * np.arccosh((lip + mu) / (lip - mu))) ** 2
    assert cheb * 0.99 <= worst["Chebyshev"] <= cheb * (1 + 1e-9)
    assert worst["Chebyshev"] == min(worst.values())
    ratio = dict(zip(table["schedule"], table["ratio_to_optimal"]))
    assert ratio["CG (1/Ritz values)"] == pytest.approx(1.0, abs=1e-9)
    assert min(ratio.values()) >= 1 - 1e-9
    # Curves start at f(x0) and end at each schedule's loss.
    np.testing.assert_allclose(curves.iloc[0, 1:], 0.5 * np.sum(eigs * x0**2), rtol=1e-12)
    np.testing.assert_allclose(curves["Chebyshev"].iloc[-1], table.set_index("schedule").loc["Chebyshev", "loss"])


def test_spectrum_ends_and_chebyshev_nodes():
    eigs = quadratic.spectrum(5, 100.0, "geomspace")
    np.testing.assert_allclose(eigs, [0.01, 0.01 ** 0.75, 0.1, 0.01 ** 0.25, 1.0], rtol=1e-14)
    nodes = 1 / quadratic.chebyshev_steps(0.0, 2.0, 3)  # cos nodes of [0, 2]: 1 + cos((2i−1)π/6)
    np.testing.assert_allclose(nodes, 1 + np.cos(np.array([1, 3, 5]) * np.pi / 6), atol=1e-15)
