"""Step-size schedules for long horizons: T steps from K parameters.

A schedule is θ ∈ R^K, K knots of log α spread evenly over the steps 0..T−1;
log α_k is the piecewise-linear interpolation of the knots at k:

    K = T   one free step size per step, α_k = exp(θ_k) ("per-step");
    K = 1   one constant step size exp(θ_0);
    1 < K < T  a smooth schedule (K = 2: geometric growth or decay).

log α keeps every step positive and makes a multiplicative change of α one additive
step in θ whatever the scale of α. K is what forward mode pays for (one tangent per
parameter) and what reverse mode does not, so both kinds are kept.

`alpha_at` computes one α_k from θ and k inside a loop, so a K-knot schedule is never
materialised as a T-vector (forward mode's memory then stays flat in T);
`alphas` is the same map in NumPy, all T at once: the reference for tests and tables.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def alphas(theta: np.ndarray, horizon: int) -> np.ndarray:
    """All T step sizes of the schedule θ, NumPy float64. theta: (K,) -> (horizon,)."""
    theta = np.asarray(theta, np.float64)
    if theta.size == 1:
        return np.full(horizon, np.exp(theta[0]))
    knots = np.linspace(0.0, horizon - 1, theta.size)
    return np.exp(np.interp(np.arange(horizon), knots, theta))


def alpha_at(theta, k, horizon: int):
    """α_k of the schedule θ (K,) at the (traced) integer step k: a scalar.

    For 1 < K: u = k (K − 1) / (T − 1) is k's position on the knot grid; α_k interpolates
    the two knots around u in log space. K = T reduces to exp(θ_k).
    """
    knots = theta.shape[0]
    if knots == 1:
        return jnp.exp(theta[0])
    # In θ's dtype: an int32 k would otherwise make u float32 and α_k off by 1e-8.
    u = jnp.asarray(k, theta.dtype) * ((knots - 1) / max(horizon - 1, 1))
    j = jnp.clip(jnp.floor(u).astype(jnp.int32), 0, knots - 2)
    w = u - j.astype(theta.dtype)
    return jnp.exp((1 - w) * theta[j] + w * theta[j + 1])


def basis(horizon: int, knots: int) -> np.ndarray:
    """(horizon, knots) matrix B with log α = B θ: ∂L/∂θ = Bᵀ (α ⊙ ∂L/∂α) (chain rule)."""
    eye = np.eye(knots)
    if knots == 1:
        return np.ones((horizon, 1))
    grid = np.linspace(0.0, horizon - 1, knots)
    return np.stack([np.interp(np.arange(horizon), grid, e) for e in eye], axis=1)


def constant(alpha: float, knots: int) -> np.ndarray:
    """θ of the constant schedule α: (knots,)."""
    return np.full(knots, np.log(alpha))

