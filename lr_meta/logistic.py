"""A training problem that is not a quadratic: L2-regularised logistic regression.

One draw is a data set (X, y): n samples of d features x ~ N(0, diag(s)) with the
variances s spread geometrically over [1/condition, 1] (ill-conditioned on purpose:
that is where step-size schedules matter), labels y ∈ {−1, +1} with
P(y = +1 | x) = σ(x·w*) for a teacher w* ~ N(0, I_d) drawn once per seed. The inner
problem trains w from 0:

    f(w; X, y) = mean_i log(1 + exp(−y_i x_i·w)) + (λ/2)‖w‖².

Its Hessian Xᵀ diag(σ'(y∘Xw)) X / n + λI is largest at w = 0 (σ' ≤ ¼ with equality
at 0), so H(0) = XᵀX/(4n) + λI bounds the curvature everywhere: 2/λ_max(H(0)) is a
safe step, and [λ_min, λ_max] of H(0) is the quadratic model's spectrum interval.
Draws and the reference optimum are NumPy float64 (Newton's method), independent of JAX.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def draw(seed: int, draws: int, samples: int, features: int, condition: float,
         stream: int) -> tuple[np.ndarray, np.ndarray]:
    """`draws` data sets: X (draws, samples, features), y (draws, samples) in {−1, +1}.

    `stream` separates the training draws (0) from the held-out ones (1) under one seed;
    the teacher w* is shared by both (same task, fresh data).
    """
    teacher = np.random.default_rng([seed, 2, 0]).standard_normal(features)
    rng = np.random.default_rng([seed, 2, 1 + stream])
    scale = np.sqrt(np.geomspace(1.0, 1.0 / condition, features))
    x = rng.standard_normal((draws, samples, features)) * scale
    p = 1.0 / (1.0 + np.exp(-x @ teacher))
    y = np.where(rng.uniform(size=p.shape) < p, 1.0, -1.0)
    return x, y


def loss(w, data):
    """f(w) for data = (X (n, d), y (n,), λ): scalar. Softplus keeps large margins exact."""
    x, y, l2 = data
    return jnp.mean(jax.nn.softplus(-y * (x @ w))) + 0.5 * l2 * jnp.sum(w**2)


def numpy_loss_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """f(w) and ∇f(w) = −Xᵀ(y σ(−y∘Xw))/n + λw in NumPy float64: the tests' witness."""
    margin = y * (x @ w)
    value = np.mean(np.logaddexp(0.0, -margin)) + 0.5 * l2 * w @ w
    grad = -x.T @ (y / (1.0 + np.exp(margin))) / len(y) + l2 * w
    return float(value), grad


def curvature_at_zero(x: np.ndarray, l2: float) -> tuple[float, float]:
    """(λ_min, λ_max) of H(0) = XᵀX/(4n) + λI for one draw X (n, d)."""
    eig = np.linalg.eigvalsh(x.T @ x / (4 * len(x)))
    return float(eig[0] + l2), float(eig[-1] + l2)


def optimum(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 50) -> float:
    """min_w f(w) by Newton's method from 0, with step halving so that f never rises."""
    w = np.zeros(x.shape[1])
    value, grad = numpy_loss_grad(w, x, y, l2)
    for _ in range(iterations):
        s = 1.0 / (1.0 + np.exp(-y * (x @ w)))
        hess = (x.T * (s * (1 - s))) @ x / len(y) + l2 * np.eye(x.shape[1])
        direction, t = np.linalg.solve(hess, grad), 1.0
        while t > 1e-10 and numpy_loss_grad(w - t * direction, x, y, l2)[0] > value:
            t /= 2
        w = w - t * direction
        value, grad = numpy_loss_grad(w, x, y, l2)
        if np.linalg.norm(grad) < 1e-13:
            break
    return value
