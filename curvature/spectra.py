"""What a W1 distance can average away: the negative mass and the outliers, measured apart.

The estimate is SLQ's measure (weighted points) and the reference the exact eigenvalues;
their W1 and the trivial baselines' (a point mass at 0, a Gaussian with the exact
moments) are secondorder.wasserstein's. Reported here: the mass of the negative part
(below −band · max|λ|: a band, because exact eigenvalues of order 1e-16 · max|λ| are
zeros with round-off, and the GGN has thousands of them), and the top outliers (their
positions, and the mass above the midpoint between λ_k and λ_{k+1}, which is k/P).
"""

from __future__ import annotations

import numpy as np


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
