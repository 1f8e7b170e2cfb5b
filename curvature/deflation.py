"""Ritz pairs from Lanczos, and SLQ with the outliers deflated.

Why deflate. A trained network's Hessian has a few large outliers (about one per class)
over a bulk crowded near 0. Plain SLQ places each outlier exactly (its Ritz value
converges) but weighs it by (v̂ᵀu)² averaged over the probes: mean 1/P, relative
standard deviation about sqrt(2 / probes). The outliers carry most of the spectrum's
first absolute moment, so that weight noise dominates the W1 error: at 10 probes it is
about 45% of each outlier's mass.

Deflated SLQ takes the Ritz pairs (θ_j, y_j) of the outliers from one Lanczos run,
keeps each as a point mass 1/P at θ_j, and runs SLQ on the rest: probes projected off
span(Y), products with (I − YYᵀ) H (I − YYᵀ), weights scaled by (P − d)/P. The
outliers then carry exactly their mass, and the probes spend their Krylov steps on the
bulk. This is the spectrum-sweeping idea of Lin, Saad, Yang ("Approximating spectral
densities of large matrices", SIAM Review 2016, Sec. 5) in its simplest form; it is
exact in the limit of converged Ritz pairs, whose residuals are recorded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from matfree import decomp

from curvature.density import quadrature
from curvature.eigen import tridiagonal
from secondorder.operator import Operator

Array = jax.Array


def ritz_pairs(op: Operator, v0: Array, steps: int) -> tuple[Array, Array, Array]:
    """All Ritz pairs after `steps` Lanczos steps (full reorthogonalisation) from v0.

    Returns:
      (values (k,) ascending, vectors (k, P) orthonormal rows, residuals (k,)), where
      residual j = ‖H y_j − θ_j y_j‖ = β_k |s_kj| (the Lanczos identity).
    """
    tridiag = decomp.tridiag_sym(steps, reortho="full", materialize=False, custom_vjp=False)
    result = tridiag(op.matvec, v0)
    values, s = jnp.linalg.eigh(tridiagonal(*result.J_small))
    basis = jnp.asarray(result.Q_tall).reshape(steps, -1)  # (k, P), the Lanczos vectors as rows
    residuals = jnp.linalg.norm(result.residual) * jnp.abs(s[-1, :])
    return values, s.T @ basis, residuals


def deflated_quadrature(op: Operator, basis: Array, vectors: Array, steps: int) -> tuple[Array, Array]:
    """Gauss quadrature rules of (I − BᵀB) H (I − BᵀB) from probes projected off the rows of B.

    Args:
      basis: (d, P) orthonormal rows, or zero rows (padding: they project nothing).
      vectors: (probes, P) probe vectors.
    Returns:
      (nodes, weights), each (probes, steps); each row of weights sums to 1.
    """
    def project(v):
        return v - basis.T @ (basis @ v)

    inner = Operator(matvec=lambda v: project(op.matvec(project(v))), size=op.size, dtype=op.dtype)
    return quadrature(inner, jax.vmap(project)(vectors), steps)
