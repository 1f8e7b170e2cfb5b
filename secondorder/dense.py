"""An operator as a dense matrix, built from its products with the unit vectors.

The witness for every estimator (exact spectrum, trace and diagonal from `eigvalsh` of
this matrix), and the route whose cost grows with P² that the matrix-free ones avoid.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from secondorder.operators import Operator

Array = jax.Array


def dense_matrix(op: Operator, block_size: int = 256) -> Array:
    """M as a dense (P, P) array, `block_size` columns at a time. Jittable.

    Row i is M e_i, which is column i since M is symmetric. `lax.map` vmaps the products
    over one block of unit vectors at a time, which bounds the temporaries.
    """
    n = op.size

    def column(i):
        return op.matvec(jax.nn.one_hot(i, n, dtype=op.dtype))

    return jax.lax.map(column, jnp.arange(n), batch_size=min(block_size, n))
