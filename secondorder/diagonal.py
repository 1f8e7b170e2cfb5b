"""The diagonal of a matrix-free operator: Hutchinson's estimator and XDiag.

    >>> import jax, jax.numpy as jnp
    >>> from secondorder.operators import dense_operator
    >>> op = dense_operator(jnp.diag(jnp.arange(4.0)))
    >>> diagonal_estimate(op, key=jax.random.key(0), num_matvecs=8).tolist()   # exact for a diagonal M
    [0.0, 1.0, 2.0, 3.0]

| method     | estimate with m products                                        |
|------------|-----------------------------------------------------------------|
| hutchinson | mean of v ⊙ Mv over m Rademacher v (Bekas, Kokiopoulou, Saad 2007) |
| xdiag      | XDiag: exchangeable low-rank + residual estimate on m/2 vectors |

Entry i of Hutchinson's estimate has variance Σ_{j≠i} M_ij² / m (the off-diagonal mass of
row i), the closed form the tests check. Both come from matfree (Bekas et al., "An
estimator for the diagonal of a matrix", Appl. Numer. Math. 2007; XDiag: Epperly, Tropp,
Webber, SIMAX 2024, https://arxiv.org/abs/2301.07825). XDiag multiplies by Mᵀ (matfree
transposes the linear product), which is M here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from matfree import stochtrace

from secondorder.operators import Operator

Array = jax.Array
METHODS: tuple[str, ...] = ("hutchinson", "xdiag")


def hutchinson_diagonal(op: Operator, key: Array, num_matvecs: int) -> Array:
    """Mean of v ⊙ Mv over `num_matvecs` Rademacher v: (P,)."""
    sampler = stochtrace.sampler_signs(jnp.zeros((op.size,), op.dtype), num=num_matvecs)
    return stochtrace.estimator_monte_carlo(stochtrace.monte_carlo_diagonal(), sampler)(op.matvec, key)


def xdiag(op: Operator, key: Array, num_matvecs: int) -> Array:
    """XDiag (matfree) with m/2 Rademacher test vectors: m products (M Ω, then Mᵀ Q). (P,)."""
    sampler = stochtrace.sampler_signs(jnp.zeros((op.size,), op.dtype), num=num_matvecs // 2)
    estimate = stochtrace.estimator_leave_one_out(stochtrace.leave_one_out_xdiag(), sampler)
    return estimate(op.matvec, key)


ESTIMATORS: dict[str, Callable[[Operator, Array, int], Array]] = {"hutchinson": hutchinson_diagonal, "xdiag": xdiag}


def diagonal_estimate(op: Operator, *, key: Array, num_matvecs: int = 60,
                      method: Literal["hutchinson", "xdiag"] = "xdiag") -> Any:
    """The diagonal of `op` from `num_matvecs` products, shaped like the parameters (`op.unravel`). Jittable.

    Args:
      op: a symmetric operator, e.g. `hessian_operator(loss, params, *data)`.
      key: a PRNG key (either style).
      method: "xdiag" (exact on the range its sketch captures) or "hutchinson".
    """
    if method not in ESTIMATORS:
        raise ValueError(f"method must be one of {', '.join(ESTIMATORS)}, got {method!r}")
    return op.unravel(ESTIMATORS[method](op, key, num_matvecs))
