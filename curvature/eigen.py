"""Extreme eigenvalues from HVPs: Lanczos with full reorthogonalisation, and power iteration.

Lanczos is matfree's `decomp.tridiag_sym` (reortho="full": each new Krylov vector is
orthogonalised twice against all earlier ones, O(P k) extra work per step, which keeps
the Ritz values free of the spurious copies plain Lanczos produces once an eigenvalue
has converged). k steps cost k HVPs and give a k x k tridiagonal T whose eigenvalues,
the Ritz values, approximate both ends of the spectrum at once. The leading j x j block
of T is what j steps would have produced, so one run gives the whole convergence history.

Power iteration (written here: a few lines of `lax.scan`) is the baseline PyHessian
uses: it finds only the eigenvalue of largest magnitude, at the rate |λ2/λ1| per HVP.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from matfree import decomp

from secondorder.operator import Operator

Array = jax.Array


def lanczos(op: Operator, v0: Array, steps: int) -> tuple[Array, Array]:
    """`steps` Lanczos steps from v0 (any scale): the tridiagonal T as (diag (k,), offdiag (k-1,))."""
    tridiag = decomp.tridiag_sym(steps, reortho="full", materialize=False, custom_vjp=False)
    return tridiag(op.matvec, v0).J_small


def tridiagonal(diag: Array, offdiag: Array) -> Array:
    """The dense (k, k) symmetric tridiagonal matrix."""
    return jnp.diag(diag) + jnp.diag(offdiag, 1) + jnp.diag(offdiag, -1)


def extreme_eigenvalues(op: Operator, key: Array, steps: int, k: int) -> tuple[Array, Array]:
    """The k largest and k smallest Ritz values after `steps` Lanczos steps, ascending each. Jittable."""
    v0 = jax.random.normal(key, (op.size,), op.dtype)
    ritz = jnp.linalg.eigvalsh(tridiagonal(*lanczos(op, v0, steps)))
    return ritz[-k:], ritz[:k]


def ritz_history(diag: np.ndarray, offdiag: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k and bottom-k Ritz values after every step j = 1..steps (NumPy, float64).

    Returns:
      (top, bottom), each (steps, k) ascending, NaN where j < k.
    """
    diag, offdiag = np.asarray(diag, np.float64), np.asarray(offdiag, np.float64)
    steps = len(diag)
    top, bottom = np.full((steps, k), np.nan), np.full((steps, k), np.nan)
    for j in range(1, steps + 1):
        t = np.diag(diag[:j]) + np.diag(offdiag[: j - 1], 1) + np.diag(offdiag[: j - 1], -1)
        ritz = np.linalg.eigvalsh(t)
        m = min(k, j)
        top[j - 1, k - m:], bottom[j - 1, :m] = ritz[-m:], ritz[:m]
    return top, bottom


def power_iteration(op: Operator, v0: Array, steps: int) -> Array:
    """Rayleigh quotients vᵀHv of the normalised iterates: (steps,); entry i has used i + 1 HVPs.

    Converges to the eigenvalue of largest magnitude (with its sign).
    """
    def step(v, _):
        hv = op.matvec(v)
        return hv / jnp.linalg.norm(hv), jnp.vdot(v, hv)

    _, quotients = jax.lax.scan(step, v0 / jnp.linalg.norm(v0), None, length=steps)
    return quotients
