"""Stochastic trace estimators over a matrix-free operator, each spending exactly m HVPs.

| name       | estimate with m products                                   | error (PSD, |λ_i| ~ 1/i) |
|------------|------------------------------------------------------------|--------------------------|
| hutchinson | mean of vᵀHv over m Rademacher v                           | ∝ m^-1/2 (exactly: variance 2(‖H‖_F² − Σ H_ii²)/m) |
| hutchpp    | tr(QᵀHQ) on a sketch of m/3, Hutchinson on the rest (m/3)  | ∝ m^-1                    |
| xtrace     | XTrace: exchangeable leave-one-out Hutch++ on m/2 Gaussians | ∝ m^-1, smaller constant |

Hutchinson and XTrace come from matfree (`matfree.stochtrace`), which also batches the
m products into one vectorised operator call. matfree has no Hutch++, so it is written
here (Meyer, Musco, Musco, Woodruff, "Hutch++: Optimal Stochastic Trace Estimation",
SOSA 2021, https://arxiv.org/abs/2010.09649, Algorithm 1) and checked against a dense
reference in tests/test_curvature_trace.py. XTrace: Epperly, Tropp, Webber, "XTrace:
Making the most of every sample in stochastic trace estimation", SIMAX 2024,
https://arxiv.org/abs/2301.07825.

Every function is jittable: `(op, key, m) -> scalar`, with m static.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from matfree import stochtrace

from curvature.config import TRACE_ESTIMATORS
from secondorder.operator import Operator

Array = jax.Array


def _like(op: Operator) -> Array:
    # matfree's samplers read shape and dtype from an example vector.
    return jnp.zeros((op.size,), op.dtype)


def hutchinson(op: Operator, key: Array, num_matvecs: int) -> Array:
    """Hutchinson's estimator with Rademacher probes: mean of vᵀHv over `num_matvecs` v."""
    sampler = stochtrace.sampler_signs(_like(op), num=num_matvecs)
    return stochtrace.estimator_monte_carlo(stochtrace.monte_carlo_trace(), sampler)(op.matvec, key)


def hutchpp(op: Operator, key: Array, num_matvecs: int) -> Array:
    """Hutch++: exact trace on the range of H S (S: m/3 Rademacher columns), Hutchinson on the rest.

    Products: m/3 for H S, m/3 for H Q, and the remaining m - 2m/3 for the deflated
    Hutchinson part. Unbiased; exact when rank(H) <= m/3.
    """
    sketch = num_matvecs // 3
    k_sketch, k_probe = jax.random.split(key)
    s = jax.random.rademacher(k_sketch, (sketch, op.size), dtype=op.dtype)
    g = jax.random.rademacher(k_probe, (num_matvecs - 2 * sketch, op.size), dtype=op.dtype)
    q, _ = jnp.linalg.qr(op.matmat(s).T)  # (P, m/3): an orthonormal basis of range(H S)
    low_rank = jnp.sum(q * op.matmat(q.T).T)  # tr(Qᵀ H Q)
    g = g - (g @ q) @ q.T  # probes projected onto the complement of range(Q)
    return low_rank + jnp.sum(g * op.matmat(g)) / g.shape[0]


def xtrace(op: Operator, key: Array, num_matvecs: int) -> Array:
    """XTrace (matfree) with m/2 Gaussian test vectors: m products in all."""
    sampler = stochtrace.sampler_normal(_like(op), num=num_matvecs // 2)
    estimate = stochtrace.estimator_leave_one_out(stochtrace.leave_one_out_xtrace(), sampler)
    return estimate(op.matvec, key)


# Keyed by curvature.config.TRACE_ESTIMATORS, the one list of names (a name without a
# function here fails at import).
ESTIMATORS: dict[str, Callable[[Operator, Array, int], Array]] = {
    name: {"hutchinson": hutchinson, "hutchpp": hutchpp, "xtrace": xtrace}[name] for name in TRACE_ESTIMATORS}


def hutchinson_variance(matrix, diagonal=None) -> float:
    """The exact variance of one Rademacher probe's vᵀHv: 2(‖H‖_F² − Σ H_ii²). matrix: (P, P) NumPy.

    The witness for Hutchinson's error: its mean squared error with m probes is this / m.
    """
    matrix = np.asarray(matrix)
    diagonal = np.diag(matrix) if diagonal is None else np.asarray(diagonal)
    return float(2.0 * (np.linalg.norm(matrix) ** 2 - diagonal @ diagonal))
