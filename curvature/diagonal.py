"""Stochastic estimates of the Hessian's diagonal, each spending exactly m HVPs.

| name       | estimate with m products                                       |
|------------|----------------------------------------------------------------|
| hutchinson | mean of v ⊙ Hv over m Rademacher v (Bekas, Kokiopoulou, Saad 2007) |
| xdiag      | XDiag: exchangeable low-rank + residual estimate on m/2 vectors |

Entry i of Hutchinson's estimate has variance Σ_{j≠i} H_ij² / m (the off-diagonal mass
of row i), the closed form the tests check. Both come from matfree (Bekas et al.,
"An estimator for the diagonal of a matrix", Appl. Numer. Math. 2007; XDiag: Epperly,
Tropp, Webber, SIMAX 2024, https://arxiv.org/abs/2301.07825). XDiag multiplies by Hᵀ
(matfree transposes the linear HVP), which is H here.

Every function is jittable: `(op, key, m) -> (P,)`, with m static.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from matfree import stochtrace

from curvature.config import DIAG_ESTIMATORS
from secondorder.operator import Operator

Array = jax.Array


def hutchinson_diagonal(op: Operator, key: Array, num_matvecs: int) -> Array:
    """Mean of v ⊙ Hv over `num_matvecs` Rademacher v: (P,)."""
    sampler = stochtrace.sampler_signs(jnp.zeros((op.size,), op.dtype), num=num_matvecs)
    return stochtrace.estimator_monte_carlo(stochtrace.monte_carlo_diagonal(), sampler)(op.matvec, key)


def xdiag(op: Operator, key: Array, num_matvecs: int) -> Array:
    """XDiag (matfree) with m/2 Rademacher test vectors: m products (H Ω, then Hᵀ Q). (P,)."""
    sampler = stochtrace.sampler_signs(jnp.zeros((op.size,), op.dtype), num=num_matvecs // 2)
    estimate = stochtrace.estimator_leave_one_out(stochtrace.leave_one_out_xdiag(), sampler)
    return estimate(op.transposable_matvec or op.matvec, key)


# Keyed by curvature.config.DIAG_ESTIMATORS, the one list of names.
ESTIMATORS: dict[str, Callable[[Operator, Array, int], Array]] = {
    name: {"hutchinson": hutchinson_diagonal, "xdiag": xdiag}[name] for name in DIAG_ESTIMATORS}
