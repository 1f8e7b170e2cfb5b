"""Spectral density by stochastic Lanczos quadrature (SLQ), plain and with the outliers deflated.

    >>> import jax, jax.numpy as jnp
    >>> from secondorder.operators import dense_operator
    >>> op = dense_operator(jnp.diag(jnp.linspace(-1.0, 1.0, 200)))
    >>> density = spectral_density(op, key=jax.random.key(0), num_probes=4, num_steps=20)
    >>> round(float(density.weights.sum()), 6), density.nodes.shape
    (1.0, (80,))

The spectral measure of a symmetric P x P matrix is μ = (1/P) Σ_i δ(λ_i). For a probe v
with E[v vᵀ] = I, normalised, k Lanczos steps from v give a k-node Gauss quadrature
rule: nodes θ_j (the eigenvalues of T) and weights τ_j² (the squared first components
of T's eigenvectors), exact for polynomials of degree <= 2k − 1 under the measure
Σ_i (v̂ᵀu_i)² δ(λ_i), whose expectation over Rademacher v is μ. SLQ averages the rules of
several probes (Ubaru, Chen, Saad, "Fast estimation of tr(f(A)) via stochastic Lanczos
quadrature", SIMAX 2017; for network Hessians: Ghorbani, Krishnan, Xiao, ICML 2019,
https://arxiv.org/abs/1901.10159).

Deflated SLQ. A trained network's Hessian has a few large outliers over a bulk crowded
near 0. Plain SLQ places each outlier exactly but weighs it by (v̂ᵀu)² averaged over the
probes: mean 1/P, relative standard deviation about sqrt(2 / probes), and the outliers
carry most of the spectrum's first absolute moment, so that weight noise dominates the
error. Deflation takes the Ritz pairs (θ_j, y_j) of the outliers from one Lanczos run,
keeps each as a point mass 1/P at θ_j, and runs SLQ on the rest: probes projected off
span(Y), products with (I − YYᵀ) M (I − YYᵀ), weights scaled by (P − d)/P (Lin, Saad,
Yang, "Approximating spectral densities of large matrices", SIAM Review 2016, Sec. 5, in
its simplest form; exact in the limit of converged Ritz pairs, whose residuals are kept).

The estimate is a weighted set of points; compare it with a reference spectrum by W1
(secondorder.wasserstein), and draw it smoothed by a Gaussian of a stated width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from secondorder.lanczos import lanczos, ritz_pairs, tridiagonal
from secondorder.operators import Operator

Array = jax.Array


class SpectralDensity(NamedTuple):
    """An estimated spectral measure: point masses `weights` (summing to 1) at `nodes`.

    Attributes:
      nodes, weights: (n,).
      probe: (n,) the probe each node's quadrature came from; -1 for a deflated Ritz value
        (its mass exactly 1/P, or 0 where that Ritz pair was not accepted).
      max_residual: the largest ‖M y − θ y‖ / max |θ| of the deflated Ritz pairs (0 without).
    """

    nodes: Array
    weights: Array
    probe: Array
    max_residual: Array

    def trace(self, size: int):
        """P Σ w_j θ_j: the trace the measure implies for a P x P matrix (SLQ's trace estimate)."""
        return size * jnp.sum(self.nodes * self.weights)

    def probe_range(self, start: int, stop: int) -> SpectralDensity:
        """The measure from probes start..stop-1 alone (deflated Ritz values kept), reweighted to sum 1. NumPy.

        Disjoint ranges of one run are independent estimates with fewer probes.
        """
        probe = np.asarray(self.probe)
        total = int(probe.max()) + 1
        if not 0 <= start < stop <= total:
            raise ValueError(f"need 0 <= start < stop <= {total} probes, got {start}..{stop}")
        keep = (probe < 0) | ((probe >= start) & (probe < stop))
        scale = np.where(probe[keep] >= 0, total / (stop - start), 1.0)
        return SpectralDensity(np.asarray(self.nodes)[keep], np.asarray(self.weights)[keep] * scale, probe[keep],
                               np.asarray(self.max_residual))

    def smoothed(self, grid: np.ndarray, sigma: float) -> np.ndarray:
        """The measure convolved with a Gaussian of standard deviation sigma, on `grid`: (len(grid),)."""
        return gaussian_density(np.asarray(self.nodes), np.asarray(self.weights), grid, sigma)


def quadrature(op: Operator, vectors: Array, num_steps: int, batch: int | None = None) -> tuple[Array, Array]:
    """The Gauss quadrature rule of each probe in `vectors` (probes, P): (nodes, weights), each (probes, steps).

    Args:
      batch: probes vectorised at a time (the rest in sequence): bounds the memory of the
        Krylov bases, probes x P x steps numbers at once otherwise. None: all at once;
        1: one at a time, nothing vmapped.
    """
    return quadrature_history(op, vectors, (num_steps,), batch)[0]


def quadrature_history(op: Operator, vectors: Array, steps: Sequence[int],
                       batch: int | None = None) -> list[tuple[Array, Array]]:
    """The rules `quadrature` gives after each number of Lanczos steps in `steps`, from one run of max(steps).

    With full reorthogonalisation the leading j x j block of T is what j steps produce,
    so one run of k steps per probe yields every shorter rule too (as `ritz_history`).

    Returns:
      One (nodes, weights) pair per entry of `steps`, each (probes, that many steps).
    """
    size = min(batch or len(vectors), len(vectors))
    k = max(steps)
    diag, offdiag = jax.lax.map(lambda v: lanczos(op, v, k), vectors, batch_size=size if size > 1 else None)
    # Every shorter rule from one batched eigh: T's leading j x j block, padded to k x k with a
    # decoupled diagonal above T's Gershgorin bound, whose eigenvectors have no first
    # component (weight 0) and sort last. One call, not one per j: several eigh calls in one
    # program hung XLA:CPU (jax 0.10.2, 2 cores).
    above = jnp.max(jnp.abs(diag), axis=1) + 2 * jnp.max(jnp.abs(offdiag), axis=1, initial=0) + 1
    index = jnp.arange(k)
    padded = jnp.stack([jax.vmap(tridiagonal)(jnp.where(index < j, diag, above[:, None] * (1 + index)),
                                               jnp.where(index[:-1] < j - 1, offdiag, 0)) for j in steps])
    nodes, vecs = jnp.linalg.eigh(padded)
    return [(nodes[i, :, :j], vecs[i, :, 0, :j] ** 2) for i, j in enumerate(steps)]


def deflated_quadrature(op: Operator, basis: Array, vectors: Array, num_steps: int) -> tuple[Array, Array]:
    """Gauss quadrature rules of (I − BᵀB) M (I − BᵀB) from probes projected off the rows of B.

    Args:
      basis: (d, P) orthonormal rows, or zero rows (padding: they project nothing).
      vectors: (probes, P) probe vectors.
    Returns:
      (nodes, weights), each (probes, steps); each row of weights sums to 1.
    """
    inner, project = _deflated(op, basis)
    return quadrature(inner, jax.vmap(project)(vectors), num_steps)


def _deflated(op: Operator, basis: Array):
    def project(v):
        return v - basis.T @ (basis @ v)

    return Operator(matvec=lambda v: project(op.matvec(project(v))), size=op.size, dtype=op.dtype), project


def slq(op: Operator, vectors: Array, num_steps: int, batch: int | None = None) -> SpectralDensity:
    """Plain SLQ from the given probes (probes, P), `num_steps` products each. Jittable."""
    return slq_history(op, vectors, (num_steps,), batch)[0]


def slq_history(op: Operator, vectors: Array, steps: Sequence[int], batch: int | None = None) -> list[SpectralDensity]:
    """Plain SLQ after each number of steps in `steps`, from one Lanczos run of max(steps) per probe. Jittable."""
    probes = vectors.shape[0]
    return [SpectralDensity(nodes.ravel(), weights.ravel() / probes, jnp.repeat(jnp.arange(probes), nodes.shape[1]),
                            jnp.zeros((), nodes.dtype))
            for nodes, weights in quadrature_history(op, vectors, steps, batch)]


def deflated_slq(op: Operator, vectors: Array, v0: Array, num_steps: int, deflate: int, lanczos_steps: int,
                 tol: float = 1e-8) -> SpectralDensity:
    """SLQ with up to `deflate` outliers taken out first. Jittable.

    Runs `lanczos_steps` Lanczos steps from v0 and deflates the `deflate` Ritz pairs of
    largest |θ| among those whose residual is at most tol · max|θ| (converged ones).

    Args:
      vectors: (probes, P) probes; v0: (P,) the Lanczos start.
      deflate: at most `lanczos_steps`; num_steps at most P − deflate (the probes' Krylov
        space lives in the complement of the deflated vectors).
    Returns:
      The deflated Ritz values first (probe -1), then the probes' nodes.
    """
    return deflated_slq_history(op, vectors, v0, (num_steps,), deflate, lanczos_steps, tol)[0]


def deflated_slq_history(op: Operator, vectors: Array, v0: Array, steps: Sequence[int], deflate: int,
                         lanczos_steps: int, tol: float = 1e-8, batch: int | None = None) -> list[SpectralDensity]:
    """`deflated_slq` after each number of steps in `steps`: one deflation, one run of max(steps) per probe. Jittable."""
    if not 1 <= deflate <= lanczos_steps <= op.size:
        raise ValueError(f"need 1 <= deflate <= lanczos_steps <= P, got deflate = {deflate}, "
                         f"lanczos_steps = {lanczos_steps}, P = {op.size}")
    if max(steps) > op.size - deflate:
        raise ValueError(f"need num_steps <= P - deflate = {op.size - deflate}, got {max(steps)}")
    values, ritz_vectors, residuals = ritz_pairs(op, v0, lanczos_steps)
    scale = jnp.abs(values).max()
    converged = residuals <= tol * scale
    # Largest |θ| first among the converged pairs; the others sort after them.
    keep = jnp.argsort(jnp.where(converged, -jnp.abs(values), jnp.inf))[:deflate]
    accepted = converged[keep]
    basis = jnp.where(accepted[:, None], ritz_vectors[keep], 0)  # zero rows pad to a fixed shape
    d, p, probes = jnp.sum(accepted), op.size, vectors.shape[0]
    inner, project = _deflated(op, basis)
    outliers = jnp.where(accepted, 1.0 / p, 0.0)
    residual = jnp.max(jnp.where(accepted, residuals[keep], 0)) / scale
    return [SpectralDensity(jnp.concatenate([values[keep], nodes.ravel()]),
                            jnp.concatenate([outliers.astype(weights.dtype), weights.ravel() * (p - d) / (p * probes)]),
                            jnp.concatenate([jnp.full(deflate, -1), jnp.repeat(jnp.arange(probes), nodes.shape[1])]),
                            residual)
            for nodes, weights in quadrature_history(inner, jax.vmap(project)(vectors), steps, batch)]


def spectral_density(op: Operator, *, key: Array, num_probes: int = 10, num_steps: int = 80, deflate: int = 0,
                     deflate_tol: float = 1e-8, lanczos_steps: int | None = None,
                     probe_batch: int | None = None) -> SpectralDensity:
    """The spectral density of `op` by SLQ, optionally deflated. Jittable.

    Costs num_probes x num_steps products, plus `lanczos_steps` (default num_steps) for
    the deflation's Ritz pairs.

    Args:
      op: a symmetric operator, e.g. `hessian_operator(loss, params, *data)`.
      key: a PRNG key (either style): the Rademacher probes and the Lanczos start.
      num_probes, num_steps: probes, and Lanczos steps (quadrature nodes) per probe.
      deflate: outliers to take out first (0: plain SLQ).
      deflate_tol: a Ritz pair is deflated only if its residual is at most this x max|θ|.
      lanczos_steps: the deflation's Lanczos run (default num_steps, at least `deflate`).
      probe_batch: the probes vectorised at a time, which bounds the memory of the Krylov
        bases (probes x P x steps numbers at once otherwise); None: all at once.
    """
    return spectral_density_history(op, key=key, num_probes=num_probes, steps=(num_steps,), deflate=deflate,
                                    deflate_tol=deflate_tol, lanczos_steps=lanczos_steps, probe_batch=probe_batch)[0]


def spectral_density_history(op: Operator, *, key: Array, num_probes: int, steps: Sequence[int], deflate: int = 0,
                             deflate_tol: float = 1e-8, lanczos_steps: int | None = None,
                             probe_batch: int | None = None) -> list[SpectralDensity]:
    """`spectral_density` after each number of Lanczos steps in `steps`, for the cost of max(steps). Jittable.

    The same key gives the same probes as `spectral_density`, so entry j equals
    `spectral_density(..., num_steps=steps[j])` (up to round-off). Use it to see where a
    density stops changing; `SpectralDensity.probe_range` does the same for probes.
    """
    num_steps = max(steps)
    if not (1 <= min(steps) and num_steps <= op.size):
        raise ValueError(f"need 1 <= num_steps <= P, got steps = {list(steps)}, P = {op.size}")
    probe_key, start_key = jax.random.split(key)
    vectors = jax.random.rademacher(probe_key, (num_probes, op.size), dtype=op.dtype)
    if deflate == 0:
        return slq_history(op, vectors, steps, probe_batch)
    v0 = jax.random.normal(start_key, (op.size,), op.dtype)
    return deflated_slq_history(op, vectors, v0, steps, deflate, lanczos_steps or max(num_steps, deflate),
                                deflate_tol, probe_batch)


def spectral_measure(nodes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-probe quadrature rules (probes, steps) as one measure: all nodes, weights / probes (sum 1)."""
    nodes, weights = np.asarray(nodes, np.float64), np.asarray(weights, np.float64)
    return nodes.ravel(), weights.ravel() / nodes.shape[0]


def gaussian_density(points: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float) -> np.ndarray:
    """Σ_j w_j N(grid; x_j, σ²): the measure smoothed by a Gaussian kernel. Returns (len(grid),)."""
    z = (np.asarray(grid)[:, None] - np.asarray(points)[None, :]) / sigma
    return np.exp(-0.5 * z * z) @ np.asarray(weights) / (sigma * np.sqrt(2 * np.pi))
