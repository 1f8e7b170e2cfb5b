"""Spectral density by stochastic Lanczos quadrature (SLQ), and the distance between spectra.

The spectral measure of a symmetric P x P matrix is μ = (1/P) Σ_i δ(λ_i). For a probe v
with E[v vᵀ] = I, normalised, k Lanczos steps from v give a k-node Gauss quadrature
rule: nodes θ_j (the eigenvalues of T) and weights τ_j² (the squared first components
of T's eigenvectors), exact for polynomials of degree <= 2k - 1 under the measure
Σ_i (v̂ᵀu_i)² δ(λ_i), whose expectation over Rademacher v is μ. SLQ averages the rules of
several probes (Ubaru, Chen, Saad, "Fast estimation of tr(f(A)) via stochastic Lanczos
quadrature", SIMAX 2017; its use for network Hessians: Ghorbani, Krishnan, Xiao, "An
investigation into neural net optimization via Hessian eigenvalue density", ICML 2019,
https://arxiv.org/abs/1901.10159).

What is compared: the SLQ measure itself (a weighted sum of point masses) against the
dense eigenvalues, by the Wasserstein-1 distance, which needs no smoothing. What is
drawn: the SLQ measure convolved with a Gaussian of standard deviation `sigma` (the
stated smoothing), over a histogram of the dense eigenvalues.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from curvature.eigen import lanczos, tridiagonal
from secondorder.operator import Operator

Array = jax.Array


def slq(op: Operator, key: Array, probes: int, steps: int, batch: int | None = None) -> tuple[Array, Array]:
    """Quadrature nodes and weights of `probes` Rademacher probes, `steps` Lanczos steps each.

    Args:
      batch: probes vectorised at a time (vmap; the rest in sequence): bounds the memory
        of the Krylov bases, probes x P x steps numbers at once otherwise. None: all.
        An operator whose products run one vector at a time takes the probes one by one.
    Returns:
      (nodes, weights), each (probes, steps); each row of weights sums to 1.
    """
    vectors = jax.random.rademacher(key, (probes, op.size), dtype=op.dtype)
    return quadrature(op, vectors, steps, batch)


def quadrature(op: Operator, vectors: Array, steps: int, batch: int | None = None) -> tuple[Array, Array]:
    """The Gauss quadrature rule of each probe in `vectors` (probes, P): (nodes, weights), each (probes, steps)."""
    def one(v):
        nodes, vecs = jnp.linalg.eigh(tridiagonal(*lanczos(op, v, steps)))
        return nodes, vecs[0] ** 2

    size = None if op.batching == "sequential" else min(batch or len(vectors), len(vectors))
    return jax.lax.map(one, vectors, batch_size=size)


def spectral_measure(nodes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The SLQ estimate of μ: all probes' nodes, weights divided by the number of probes (sum 1)."""
    nodes, weights = np.asarray(nodes, np.float64), np.asarray(weights, np.float64)
    return nodes.ravel(), weights.ravel() / nodes.shape[0]


def gaussian_density(points: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float) -> np.ndarray:
    """Σ_j w_j N(grid; x_j, σ²): the measure smoothed by a Gaussian kernel. Returns (len(grid),)."""
    z = (np.asarray(grid)[:, None] - np.asarray(points)[None, :]) / sigma
    return np.exp(-0.5 * z * z) @ np.asarray(weights) / (sigma * np.sqrt(2 * np.pi))


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
