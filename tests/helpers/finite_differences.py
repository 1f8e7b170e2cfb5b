"""Central differences of a scalar loss: the witness the hypergradient tests compare with."""

import jax
import jax.numpy as jnp
import numpy as np


def finite_difference(loss_fn, alpha, *args, step: float = 1e-5) -> np.ndarray:
    """Central differences (L(α + h e_j) − L(α − h e_j)) / 2h: (T,) float64.

    Truncation error is O(h² L'''), rounding O(ε L / h); h = 1e-5 balances them for
    float64 at the scales here (relative error ~1e-9). Needs x64 enabled.
    """
    alpha = np.asarray(alpha, np.float64)
    loss = jax.jit(loss_fn)
    out = np.empty_like(alpha)
    for j in range(alpha.size):
        e = np.zeros_like(alpha)
        e[j] = step
        plus = loss(jnp.asarray(alpha + e), *args)
        minus = loss(jnp.asarray(alpha - e), *args)
        out[j] = (float(plus) - float(minus)) / (2 * step)
    return out
