"""Spectral density by the kernel polynomial method (KPM): Chebyshev moments, Jackson damping.

    >>> import jax, jax.numpy as jnp
    >>> from secondorder.operators import dense_operator
    >>> op = dense_operator(jnp.diag(jnp.linspace(-1.0, 1.0, 200)))
    >>> density = kpm_density(op, key=jax.random.key(0), num_probes=4, num_matvecs=20)
    >>> round(float(density.weights.sum()), 6)
    1.0

The other standard estimator beside SLQ (Lin, Saad, Yang, "Approximating spectral
densities of large matrices", SIAM Review 2016, Sec. 3; Weiße, Wellein, Alvermann,
Fehske, "The kernel polynomial method", Rev. Mod. Phys. 2006). The spectrum is mapped
into [-1, 1] by x = (λ − c) / h, and the density expanded in Chebyshev polynomials:

    ρ(x) = (1 / (π sqrt(1 − x²))) [g_0 μ_0 + 2 Σ_{m=1}^{M} g_m μ_m T_m(x)],

with moments μ_m = v̂ᵀ T_m(Ã) v̂ averaged over normalised random probes (their
expectation is tr T_m(Ã) / P) and the Jackson coefficients g_m, which damp the Gibbs
oscillations and keep the estimate a non-negative measure. m products give moments up to
degree 2m, by T_{2j} = 2 T_j² − 1 and T_{2j+1} = 2 T_{j+1} T_j − T_1 (Weiße et al., Sec.
II.D).

The interval [c − h, c + h] must hold the whole spectrum (T_m grows exponentially
outside it): `spectrum_bounds` takes it from a short Lanczos run, widened by the extreme
Ritz pairs' residuals and a margin.

The estimate is returned as a `SpectralDensity` on the Chebyshev grid θ_k = π (k + ½) / N
(x_k = cos θ_k), whose weights are ρ's mass there; the midpoint rule in θ integrates
every cos(mθ) with m < 2N exactly, so the weights sum to 1 and the first 2N − 1
moments are those of the damped expansion.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from secondorder.density import SpectralDensity
from secondorder.lanczos import ritz_pairs
from secondorder.operators import Operator

Array = jax.Array


def spectrum_bounds(op: Operator, v0: Array, num_steps: int = 20, margin: float = 0.01) -> tuple[Array, Array]:
    """(lower, upper) around the spectrum from `num_steps` Lanczos steps: the extreme Ritz values
    widened by their residuals (Zhou & Li's practical bound) and `margin` of the width."""
    values, _, residuals = ritz_pairs(op, v0, num_steps)
    width = values[-1] - values[0]
    return values[0] - residuals[0] - margin * width, values[-1] + residuals[-1] + margin * width


def chebyshev_moments(op: Operator, vectors: Array, num_matvecs: int, bounds: tuple) -> Array:
    """Chebyshev moments v̂ᵀ T_m(Ã) v̂ of each normalised probe, m = 0 .. 2 num_matvecs: (probes, 2 num_matvecs + 1).

    Args:
      vectors: (probes, P) probes (any scale).
      bounds: (lower, upper) holding the whole spectrum.
    """
    lower, upper = bounds
    centre, half = (upper + lower) / 2, (upper - lower) / 2

    def scaled(v):
        return (op.matvec(v) - centre * v) / half

    def one(v):
        v = v / jnp.linalg.norm(v)
        t1 = scaled(v)

        def step(carry, _):
            previous, current = carry
            following = 2 * scaled(current) - previous
            return (current, following), following

        _, later = jax.lax.scan(step, (v, t1), None, length=num_matvecs - 1)
        t = jnp.concatenate([v[None], t1[None], later])  # T_0 v .. T_m v: (m + 1, P)
        mu0, mu1 = jnp.dot(v, v), jnp.dot(v, t1)
        even = 2 * jnp.sum(t * t, axis=1) - mu0            # μ_{2j}, j = 0 .. m
        odd = 2 * jnp.sum(t[1:] * t[:-1], axis=1) - mu1    # μ_{2j+1}, j = 0 .. m − 1
        return jnp.zeros(2 * num_matvecs + 1, v.dtype).at[0::2].set(even).at[1::2].set(odd)

    return jax.vmap(one)(vectors)


def jackson(degree: int) -> np.ndarray:
    """The Jackson damping coefficients g_0 .. g_degree (Lin, Saad, Yang 2016, eq. 3.10): (degree + 1,)."""
    m = np.arange(degree + 1)
    alpha = np.pi / (degree + 2)
    return ((1 - m / (degree + 2)) * np.sin(alpha) * np.cos(m * alpha)
            + np.cos(alpha) * np.sin(m * alpha) / (degree + 2)) / np.sin(alpha)


def kpm_measure(moments: np.ndarray, bounds: tuple, degree: int, grid: int = 8192) -> SpectralDensity:
    """The damped expansion of degree `degree` as point masses on a Chebyshev grid of `grid` nodes. NumPy.

    Args:
      moments: (probes, M + 1) from `chebyshev_moments` (M >= degree); averaged over probes.
      bounds: the (lower, upper) the moments were taken with.
    """
    moments = np.asarray(moments, np.float64)
    if not 1 <= degree < moments.shape[1]:
        raise ValueError(f"need 1 <= degree <= {moments.shape[1] - 1}, got {degree}")
    mu = moments[:, :degree + 1].mean(axis=0) * jackson(degree)
    theta = np.pi * (np.arange(grid) + 0.5) / grid
    coefficients = np.concatenate([[mu[0]], 2 * mu[1:]])
    weights = np.cos(np.outer(theta, np.arange(degree + 1))) @ coefficients / grid
    lower, upper = (float(b) for b in bounds)
    nodes = (upper + lower) / 2 + (upper - lower) / 2 * np.cos(theta)
    return SpectralDensity(nodes[::-1].copy(), weights[::-1].copy(), np.zeros(grid, int), np.zeros(()))


def kpm_density(op: Operator, *, key: Array, num_probes: int = 10, num_matvecs: int = 40, bound_steps: int = 20,
                degrees: Sequence[int] | None = None, grid: int = 8192) -> SpectralDensity | list[SpectralDensity]:
    """The spectral density of `op` by KPM: num_probes x num_matvecs products, plus `bound_steps` for the interval.

    Args:
      key: a PRNG key (either style): the Rademacher probes and the Lanczos start.
      degrees: expansions to return, each at most 2 num_matvecs (default: just that one).
    Returns:
      One SpectralDensity, or a list of one per entry of `degrees`.
    """
    probe_key, start_key = jax.random.split(key)
    bounds = spectrum_bounds(op, jax.random.normal(start_key, (op.size,), op.dtype), bound_steps)
    vectors = jax.random.rademacher(probe_key, (num_probes, op.size), dtype=op.dtype)
    moments = np.asarray(chebyshev_moments(op, vectors, num_matvecs, bounds))
    measures = [kpm_measure(moments, bounds, d, grid) for d in (degrees or [2 * num_matvecs])]
    return measures if degrees is not None else measures[0]
