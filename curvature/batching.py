"""Does a vmapped block of HVPs equal the single products? Checked at every depth of the cost sweep.

The witness is independent of both: central differences of the gradient along the first
vector, (∇f(x + h v) - ∇f(x - h v)) / 2h. Why it is checked: on this MLP a vmapped HVP
drifts from the single-vector one as depth grows (docs/curvature.md), which is why the
Hessian operator applies blocks one vector at a time (secondorder.operator). The numbers
land in estimates.csv beside the route "hvp":

| quantity              | what                                                        |
|-----------------------|-------------------------------------------------------------|
| block_vs_single       | max |vmap(Hv) - Hv| / max |Hv| over the block's vectors     |
| fd_vs_single          | ‖FD - Hv‖ / ‖Hv‖ for the first vector                        |
| fd_vs_block           | ‖FD - vmap(Hv)‖ / ‖vmap(Hv)‖ for the first vector (inf if not finite) |
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from curvature.problem import Problem


def block_check(problem: Problem, key, vectors: int = 4, step: float = 1e-6) -> dict[str, float]:
    """Relative differences between the vmapped block, the single products and finite differences.

    Args:
      vectors: the block's size (Rademacher vectors, each of P entries ±1).
      step: h of the central differences (the parameters are O(0.1-1)).
    """
    block_of = jax.random.rademacher(key, (vectors, problem.size), dtype=problem.params.dtype)

    def both(op, v):
        plain = op.transposable_matvec or op.matvec  # vmappable as written
        return jax.vmap(plain)(v), jnp.stack([op.matvec(row) for row in v])

    block, single = (np.asarray(a) for a in problem.compile(both, block_of)(block_of))
    grad = jax.jit(jax.grad(problem.loss))
    v = block_of[0]
    fd = np.asarray((grad(problem.params + step * v, problem.inputs)
                     - grad(problem.params - step * v, problem.inputs)) / (2 * step))

    def rel(a, b, norm=np.linalg.norm):
        return float(norm(a - b) / norm(b)) if np.isfinite(a).all() and np.isfinite(b).all() else float("inf")

    return {"block_vs_single": rel(block, single, lambda x: np.abs(x).max()),
            "fd_vs_single": rel(fd, single[0]), "fd_vs_block": rel(fd, block[0])}
