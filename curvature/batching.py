"""Are blocks of HVPs and the dense Hessian right? Checked at every depth of the cost sweep.

The operator's block (`matmat`, vmapped: what the estimators use) is compared with single
products, one vector at a time; the first vector also goes through central differences
of the gradient, (∇f(x + h v) - ∇f(x - h v)) / 2h, a witness independent of both (its
truncation error is about 1e-8 at h = 1e-8 on the deep network). Why: vmapped, XLA:CPU
gets the derivatives of the task's tanh-form GELU wrong on saturated units
(docs/xla_cpu_tanh_jvp.md), so a block could disagree with its own single products. The
numbers land in estimates.csv beside the route "hvp" (and "dense_hessian"):

| quantity              | what                                                        |
|-----------------------|-------------------------------------------------------------|
| matmat_vs_single      | max |block(Hv) - Hv| / max |Hv| over the block's vectors    |
| fd_vs_single          | ‖FD - Hv‖ / ‖Hv‖ for the first vector                        |
| fd_vs_block           | ‖FD - block(Hv)‖ / ‖block(Hv)‖ for the first vector (inf if not finite) |
| dense_vs_single       | max |H v - Hv| / max |Hv| of the dense Hessian, first vector |

Runs made before the library picked the GELU's form also hold `block_vs_single`, a plain
vmap of the product beside an operator that ran blocks one vector at a time.

A block or dense Hessian further than the library's `AGREEMENT_RTOL` from the single
products is recorded `wrong` in cost.csv, not timed.
"""

from __future__ import annotations

import jax
import numpy as np

from curvature.problem import Problem
from secondorder.products import AGREEMENT_RTOL



def _rel(a, b, norm=np.linalg.norm) -> float:
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("inf")
    scale = norm(b)
    return float(norm(a - b) / scale) if scale > 0 else (0.0 if not np.any(a) else float("inf"))


def _max_rel(block: np.ndarray, single: np.ndarray) -> float:
    return max(_rel(a, b, lambda x: np.abs(x).max()) for a, b in zip(block, single))


def rademacher_block(problem: Problem, key, vectors: int) -> jax.Array:
    return jax.random.rademacher(key, (vectors, problem.size), dtype=problem.params.dtype)


def block_check(problem: Problem, key, vectors: int = 4, step: float = 1e-6) -> dict[str, float]:
    """Relative differences between the blocks, the single products and finite differences.

    Args:
      vectors: the block's size (Rademacher vectors, each of P entries ±1).
      step: h of the central differences (the parameters are O(0.1-1)).
    """
    block_of = rademacher_block(problem, key, vectors)
    block = np.asarray(problem.compile(lambda op, v: op.matmat(v), block_of)(block_of))
    single = single_products(problem, block_of)
    grad = jax.jit(jax.grad(problem.loss))
    v = block_of[0]
    fd = np.asarray((grad(problem.params + step * v, problem.inputs)
                     - grad(problem.params - step * v, problem.inputs)) / (2 * step))
    return {"matmat_vs_single": _max_rel(block, single), "fd_vs_single": _rel(fd, single[0]),
            "fd_vs_block": _rel(fd, block[0])}


def single_products(problem: Problem, vectors: jax.Array) -> np.ndarray:
    """H v for each row of `vectors`, one compiled single product called row by row: (k, P)."""
    one = problem.compile(lambda op, v: op.matvec(v), vectors[0])
    return np.stack([np.asarray(one(v)) for v in vectors])


def dense_check(problem: Problem, hessian, key) -> dict[str, float]:
    """The dense Hessian against the single product along one Rademacher vector."""
    v = rademacher_block(problem, key, 1)
    dense = np.asarray(hessian) @ np.asarray(v[0])
    return {"dense_vs_single": _max_rel(dense[None], single_products(problem, v))}


def is_wrong(estimates: dict[str, float], dtype: str) -> str | None:
    """Why the checks in `estimates` say the route is wrong, or None."""
    bad = [f"{q} = {estimates[q]:.2g}" for q in ("matmat_vs_single", "dense_vs_single")
           if q in estimates and not estimates[q] <= AGREEMENT_RTOL[dtype]]
    return f"{', '.join(bad)} > {AGREEMENT_RTOL[dtype]:g} (wrong values)" if bad else None
