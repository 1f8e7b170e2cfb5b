"""How close an estimated spectral measure is to the exact one, beside answers anyone could give.

A density check needs a bar that a trivial answer cannot clear. The exact measure is
μ = (1/P) Σ δ(λ_i); an estimate is a weighted set of points (SLQ's nodes and weights).
Each is compared with μ by W1 (the area between the two CDFs), and so are two trivial
baselines that know only the exact eigenvalues' summary numbers:

| baseline        | measure                                | W1 to μ                         |
|-----------------|----------------------------------------|---------------------------------|
| point mass at 0 | δ(0)                                   | mean |λ_i| (exactly)            |
| Gaussian        | N(mean λ, var λ), the exact moments    | `gaussian_w1`, in closed form   |

A trained network's spectrum is a spike near 0 plus a few outliers, so δ(0) is a strong
baseline there: the criterion is W1(estimate) <= W1(best baseline) / 10.

Two features W1 can average away are reported apart: the mass of the negative part
(below −band · max|λ|: a band, because exact eigenvalues of order 1e-16 · max|λ| are
zeros with round-off, and the GGN has thousands of them), and the top outliers (their
positions, and the mass above the midpoint between λ_k and λ_{k+1}, which is k/P).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri


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


def mass_below(points: np.ndarray, weights: np.ndarray, threshold: float) -> float:
    """The measure's mass strictly below `threshold` (weights normalised here)."""
    weights = np.asarray(weights, np.float64)
    return float(weights[np.asarray(points) < threshold].sum() / weights.sum())


def outlier_mass(points: np.ndarray, weights: np.ndarray, eigenvalues: np.ndarray, k: int) -> tuple[float, float]:
    """(estimated, exact) mass above the midpoint between the k-th and (k+1)-th largest eigenvalue."""
    top = np.sort(np.asarray(eigenvalues, np.float64))[::-1]
    cut = 0.5 * (top[k - 1] + top[k])
    return 1.0 - mass_below(points, weights, np.nextafter(cut, np.inf)), float(np.mean(top > cut))


def top_node_error(nodes: np.ndarray, eigenvalues: np.ndarray, k: int) -> float:
    """max over probes and ranks j <= k of |j-th largest node − λ_j| / |λ_j|. nodes: (probes, steps)."""
    top = np.sort(np.asarray(eigenvalues, np.float64))[::-1][:k]
    found = np.sort(np.asarray(nodes, np.float64), axis=1)[:, ::-1][:, :k]
    return float(np.max(np.abs(found - top) / np.abs(top)))
