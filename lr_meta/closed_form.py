"""L(α), ∂L/∂α and ∂²L/∂α² for f = ½‖x‖² in closed form: the independent witness.

Derivation (docs/lr_meta.md has it in full): ∇f(x) = x, so a step multiplies the
iterate by p_k = 1 − α_k and x_T = (∏ p_k) x0. With c = ½‖x0‖²:

    L(α)          = c ∏_k p_k²
    ∂L/∂α_j       = −2c p_j ∏_{k≠j} p_k²            (= −2L / p_j where p_j ≠ 0)
    ∂²L/∂α_j²     = 2c ∏_{k≠j} p_k²
    ∂²L/∂α_i∂α_j  = 4c p_i p_j ∏_{k≠i,j} p_k²        (i ≠ j)

Products over the other factors are formed directly (never L / p_j), so the formulas
stay exact on the minimiser set {some p_k = 0}. Plain NumPy float64, no JAX: a check
that shares no code with what it checks.
"""

from __future__ import annotations

import numpy as np


def loss(alpha: np.ndarray, x0: np.ndarray) -> float:
    """L(α) = ½‖x0‖² ∏(1 − α_k)². alpha: (T,), x0: (dim,)."""
    alpha, x0 = np.asarray(alpha, np.float64), np.asarray(x0, np.float64)
    return float(0.5 * (x0 @ x0) * np.prod((1.0 - alpha) ** 2))


def grad(alpha: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """∂L/∂α: (T,)."""
    alpha, x0 = np.asarray(alpha, np.float64), np.asarray(x0, np.float64)
    c, p = 0.5 * (x0 @ x0), 1.0 - alpha
    others = np.array([np.prod(np.delete(p, j) ** 2) for j in range(p.size)])
    return -2.0 * c * p * others


def hessian(alpha: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """∂²L/∂α²: (T, T), symmetric."""
    alpha, x0 = np.asarray(alpha, np.float64), np.asarray(x0, np.float64)
    c, p = 0.5 * (x0 @ x0), 1.0 - alpha
    n = p.size
    h = np.empty((n, n))
    for i in range(n):
        h[i, i] = 2.0 * c * np.prod(np.delete(p, i) ** 2)
        for j in range(i + 1, n):
            h[i, j] = h[j, i] = 4.0 * c * p[i] * p[j] * np.prod(np.delete(p, [i, j]) ** 2)
    return h


def gradient_flow_limit(alpha: np.ndarray) -> np.ndarray:
    """Where gradient flow dα/dt = −∂L/∂α started at α ends: (T,).

    Along the flow d(p_j²)/dt = 2 p_j ∂L/∂α_j = −4L, the same for every j, so the differences
    p_j² − p_k² are conserved and all p_j² shrink together until the smallest reaches
    0: the flow lands on the hyperplane α_m = 1 (m = argmin p_m²) with the other
    p_k = ±√(p_k² − p_m²). Meta-GD with a small β follows the flow up to O(β²) a step.
    """
    p = 1.0 - np.asarray(alpha, np.float64)
    s = np.min(p**2)
    return 1.0 - np.sign(p) * np.sqrt(p**2 - s)
