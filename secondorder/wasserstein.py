"""How far an estimated spectral measure is from a reference spectrum: W1, and what trivial answers score.

    >>> import numpy as np
    >>> wasserstein1(np.array([0.0, 1.0]), np.array([0.5, 0.5]), np.array([0.0]), np.array([1.0]))
    0.5

A density check needs a bar that a trivial answer cannot clear. The reference is the
exact measure μ = (1/P) Σ δ(λ_i); an estimate is a weighted set of points (SLQ's nodes
and weights). Both are compared by the Wasserstein-1 distance (the area between the two
CDFs), which needs no smoothing, and so are two baselines that know only the exact
eigenvalues' summary numbers:

| baseline        | measure                                | W1 to μ                         |
|-----------------|----------------------------------------|---------------------------------|
| point mass at 0 | δ(0)                                   | mean |λ_i| (exactly)            |
| Gaussian        | N(mean λ, var λ), the exact moments    | `gaussian_w1`, in closed form   |

A trained network's spectrum is a spike near 0 plus a few outliers, so δ(0) is a strong
baseline there.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri


def wasserstein1(x_a: np.ndarray, w_a: np.ndarray, x_b: np.ndarray, w_b: np.ndarray) -> float:
    """W1 between two discrete measures on the line: ∫ |F_a(t) − F_b(t)| dt.

    Args:
      x_a, w_a: (n,) points and non-negative weights (normalised here); likewise x_b, w_b.
    """
    x = np.concatenate([x_a, x_b])
    w = np.concatenate([np.asarray(w_a) / np.sum(w_a), -np.asarray(w_b) / np.sum(w_b)])
    order = np.argsort(x, kind="stable")
    x, cdf_gap = x[order], np.cumsum(w[order])
    # Between consecutive support points F_a - F_b is constant.
    return float(np.sum(np.abs(cdf_gap[:-1]) * np.diff(x)))


def ks_distance(x_a: np.ndarray, w_a: np.ndarray, x_b: np.ndarray, w_b: np.ndarray) -> float:
    """The Kolmogorov-Smirnov distance sup_t |F_a(t) − F_b(t)| between two discrete measures (weights normalised)."""
    x = np.concatenate([x_a, x_b])
    w = np.concatenate([np.asarray(w_a) / np.sum(w_a), -np.asarray(w_b) / np.sum(w_b)])
    points, where = np.unique(x, return_inverse=True)  # tied points move both CDFs at once
    return float(np.abs(np.cumsum(np.bincount(where, weights=w, minlength=len(points)))).max())


def point_mass_w1(eigenvalues: np.ndarray, at: float = 0.0) -> float:
    """W1 between δ(at) and the eigenvalues' measure: mean |λ_i − at|."""
    return float(np.mean(np.abs(np.asarray(eigenvalues, np.float64) - at)))


def _psi(z):
    # An antiderivative of Φ: d/dz [z Φ(z) + φ(z)] = Φ(z).
    return z * ndtr(z) + np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def gaussian_w1(eigenvalues: np.ndarray, mean: float, std: float) -> float:
    """W1 between N(mean, std²) and the eigenvalues' measure, exactly: ∫ |F(t) − Φ((t − mean)/std)| dt.

    F is a step function: constant i/P between the sorted λ_i and λ_{i+1}, where the
    integral of |c − Φ| has a closed form (split where Φ crosses c).
    """
    x = np.sort(np.asarray(eigenvalues, np.float64))
    p = len(x)
    z = (x - mean) / std
    total = std * _psi(z[0]) + std * (_psi(z[-1]) - z[-1])  # the tails, where F = 0 and F = 1
    a, b = z[:-1], z[1:]
    c = np.arange(1, p) / p
    cross = np.clip(ndtri(c), a, b)  # where Φ = c, inside [a, b]
    inner = c * (cross - a) - (_psi(cross) - _psi(a)) + (_psi(b) - _psi(cross)) - c * (b - cross)
    return float(total + std * np.sum(inner))
